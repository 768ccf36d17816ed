package pgstore

import (
	"context"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// The actor queries count from record_keys as they are asked: PostgreSQL
// aggregates the keys of a collection of a few hundred thousand records in
// a fraction of a second, and no summary table has to follow every write
// of every server.

// lowered returns the spellings as the keys compare them.
func lowered(spellings []string) []string {
	out := make([]string, len(spellings))
	for i, s := range spellings {
		out[i] = lowerASCII(s)
	}
	return out
}

// Actors lists every actor named by a record under its canonical name
// (aliases merged), with its records by collection, the dates it was seen
// and its records by country, the most records first.
func (db *DB) Actors(ctx context.Context) ([]*geo.ActorSummary, error) {
	aliases, err := db.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*geo.ActorSummary{}
	first := map[string]*int64{}
	last := map[string]*int64{}
	get := func(spelling string) (*geo.ActorSummary, string) {
		name := aliases.Canonical(spelling)
		k := geo.ActorKey(name)
		a := byKey[k]
		if a == nil {
			a = &geo.ActorSummary{Name: name, Countries: []geo.Count{}}
			byKey[k] = a
		}
		return a, k
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT min(k.value), r.collection, count(*),
				min(CASE WHEN r.t0 > $1 THEN r.t0 END), max(CASE WHEN r.t1 < $2 THEN r.t1 END)
			FROM record_keys k JOIN records r ON r.rid = k.rid WHERE k.key = 'actor'
			GROUP BY k.lvalue, r.collection ORDER BY 1, 2`, int64(geo.MinTime), int64(geo.MaxTime))
		if err != nil {
			return err
		}
		for rows.Next() {
			var spelling, coll string
			var n int64
			var t0, t1 *int64
			if err := rows.Scan(&spelling, &coll, &n, &t0, &t1); err != nil {
				rows.Close()
				return err
			}
			a, k := get(spelling)
			if len(a.Spellings) == 0 || a.Spellings[len(a.Spellings)-1] != spelling {
				a.Spellings = append(a.Spellings, spelling)
			}
			switch geo.Collection(coll) {
			case geo.Incidents:
				a.Incidents += n
			case geo.Routes:
				a.Routes += n
			case geo.Links:
				a.Links += n
			}
			if t0 != nil && (first[k] == nil || *t0 < *first[k]) {
				first[k] = t0
			}
			if t1 != nil && (last[k] == nil || *t1 > *last[k]) {
				last[k] = t1
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT min(a.value), c.value, count(*) FROM record_keys a
			JOIN record_keys c ON c.rid = a.rid AND c.key = 'country' WHERE a.key = 'actor' GROUP BY a.lvalue, c.value`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var spelling, country string
			var n int64
			if err := rows.Scan(&spelling, &country, &n); err != nil {
				return err
			}
			a, _ := get(spelling)
			found := false
			for i := range a.Countries {
				if a.Countries[i].Key == country {
					a.Countries[i].Count += n
					found = true
				}
			}
			if !found {
				a.Countries = append(a.Countries, geo.Count{Key: country, Count: n})
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]*geo.ActorSummary, 0, len(byKey))
	for k, a := range byKey {
		if a.Records() == 0 {
			continue
		}
		if t := first[k]; t != nil {
			a.FirstSeen = time.Unix(*t, 0).UTC().Format(time.DateOnly)
		}
		if t := last[k]; t != nil {
			a.LastSeen = time.Unix(*t-1, 0).UTC().Format(time.DateOnly) // the end is exclusive
		}
		sortCounts(a.Countries)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Records() != out[j].Records() {
			return out[i].Records() > out[j].Records()
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func sortCounts(c []geo.Count) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Count != c[j].Count {
			return c[i].Count > c[j].Count
		}
		return c[i].Key < c[j].Key
	})
}

// Neighbours returns the actors that share a record with the actor of
// these spellings, under their canonical names, the most connected first
// (a link counts twice); the first limit of them also list up to limit of
// the records that connect them, links first.
func (db *DB) Neighbours(ctx context.Context, spellings []string, limit int) ([]*geo.Neighbour, error) {
	if len(spellings) == 0 {
		return []*geo.Neighbour{}, nil
	}
	aliases, err := db.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	self := geo.ActorKey(aliases.Canonical(spellings[0]))
	mine := lowered(spellings)
	var out []*geo.Neighbour
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT min(k2.value), r.collection, count(*) FROM record_keys k1
			JOIN record_keys k2 ON k2.rid = k1.rid AND k2.key = 'actor' AND k2.lvalue <> k1.lvalue
			JOIN records r ON r.rid = k1.rid
			WHERE k1.key = 'actor' AND k1.lvalue = ANY($1) GROUP BY k2.lvalue, r.collection`, mine)
		if err != nil {
			return err
		}
		byKey := map[string]*geo.Neighbour{}
		spellingsOf := map[string][]string{}
		for rows.Next() {
			var other, coll string
			var n int64
			if err := rows.Scan(&other, &coll, &n); err != nil {
				rows.Close()
				return err
			}
			name := aliases.Canonical(other)
			k := geo.ActorKey(name)
			if k == self {
				continue
			}
			nb := byKey[k]
			if nb == nil {
				nb = &geo.Neighbour{Name: name, Through: []geo.Connection{}}
				byKey[k] = nb
			}
			if geo.Collection(coll) == geo.Links {
				nb.Links += n
			} else {
				nb.Records += n
			}
			spellingsOf[k] = append(spellingsOf[k], lowerASCII(other))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		out = make([]*geo.Neighbour, 0, len(byKey))
		for _, n := range byKey {
			out = append(out, n)
		}
		sort.Slice(out, func(i, j int) bool {
			wi, wj := 2*out[i].Links+out[i].Records, 2*out[j].Links+out[j].Records
			if wi != wj {
				return wi > wj
			}
			return out[i].Name < out[j].Name
		})
		for _, n := range out[:min(len(out), limit)] {
			theirs := spellingsOf[geo.ActorKey(n.Name)]
			for _, links := range []bool{true, false} {
				want := n.Records
				if links {
					want = n.Links
				}
				if want == 0 || len(n.Through) >= limit {
					continue
				}
				op := "<>"
				if links {
					op = "="
				}
				rows, err := tx.Query(ctx, `SELECT DISTINCT r.rid, r.collection, r.id, r.kind FROM record_keys k1
					JOIN record_keys k2 ON k2.rid = k1.rid AND k2.key = 'actor' AND k2.lvalue = ANY($2)
					JOIN records r ON r.rid = k1.rid
					WHERE k1.key = 'actor' AND k1.lvalue = ANY($1) AND r.collection `+op+` 'links' ORDER BY r.rid LIMIT $3`,
					mine, theirs, limit-len(n.Through))
				if err != nil {
					return err
				}
				for rows.Next() {
					var rid int64
					var c geo.Connection
					if err := rows.Scan(&rid, &c.Collection, &c.ID, &c.Kind); err != nil {
						rows.Close()
						return err
					}
					n.Through = append(n.Through, c)
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
			}
			n.More = int64(len(n.Through)) < n.Links+n.Records
		}
		return nil
	})
	return out, err
}

// ActorTimeline returns the incidents of the actor of these spellings per
// month of their start, in time order.
func (db *DB) ActorTimeline(ctx context.Context, spellings []string) ([]geo.Count, error) {
	out := []geo.Count{}
	if len(spellings) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT to_char(to_timestamp(r.t0) AT TIME ZONE 'UTC', 'YYYY-MM'), count(*)
		FROM record_keys k JOIN records r ON r.rid = k.rid
		WHERE k.key = 'actor' AND k.lvalue = ANY($1) AND r.collection = 'incidents' AND r.t0 > `+yearOne+` GROUP BY 1 ORDER BY 1`, lowered(spellings))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c geo.Count
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, translate(rows.Err())
}

// ActorRecords returns up to limit records of the collection that name the
// actor of these spellings, in storage order.
func (db *DB) ActorRecords(ctx context.Context, c geo.Collection, spellings []string, limit int) ([][]byte, error) {
	out := [][]byte{}
	if len(spellings) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT r.feature FROM records r WHERE r.collection = $2
		AND r.rid IN (SELECT rid FROM record_keys WHERE key = 'actor' AND lvalue = ANY($1)) ORDER BY r.rid LIMIT $3`,
		lowered(spellings), string(c), limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var f []byte
		if err := rows.Scan(&f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, translate(rows.Err())
}
