package store

import (
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

// unsummarize takes back what summarize counted for the records removed,
// before their keys are removed: the counts of the whole batch are
// gathered in memory and taken back with one statement per actor,
// country, month and pair. When a record held an actor's earliest start
// or latest end, the date is read again once, at the end of the
// transaction (recheck), when every write of it is done.
func (tx *writeTx) unsummarize(gone ...removed) error {
	if tx.load != nil && len(gone) > 0 {
		if err := tx.load.flushSummary(); err != nil {
			return err
		}
	}
	var s summary
	for _, g := range gone {
		var actors, countries []string
		for _, kv := range distinctKeys(g.keys) {
			if kv[0] == "actor" {
				actors = append(actors, kv[1])
			} else {
				countries = append(countries, kv[1])
			}
		}
		s.add(g.coll, actors, countries, g.keys.Span)
	}
	return s.subtract(tx)
}

// subtract takes the counts of s back from the summary tables, drops the
// rows that reach zero, and notes the actors whose earliest or latest
// date may have gone with the records, for recheck.
func (s *summary) subtract(tx *writeTx) error {
	for k, x := range s.actors {
		if _, err := tx.Exec("UPDATE actor_summary SET n = n - ? WHERE actor = ? AND collection = ?", x.n, k[0], k[1]); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_summary WHERE actor = ? AND collection = ? AND n <= 0", k[0], k[1]); err != nil {
			return err
		}
		if x.t0 == nil && x.t1 == nil {
			continue
		}
		if tx.recheck == nil {
			tx.recheck = map[[2]string]*actorSpan{}
		}
		r := tx.recheck[k]
		if r == nil {
			r = &actorSpan{}
			tx.recheck[k] = r
		}
		r.widen(x.t0, x.t1)
	}
	for k, n := range s.countries {
		if _, err := tx.Exec("UPDATE actor_countries SET n = n - ? WHERE actor = ? AND country = ?", n, k[0], k[1]); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_countries WHERE actor = ? AND country = ? AND n <= 0", k[0], k[1]); err != nil {
			return err
		}
	}
	for k, n := range s.months {
		if _, err := tx.Exec("UPDATE actor_months SET n = n - ? WHERE actor = ? AND month = ?", n, k[0], k[1]); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_months WHERE actor = ? AND month = ? AND n <= 0", k[0], k[1]); err != nil {
			return err
		}
	}
	for k, n := range s.pairs {
		if _, err := tx.Exec("UPDATE actor_pairs SET n = n - ? WHERE a = ? AND b = ? AND collection = ?", n, k[0], k[1], k[2]); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM actor_pairs WHERE a = ? AND b = ? AND collection = ? AND n <= 0", k[0], k[1], k[2]); err != nil {
			return err
		}
	}
	return nil
}

// widen takes the earlier start and the later end of x and (t0, t1); nil
// is an open end, which counts for nothing.
func (x *actorSpan) widen(t0, t1 any) {
	if t0 != nil && (x.t0 == nil || t0.(int64) < x.t0.(int64)) {
		x.t0 = t0
	}
	if t1 != nil && (x.t1 == nil || t1.(int64) > x.t1.(int64)) {
		x.t1 = t1
	}
}

// recheckSummary reads again the earliest start and latest end of the
// actors whose records holding them were removed or replaced in this
// transaction. A date still held by another record stands, which is
// found at the first such record; only an actor's last record of that
// date costs a pass over the actor's records.
func (tx *writeTx) recheckSummary() error {
	for k, x := range tx.recheck {
		if _, err := tx.Exec(`UPDATE actor_summary SET
			t0 = CASE WHEN t0 = ?1 AND NOT EXISTS (SELECT 1 FROM record_keys k JOIN records r ON r.rid = k.rid
					WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection AND r.t0 = ?1)
				THEN (SELECT min(CASE WHEN r.t0 > ?3 THEN r.t0 END) FROM record_keys k JOIN records r ON r.rid = k.rid
					WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection) ELSE t0 END,
			t1 = CASE WHEN t1 = ?2 AND NOT EXISTS (SELECT 1 FROM record_keys k JOIN records r ON r.rid = k.rid
					WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection AND r.t1 = ?2)
				THEN (SELECT max(CASE WHEN r.t1 < ?4 THEN r.t1 END) FROM record_keys k JOIN records r ON r.rid = k.rid
					WHERE k.key = 'actor' AND k.value = actor_summary.actor AND r.collection = actor_summary.collection) ELSE t1 END
			WHERE actor = ?5 AND collection = ?6`, x.t0, x.t1, geo.MinTime, geo.MaxTime, k[0], k[1]); err != nil {
			return err
		}
	}
	clear(tx.recheck)
	return nil
}
