package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/paulmach/orb"

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
	// coarse points): a point's box is the point.
	exact := map[int64]orb.Point{}
	sens, err := tx.QueryContext(ctx, "SELECT b.id>>1, b.x0, b.y0 FROM boxes b WHERE b.id IN (SELECT id FROM coarse_boxes)")
	if err != nil {
		return 0, translate(err)
	}
	for sens.Next() {
		var rid int64
		var p orb.Point
		if err := sens.Scan(&rid, &p[0], &p[1]); err != nil {
			sens.Close()
			return 0, err
		}
		exact[rid] = p
	}
	if err := sens.Err(); err != nil {
		return 0, translate(err)
	}
	sens.Close()
	// records_overview covers the columns: the Features are not read.
	recs, err := tx.QueryContext(ctx, "SELECT rid, id, kind, t0, t1, x, y FROM records INDEXED BY records_overview WHERE collection = ? ORDER BY rid", string(geo.Incidents))
	if err != nil {
		return 0, translate(err)
	}
	defer recs.Close()
	// record_keys_rid holds rid, key and value: the keys come in rid order
	// without touching the table, and are merged with the records.
	keys, err := tx.QueryContext(ctx, "SELECT rid, key, value FROM record_keys INDEXED BY record_keys_rid ORDER BY rid")
	if err != nil {
		return 0, translate(err)
	}
	defer keys.Close()
	var (
		krid       int64 = -1
		kkey, kval string
		kmore      = true
	)
	nextKey := func() error {
		if kmore = keys.Next(); !kmore {
			return keys.Err()
		}
		return keys.Scan(&krid, &kkey, &kval)
	}
	if err := nextKey(); err != nil {
		return 0, err
	}
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
		actors, k.Countries = actors[:0], nil
		for kmore && krid < rid {
			if err := nextKey(); err != nil {
				return 0, err
			}
		}
		for kmore && krid == rid {
			switch kkey {
			case "actor":
				actors = append(actors, kval)
			case "country":
				k.Countries = []string{kval}
			}
			if err := nextKey(); err != nil {
				return 0, err
			}
		}
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
			box = " AND ((" + strings.Join(parts, " OR ") + ") AND r.rid NOT IN (" + sensitiveRids + ") OR r.rid IN (SELECT id>>1 FROM boxes WHERE id>>1 IN (" + sensitiveRids + ") AND (" + strings.Repeat("x0 <= ? AND x1 >= ? AND y0 <= ? AND y1 >= ? OR ", len(parts)-1) + "x0 <= ? AND x1 >= ? AND y0 <= ? AND y1 >= ?)))"
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
