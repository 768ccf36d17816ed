package store

import (
	"database/sql"
	"strings"
	"time"

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
		if m := monthOf(c, span); m != "" {
			if _, err := tx.Exec(`INSERT INTO actor_months (actor, month, n) VALUES (?,?,1)
				ON CONFLICT (actor, month) DO UPDATE SET n = n + 1`, a, m); err != nil {
				return err
			}
		}
	}
	for _, p := range pairsOf(actors) {
		if _, err := tx.Exec(`INSERT INTO actor_pairs (a, b, collection, n) VALUES (?,?,?,1)
			ON CONFLICT (a, b, collection) DO UPDATE SET n = n + 1`, p[0], p[1], string(c)); err != nil {
			return err
		}
	}
	return nil
}

// monthOf is the month ("YYYY-MM") an incident counts in on an actor's
// timeline, as Stats by month counts it: of its start; "" for other
// records and for incidents without a start.
func monthOf(c geo.Collection, span geo.Span) string {
	if c != geo.Incidents || span.Start <= minMonthTime {
		return ""
	}
	return time.Unix(span.Start, 0).UTC().Format("2006-01")
}

// minMonthTime is the start of year 1: Stats by month counts later starts.
const minMonthTime = -62135596800

// pairsOf returns each pair of actors once, the lesser (case aside) first.
func pairsOf(actors []string) [][2]string {
	var out [][2]string
	for i, a := range actors {
		for _, b := range actors[i+1:] {
			la, lb := strings.ToLower(a), strings.ToLower(b)
			switch {
			case la < lb:
				out = append(out, [2]string{a, b})
			case lb < la:
				out = append(out, [2]string{b, a})
			}
		}
	}
	return out
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
		if m := monthOf(geo.Collection(coll), geo.Span{Start: t0, End: t1}); m != "" {
			if _, err := tx.Exec("UPDATE actor_months SET n = n - 1 WHERE actor = ? AND month = ?", a, m); err != nil {
				return err
			}
			if _, err := tx.Exec("DELETE FROM actor_months WHERE actor = ? AND month = ? AND n <= 0", a, m); err != nil {
				return err
			}
		}
	}
	for _, p := range pairsOf(actors) {
		if _, err := tx.Exec("UPDATE actor_pairs SET n = n - 1 WHERE a = ? AND b = ? AND collection = ?", p[0], p[1], coll); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_pairs WHERE a = ? AND b = ? AND collection = ? AND n <= 0", p[0], p[1], coll); err != nil {
			return err
		}
	}
	return nil
}
