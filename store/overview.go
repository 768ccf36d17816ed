package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
)

// EachIncident calls fn with the id, key (rid), point and keys of every
// incident (all keys but the text), in rid order, read from one snapshot
// without decoding a Feature, and returns the change-log seq of that
// snapshot. It is how an in-memory index starts; it then follows the log
// from the seq.
func (db *DB) EachIncident(ctx context.Context, fn func(id string, key int64, p orb.Point, k geo.Keys) error) (int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var seq sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM changes").Scan(&seq); err != nil {
		return 0, translate(err)
	}
	// The exact points of the sensitive incidents (x and y hold their
	// coarse points), which their rows keep as WKB.
	exact := map[int64]orb.Point{}
	sens, err := tx.QueryContext(ctx, "SELECT rid, geom FROM records WHERE rid IN ("+sensitiveRids+") AND collection = ?", string(geo.Incidents))
	if err != nil {
		return 0, translate(err)
	}
	for sens.Next() {
		var rid int64
		var g []byte
		if err := sens.Scan(&rid, &g); err != nil {
			sens.Close()
			return 0, err
		}
		shape, err := wkb.Unmarshal(g)
		if err != nil {
			sens.Close()
			return 0, fmt.Errorf("record %d: its geometry: %w", rid, err)
		}
		if p, ok := shape.(orb.Point); ok {
			exact[rid] = p
		}
	}
	if err := sens.Err(); err != nil {
		return 0, translate(err)
	}
	sens.Close()
	keys, err := keysByRid(ctx, tx)
	if err != nil {
		return 0, err
	}
	// In rid order from the table, whose rows are read without their
	// Features ("+": through records_kind they would be sorted).
	recs, err := tx.QueryContext(ctx, "SELECT rid, id, kind, t0, t1, x, y FROM records WHERE +collection = ? ORDER BY rid", string(geo.Incidents))
	if err != nil {
		return 0, translate(err)
	}
	defer recs.Close()
	var (
		rid    int64
		id     string
		k      geo.Keys
		x, y   sql.NullFloat64
		actors []string
	)
	for recs.Next() {
		if err := recs.Scan(&rid, &id, &k.Kind, &k.Span.Start, &k.Span.End, &x, &y); err != nil {
			return 0, err
		}
		actors, k.Countries = keys.of(rid, actors[:0])
		k.Actors = actors
		k.Shape = nil
		if p, ok := exact[rid]; ok {
			k.Shape = p
		}
		if err := fn(id, rid, orb.Point{x.Float64, y.Float64}, k); err != nil {
			return 0, err
		}
	}
	if err := recs.Err(); err != nil {
		return 0, translate(err)
	}
	return seq.Int64, nil
}

// ridKeys is the actors and countries of every record, by rid: the rows
// of record_keys sorted by rid (a counting sort of the table, which is in
// the order of its key), each naming one of the distinct values.
type ridKeys struct {
	start  []int32 // rid → where its rows begin in refs; start[rid+1] ends them
	refs   []int32 // into values
	values []keyValue
}

type keyValue struct {
	key, value string
}

// keysByRid reads record_keys whole into a ridKeys.
func keysByRid(ctx context.Context, tx *sql.Tx) (*ridKeys, error) {
	var maxRid sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(rid) FROM records").Scan(&maxRid); err != nil {
		return nil, translate(err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT key, value, rid FROM record_keys")
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	type row struct {
		rid int64
		v   int32
	}
	var all []row
	k := &ridKeys{start: make([]int32, maxRid.Int64+2)}
	at := map[keyValue]int32{}
	var kv keyValue
	var rid int64
	for rows.Next() {
		if err := rows.Scan(&kv.key, &kv.value, &rid); err != nil {
			return nil, err
		}
		if rid < 0 || rid > maxRid.Int64 {
			continue // no such record
		}
		v, ok := at[kv]
		if !ok {
			v = int32(len(k.values))
			at[kv] = v
			k.values = append(k.values, kv)
		}
		all = append(all, row{rid, v})
		k.start[rid+1]++
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for i := 1; i < len(k.start); i++ {
		k.start[i] += k.start[i-1]
	}
	// Placed by rid in the order read: a record's rows keep the order of
	// the table's key (key, then value), as they were before.
	next := slices.Clone(k.start[:len(k.start)-1])
	k.refs = make([]int32, len(all))
	for _, r := range all {
		k.refs[next[r.rid]] = r.v
		next[r.rid]++
	}
	return k, nil
}

// of returns the actors of the record rid appended to actors, and its
// countries (nil for none).
func (k *ridKeys) of(rid int64, actors []string) (_, countries []string) {
	if rid < 0 || rid+1 >= int64(len(k.start)) {
		return actors, nil
	}
	for _, v := range k.refs[k.start[rid]:k.start[rid+1]] {
		switch kv := k.values[v]; kv.key {
		case "actor":
			actors = append(actors, kv.value)
		case "country":
			countries = append(countries, kv.value)
		}
	}
	return actors, countries
}

// TextKeys returns, from one snapshot with its change-log seq, the rids of
// the records whose text matches q (the rule of geo.Filter.Q), ascending,
// read from the full-text index alone; and the rid of each of ids, 0 for
// an id no record has. A q without words matches every record.
func (db *DB) TextKeys(ctx context.Context, q string, ids []string) (int64, []int64, []int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, nil, err
	}
	defer tx.Rollback()
	var seq sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM changes").Scan(&seq); err != nil {
		return 0, nil, nil, translate(err)
	}
	query, args := "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rowid", []any{ftsQuery(q)}
	if args[0] == "" {
		query, args = "SELECT rid FROM records ORDER BY rid", nil
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, nil, nil, translate(err)
	}
	var match []int64
	for rows.Next() {
		var rid int64
		if err := rows.Scan(&rid); err != nil {
			rows.Close()
			return 0, nil, nil, err
		}
		match = append(match, rid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, nil, translate(err)
	}
	keys := make([]int64, len(ids))
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	const chunk = 500
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := tx.QueryContext(ctx, "SELECT id, rid FROM records WHERE id IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return 0, nil, nil, translate(err)
		}
		for rows.Next() {
			var id string
			var rid int64
			if err := rows.Scan(&id, &rid); err != nil {
				rows.Close()
				return 0, nil, nil, err
			}
			keys[at[id]] = rid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, nil, nil, translate(err)
		}
	}
	return seq.Int64, match, keys, nil
}

