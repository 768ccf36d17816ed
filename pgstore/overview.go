package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"nexus/geo"
)

// EachIncident calls fn with the id, key (rid), point and keys of every
// incident (all keys but the text), in rid order, read from one snapshot
// without decoding a Feature,
// and returns the change-log seq of that snapshot. It is how an in-memory
// index starts; it then follows the log from the seq. The point of a
// sensitive incident is its coarse point, and k.Shape its exact one.
func (db *DB) EachIncident(ctx context.Context, fn func(id string, key int64, p orb.Point, k geo.Keys) error) (int64, error) {
	var seq int64
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&seq); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT r.rid, r.id, r.kind, r.t0, r.t1, ST_X(r.geom), ST_Y(r.geom), ST_X(r.coarse), ST_Y(r.coarse),
				(SELECT array_agg(k.value ORDER BY k.lvalue) FROM record_keys k WHERE k.rid = r.rid AND k.key = 'actor'),
				(SELECT min(k.value) FROM record_keys k WHERE k.rid = r.rid AND k.key = 'country')
			FROM records r WHERE r.collection = $1 ORDER BY r.rid`, string(geo.Incidents))
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			rid     int64
			id      string
			k       geo.Keys
			x, y    *float64
			cx, cy  *float64
			country *string
		)
		for rows.Next() {
			k.Actors, k.Countries = nil, nil
			if err := rows.Scan(&rid, &id, &k.Kind, &k.Span.Start, &k.Span.End, &x, &y, &cx, &cy, &k.Actors, &country); err != nil {
				return err
			}
			if k.Actors == nil {
				k.Actors = []string{}
			}
			if country != nil {
				k.Countries = []string{*country}
			}
			var p orb.Point
			if x != nil && y != nil {
				p = orb.Point{*x, *y}
			}
			k.Shape = nil
			if cx != nil && cy != nil {
				k.Shape, p = p, orb.Point{*cx, *cy}
			}
			if err := fn(id, rid, p, k); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return seq, err
}

// TextKeys returns, from one snapshot with its change-log seq, the rids of
// the incidents whose text matches q (the rule of geo.Filter.Q),
// ascending, and the rid of each of ids, 0 for an id no record has. A q
// without words matches every incident.
func (db *DB) TextKeys(ctx context.Context, q string, ids []string) (int64, []int64, []int64, error) {
	var seq int64
	var match []int64
	keys := make([]int64, len(ids))
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&seq); err != nil {
			return err
		}
		match = match[:0]
		var rows pgx.Rows
		var err error
		if tq := tsQuery(q); tq != "" {
			rows, err = tx.Query(ctx, "SELECT rid FROM records WHERE collection = $1 AND words @@ $2::tsquery ORDER BY rid", string(geo.Incidents), tq)
		} else {
			rows, err = tx.Query(ctx, "SELECT rid FROM records WHERE collection = $1 ORDER BY rid", string(geo.Incidents))
		}
		if err != nil {
			return err
		}
		var rid int64
		if _, err := pgx.ForEachRow(rows, []any{&rid}, func() error {
			match = append(match, rid)
			return nil
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		at := make(map[string]int, len(ids))
		for i, id := range ids {
			at[id] = i
		}
		var id string
		rows, err = tx.Query(ctx, "SELECT id, rid FROM records WHERE id = ANY($1)", ids)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&id, &rid}, func() error {
			keys[at[id]] = rid
			return nil
		})
		return err
	})
	return seq, match, keys, err
}
