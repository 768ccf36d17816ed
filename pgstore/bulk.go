package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"nexus/geo"
	"nexus/internal/parallel"
)

// prepared is what a batch works out of a record before its transaction,
// on every core (prepareAll).
type prepared struct {
	ext     extKey // collection and external_id, zero without one
	hash    []byte
	plain   []byte // the Feature with no id, version or times (contentHash)
	rows    *rows
	id      string // should the record be new: its id
	feature []byte // and its Feature as created, where encodeNew encodes it rather than plain standing for it
}

// extKey is a record's collection and external_id.
type extKey struct {
	coll geo.Collection
	id   string
}

// hash is the hash of k with seed.
func (k extKey) hash(seed maphash.Seed) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(string(k.coll))
	h.WriteByte(0)
	h.WriteString(k.id)
	return h.Sum64()
}

// rows are the column values and index entries of a record, in the forms
// binary COPY takes.
type rows struct {
	row
	geom, coarse []byte   // EWKB, or nil (NULL)
	words        []byte   // the tsvector, in binary form
	boxes        [][]byte // EWKB of each of row.boxes

	// Room for the boxes and keys of most records.
	boxRoom  [2]indexBox
	ewkbRoom [2][]byte
	keyRoom  [2][2]string
}

// eachIndex calls f(i) for every i below n, side by side on every core,
// and returns the error of the lowest i that failed.
func eachIndex(n int, f func(i int) error) error {
	errs := make([]error, n)
	parallel.For(n, func(k int) { errs[k] = f(k) })
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prepareAll works out, side by side, what a batch writes of each record
// whatever the store holds: the record normalised and valid, its keys,
// content hash and rows, and, should it be new, its id (taken in batch
// order, so that ids ascend). The first invalid record's error is
// returned.
func (db *DB) prepareAll(recs []geo.Record) ([]prepared, error) {
	pre := make([]prepared, len(recs))
	rws := make([]rows, len(recs))
	for k := range pre {
		pre[k].id = geo.NewID()
	}
	err := eachIndex(len(recs), func(k int) error {
		r := recs[k]
		if err := db.prepare(r); err != nil {
			return err
		}
		p := &pre[k]
		keys := r.Keys()
		if keys.ExternalID != "" {
			p.ext = extKey{r.Collection(), keys.ExternalID}
		}
		var err error
		if p.hash, p.plain, err = contentHashOf(r); err != nil {
			return err
		}
		p.rows = &rws[k]
		return p.rows.fill(r, keys)
	})
	if err != nil {
		return nil, err
	}
	return pre, nil
}

// encodeNew gives every record of the batch not stored before it its
// Meta as created at now, and encodes its Feature, side by side, where
// the Feature cannot be made from its plain encoding (created); where it
// can, it is made when it is written (pending.newest, copyBuf.created).
func encodeNew(recs []geo.Record, pre []prepared, known map[extKey]*pending, now time.Time) error {
	return eachIndex(len(recs), func(k int) error {
		p := &pre[k]
		if known[p.ext] != nil {
			return nil
		}
		m := recs[k].Base()
		label := m.Label
		m.ID, m.Version, m.Created, m.Updated = p.id, 1, now, now
		if label == "" && canCreate(p.plain, p.id) {
			return nil
		}
		p.plain = nil
		var err error
		p.feature, err = geo.EncodeFeature(recs[k])
		return err
	})
}

// plainHead is how every Feature encoded with a zero Meta begins.
const plainHead = `{"type":"Feature","id":""`

// created is the Feature geo.EncodeFeature writes of a record as version
// 1 with id and both times stamp (JSON), made from plain, its encoding
// with a zero Meta, rather than encoded again: the id goes into its
// place, and the version and the times end the properties, as Meta, the
// last member of every record, ends them. ok is false when plain is not
// of that form, or the id needs escaping (canCreate).
func created(plain []byte, id string, stamp []byte) (feature []byte, ok bool) {
	if !canCreate(plain, id) {
		return nil, false
	}
	return appendCreated(make([]byte, 0, createdSize(plain, id, stamp)), plain, id, stamp), true
}

// canCreate reports whether the Feature of a record with the id can be
// made from plain (created).
func canCreate(plain []byte, id string) bool {
	n := len(plain)
	if !bytes.HasPrefix(plain, []byte(plainHead)) || !bytes.HasSuffix(plain, []byte("}}")) || n < len(plainHead)+3 || plain[n-3] == '{' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < '0' || c > 'z' || (c > '9' && c < 'A') || (c > 'Z' && c < 'a') {
			return false
		}
	}
	return true
}

