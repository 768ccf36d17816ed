package store

import (
	"context"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/internal/parallel"
)

// PrepareBatch does the part of ImportBatch that needs no transaction and
// returns the write that finishes it (an import prepares each batch while
// the one before is written). The records are validated; the stored ones
// the batch names by external_id are read as committed; and every row,
// index entry and change-log entry the batch writes is worked out on
// every core, the new records with their ids and the batch's time.
//
// The write checks in its transaction, with one query per 500 external
// ids, that the records the batch names are still stored as they were
// read, or still not at all. Should one have changed meanwhile (written
// by the batch before, or by another writer), the batch is worked out
// again in its transaction, as ImportBatch does unprepared. The write is
// called once; the records stay the batch's until it has returned.
func (db *DB) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	return db.prepareBatch(actor, recs, nil)
}

// prepareBatch is PrepareBatch, for the load l or, nil, for a transaction
// of the batch's own.
func (db *DB) prepareBatch(actor string, recs []geo.Record, l *load) (func(context.Context) ([]geo.ImportResult, error), error) {
	now := db.Now().UTC().Truncate(time.Millisecond)
	pre, err := db.prepareAll(recs)
	if err != nil {
		return nil, err
	}
	p := &plan{db: db, load: l, actor: actor, recs: recs, pre: pre, now: now}
	if err := p.work(); err != nil {
		return nil, err
	}
	return p.write, nil
}

// plan is a batch worked out by PrepareBatch.
type plan struct {
	db    *DB
	load  *load // the load the batch is written in; nil for a transaction of its own
	actor string
	recs  []geo.Record
	pre   []prepared
	now   time.Time

	// inTx says the batch is worked out in its transaction: it names
	// an external_id twice, and the second must see what the first
	// wrote.
	inTx    bool
	stored  map[string]known // the records the batch names, as read, by collection and external_id
	lookups [][]any          // arguments of the queries that read them again: a collection, then up to lookupChunk external ids

	results  []geo.ImportResult
	inserts  []any     // rows of the new records, each rid a freshRid
	updates  [][]any   // rows of the records replaced, each followed by its rid
	sources  []any     // src, rid of unchanged records read from new bytes
	replaced []removed // the records replaced
	packed   bool      // the Features of inserts and updates are packed
	index    *indexRows
	log      []any // change-log rows; a payload column holds a freshPayload
	payloads [][]byte
}

// freshPayload is the place of a change payload among those of its
// batch, before it is stored and has its id.
type freshPayload int

