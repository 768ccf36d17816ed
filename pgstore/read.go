package pgstore

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
)

// args collects a statement's parameters and names them $1, $2, …
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// postgisRadiusM is the sphere PostGIS measures geography on without its
// spheroid (the mean radius), in metres. geo measures on orb.EarthRadius:
// distances are scaled so that both engines draw the same corridors.
const postgisRadiusM = 6371008.8

// where builds the SQL condition selecting records of the collection that
// match the filter, adding its parameters to a. The bounding-box test goes
// through the GiST index of the boxes (float4, rounded outwards) and is
// then made exact with the float64 box kept beside it. A filter that is
// not Exact tests sensitive records by their coarse boxes and geometry.
func where(c geo.Collection, f geo.Filter, a *args) (string, error) {
	box, cond, err := whereApart(c, f, a)
	if box != "" {
		cond += " AND r.rid IN (" + box + ")"
	}
	return cond, err
}

// whereApart is where with the bounding-box test apart: box is the query
// of the rids of the records whose boxes meet the filter's ("" for a
// filter without one), cond the rest of the condition.
func whereApart(c geo.Collection, f geo.Filter, a *args) (box, cond string, err error) {
	conds := []string{"r.collection = " + a.add(string(c))}
	if f.BBox != nil {
		var parts []string
		for _, b := range f.BBox.Bounds() {
			w, s, e, n := a.add(b.Min[0]), a.add(b.Min[1]), a.add(b.Max[0]), a.add(b.Max[1])
			parts = append(parts, "SELECT rid FROM record_boxes WHERE box && ST_MakeEnvelope("+w+","+s+","+e+","+n+", 4326)"+
				" AND x0 <= "+e+" AND x1 >= "+w+" AND y0 <= "+n+" AND y1 >= "+s+" AND "+boxesFor(f.Exact))
		}
		box = strings.Join(parts, " UNION ")
	}
	if f.Span != (geo.Span{}) && f.Span != geo.All {
		conds = append(conds, "r.t1 > "+a.add(f.Span.Start)+" AND r.t0 < "+a.add(f.Span.End))
	}
	if kinds := f.Kinds(c); len(kinds) > 0 {
		conds = append(conds, "r.kind = ANY("+a.add(kinds)+"::text[])")
	}
	for _, kv := range []struct {
		key    string
		values []string
	}{{"actor", f.Actors}, {"country", f.Countries}} {
		if len(kv.values) == 0 {
			continue
		}
		l := make([]string, len(kv.values))
		for i, v := range kv.values {
			l[i] = lowerASCII(v)
		}
		conds = append(conds, "r.rid IN (SELECT rid FROM record_keys WHERE key = "+a.add(kv.key)+" AND lvalue = ANY("+a.add(l)+"::text[]))")
	}
	if f.Near != nil {
		cond, err := nearCondition(c, f.Near, f.Exact, a)
		if err != nil {
			return "", "", err
		}
		conds = append(conds, cond)
	}
	if q := tsQuery(f.Q); q != "" {
		conds = append(conds, "r.words @@ "+a.add(q)+"::tsquery")
	}
	if f.CQL != nil {
		cond, err := compileCQL(c, f.CQL, f.Exact, a)
		if err != nil {
			return "", "", err
		}
		conds = append(conds, "("+cond+")")
	}
	return box, strings.Join(conds, " AND "), nil
}

// nearCondition is the SQL condition of a corridor filter: within km of
// the point or path along great circles, on the sphere of package geo.
// The candidates come through the GiST index of the boxes
// (geo.Near.Boxes hold every place within the corridor), then are
// measured. A filter that is not exact tests sensitive records' coarse
// boxes and geometry. A route's boxes hold its positions, not the great
// circles between them, which bow out of them (towards a pole, by degrees
// on a long leg): each route is measured. Routes are few.
func nearCondition(c geo.Collection, n *geo.Near, exact bool, a *args) (string, error) {
	var shape orb.Geometry = n.Path
	if n.Point != nil {
		shape = *n.Point
	}
	if shape == nil {
		return "false", nil // an unresolved route selects nothing
	}
	g, err := wkb.Marshal(shape)
	if err != nil {
		return "", err
	}
	m := n.Km * 1000 * postgisRadiusM / orb.EarthRadius
	within := "ST_DWithin(" + geomFor(exact) + "::geography, ST_GeomFromWKB(" + a.add(g) + ", 4326)::geography, " + a.add(m) + ", false)"
	if c == geo.Routes {
		return within, nil
	}
	var parts []string
	for _, b := range n.Boxes() {
		w, so, e, no := a.add(b.Min[0]), a.add(b.Min[1]), a.add(b.Max[0]), a.add(b.Max[1])
		parts = append(parts, "SELECT rid FROM record_boxes WHERE box && ST_MakeEnvelope("+w+","+so+","+e+","+no+", 4326)"+
			" AND x0 <= "+e+" AND x1 >= "+w+" AND y0 <= "+no+" AND y1 >= "+so+" AND "+boxesFor(exact))
	}
	if len(parts) == 0 {
		return "false", nil
	}
	return "r.rid IN (" + strings.Join(parts, " UNION ") + ") AND " + within, nil
}