// createdSize is the length of the Feature created makes.
func createdSize(plain []byte, id string, stamp []byte) int {
	return len(plain) + len(id) + 2*len(stamp) + len(`,"version":1,"created":,"updated":`)
}

// appendCreated appends the Feature created makes, when canCreate.
func appendCreated(b, plain []byte, id string, stamp []byte) []byte {
	b = append(b, `{"type":"Feature","id":"`...)
	b = append(b, id...)
	b = append(b, '"')
	b = append(b, plain[len(plainHead):len(plain)-2]...)
	b = append(b, `,"version":1,"created":`...)
	b = append(b, stamp...)
	b = append(b, `,"updated":`...)
	b = append(b, stamp...)
	return append(b, "}}"...)
}

// fill works out the rows of a record. The bytes of a point's rows take
// one allocation.
func (rw *rows) fill(r geo.Record, k geo.Keys) error {
	rw.row = rowOf(r, k, rw.boxRoom[:0], rw.keyRoom[:0])
	var wordRoom [64]span
	var foldRoom [512]byte
	words, folded := tsvectorWords(wordRoom[:0], foldRoom[:0], k.Text)
	in, point := r.(*geo.Incident)
	size := tsvectorSize(words) + len(rw.row.boxes)*envelopeSize
	if point {
		size += 2 * pointSize
	}
	b := make([]byte, 0, size)
	cut := func(from int) []byte { return b[from:len(b):len(b)] }
	b = appendTsvector(b, words, folded)
	rw.words = cut(0)
	if point {
		n := len(b)
		b = appendPointEWKB(b, in.Point)
		rw.geom = cut(n)
		if in.Sensitive {
			n = len(b)
			b = appendPointEWKB(b, geo.CoarsePoint(in.Point))
			rw.coarse = cut(n)
		}
	} else {
		var err error
		if rw.geom, err = ewkbOf(r.Geometry()); err != nil {
			return err
		}
		if rw.geom != nil && geo.IsSensitive(r) {
			if rw.coarse, err = ewkbOf(geo.Coarsened(r).Geometry()); err != nil {
				return err
			}
		}
	}
	rw.boxes = rw.ewkbRoom[:0]
	for _, box := range rw.row.boxes {
		n := len(b)
		b = appendEnvelopeEWKB(b, box.Bound)
		rw.boxes = append(rw.boxes, cut(n))
	}
	return nil
}

// pending is the state of one record an import batch writes or knows:
// stored before the batch, or created by it.
type pending struct {
	rid     int64 // 0 until a created record is given its rid
	id      string
	version int64
	hash    []byte
	feature []byte // the newest, nil while the stored one was not read or plain stands for it
	plain   []byte // of a record created: what its Feature is made of (newest), until it is
	coll    geo.Collection
	rows    *rows // of the record as last written by the batch; nil if not
	created bool  // by this batch
	last    int   // the index of its last change-log entry in the batch
}

// newest is the record's newest Feature, made of plain the first time it
// is asked for.
func (st *pending) newest(stamp []byte) []byte {
	if st.feature == nil && st.plain != nil {
		st.feature, _ = created(st.plain, st.id, stamp) // plain is kept only where it can be
		st.plain = nil
	}
	return st.feature
}

// ImportBatch writes a batch of records in one transaction: a record whose
// external_id is known updates that record (or leaves it unchanged, when
// its content hash is the stored one), any other is created. An invalid
// record fails the whole batch with its error; the caller may retry the
// records one by one.
//
// The rows are worked out on every core, then go in with COPY: new
// records, their boxes, keys and change-log entries straight into their
// tables; replaced records through a temporary table and one UPDATE.
func (db *DB) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	write, err := db.PrepareBatch(actor, recs)
	if err != nil {
		return nil, err
	}
	return write(ctx)
}

