package store

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"math"
	"strings"

	"nexus/geo"
)

// Export writes every record of the collections that matches the filter as
// one RFC 7946 FeatureCollection, streaming: rows are copied to w as they
// are read from one snapshot, so memory does not grow with the data. It
// returns how many features it wrote. w is buffered here; a caller that
// wants the bytes to leave sooner (an HTTP response) flushes below it.
func (db *DB) Export(ctx context.Context, w io.Writer, cols []geo.Collection, f geo.Filter) (int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, translate(err)
	}
	defer tx.Rollback()
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(`{"type":"FeatureCollection","features":[`); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range cols {
		query, args := exportQuery(c, f)
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return n, translate(err)
		}
		var feature sql.RawBytes
		var buf []byte
		for rows.Next() {
			if err := rows.Scan(&feature); err != nil {
				rows.Close()
				return n, err
			}
			out, err := shown(buf, c, f, feature)
			if err != nil {
				rows.Close()
				return n, err
			}
			sep := ",\n"
			if n == 0 {
				sep = "\n"
			}
			bw.WriteString(sep)
			buf = out[:0]
			if _, err := bw.Write(out); err != nil {
				rows.Close()
				return n, err
			}
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return n, translate(err)
		}
	}
	if _, err := bw.WriteString("\n]}\n"); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// exportQuery selects the features of an export in rid order, read
// straight from the table (or from the rid lists of the indexes): with an
// indexable collection term SQLite reads through records_kind and sorts
// every row in a temporary b-tree, in memory, before the first one comes
// out, and memory would grow with the export.
func exportQuery(c geo.Collection, f geo.Filter) (string, []any) {
	cond, args := where(c, f)
	cond = "+" + strings.TrimPrefix(cond, "+")
	return "SELECT r.feature FROM records r WHERE " + cond + " ORDER BY r.rid", args
}

// Extent returns the extent of a collection, as viewers see its records.
func (db *DB) Extent(ctx context.Context, c geo.Collection) (geo.Extent, error) {
	var e geo.Extent
	var w, s, east, n sql.NullFloat64
	var t0, t1 sql.NullInt64
	if c == geo.Incidents {
		// A point's box is the point: one scan of the table gives the
		// whole extent, without the spatial index (x and y hold a
		// sensitive incident's coarse point). "+": through records_kind
		// each row would be looked up in the table.
		err := db.read.QueryRowContext(ctx, `SELECT count(*), min(CASE WHEN t0 > ? THEN t0 END), max(CASE WHEN t1 < ? THEN t1 END), min(x), min(y), max(x), max(y)
		FROM records WHERE +collection = ?`, int64(math.MinInt64), int64(math.MaxInt64), string(c)).Scan(&e.Count, &t0, &t1, &w, &s, &east, &n)
		if err != nil {
			return e, translate(err)
		}
		if w.Valid {
			e.BBox = &geo.BBox{W: w.Float64, S: s.Float64, E: east.Float64, N: n.Float64}
		}
		e.Start, e.HasStart = t0.Int64, t0.Valid
		e.End, e.HasEnd = t1.Int64, t1.Valid
		return e, nil
	}
	// Everyone reads the extent: sensitive records count by their coarse
	// boxes.
	err := db.read.QueryRowContext(ctx, `SELECT min(x0), min(y0), max(x1), max(y1) FROM (
		SELECT nexus_box_coord(g, part, 0) x0, nexus_box_coord(g, part, 1) y0, nexus_box_coord(g, part, 2) x1, nexus_box_coord(g, part, 3) y1 FROM (
			SELECT nexus_geom(r.geom, r.x, r.y) g, b.id & 1 part FROM boxes b JOIN records r ON r.rid = b.id >> 1
			WHERE r.collection = ? AND b.id >> 1 NOT IN (`+sensitiveRids+`))
		UNION ALL
		SELECT b.x0, b.y0, b.x1, b.y1 FROM coarse_boxes b JOIN records r ON r.rid = b.id >> 1 WHERE r.collection = ?)`,
		string(c), string(c)).Scan(&w, &s, &east, &n)
	if err != nil {
		return e, translate(err)
	}
	if w.Valid {
		e.BBox = &geo.BBox{W: w.Float64, S: s.Float64, E: east.Float64, N: n.Float64}
	}
	err = db.read.QueryRowContext(ctx, `SELECT count(*), min(CASE WHEN t0 > ? THEN t0 END), max(CASE WHEN t1 < ? THEN t1 END)
		FROM records WHERE collection = ?`, int64(math.MinInt64), int64(math.MaxInt64), string(c)).Scan(&e.Count, &t0, &t1)
	if err != nil {
		return e, translate(err)
	}
	e.Start, e.HasStart = t0.Int64, t0.Valid
	e.End, e.HasEnd = t1.Int64, t1.Valid
	return e, nil
}

// Scan reads, from one snapshot, how many records of each collection match
// the filter, passes the counts to counted, then passes every matching
// record's encoded Feature to each, collection by collection in rid order.
// Memory does not grow with the data; the bytes passed to each are valid
// only during the call. An error from counted or each stops the scan and
// is returned.
func (db *DB) Scan(ctx context.Context, cols []geo.Collection, f geo.Filter,
	counted func(counts map[geo.Collection]int64) error,
	each func(c geo.Collection, feature []byte) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	counts := make(map[geo.Collection]int64, len(cols))
	for _, c := range cols {
		cond, args := where(c, f)
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM records r WHERE "+cond, args...).Scan(&n); err != nil {
			return translate(err)
		}
		counts[c] = n
	}
	if err := counted(counts); err != nil {
		return err
	}
	for _, c := range cols {
		query, args := exportQuery(c, f)
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return translate(err)
		}
		var feature sql.RawBytes
		var buf []byte
		for rows.Next() {
			if err := rows.Scan(&feature); err != nil {
				rows.Close()
				return err
			}
			out, err := shown(buf, c, f, feature)
			if err != nil {
				rows.Close()
				return err
			}
			buf = out[:0]
			if err := each(c, out); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return translate(err)
		}
	}
	return nil
}