// tsQuery turns free text into a full-text query that requires a word
// beginning with each word typed ("cocain" finds "cocaine"), as geo.HasWords
// does in memory. Each word is a quoted lexeme: no user text is read as
// query syntax.
func tsQuery(q string) string {
	words := geo.Words(q)
	for i, w := range words {
		if len(w) > maxLexeme {
			w = lexemes(w)[0]
		}
		w = strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), `'`, `''`)
		words[i] = "'" + w + "':*"
	}
	return strings.Join(words, " & ")
}

// Get returns one record.
func (db *DB) Get(ctx context.Context, c geo.Collection, id string) (geo.Stored, error) {
	s := geo.Stored{Collection: c, ID: id}
	err := db.pool.QueryRow(ctx, "SELECT version, feature FROM records WHERE id = $1 AND collection = $2", id, string(c)).Scan(&s.Version, &s.Feature)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	}
	return s, translate(err)
}

// snapshot runs f in a read-only transaction that sees one snapshot.
func (db *DB) snapshot(ctx context.Context, f func(pgx.Tx) error) error {
	return translate(pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, f))
}

// Query returns up to limit records matching the filter after the cursor,
// in storage order, with the number matched in all. The count and the page
// are read from one snapshot.
func (db *DB) Query(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int) (geo.Page, error) {
	return db.page(ctx, c, f, after, limit, true, false)
}

// PageOnly is Query without the count of all matches (Matched is what the
// page holds). A box whose matches are not a small share of the records
// (scan) is read as any other filter; another is read through the spatial
// index, its records in the order of their rids until the page is full.
func (db *DB) PageOnly(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int, scan bool) (geo.Page, error) {
	return db.page(ctx, c, f, after, limit, false, scan)
}

