package store

import (
	"context"
	"database/sql"
	"sort"
	"time"

	"nexus/geo"
)

// actorRow is an actor summary as it is gathered, with the dates it
// spans in Unix seconds (t1 exclusive).
type actorRow struct {
	*geo.ActorSummary
	t0, t1 *int64
}

// Actors returns every actor named by a record, under its canonical name
// (spellings merged through the alias table), most records first. It
// reads the summary the writes keep, not the records.
func (db *DB) Actors(ctx context.Context) ([]*geo.ActorSummary, error) {
	aliases, err := db.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	byKey := map[string]*actorRow{}
	get := func(spelling string) *actorRow {
		name := aliases.Canonical(spelling)
		k := geo.ActorKey(name)
		a := byKey[k]
		if a == nil {
			a = &actorRow{ActorSummary: &geo.ActorSummary{Name: name, Countries: []geo.Count{}}}
			byKey[k] = a
		}
		return a
	}
	rows, err := tx.QueryContext(ctx, "SELECT actor, collection, n, t0, t1 FROM actor_summary ORDER BY actor, collection")
	if err != nil {
		return nil, translate(err)
	}
	for rows.Next() {
		var spelling, coll string
		var n int64
		var t0, t1 *int64
		if err := rows.Scan(&spelling, &coll, &n, &t0, &t1); err != nil {
			rows.Close()
			return nil, err
		}
		a := get(spelling)
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
		if t0 != nil && (a.t0 == nil || *t0 < *a.t0) {
			a.t0 = t0
		}
		if t1 != nil && (a.t1 == nil || *t1 > *a.t1) {
			a.t1 = t1
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, "SELECT actor, country, n FROM actor_countries")
	if err != nil {
		return nil, translate(err)
	}
	for rows.Next() {
		var spelling, country string
		var n int64
		if err := rows.Scan(&spelling, &country, &n); err != nil {
			rows.Close()
			return nil, err
		}
		a := get(spelling)
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*geo.ActorSummary, 0, len(byKey))
	for _, a := range byKey {
		if a.Records() == 0 {
			continue
		}
		if a.t0 != nil {
			a.FirstSeen = time.Unix(*a.t0, 0).UTC().Format(time.DateOnly)
		}
		if a.t1 != nil {
			// t1 is the end of the last day, exclusive.
			a.LastSeen = time.Unix(*a.t1-1, 0).UTC().Format(time.DateOnly)
		}
		sortCounts(a.Countries)
		out = append(out, a.ActorSummary)
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
// these spellings, under their canonical names, the most connected first.
// The counts come from the pairs the writes keep; the first limit of them
// also list up to limit of the records that connect them, links first.
func (db *DB) Neighbours(ctx context.Context, spellings []string, limit int) ([]*geo.Neighbour, error) {
	if len(spellings) == 0 {
		return []*geo.Neighbour{}, nil
	}
	aliases, err := db.Aliases(ctx)
	if err != nil {
		return nil, err
	}
	self := geo.ActorKey(aliases.Canonical(spellings[0]))
	in := placeholders(len(spellings))
	args := make([]any, 0, 2*len(spellings))
	for _, s := range spellings {
		args = append(args, s)
	}
	args = append(args, args...)
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT b, collection, n FROM actor_pairs WHERE a IN (`+in+`)
		UNION ALL SELECT a, collection, n FROM actor_pairs WHERE b IN (`+in+`)`, args...)
	if err != nil {
		return nil, translate(err)
	}
	byKey := map[string]*geo.Neighbour{}
	spellingsOf := map[string][]string{} // neighbour key -> the spellings records use
	for rows.Next() {
		var other, coll string
		var n int64
		if err := rows.Scan(&other, &coll, &n); err != nil {
			rows.Close()
			return nil, err
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
		spellingsOf[k] = append(spellingsOf[k], other)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*geo.Neighbour, 0, len(byKey))
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
	// The records that connect the first neighbours: links first (read
	// through the neighbour's smaller key list), then incidents and routes.
	for _, n := range out[:min(len(out), limit)] {
		theirs := spellingsOf[geo.ActorKey(n.Name)]
		for _, coll := range []string{"links", "other"} {
			want := n.Links
			if coll == "other" {
				want = n.Records
			}
			if want == 0 {
				continue
			}
			// Links are few: read them first and probe their keys. Other
			// records are many: walk the neighbour's keys until enough.
			q := `SELECT r.collection, r.id, r.kind FROM record_keys k2
				JOIN record_keys k1 ON k1.key = 'actor' AND k1.rid = k2.rid AND k1.value IN (` + in + `)
				JOIN records r ON r.rid = k2.rid
				WHERE k2.key = 'actor' AND k2.value IN (` + placeholders(len(theirs)) + `) AND r.collection != 'links'`
			if coll == "links" {
				q = `SELECT r.collection, r.id, r.kind FROM records r
				CROSS JOIN record_keys k1 CROSS JOIN record_keys k2
				WHERE r.collection = 'links' AND k1.key = 'actor' AND k1.rid = r.rid AND k1.value IN (` + in + `)
				AND k2.key = 'actor' AND k2.rid = r.rid AND k2.value IN (` + placeholders(len(theirs)) + `)`
			}
			a := append([]any{}, args[:len(spellings)]...)
			for _, t := range theirs {
				a = append(a, t)
			}
			rows, err := tx.QueryContext(ctx, q+" LIMIT ?", append(a, limit-len(n.Through))...)
			if err != nil {
				return nil, translate(err)
			}
			seen := map[string]bool{}
			for rows.Next() {
				var c geo.Connection
				if err := rows.Scan(&c.Collection, &c.ID, &c.Kind); err != nil {
					rows.Close()
					return nil, err
				}
				if !seen[c.ID] && len(n.Through) < limit {
					seen[c.ID] = true
					n.Through = append(n.Through, c)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			if len(n.Through) >= limit {
				break
			}
		}
		n.More = int64(len(n.Through)) < n.Links+n.Records
	}
	return out, nil
}

// ActorTimeline returns the incidents of the actor of these spellings per
// month of their start, in time order, from the counts the writes keep.
func (db *DB) ActorTimeline(ctx context.Context, spellings []string) ([]geo.Count, error) {
	out := []geo.Count{}
	if len(spellings) == 0 {
		return out, nil
	}
	args := make([]any, len(spellings))
	for i, s := range spellings {
		args[i] = s
	}
	rows, err := db.read.QueryContext(ctx, "SELECT month, sum(n) FROM actor_months WHERE actor IN ("+placeholders(len(spellings))+") GROUP BY month ORDER BY month", args...)
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
	return out, rows.Err()
}

// ActorRecords returns up to limit records of the collection that name the
// actor of these spellings, without counting them all (the actor summary
// has the counts).
func (db *DB) ActorRecords(ctx context.Context, c geo.Collection, spellings []string, limit int) ([][]byte, error) {
	out := [][]byte{}
	if len(spellings) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(spellings)+2)
	for _, s := range spellings {
		args = append(args, s)
	}
	// Incidents are many: walk the actor's keys. Routes and links are
	// fewer: walk them and probe their keys.
	q := `SELECT DISTINCT r.rid, r.feature FROM record_keys k JOIN records r ON r.rid = k.rid
		WHERE k.key = 'actor' AND k.value IN (` + placeholders(len(spellings)) + `) AND r.collection = ? LIMIT ?`
	if c != geo.Incidents {
		q = `SELECT DISTINCT r.rid, r.feature FROM records r CROSS JOIN record_keys k
		WHERE k.key = 'actor' AND k.rid = r.rid AND k.value IN (` + placeholders(len(spellings)) + `) AND r.collection = ? LIMIT ?`
	}
	rows, err := db.read.QueryContext(ctx, q, append(args, string(c), limit)...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		var f []byte
		if err := rows.Scan(&rid, &f); err != nil {
			return nil, err
		}
		if f, err = unpack(nil, f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