// PrepareBatch does the work of ImportBatch that needs no transaction
// (validating the records, working out their rows and ids) and returns
// the write that finishes it, in one transaction. An import prepares the
// next batch while the database writes the one before; it calls the
// writes in the order it prepared their batches, each once. The records
// stay the batch's until its write has returned.
func (db *DB) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	pre, err := db.prepareAll(recs)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]geo.ImportResult, error) {
		return db.writeBatch(ctx, actor, recs, pre, nil)
	}, nil
}

// writeBatch writes a prepared batch in one transaction, or, in a load,
// in one savepoint of the load's transaction.
func (db *DB) writeBatch(ctx context.Context, actor string, recs []geo.Record, pre []prepared, l *load) ([]geo.ImportResult, error) {
	inTx := db.inTx
	if l != nil {
		inTx = l.inTx
	}
	var results []geo.ImportResult
	err := inTx(ctx, func(tx *writeTx) error {
		known, err := tx.known(recs, pre)
		if err != nil {
			return err
		}
		b, err := planBatch(recs, pre, known, tx.now)
		if err != nil {
			return err
		}
		results = b.results
		if err := tx.fillAfters(b.replaced); err != nil {
			return err
		}
		return tx.writePlan(actor, b, b.encode(tx.copyRoom))
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// batchPlan is what a batch writes, worked out from its records and the
// stored records they name, before anything is written.
type batchPlan struct {
	results  []geo.ImportResult
	order    []*pending // records to write, in the order first met
	replaced []stored   // stored records the batch replaces, as read
	changes  []logEntry // its change-log entries, in order
	now      time.Time  // the time of its writes
	stamp    []byte     // now, as JSON
}

// planBatch works out what a batch writes: each record whose external_id
// is known (a stored record, or one met earlier in the batch) updates that
// record, or leaves it unchanged when its content hash is the same; any
// other is created at now.
func planBatch(recs []geo.Record, pre []prepared, known map[extKey]*pending, now time.Time) (*batchPlan, error) {
	if err := encodeNew(recs, pre, known, now); err != nil {
		return nil, err
	}
	stamp, err := now.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b := &batchPlan{results: make([]geo.ImportResult, len(recs)), order: make([]*pending, 0, len(recs)),
		changes: make([]logEntry, 0, len(recs)), now: now, stamp: stamp}
	news := make([]pending, len(recs)) // room for the records created
	for i, r := range recs {
		p := &pre[i]
		st := known[p.ext]
		if st != nil && string(st.hash) == string(p.hash) {
			b.results[i] = geo.ImportResult{ID: st.id, Outcome: geo.Unchanged}
			continue
		}
		if st == nil {
			st = &news[i]
			*st = pending{id: p.id, version: 1, hash: p.hash, feature: p.feature, plain: p.plain, coll: r.Collection(), rows: p.rows, created: true, last: len(b.changes)}
			if p.ext != (extKey{}) {
				known[p.ext] = st
			}
			b.order = append(b.order, st)
			b.changes = append(b.changes, logEntry{st.coll, st.id, geo.OpCreate, 1, nil, p.feature})
			b.results[i] = geo.ImportResult{ID: st.id, Outcome: geo.Created}
			continue
		}
		if st.feature == nil && st.plain != nil {
			// Created by the batch, and changed again: the entry that
			// created it keeps the Feature it had.
			b.changes[st.last].after = st.newest(stamp)
		}
		old, err := geo.DecodeFeature(r.Collection(), st.feature)
		if err != nil {
			return nil, err
		}
		m := r.Base()
		*m = *old.Base()
		m.Version, m.Updated = st.version+1, now
		feature, err := geo.EncodeFeature(r)
		if err != nil {
			return nil, err
		}
		if st.rows == nil {
			b.order = append(b.order, st)
			if !st.created {
				b.replaced = append(b.replaced, stored{st.id, st.feature})
			}
		}
		st.last = len(b.changes)
		b.changes = append(b.changes, logEntry{st.coll, st.id, geo.OpUpdate, m.Version, st.feature, feature})
		st.version, st.hash, st.feature, st.rows = m.Version, p.hash, feature, p.rows
		b.results[i] = geo.ImportResult{ID: st.id, Outcome: geo.Updated}
	}
	// The last entry of each record leaves its after to the record row
	// (see currentAfter).
	for _, st := range b.order {
		b.changes[st.last].after = nil
	}
	return b, nil
}

// writePlan writes a planned batch, its records encoded in enc: the
// records created take their rids, then the records, their boxes and
// keys, and the change log go in. The transaction's writes are at the
// plan's time.
func (tx *writeTx) writePlan(actor string, b *batchPlan, enc *recordCopies) error {
	if len(b.order) == 0 {
		return nil
	}
	tx.now = b.now
	if err := tx.copyRecords(b.order, enc); err != nil {
		return err
	}
	return tx.copyLog(actor, b.changes)
}

// known reads the stored records of the batch by external_id, locking
// them until the batch commits. The Feature is read only where the
// batch's content differs.
func (tx *writeTx) known(recs []geo.Record, pre []prepared) (map[extKey]*pending, error) {
	var colls, exts []string
	var hashes [][]byte
	seen := map[extKey]bool{}
	for i, p := range pre {
		if p.ext != (extKey{}) && !seen[p.ext] && (tx.load == nil || tx.load.mayHold(p.ext)) {
			seen[p.ext] = true
			colls = append(colls, string(recs[i].Collection()))
			exts = append(exts, p.ext.id)
			hashes = append(hashes, p.hash)
		}
	}
	// The batch adds the records it creates.
	out := make(map[extKey]*pending, len(pre))
	if len(exts) == 0 {
		return out, nil
	}
	rows, err := tx.Query(tx.ctx, `SELECT r.collection, r.external_id, r.rid, r.id, r.version, r.hash,
			CASE WHEN r.hash IS DISTINCT FROM u.h THEN r.feature END
		FROM unnest($1::text[], $2::text[], $3::bytea[]) AS u(c, e, h)
		JOIN records r ON r.collection = u.c AND r.external_id = u.e
		ORDER BY r.rid FOR UPDATE OF r`, colls, exts, hashes)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c, ext string
		st := &pending{}
		if err := rows.Scan(&c, &ext, &st.rid, &st.id, &st.version, &st.hash, &st.feature); err != nil {
			return nil, err
		}
		st.coll = geo.Collection(c)
		out[extKey{st.coll, ext}] = st
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// A key named twice in the batch may change after an unchanged first
	// occurrence: read the Features still missing.
	var missing []int64
	for _, st := range out {
		if st.feature == nil {
			missing = append(missing, st.rid)
		}
	}
	if len(missing) > 0 && hasRepeats(pre) {
		rows, err := tx.Query(tx.ctx, "SELECT rid, feature FROM records WHERE rid = ANY($1)", missing)
		if err != nil {
			return nil, err
		}
		byRid := map[int64][]byte{}
		for rows.Next() {
			var rid int64
			var f []byte
			if err := rows.Scan(&rid, &f); err != nil {
				rows.Close()
				return nil, err
			}
			byRid[rid] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, st := range out {
			if st.feature == nil {
				st.feature = byRid[st.rid]
			}
		}
	}
	return out, nil
}

// hasRepeats reports whether the batch names an external_id twice.
func hasRepeats(pre []prepared) bool {
	seen := map[extKey]bool{}
	for _, p := range pre {
		if p.ext != (extKey{}) {
			if seen[p.ext] {
				return true
			}
			seen[p.ext] = true
		}
	}
	return false
}

// recordCopies is the COPY data of a batch's records (batchPlan.encode):
// the rows it creates, the rows it replaces, and their boxes. A record
// created has no rid until copyRecords gives it one: its rows hold a
// place for it, listed in rids.
type recordCopies struct {
	recs, upds, boxes copyBuf
	rids              []ridPlace // the places of the rids of the records created, in recs and boxes
	replaced          []int64    // the rids of the rows in upds
}

// ridPlace is where the rid of a record created goes: at byte at of the
// COPY data of its row (inBoxes false) or of one of its boxes.
type ridPlace struct {
	at      int
	inBoxes bool
	st      *pending
}

// encode writes the COPY data of the batch's records, their rows in the
// room that room(i, size) gives for each of records and boxes (copyRoom),
// in the binary forms of their columns (EWKB geometries, a tsvector).
func (b *batchPlan) encode(room func(i, size int) copyBuf) *recordCopies {
	if len(b.order) == 0 {
		return &recordCopies{}
	}
	// The room the tuples take: their fields, each after its length, and
	// their field counts.
	size, boxSize := 0, 0
	for _, st := range b.order {
		rw := st.rows
		size += 2 + 13*4 + 5*8 + len(st.coll) + len(st.id) + len(rw.ext) + len(rw.kind) +
			len(rw.geom) + len(rw.coarse) + len(rw.words) + len(st.hash) + len(st.feature)
		if st.feature == nil && st.plain != nil {
			size += createdSize(st.plain, st.id, b.stamp)
		}
		for _, box := range rw.boxes {
			boxSize += 2 + 8*4 + 8 + len(box) + 4*8 + 2
		}
	}
	enc := &recordCopies{recs: room(roomRecords, size), boxes: room(roomBoxes, boxSize), upds: newCopy(0)}
	// rid writes the record's rid, or the place of the one it will have.
	rid := func(c *copyBuf, st *pending) {
		if st.created {
			enc.rids = append(enc.rids, ridPlace{len(*c) + 4, c == &enc.boxes, st})
		}
		c.int8(st.rid)
	}
	for _, st := range b.order {
		rw := st.rows
		c := &enc.recs
		if st.created {
			c.tuple(13)
			rid(c, st)
			c.text(string(st.coll))
			c.text(st.id)
		} else {
			c = &enc.upds
			c.tuple(11)
			c.int8(st.rid)
			enc.replaced = append(enc.replaced, st.rid)
		}
		c.textOrNull(rw.ext)
		c.text(rw.kind)
		c.int8(rw.t0)
		c.int8(rw.t1)
		c.int8(st.version)
		c.bytes(rw.geom)
		c.bytes(rw.coarse)
		c.bytes(rw.words)
		c.bytes(st.hash)
		if st.feature == nil && st.plain != nil {
			c.created(st.plain, st.id, b.stamp)
		} else {
			c.bytes(st.feature)
		}
		for i, box := range rw.row.boxes {
			enc.boxes.tuple(8)
			rid(&enc.boxes, st)
			enc.boxes.bytes(rw.boxes[i])
			enc.boxes.float8(box.Min[0])
			enc.boxes.float8(box.Max[0])
			enc.boxes.float8(box.Min[1])
			enc.boxes.float8(box.Max[1])
			enc.boxes.bool(box.editors)
			enc.boxes.bool(box.viewers)
		}
	}
	return enc
}

// copyRecords writes the final state of the batch's records, encoded in
// enc: new rows take rids from the sequence in batch order and go in with
// COPY; replaced rows keep their rids and are updated from a temporary
// table. Their boxes and keys go in with COPY.
func (tx *writeTx) copyRecords(order []*pending, enc *recordCopies) error {
	var fresh int
	for _, st := range order {
		if st.created {
			fresh++
		}
	}
	if fresh > 0 {
		rids, err := tx.takeRids(fresh)
		if err != nil {
			return err
		}
		for _, st := range order {
			if st.created {
				st.rid, rids = rids[0], rids[1:]
			}
		}
		for _, p := range enc.rids {
			c := enc.recs
			if p.inBoxes {
				c = enc.boxes
			}
			binary.BigEndian.PutUint64(c[p.at:], uint64(p.st.rid))
		}
	}
	keySize, nkeys := 0, 0
	for _, st := range order {
		for _, kv := range st.rows.keys {
			keySize += 2 + 4*4 + len(kv[0]) + 2*len(kv[1]) + 8
		}
		nkeys += len(st.rows.keys)
	}
	if tx.load != nil {
		tx.keys = slices.Grow(tx.keys, nkeys)
		keySize = 0
	}
	keys := newCopy(keySize)
	for _, st := range order {
		for _, kv := range st.rows.keys {
			if tx.load != nil {
				// The load writes them at its end (load.writeKeys);
				// holdKeys gives them their lvalue.
				tx.keys = append(tx.keys, keyRow{key: kv[0], value: kv[1], rid: st.rid})
				continue
			}
			keys.tuple(4)
			keys.text(kv[0])
			keys.text(kv[1])
			keys.text(lowerASCII(kv[1]))
			keys.int8(st.rid)
		}
	}
	recs, boxes, upds, replaced := enc.recs, enc.boxes, enc.upds, enc.replaced
	if len(replaced) > 0 {
		if _, err := tx.Exec(tx.ctx, `CREATE TEMP TABLE import_records (rid bigint, external_id text, kind text, t0 bigint, t1 bigint, version bigint,
			geom geometry, coarse geometry, words tsvector, hash bytea, feature bytea) ON COMMIT DROP`); err != nil {
			return err
		}
		if err := tx.copyIn("import_records", []string{"rid", "external_id", "kind", "t0", "t1", "version", "geom", "coarse", "words", "hash", "feature"}, upds); err != nil {
			return err
		}
		if _, err := tx.Exec(tx.ctx, "WITH b AS (DELETE FROM record_boxes WHERE rid = ANY($1)) DELETE FROM record_keys WHERE rid = ANY($1)", replaced); err != nil {
			return err
		}
		tx.replaced = replaced
		if _, err := tx.Exec(tx.ctx, `UPDATE records r SET external_id = s.external_id, kind = s.kind, t0 = s.t0, t1 = s.t1, version = s.version,
			geom = s.geom, coarse = s.coarse, words = s.words, hash = s.hash, feature = s.feature
			FROM import_records s WHERE r.rid = s.rid`); err != nil {
			return err
		}
		// A load's next batch, in the same transaction, makes it again.
		if _, err := tx.Exec(tx.ctx, "DROP TABLE import_records"); err != nil {
			return err
		}
	}
	if err := tx.copyIn("records", []string{"rid", "collection", "id", "external_id", "kind", "t0", "t1", "version", "geom", "coarse", "words", "hash", "feature"}, recs); err != nil {
		return err
	}
	if err := tx.copyIn("record_boxes", []string{"rid", "box", "x0", "x1", "y0", "y1", "editors", "viewers"}, boxes); err != nil {
		return err
	}
	tx.leaveRoom(roomRecords, recs)
	tx.leaveRoom(roomBoxes, boxes)
	if tx.load != nil {
		return nil
	}
	return tx.copyIn("record_keys", keyColumns, keys)
}

// The COPY data a load's batch leaves for the next to reuse (load.room).
const (
	roomRecords = iota
	roomBoxes
	roomChanges
)

// copyRoom is a COPY's data for size bytes of tuples: in a load, in room
// a batch before left (load.copyRoom); else new.
func (tx *writeTx) copyRoom(i, size int) copyBuf {
	if tx.load == nil {
		return newCopy(size)
	}
	return tx.load.copyRoom(i, size)
}

// leaveRoom leaves c, sent, in slot i for a load's next batch.
func (tx *writeTx) leaveRoom(i int, c copyBuf) {
	if tx.load != nil {
		tx.load.leaveRoom(i, c)
	}
}

// takeRids takes n rids for new records, in ascending order. A load,
// which holds the records table, moves the sequence past them at once, as
// copyLog does with the seqs; other writers take them one by one, as
// other records' inserts may take some between them.
func (tx *writeTx) takeRids(n int) ([]int64, error) {
	rids := make([]int64, n)
	if tx.load != nil {
		var last int64
		if err := tx.QueryRow(tx.ctx, "SELECT setval('records_rid_seq', nextval('records_rid_seq') + $1 - 1)", n).Scan(&last); err != nil {
			return nil, err
		}
		for k := range rids {
			rids[k] = last - int64(n-1-k)
		}
		return rids, nil
	}
	if err := tx.QueryRow(tx.ctx, "SELECT array_agg(nextval('records_rid_seq')) FROM generate_series(1, $1)", n).Scan(&rids); err != nil {
		return nil, err
	}
	slices.Sort(rids)
	return rids, nil
}

// keyColumns are the columns of record_keys that COPY fills.
var keyColumns = []string{"key", "value", "lvalue", "rid"}

// ewkbOf is a geometry as a geometry column takes it in binary COPY: EWKB
// with SRID 4326; nil (NULL) for none.
func ewkbOf(g orb.Geometry) ([]byte, error) {
	if g == nil {
		return nil, nil
	}
	return ewkb.Marshal(g, 4326)
}

// The EWKB that ewkb.Marshal writes with SRID 4326, little-endian: the
// byte order, the type with the SRID flag, the SRID, then the geometry.
const (
	ewkbPoint    = 1
	ewkbPolygon  = 3
	ewkbSRIDFlag = 0x20000000
	pointSize    = 1 + 4 + 4 + 16
	envelopeSize = 1 + 4 + 4 + 4 + 4 + 5*16
)

// appendPointEWKB appends ewkbOf(p).
func appendPointEWKB(b []byte, p orb.Point) []byte {
	b = appendEWKBHead(b, ewkbPoint)
	return appendEWKBPoint(b, p)
}

// appendEnvelopeEWKB appends the EWKB of envelope(box) with SRID 4326, as
// ewkb.Marshal writes it.
func appendEnvelopeEWKB(b []byte, box orb.Bound) []byte {
	b = appendEWKBHead(b, ewkbPolygon)
	b = binary.LittleEndian.AppendUint32(b, 1) // rings
	b = binary.LittleEndian.AppendUint32(b, 5) // points
	for _, p := range envelope(box)[0] {
		b = appendEWKBPoint(b, p)
	}
	return b
}

func appendEWKBHead(b []byte, typ uint32) []byte {
	b = append(b, 1) // little-endian
	b = binary.LittleEndian.AppendUint32(b, typ|ewkbSRIDFlag)
	return binary.LittleEndian.AppendUint32(b, 4326)
}

func appendEWKBPoint(b []byte, p orb.Point) []byte {
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p[0]))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(p[1]))
}

// envelope is the polygon of a box with the corners in the order of
// ST_MakeEnvelope.
func envelope(b orb.Bound) orb.Polygon {
	return orb.Polygon{{{b.Min[0], b.Min[1]}, {b.Min[0], b.Max[1]}, {b.Max[0], b.Max[1]}, {b.Max[0], b.Min[1]}, {b.Min[0], b.Min[1]}}}
}

// stored is a record's id and its feature as stored before the batch.
type stored struct {
	id      string
	feature []byte
}

// fillAfters gives the change-log entries of the stored records' current
// versions their after (see currentAfter), before the batch replaces them.
func (tx *writeTx) fillAfters(replaced []stored) error {
	if len(replaced) == 0 {
		return nil
	}
	ids, features := make([]string, len(replaced)), make([][]byte, len(replaced))
	for i, st := range replaced {
		ids[i], features[i] = st.id, st.feature
	}
	_, err := tx.Exec(tx.ctx, "WITH u AS (SELECT * FROM unnest($1::text[], $2::bytea[]) AS u(id, feature)) "+
		"UPDATE changes c SET after = u.feature FROM u WHERE c.id = u.id AND c.after IS NULL AND c.op <> 'delete'", ids, features)
	return err
}

// logEntry is one change-log entry of a batch.
type logEntry struct {
	coll          geo.Collection
	id, op        string
	version       int64
	before, after []byte
}

// copyLog writes the batch's change-log entries, in order, under the log's
// lock (see writeTx.log); inTx announces the last. Every seq is taken
// under that lock, so the batch takes its seqs at once, moving the
// sequence past them, and gives them to its entries itself.
func (tx *writeTx) copyLog(actor string, changes []logEntry) error {
	if len(changes) == 0 {
		return nil
	}
	if !tx.locked {
		if _, err := tx.Exec(tx.ctx, "SELECT pg_advisory_xact_lock($1)", lockLog); err != nil {
			return err
		}
		tx.locked = true
	}
	var last int64
	if err := tx.QueryRow(tx.ctx, "SELECT setval(s, nextval(s) + $1 - 1) FROM (SELECT pg_get_serial_sequence('changes', 'seq')::regclass) AS q(s)",
		len(changes)).Scan(&last); err != nil {
		return err
	}
	size := 0
	for _, c := range changes {
		size += len(c.before) + len(c.after) + 136
	}
	c := tx.copyRoom(roomChanges, size)
	seq := last - int64(len(changes))
	for _, e := range changes {
		seq++
		c.tuple(9)
		c.int8(seq)
		c.text(string(e.coll))
		c.text(e.id)
		c.text(e.op)
		c.int8(e.version)
		c.text(actor)
		c.time(tx.now)
		c.bytes(e.before)
		c.bytes(e.after)
	}
	if err := tx.copyIn("changes", []string{"seq", "collection", "id", "op", "version", "actor", "time", "before", "after"}, c); err != nil {
		return err
	}
	tx.leaveRoom(roomChanges, c)
	tx.notified, tx.lastSeq = false, last
	return nil
}