func (db *DB) page(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int, count, scan bool) (geo.Page, error) {
	var p geo.Page
	var a args
	box, cond, err := whereApart(c, f, &a)
	if err != nil {
		return p, err
	}
	var q string
	if box != "" && !count && !scan {
		// The rids in the box, in order, each tested against the rest of
		// the filter until the page is full.
		q = "SELECT 0, r.rid, r.feature FROM (SELECT DISTINCT rid FROM (" + box + ") u WHERE rid > " + a.add(after) + " ORDER BY rid) b " +
			"JOIN records r ON r.rid = b.rid WHERE " + cond + " ORDER BY b.rid LIMIT " + a.add(limit+1)
	} else {
		if box != "" {
			cond += " AND r.rid IN (" + box + ")"
		}
		// The page's rids are chosen first, and only their Features read:
		// the Features of the other matches are not carried through the
		// sort. With the count, both come from one pass over the matches.
		afterP, limitP := a.add(after), a.add(limit+1)
		with, matched := "", "0"
		rids := "SELECT r.rid FROM records r WHERE " + cond + " AND r.rid > " + afterP + " ORDER BY r.rid LIMIT " + limitP
		if count {
			with, matched = "WITH m AS MATERIALIZED (SELECT r.rid FROM records r WHERE "+cond+") ", "(SELECT count(*) FROM m)"
			rids = "SELECT rid FROM m WHERE rid > " + afterP + " ORDER BY rid LIMIT " + limitP
		}
		q = with + "SELECT " + matched + ", r.rid, r.feature FROM records r WHERE r.rid IN (" + rids + ") ORDER BY r.rid"
	}
	err = db.snapshot(ctx, func(tx pgx.Tx) error {
		p = geo.Page{}
		rows, err := tx.Query(ctx, q, a...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var rid int64
		for rows.Next() {
			if len(p.Features) == limit {
				p.Next = rid
				break
			}
			var feature []byte
			if err := rows.Scan(&p.Matched, &rid, &feature); err != nil {
				return err
			}
			feature, err := shown(c, f, feature)
			if err != nil {
				return err
			}
			p.Features = append(p.Features, feature)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		switch {
		case !count:
			p.Matched = int64(len(p.Features))
		case len(p.Features) == 0 && after > 0:
			// A page past the last match has no row to count on.
			return tx.QueryRow(ctx, "SELECT count(*) FROM records r WHERE "+cond, a[:len(a)-2]...).Scan(&p.Matched)
		}
		return nil
	})
	return p, err
}

// Count returns how many records of the collection match the filter.
func (db *DB) Count(ctx context.Context, c geo.Collection, f geo.Filter) (int64, error) {
	var a args
	cond, err := where(c, f, &a)
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.pool.QueryRow(ctx, "SELECT count(*) FROM records r WHERE "+cond, a...).Scan(&n)
	return n, translate(err)
}

// Features returns the Features of the records with the ids, in that
// order, leaving out ids that do not exist.
func (db *DB) Features(ctx context.Context, c geo.Collection, ids []string) ([][]byte, error) {
	rows, err := db.pool.Query(ctx, "SELECT r.feature FROM unnest($1::text[]) WITH ORDINALITY AS u(id, n) JOIN records r ON r.id = u.id AND r.collection = $2 ORDER BY u.n", ids, string(c))
	if err != nil {
		return nil, translate(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	return out, translate(err)
}

// Each calls fn with every record of the collection that matches the
// filter, streaming from one snapshot: memory does not grow with the data.
// The bytes passed to fn are valid only during the call.
func (db *DB) Each(ctx context.Context, c geo.Collection, f geo.Filter, fn func(feature []byte) error) error {
	var a args
	cond, err := where(c, f, &a)
	if err != nil {
		return err
	}
	return db.snapshot(ctx, func(tx pgx.Tx) error {
		return eachRow(ctx, tx, "SELECT r.feature FROM records r WHERE "+cond+" ORDER BY r.rid", a, func(feature []byte) error {
			out, err := shown(c, f, feature)
			if err != nil {
				return err
			}
			return fn(out)
		})
	})
}

// eachRow streams the one bytea column of a query's rows.
func eachRow(ctx context.Context, tx pgx.Tx, query string, a args, fn func([]byte) error) error {
	rows, err := tx.Query(ctx, query, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.RawValues()[0]); err != nil {
			return err
		}
	}
	return rows.Err()
}

const changeColumns = "c.seq, c.collection, c.id, c.op, c.version, c.actor, c.time, c.before, " + currentAfter + ", coalesce(c.restored, 0)"

// scanChanges reads change-log rows.
func scanChanges(rows pgx.Rows) ([]geo.Change, error) {
	defer rows.Close()
	var out []geo.Change
	for rows.Next() {
		var c geo.Change
		var before, after []byte
		if err := rows.Scan(&c.Seq, &c.Collection, &c.ID, &c.Op, &c.Version, &c.Actor, &c.Time, &before, &after, &c.Restored); err != nil {
			return nil, err
		}
		c.Time = c.Time.UTC()
		c.Before, c.After = before, after
		out = append(out, c)
	}
	return out, rows.Err()
}

// History returns up to limit changes of one record with seq below before
// (0 starts at the newest), newest first, within geo.MaxHistoryBytes. It
// answers for deleted records too, saying so; ENOTFOUND only when the id
// never existed.
func (db *DB) History(ctx context.Context, c geo.Collection, id string, before int64, limit int) (geo.HistoryPage, error) {
	var p geo.HistoryPage
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		p = geo.HistoryPage{}
		var op string
		err := tx.QueryRow(ctx, "SELECT op FROM changes WHERE id = $1 AND collection = $2 ORDER BY seq DESC LIMIT 1", id, string(c)).Scan(&op)
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
		} else if err != nil {
			return err
		}
		p.Deleted = op == geo.OpDelete
		if before <= 0 {
			before = math.MaxInt64
		}
		size := 0
		for len(p.Changes) < limit {
			rows, err := tx.Query(ctx, "SELECT "+changeColumns+" FROM "+currentJoin+" WHERE c.id = $1 AND c.collection = $2 AND c.seq < $3 ORDER BY c.seq DESC LIMIT $4",
				id, string(c), before, min(4, limit-len(p.Changes)))
			if err != nil {
				return err
			}
			chunk, err := scanChanges(rows)
			if err != nil {
				return err
			}
			if len(chunk) == 0 {
				return nil
			}
			for _, ch := range chunk {
				n := len(ch.Before) + len(ch.After)
				if len(p.Changes) > 0 && size+n > geo.MaxHistoryBytes {
					p.Next = before
					return nil
				}
				size += n
				p.Changes = append(p.Changes, ch)
				before = ch.Seq
			}
		}
		var more bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM changes WHERE id = $1 AND collection = $2 AND seq < $3)", id, string(c), before).Scan(&more); err != nil {
			return err
		}
		if more {
			p.Next = before
		}
		return nil
	})
	return p, err
}

// DeletedAfter returns the records deleted by changes after seq: id and
// the seq of the delete.
func (db *DB) DeletedAfter(ctx context.Context, after int64) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, max(seq) FROM changes WHERE seq > $1 AND op = 'delete' GROUP BY id", after)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		out[id] = seq
	}
	return out, translate(rows.Err())
}

// Changes returns up to limit change-log entries after seq, oldest first.
// What it returns is always a prefix of what follows seq: seqs become
// visible in order (see writeTx.log).
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]geo.Change, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+changeColumns+" FROM "+currentJoin+" WHERE c.seq > $1 ORDER BY c.seq LIMIT $2", after, limit)
	if err != nil {
		return nil, translate(err)
	}
	out, err := scanChanges(rows)
	return out, translate(err)
}

// LastSeq returns the newest change-log seq, 0 for an empty log.
func (db *DB) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&seq)
	return seq, translate(err)
}

// FirstSeq returns the oldest change-log seq still kept, 0 for an empty log.
func (db *DB) FirstSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, "SELECT coalesce(min(seq), 0) FROM changes").Scan(&seq)
	return seq, translate(err)
}
