package store

import (
	"database/sql"

	"nexus/geo"
)

// The actor summary (actor_summary, actor_countries) is kept by every
// write, so that the actor list reads a few thousand rows rather than
// joining every record with its actors.

// summarize counts a record that was just indexed with these actors and
// countries (each once, case aside) and dates.
func (tx *writeTx) summarize(c geo.Collection, actors, countries []string, span geo.Span) error {
	var t0, t1 any
	if span.Start != geo.MinTime {
		t0 = span.Start
	}
	if span.End != geo.MaxTime {
		t1 = span.End
	}
	for _, a := range actors {
		if _, err := tx.Exec(`INSERT INTO actor_summary (actor, collection, n, t0, t1) VALUES (?,?,1,?,?)
			ON CONFLICT (actor, collection) DO UPDATE SET n = n + 1,
			t0 = min(coalesce(t0, excluded.t0), coalesce(excluded.t0, t0)),
			t1 = max(coalesce(t1, excluded.t1), coalesce(excluded.t1, t1))`, a, string(c), t0, t1); err != nil {
			return err
		}
		for _, cc := range countries {
			if _, err := tx.Exec(`INSERT INTO actor_countries (actor, country, n) VALUES (?,?,1)
				ON CONFLICT (actor, country) DO UPDATE SET n = n + 1`, a, cc); err != nil {
				return err
			}
		}
	}
	return nil
}

// unsummarize takes back what summarize counted for the record rid, before
// its keys are removed. When the record held an actor's earliest or latest
// date, that date is read again from the actor's other records.
func (tx *writeTx) unsummarize(rid int64) error {
	var coll string
	var t0, t1 int64
	if err := tx.QueryRow("SELECT collection, t0, t1 FROM records WHERE rid = ?", rid).Scan(&coll, &t0, &t1); err != nil {
		if err == sql.ErrNoRows {
			return nil
		}
		return err
	}
	s, err := tx.stmt("SELECT key, value FROM record_keys WHERE rid = ?")
	if err != nil {
		return err
	}
	rows, err := s.Query(rid)
	if err != nil {
		return err
	}
	var actors, countries []string
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return err
		}
		switch k {
		case "actor":
			actors = append(actors, v)
		case "country":
			countries = append(countries, v)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range actors {
		if _, err := tx.Exec(`UPDATE actor_summary SET n = n - 1,
			t0 = CASE WHEN t0 = ? THEN (SELECT min(CASE WHEN r.t0 > ? THEN r.t0 END) FROM record_keys k JOIN records r ON r.rid = k.rid
				WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection AND k.rid != ?) ELSE t0 END,
			t1 = CASE WHEN t1 = ? THEN (SELECT max(CASE WHEN r.t1 < ? THEN r.t1 END) FROM record_keys k JOIN records r ON r.rid = k.rid
				WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection AND k.rid != ?) ELSE t1 END
			WHERE actor = ? AND collection = ?`, t0, geo.MinTime, rid, t1, geo.MaxTime, rid, a, coll); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_summary WHERE actor = ? AND collection = ? AND n <= 0", a, coll); err != nil {
			return err
		}
		for _, cc := range countries {
			if _, err := tx.Exec("UPDATE actor_countries SET n = n - 1 WHERE actor = ? AND country = ?", a, cc); err != nil {
				return err
			}
			if _, err := tx.Exec("DELETE FROM actor_countries WHERE actor = ? AND country = ? AND n <= 0", a, cc); err != nil {
				return err
			}
		}
	}
	return nil
}