// work reads the stored records the batch names and works out what it
// writes.
func (p *plan) work() error {
	seen := make(map[string]bool, len(p.pre))
	for _, x := range p.pre {
		if x.ext == "" {
			continue
		}
		if seen[x.ext] {
			p.inTx = true
			return nil
		}
		seen[x.ext] = true
	}
	if err := p.read(); err != nil {
		return err
	}
	d := p.db.dict.Load()
	if p.load != nil {
		if ld := p.load.dict.Load(); ld != nil {
			d = ld
		}
	}
	// A small dictionary may be replaced by one made of this batch, in
	// its transaction (writeTx.dictionary); a full one stays.
	p.packed = d != nil && len(d.data) >= dictTarget/2
	if !p.packed {
		d = nil
	}

	const (
		created = iota + 1
		unchanged
		updated
	)
	type work struct {
		outcome int
		fresh   int // a new record's place among the batch's new records
		row     []any
		coarse  []orb.Bound
		before  []byte   // an update's stored Feature
		oldKeys geo.Keys // and the keys it was indexed by
		err     error
	}
	// The slices are made as large as the batch needs, and the values
	// every row shares are boxed once.
	n := len(p.recs)
	ws := make([]work, n)
	ids := make([]string, n)
	colls := map[geo.Collection]any{}
	fresh := 0
	for i, r := range p.recs {
		if _, ok := p.stored[p.pre[i].ext]; !ok {
			ids[i] = geo.NewID() // in batch order, so that the ids ascend
			ws[i].fresh = fresh
			fresh++
		}
		if c := r.Collection(); colls[c] == nil {
			colls[c] = string(c)
		}
	}
	p.inserts = make([]any, fresh*insertColumns)
	parallel.For(n, func(i int) {
		w := &ws[i]
		r, keys := p.recs[i], p.pre[i].keys
		m := r.Base()
		src := m.Source
		k, ok := p.stored[p.pre[i].ext]
		if !ok {
			m.ID, m.Version, m.Created, m.Updated = ids[i], 1, p.now, p.now
			w.outcome = created
			w.row = p.inserts[w.fresh*insertColumns : (w.fresh+1)*insertColumns]
			w.row[0], w.row[1], w.row[2] = freshRid(w.fresh), colls[r.Collection()], ids[i]
		} else {
			// Known: compared with the stored Feature, encoded with its meta.
			cur, err := unpack(nil, k.blob)
			if err != nil {
				w.err = err
				return
			}
			old, err := geo.DecodeFeature(r.Collection(), cur)
			if err != nil {
				w.err = err
				return
			}
			*m = *old.Base()
			m.Source = src
			same, err := geo.EncodeFeature(r)
			if err != nil {
				w.err = err
				return
			}
			if string(same) == string(cur) {
				w.outcome = unchanged
				return
			}
			m.Version, m.Updated = k.version+1, p.now
			w.outcome, w.before, w.oldKeys = updated, cur, old.Keys()
			w.row = make([]any, recordColumns+1)
			w.row[recordColumns] = k.rid
		}
		feature, err := geo.EncodeFeature(r)
		if err != nil {
			w.err = err
			return
		}
		if w.outcome == created {
			w.err = fillRow(w.row[3:], r, keys, packFeature(d, feature))
		} else {
			w.err = fillRow(w.row, r, keys, packFeature(d, feature))
		}
		w.coarse = coarseBoxes(r)
	})

	p.results = make([]geo.ImportResult, n)
	p.log = make([]any, 0, n*changeColumnsBulk)
	index := make([]indexed, 0, n)
	var payload payloadWriter
	actor, when := any(p.actor), any(changeTime(p.now))
	for i, r := range p.recs {
		w := &ws[i]
		if w.err != nil {
			return w.err
		}
		c := r.Collection()
		k := p.stored[p.pre[i].ext]
		switch w.outcome {
		case created:
			index = append(index, indexed{rid: int64(w.fresh), coll: c, keys: p.pre[i].keys, coarse: w.coarse, fresh: true})
			p.log = append(p.log, w.row[1], w.row[2], geo.OpCreate, int64(1), actor, when, nil, nil)
			p.results[i] = geo.ImportResult{ID: ids[i], Outcome: geo.Created}
		case unchanged:
			if src := r.Base().Source; src != 0 && int64(src) != k.src {
				p.sources = append(p.sources, int64(src), k.rid)
			}
			p.results[i] = geo.ImportResult{ID: k.id, Outcome: geo.Unchanged}
		case updated:
			p.updates = append(p.updates, w.row)
			p.replaced = append(p.replaced, removed{k.rid, c, w.oldKeys})
			index = append(index, indexed{rid: k.rid, coll: c, keys: p.pre[i].keys, coarse: w.coarse})
			part := payload.add(w.before, nil)
			p.log = append(p.log, colls[c], k.id, geo.OpUpdate, r.Base().Version, actor, when, freshPayload(len(p.payloads)), part)
			if payload.parts == payloadParts {
				if err := p.finishPayload(&payload); err != nil {
					return err
				}
			}
			p.results[i] = geo.ImportResult{ID: k.id, Outcome: geo.Updated}
		}
	}
	if payload.parts > 0 {
		if err := p.finishPayload(&payload); err != nil {
			return err
		}
	}
	p.index = buildIndex(index)
	return nil
}

// finishPayload deflates the payload being filled and keeps it.
func (p *plan) finishPayload(w *payloadWriter) error {
	data, err := w.finish()
	if err != nil {
		return err
	}
	p.payloads = append(p.payloads, data)
	return nil
}

