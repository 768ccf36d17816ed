package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"nexus/geo"
)

// where builds the SQL condition selecting records of the collection that
// match the filter. The bounding-box test goes through the R*Tree and is
// then made exact with the float64 box kept beside it.
func where(c geo.Collection, f geo.Filter) (string, []any) {
	conds := []string{"r.collection = ?"}
	args := []any{string(c)}
	driven := false // by a list of rids from an index
	if f.BBox != nil {
		var parts []string
		var partArgs [][]any
		for _, b := range f.BBox.Bounds() {
			c, a := boxCondition(b)
			parts, partArgs = append(parts, c), append(partArgs, a)
		}
		rids, a := boxRids(f.Exact, parts, partArgs)
		conds = append(conds, "r.rid IN ("+rids+")")
		args = append(args, a...)
		driven = true
	}
	if f.Span != (geo.Span{}) && f.Span != geo.All {
		conds = append(conds, "r.t1 > ? AND r.t0 < ?")
		args = append(args, f.Span.Start, f.Span.End)
	}
	if kinds := f.Kinds(c); len(kinds) > 0 {
		conds = append(conds, "r.kind IN ("+placeholders(len(kinds))+")")
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	for _, kv := range []struct {
		key    string
		values []string
	}{{"actor", f.Actors}, {"country", f.Countries}} {
		if len(kv.values) == 0 {
			continue
		}
		conds = append(conds, "r.rid IN (SELECT rid FROM record_keys WHERE key = ? AND value IN ("+placeholders(len(kv.values))+"))")
		args = append(args, kv.key)
		for _, v := range kv.values {
			args = append(args, v)
		}
		driven = true
	}
	if f.Near != nil {
		cond, a := nearCondition(c, f.Near, f.Exact)
		conds = append(conds, cond)
		args = append(args, a...)
		driven = true
	}
	if q := ftsQuery(f.Q); q != "" {
		conds = append(conds, "r.rid IN (SELECT rowid FROM fts WHERE fts MATCH ?)")
		args = append(args, q)
		driven = true
	}
	if f.CQL != nil {
		cond, cargs := compileCQL(c, f.CQL, f.Exact)
		conds = append(conds, "("+cond+")")
		args = append(args, cargs...)
	}
	if driven {
		// Let the rid IN lists of the indexes drive the query: with an
		// indexable collection term SQLite scans the whole collection
		// through records_kind and probes the lists for every record.
		conds[0] = "+r.collection = ?"
	}
	return strings.Join(conds, " AND "), args
}

// ftsText is what the full-text index holds of a record: its text folded
// by geo.Fold, whose words the index's ASCII tokenizer splits exactly as
// geo.Words splits a query, so the index and the matchers in memory find
// the same words.
func ftsText(k geo.Keys) string { return geo.Fold(k.Text) }

// ftsQuery turns free text into an FTS5 query that requires a word
// beginning with each word typed ("cocain" finds "cocaine"); each word is
// quoted, so no user text is read as FTS syntax.
func ftsQuery(q string) string {
	words := geo.Words(q)
	for i, w := range words {
		words[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"*`
	}
	return strings.Join(words, " ")
}

// Get returns one record.
func (db *DB) Get(ctx context.Context, c geo.Collection, id string) (geo.Stored, error) {
	s := geo.Stored{Collection: c, ID: id}
	err := db.read.QueryRowContext(ctx, "SELECT version, feature FROM records WHERE id = ? AND collection = ?", id, string(c)).Scan(&s.Version, &s.Feature)
	if errors.Is(err, sql.ErrNoRows) {
		return s, geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	}
	if err != nil {
		return s, err
	}
	s.Feature, err = unpack(nil, s.Feature)
	return s, err
}

// Query returns up to limit records matching the filter after the cursor,
// in storage order, with the number matched in all. The count and the page
// are read from one snapshot.
func (db *DB) Query(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int) (geo.Page, error) {
	cond, args := where(c, f)
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return geo.Page{}, err
	}
	defer tx.Rollback()
	page, pageArgs := pageQuery(c, f, "", nil, after, limit)
	rows, err := tx.QueryContext(ctx, page, pageArgs...)
	if err != nil {
		return geo.Page{}, translate(err)
	}
	p, err := scanPage(rows, c, f, limit)
	if err != nil {
		return p, err
	}
	if after == 0 && p.Next == 0 {
		// The first page holds every match: no need to count them again.
		p.Matched = int64(len(p.Features))
		return p, nil
	}
	err = tx.QueryRowContext(ctx, "SELECT count(*) FROM records r WHERE "+cond, args...).Scan(&p.Matched)
	return p, translate(err)
}

// pageQuery is the SQL and arguments of a page of the collection: the rid
// and Feature of up to limit+1 records matching the filter (and the
// condition extra, with its arguments, which begins with AND) after the
// cursor, in rid order. A text filter that is the only one read through
// an index (no box, actor, country or corridor) drives the page through
// the full-text index, read in rowid order from the cursor on, so that a
// page stops once it holds its records rather than listing every match
// of the text first; with another such filter, the lists of both meet.
func pageQuery(c geo.Collection, f geo.Filter, extra string, extraArgs []any, after int64, limit int) (string, []any) {
	if q := ftsQuery(f.Q); q != "" && f.BBox == nil && len(f.Actors) == 0 && len(f.Countries) == 0 && f.Near == nil {
		f.Q = ""
		cond, args := where(c, f)
		args = append(append(append([]any{q, after}, args...), extraArgs...), limit+1)
		// CROSS JOIN keeps the text index outside, each match read by rowid.
		return "SELECT r.rid, r.feature FROM fts CROSS JOIN records r ON r.rid = fts.rowid WHERE fts MATCH ? AND fts.rowid > ? AND +" +
			strings.TrimPrefix(cond, "+") + extra + " ORDER BY fts.rowid LIMIT ?", args
	}
	cond, args := where(c, f)
	args = append(append(args, extraArgs...), after, limit+1)
	return "SELECT r.rid, r.feature FROM " + pageSource(c, cond) + extra + " AND r.rid > ? ORDER BY r.rid LIMIT ?", args
}

// pageSource is the FROM and WHERE of an ordered page of the collection
// under the condition cond (of where). Incidents are read by rowid: "+"
// keeps records_kind out, through which SQLite would sort every match in a
// temporary b-tree to return one page. Routes, a small collection stored
// among a large one, are read through records_routes in rid order, so
// that a page starts at the collection's first record instead of reading
// every incident before it (the index's condition is spelled out for the
// planner to see that it applies).
func pageSource(c geo.Collection, cond string) string {
	cond = strings.TrimPrefix(cond, "+")
	if c == geo.Routes {
		return "records r INDEXED BY records_routes WHERE r.collection = 'routes' AND " + cond
	}
	return "records r WHERE +" + cond
}

// Count returns how many records of the collection match the filter.
func (db *DB) Count(ctx context.Context, c geo.Collection, f geo.Filter) (int64, error) {
	cond, args := where(c, f)
	var n int64
	err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM records r WHERE "+cond, args...).Scan(&n)
	return n, translate(err)
}

// Each calls fn with every record of the collection that matches the
// filter, streaming from one snapshot: memory does not grow with the data.
// The bytes passed to fn are valid only during the call.
func (db *DB) Each(ctx context.Context, c geo.Collection, f geo.Filter, fn func(feature []byte) error) error {
	cond, args := where(c, f)
	// "+": read in rid order from the table, not sorted in memory (see Query).
	rows, err := db.read.QueryContext(ctx, "SELECT r.feature FROM records r WHERE +"+strings.TrimPrefix(cond, "+")+" ORDER BY r.rid", args...)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	var feature sql.RawBytes
	var buf []byte
	for rows.Next() {
		if err := rows.Scan(&feature); err != nil {
			return err
		}
		out, err := shown(buf, c, f, feature)
		if err != nil {
			return err
		}
		buf = out[:0]
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

// changeColumns are the columns scanChanges reads, of the change log as
// c. A change keeps the Feature it replaced (before) but not the one it
// wrote (after), which is the next change's before or, for the newest
// change of a record, the record's stored Feature: the two last columns
// say where to find it, in the snapshot that read the change (rows written
// by older versions, or loaded from a dump, keep after themselves).
const changeColumns = "c.seq, c.collection, c.id, c.op, c.version, c.actor, c.time, c.before, c.after, c.payload, c.part, c.restored, " +
	"CASE WHEN c.after IS NULL AND c.op <> 'delete' THEN (SELECT n.seq FROM changes n WHERE n.id = c.id AND n.collection = c.collection AND n.seq > c.seq ORDER BY n.seq LIMIT 1) END, " +
	"CASE WHEN c.after IS NULL AND c.op <> 'delete' AND NOT EXISTS (SELECT 1 FROM changes n WHERE n.id = c.id AND n.collection = c.collection AND n.seq > c.seq) THEN (SELECT r.feature FROM records r WHERE r.id = c.id AND r.collection = c.collection) END"

// queryer is what reading a change payload needs: the read pool or a
// transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanChanges reads change-log rows selected as changeColumns; an entry
// written in bulk takes its before (and, if written before the change log
// stopped keeping it, its after) from its payload.
func (db *DB) scanChanges(ctx context.Context, q queryer, rows *sql.Rows) ([]geo.Change, error) {
	defer rows.Close()
	var out []geo.Change
	type ref struct {
		i       int
		payload int64
		part    int
	}
	var refs []ref
	nexts := map[int]int64{} // change → the seq of the next change of its record
	for rows.Next() {
		var c geo.Change
		var t any
		var before, after, current []byte
		var payload, part, restored, next sql.NullInt64
		if err := rows.Scan(&c.Seq, &c.Collection, &c.ID, &c.Op, &c.Version, &c.Actor, &t, &before, &after, &payload, &part, &restored, &next, &current); err != nil {
			return nil, err
		}
		c.Restored = restored.Int64
		if len(after) == 0 {
			after = current
		}
		var err error
		if c.Before, err = unpack(nil, before); err != nil {
			return nil, err
		}
		if c.After, err = unpack(nil, after); err != nil {
			return nil, err
		}
		if c.Time, err = parseChangeTime(t); err != nil {
			return nil, fmt.Errorf("change %d: %w", c.Seq, err)
		}
		if payload.Valid {
			refs = append(refs, ref{len(out), payload.Int64, int(part.Int64)})
		}
		if next.Valid {
			nexts[len(out)] = next.Int64
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	part := func(seq, payload int64, part int) (payloadEntry, error) {
		parts, err := db.payload(ctx, q, payload)
		if err != nil {
			return payloadEntry{}, err
		}
		if part < 0 || part >= len(parts) {
			return payloadEntry{}, fmt.Errorf("change %d: part %d of payload %d is missing", seq, part, payload)
		}
		return parts[part], nil
	}
	for _, r := range refs {
		e, err := part(out[r.i].Seq, r.payload, r.part)
		if err != nil {
			return nil, err
		}
		out[r.i].Before = e.before
		if len(e.after) > 0 {
			out[r.i].After = e.after
		}
	}
	for i, next := range nexts {
		if len(out[i].After) > 0 {
			continue // an older row that kept it
		}
		// The next change's before: change-log rows do not change, so
		// any snapshot reads the same.
		var before []byte
		var payload, p sql.NullInt64
		if err := q.QueryRowContext(ctx, "SELECT before, payload, part FROM changes WHERE seq = ?", next).Scan(&before, &payload, &p); err != nil {
			return nil, fmt.Errorf("change %d: the next change %d: %w", out[i].Seq, next, err)
		}
		if payload.Valid {
			e, err := part(next, payload.Int64, int(p.Int64))
			if err != nil {
				return nil, err
			}
			before = e.before
		}
		after, err := unpack(nil, before)
		if err != nil {
			return nil, err
		}
		out[i].After = after
	}
	for _, c := range out {
		if c.Op != geo.OpDelete && len(c.After) == 0 {
			return nil, fmt.Errorf("change %d of %s %s: its Feature is missing", c.Seq, c.Collection, c.ID)
		}
	}
	return out, nil
}

// historyChunk is how many changes History reads at a time.
const historyChunk = 4

// History returns up to limit changes of one record with seq below before
// (0 starts at the newest), newest first, within MaxHistoryBytes. It
// answers for deleted records too, saying so; ENOTFOUND only when the id
// never existed.
func (db *DB) History(ctx context.Context, c geo.Collection, id string, before int64, limit int) (geo.HistoryPage, error) {
	var p geo.HistoryPage
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return p, translate(err)
	}
	defer tx.Rollback()
	var op string
	err = tx.QueryRowContext(ctx, "SELECT op FROM changes WHERE id = ? AND collection = ? ORDER BY seq DESC LIMIT 1", id, string(c)).Scan(&op)
	if errors.Is(err, sql.ErrNoRows) {
		return p, geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	} else if err != nil {
		return p, translate(err)
	}
	p.Deleted = op == geo.OpDelete
	if before <= 0 {
		before = math.MaxInt64
	}
	size := 0
	for len(p.Changes) < limit {
		rows, err := tx.QueryContext(ctx, "SELECT "+changeColumns+" FROM changes c WHERE c.id = ? AND c.collection = ? AND c.seq < ? ORDER BY c.seq DESC LIMIT ?",
			id, string(c), before, min(historyChunk, limit-len(p.Changes)))
		if err != nil {
			return p, translate(err)
		}
		chunk, err := db.scanChanges(ctx, tx, rows)
		if err != nil {
			return p, translate(err)
		}
		if len(chunk) == 0 {
			return p, nil // the oldest change is on this page
		}
		for _, ch := range chunk {
			n := len(ch.Before) + len(ch.After)
			if len(p.Changes) > 0 && size+n > geo.MaxHistoryBytes {
				p.Next = before
				return p, nil
			}
			size += n
			p.Changes = append(p.Changes, ch)
			before = ch.Seq
		}
	}
	// Is there more? One cheap look, without the bodies.
	var more int
	err = tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM changes WHERE id = ? AND collection = ? AND seq < ? LIMIT 1)", id, string(c), before).Scan(&more)
	if err != nil {
		return p, translate(err)
	}
	if more > 0 {
		p.Next = before
	}
	return p, nil
}

// DeletedAfter returns the records deleted by changes after seq: id and
// the seq of the delete.
func (db *DB) DeletedAfter(ctx context.Context, after int64) (map[string]int64, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, max(seq) FROM changes WHERE seq > ? AND op = ? GROUP BY id", after, geo.OpDelete)
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
	return out, rows.Err()
}

// Changes returns up to limit change-log entries after seq, oldest first.
func (db *DB) Changes(ctx context.Context, after int64, limit int) ([]geo.Change, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+changeColumns+" FROM changes c WHERE c.seq > ? ORDER BY c.seq LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	return db.scanChanges(ctx, db.read, rows)
}

// LastSeq returns the newest change-log seq, 0 for an empty log.
func (db *DB) LastSeq(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := db.queryRow(ctx, "SELECT max(seq) FROM changes").Scan(&seq)
	return seq.Int64, err
}

// FirstSeq returns the oldest change-log seq still kept, 0 for an empty log.
func (db *DB) FirstSeq(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	err := db.read.QueryRowContext(ctx, "SELECT min(seq) FROM changes").Scan(&seq)
	return seq.Int64, err
}

// scanPage reads the rows of a query for (rid, feature) in rid order,
// limited to one more than a page of limit, into a page: its features and,
// when there are more, the rid to read on after (Next).
func scanPage(rows *sql.Rows, c geo.Collection, f geo.Filter, limit int) (geo.Page, error) {
	var p geo.Page
	defer rows.Close()
	var rid int64
	for rows.Next() {
		if len(p.Features) == limit {
			p.Next = rid
			break
		}
		var feature []byte
		if err := rows.Scan(&rid, &feature); err != nil {
			return p, err
		}
		feature, err := shown(nil, c, f, feature)
		if err != nil {
			return p, err
		}
		p.Features = append(p.Features, feature)
	}
	if err := rows.Err(); err != nil {
		return p, translate(err)
	}
	return p, rows.Close()
}
