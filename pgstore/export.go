package pgstore

import (
	"bufio"
	"context"
	"io"
	"math"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// Export writes every record of the collections that matches the filter as
// one RFC 7946 FeatureCollection, streaming from one snapshot: rows are
// copied to w as they arrive, so memory does not grow with the data. It
// returns how many features it wrote.
func (db *DB) Export(ctx context.Context, w io.Writer, cols []geo.Collection, f geo.Filter) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(`{"type":"FeatureCollection","features":[`); err != nil {
		return 0, err
	}
	var n int64
	err := db.Scan(ctx, cols, f, nil, func(_ geo.Collection, feature []byte) error {
		sep := ",\n"
		if n == 0 {
			sep = "\n"
		}
		bw.WriteString(sep)
		if _, err := bw.Write(feature); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if _, err := bw.WriteString("\n]}\n"); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// Scan reads, from one snapshot, how many records of each collection match
// the filter, passes the counts to counted (which may be nil), then passes
// every matching record's encoded Feature to each, collection by
// collection in rid order. Memory does not grow with the data; the bytes
// passed to each are valid only during the call. An error from counted or
// each stops the scan and is returned.
func (db *DB) Scan(ctx context.Context, cols []geo.Collection, f geo.Filter,
	counted func(counts map[geo.Collection]int64) error,
	each func(c geo.Collection, feature []byte) error) error {
	type query struct {
		cond string
		a    args
	}
	qs := make([]query, len(cols))
	for i, c := range cols {
		cond, err := where(c, f, &qs[i].a)
		if err != nil {
			return err
		}
		qs[i].cond = cond
	}
	var stop error // an error of the caller's, returned as it is
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		if counted != nil {
			counts := make(map[geo.Collection]int64, len(cols))
			for i, c := range cols {
				var n int64
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM records r WHERE "+qs[i].cond, qs[i].a...).Scan(&n); err != nil {
					return err
				}
				counts[c] = n
			}
			if stop = counted(counts); stop != nil {
				return stop
			}
		}
		for i, c := range cols {
			err := eachRow(ctx, tx, "SELECT r.feature FROM records r WHERE "+qs[i].cond+" ORDER BY r.rid", qs[i].a, func(b []byte) error {
				out, err := shown(c, f, b)
				if err != nil {
					return err
				}
				stop = each(c, out)
				return stop
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if stop != nil {
		return stop
	}
	return err
}

// Extent returns the space and time a collection's records cover, as
// viewers see them: everyone reads it, so sensitive records count by their
// coarse boxes.
func (db *DB) Extent(ctx context.Context, c geo.Collection) (geo.Extent, error) {
	var e geo.Extent
	var w, s, east, n *float64
	var t0, t1 *int64
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT min(b.x0), min(b.y0), max(b.x1), max(b.y1)
			FROM record_boxes b JOIN records r ON r.rid = b.rid WHERE r.collection = $1 AND b.viewers`, string(c)).Scan(&w, &s, &east, &n); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*), min(CASE WHEN t0 > $1 THEN t0 END), max(CASE WHEN t1 < $2 THEN t1 END)
			FROM records WHERE collection = $3`, int64(math.MinInt64), int64(math.MaxInt64), string(c)).Scan(&e.Count, &t0, &t1)
	})
	if err != nil {
		return e, err
	}
	if w != nil {
		e.BBox = &geo.BBox{W: *w, S: *s, E: *east, N: *n}
	}
	if t0 != nil {
		e.Start, e.HasStart = *t0, true
	}
	if t1 != nil {
		e.End, e.HasEnd = *t1, true
	}
	return e, nil
}