// PageOnly returns up to limit records matching the filter after the
// cursor, in storage order, without counting the matches: Matched is the
// number of features when this first page holds them all, -1 otherwise.
// With scan, a box on incidents is tested on each record's point while
// reading in storage order, instead of listing the box's records through
// the spatial index first: when the box holds a good share of the
// records, a page then stops after reading about limit/share of them,
// whereas the index lists every match for every page.
func (db *DB) PageOnly(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int, scan bool) (geo.Page, error) {
	var box string
	var boxArgs []any
	if scan && c == geo.Incidents && f.BBox != nil {
		var parts []string
		for _, b := range f.BBox.Bounds() {
			parts = append(parts, "(r.x BETWEEN ? AND ? AND r.y BETWEEN ? AND ?)")
			boxArgs = append(boxArgs, b.Min[0], b.Max[0], b.Min[1], b.Max[1])
		}
		box = " AND (" + strings.Join(parts, " OR ") + ")"
		if f.Exact {
			// x and y hold the coarse point of a sensitive incident: its
			// exact box decides instead.
			box = " AND ((" + strings.Join(parts, " OR ") + ") AND r.rid NOT IN (" + sensitiveRids + ") OR r.rid IN (" + sensitiveRids + ") AND (" +
				strings.Repeat("nexus_box_meets(r.geom, 0, ?, ?, ?, ?) OR ", len(parts)-1) + "nexus_box_meets(r.geom, 0, ?, ?, ?, ?)))"
			for _, b := range f.BBox.Bounds() {
				boxArgs = append(boxArgs, b.Max[0], b.Min[0], b.Max[1], b.Min[1])
			}
		}
		f.BBox = nil
	}
	page, args := pageQuery(c, f, box, boxArgs, after, limit)
	rows, err := db.query(ctx, page, args...)
	if err != nil {
		return geo.Page{}, translate(err)
	}
	p, err := scanPage(rows, c, f, limit)
	if err != nil {
		return p, err
	}
	p.Matched = -1
	if after == 0 && p.Next == 0 {
		p.Matched = int64(len(p.Features))
	}
	return p, nil
}

// Features returns the stored Features of the records of the collection
// with these ids, in no particular order; ids that do not exist are left
// out.
func (db *DB) Features(ctx context.Context, c geo.Collection, ids []string) ([][]byte, error) {
	const chunk = 500
	out := make([][]byte, 0, len(ids))
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for len(ids) > 0 {
		part := ids[:min(chunk, len(ids))]
		ids = ids[len(part):]
		args := make([]any, 0, len(part))
		for _, id := range part {
			args = append(args, id)
		}
		// Through the unique index on id alone: with the collection in the
		// condition SQLite may prefer to scan the collection.
		rows, err := tx.QueryContext(ctx, "SELECT collection, feature FROM records WHERE id IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, translate(err)
		}
		for rows.Next() {
			var col string
			var f []byte
			if err := rows.Scan(&col, &f); err != nil {
				rows.Close()
				return nil, err
			}
			if col == string(c) {
				if f, err = unpack(nil, f); err != nil {
					rows.Close()
					return nil, err
				}
				out = append(out, f)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, translate(err)
		}
	}
	return out, nil
}