// read reads the stored records the batch names by external_id, as
// committed.
func (p *plan) read() error {
	byColl := map[geo.Collection][]any{}
	for i, x := range p.pre {
		if x.ext != "" {
			c := p.recs[i].Collection()
			byColl[c] = append(byColl[c], x.keys.ExternalID)
		}
	}
	p.stored = map[string]known{}
	for c, exts := range byColl {
		for len(exts) > 0 {
			chunk := exts[:min(lookupChunk, len(exts))]
			exts = exts[len(chunk):]
			args := append([]any{string(c)}, chunk...)
			p.lookups = append(p.lookups, args)
			if p.load != nil {
				// A load began with no records stored, and no other
				// write commits before it ends.
				continue
			}
			rows, err := p.db.read.Query("SELECT external_id, rid, id, version, coalesce(src, 0), feature FROM records WHERE collection = ? AND external_id IN ("+placeholders(len(chunk))+")", args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var ext string
				var k known
				if err := rows.Scan(&ext, &k.rid, &k.id, &k.version, &k.src, &k.blob); err != nil {
					rows.Close()
					return err
				}
				p.stored[string(c)+"\x00"+ext] = k
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// write writes the batch in one transaction.
func (p *plan) write(ctx context.Context) ([]geo.ImportResult, error) {
	var results []geo.ImportResult
	inTx := p.db.inTxAt
	if p.load != nil {
		inTx = p.load.inTx
	}
	err := inTx(ctx, p.now, func(tx *writeTx) error {
		var last int64
		if err := tx.QueryRow("SELECT coalesce(max(rid), 0) FROM records").Scan(&last); err != nil {
			return err
		}
		if p.load != nil && p.load.needsIndexes(p) {
			if err := p.load.buildIndexes(); err != nil {
				return err
			}
		}
		still := !p.inTx
		// While a load's indexes are gone, the records the batch names
		// are known not to be stored: the store was empty, and the load
		// wrote none of them (needsIndexes).
		if still && (p.load == nil || p.load.indexes == nil) {
			var err error
			if still, err = p.still(tx); err != nil {
				return err
			}
		}
		if !still {
			results = make([]geo.ImportResult, len(p.recs))
			return tx.importBatch(p.actor, p.recs, p.pre, last, results)
		}
		results = p.results
		if err := p.apply(tx, last+1); err != nil {
			return err
		}
		if p.load != nil {
			p.load.wrote(p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// still reports whether the records the batch names are stored as they
// were read, and no others.
func (p *plan) still(tx *writeTx) (bool, error) {
	found := 0
	for _, args := range p.lookups {
		c := args[0].(string)
		rows, err := tx.Query("SELECT external_id, rid, version FROM records WHERE collection = ? AND external_id IN ("+placeholders(len(args)-1)+")", args...)
		if err != nil {
			return false, err
		}
		same := true
		for same && rows.Next() {
			var ext string
			var rid, version int64
			if err := rows.Scan(&ext, &rid, &version); err != nil {
				rows.Close()
				return false, err
			}
			k, ok := p.stored[c+"\x00"+ext]
			same = ok && k.rid == rid && k.version == version
			found++
		}
		if err := rows.Close(); err != nil {
			return false, err
		}
		if err := rows.Err(); err != nil {
			return false, err
		}
		if !same {
			return false, nil
		}
	}
	return found == len(p.stored), nil
}

// apply writes what the batch worked out, its new records taking rids
// from first on.
func (p *plan) apply(tx *writeTx, first int64) error {
	if !p.packed {
		if err := tx.packRows(p.inserts, p.updates); err != nil {
			return err
		}
	}
	for i := 0; i < len(p.sources); i += 2 {
		if _, err := tx.Exec("UPDATE records SET src = ? WHERE rid = ?", p.sources[i], p.sources[i+1]); err != nil {
			return err
		}
	}
	// The summary counts of the records replaced, from the keys of their
	// stored Features.
	if err := tx.unsummarize(p.replaced...); err != nil {
		return err
	}
	for _, row := range p.updates {
		if _, err := tx.Exec(`UPDATE records SET external_id = ?, kind = ?, t0 = ?, t1 = ?, x = ?, y = ?, version = ?, geom = ?, feature = ?, src = ? WHERE rid = ?`,
			row...); err != nil {
			return err
		}
	}
	settle(p.inserts, insertColumns, 0, first)
	if _, err := tx.insertRows("INSERT INTO records (rid, collection, id, external_id, kind, t0, t1, x, y, version, geom, feature, src)", insertColumns, p.inserts); err != nil {
		return err
	}
	if err := tx.unindexAll(p.replaced); err != nil {
		return err
	}
	if err := tx.writeIndex(p.index, first); err != nil {
		return err
	}
	ids := make([]int64, len(p.payloads))
	for i, data := range p.payloads {
		res, err := tx.Exec("INSERT INTO change_payloads (data) VALUES (?)", data)
		if err != nil {
			return err
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return err
		}
	}
	for i := 6; i < len(p.log); i += changeColumnsBulk {
		if n, ok := p.log[i].(freshPayload); ok {
			p.log[i] = ids[n]
		}
	}
	if len(p.log) == 0 {
		return nil
	}
	var last int64
	var err error
	if n := int64(len(p.inserts) / insertColumns); n == int64(len(p.log)/changeColumnsBulk) {
		// Every change is a create, in the order of the new rids: the
		// log's rows are read from the records.
		last, err = tx.insertFrom("INSERT INTO changes (collection, id, op, version, actor, time) SELECT collection, id, ?, 1, ?, ? FROM records WHERE rid BETWEEN ? AND ? ORDER BY rid",
			geo.OpCreate, p.log[4], p.log[5], first, first+n-1)
	} else {
		last, err = tx.insertRows("INSERT INTO changes (collection, id, op, version, actor, time, payload, part)", changeColumnsBulk, p.log)
	}
	if err != nil {
		return err
	}
	tx.lastSeq = last
	return nil
}
