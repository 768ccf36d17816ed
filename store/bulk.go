package store

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
	"nexus/internal/parallel"
)

// rowsPerStatement is how many rows one multi-row INSERT carries at most
// (fewer when SQLite's limit on parameters says so). Few large statements
// cost less than many small ones: each statement that writes many rows
// keeps a journal of the pages it changes, in case it fails half way,
// and has the full-text index write out what it holds.
const rowsPerStatement = 500

// maxVariables is SQLite's limit on the parameters of one statement.
const maxVariables = 32766

// lookupChunk is how many external ids one lookup asks for at once.
const lookupChunk = 500

// ImportBatch writes a batch of records in one transaction: a record whose
// external_id is known updates that record (or leaves it unchanged, when
// it says what the stored one says), any other is created. An invalid
// record fails the whole batch with its error; the caller may retry the
// records one by one. A record's Meta.Source is kept with it (see
// KnownSources).
//
// The batch is written the bulk way: the known records are looked up in a
// few queries, the rows and their index entries go in multi-row
// statements, and the change-log entries (one seq each) keep their
// Features in shared deflated payloads. What needs no transaction is
// worked out before it (PrepareBatch).
func (db *DB) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	write, err := db.PrepareBatch(actor, recs)
	if err != nil {
		return nil, err
	}
	return write(ctx)
}

// importBatch writes a batch of prepared records in the transaction tx,
// working out in it what they write; lastRid is the highest rid stored.
func (tx *writeTx) importBatch(actor string, recs []geo.Record, pre []prepared, lastRid int64, results []geo.ImportResult) error {
	b := &bulk{tx: tx, actor: actor, pre: pre, recs: recs, lastRid: lastRid}
	// A batch that names one external_id twice is written in
	// segments, so the second sees what the first wrote.
	start := 0
	seen := map[string]bool{}
	for i := range recs {
		if k := pre[i].ext; k != "" {
			if seen[k] {
				if err := b.write(start, i, results); err != nil {
					return err
				}
				start = i
				clear(seen)
			}
			seen[k] = true
		}
	}
	if err := b.write(start, len(recs), results); err != nil {
		return err
	}
	return b.flushLog()
}

// prepared is what ImportBatch works out of a record before its
// transaction, on every core: the record is normalised and valid.
type prepared struct {
	keys geo.Keys
	ext  string // collection and external_id, "" without one
}

// prepareAll validates the records and works out their keys side by side.
// The first invalid record's error is returned.
func (db *DB) prepareAll(recs []geo.Record) ([]prepared, error) {
	pre := make([]prepared, len(recs))
	errs := make([]error, len(recs))
	const chunk = 64
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(chunk)) - chunk
			if i >= len(recs) {
				return
			}
			for k := i; k < min(i+chunk, len(recs)); k++ {
				r := recs[k]
				if errs[k] = db.prepare(r); errs[k] != nil {
					continue
				}
				p := &pre[k]
				p.keys = r.Keys()
				if p.keys.ExternalID != "" {
					p.ext = string(r.Collection()) + "\x00" + p.keys.ExternalID
				}
			}
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), (len(recs)+chunk-1)/chunk) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return pre, nil
}

// bulk is the state of one ImportBatch transaction.
type bulk struct {
	tx      *writeTx
	recs    []geo.Record
	pre     []prepared
	actor   string
	lastRid int64

	log     []any // columns of change-log rows waiting to be written
	logged  int   // how many values of log have their payload id
	payload payloadWriter
}

// known is a stored record found by its external_id.
type known struct {
	rid     int64
	id      string
	version int64
	src     int64  // Meta.Source's 64 bits, 0 for none
	blob    []byte // its Feature as stored, when read before the transaction (PrepareBatch)
}

// indexed is a record row whose index entries are to be written.
type indexed struct {
	rid    int64 // with fresh, the record's place among the batch's new records
	coll   geo.Collection
	keys   geo.Keys
	coarse []orb.Bound // the coarse boxes of a sensitive record
	fresh  bool        // a new record, whose rid is not known yet
}

// lookup finds the stored records of the batch by external_id.
func (b *bulk) lookup(from, to int) (map[string]known, error) {
	byColl := map[geo.Collection][]any{}
	for i := from; i < to; i++ {
		if ext := b.pre[i].keys.ExternalID; ext != "" {
			c := b.recs[i].Collection()
			byColl[c] = append(byColl[c], ext)
		}
	}
	out := map[string]known{}
	for c, exts := range byColl {
		for len(exts) > 0 {
			chunk := exts[:min(lookupChunk, len(exts))]
			exts = exts[len(chunk):]
			rows, err := b.tx.Tx.Query("SELECT external_id, rid, id, version, coalesce(src, 0) FROM records WHERE collection = ? AND external_id IN ("+placeholders(len(chunk))+")",
				append([]any{string(c)}, chunk...)...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var ext string
				var k known
				if err := rows.Scan(&ext, &k.rid, &k.id, &k.version, &k.src); err != nil {
					rows.Close()
					return nil, err
				}
				out[string(c)+"\x00"+ext] = k
			}
			if err := rows.Close(); err != nil {
				return nil, err
			}
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// write writes the records from..to-1 of the batch, of which no two share
// an external_id.
func (b *bulk) write(from, to int, results []geo.ImportResult) error {
	if from == to {
		return nil
	}
	tx := b.tx
	stored, err := b.lookup(from, to)
	if err != nil {
		return err
	}
	var inserts []any
	var updates [][]any
	var index []indexed
	var unindex []removed
	var sources []any // src, rid of unchanged records read from new bytes
	// A new record's row is worked out after this loop, on every core:
	// its place in inserts and in index.
	type fresh struct{ rec, row, index int }
	var news []fresh
	for i := from; i < to; i++ {
		r, keys := b.recs[i], b.pre[i].keys
		m := r.Base()
		src := m.Source
		k, ok := stored[b.pre[i].ext]
		if !ok {
			b.lastRid++
			m.ID, m.Version, m.Created, m.Updated = geo.NewID(), 1, tx.now, tx.now
			news = append(news, fresh{i, len(inserts), len(index)})
			inserts = append(append(inserts, b.lastRid, string(r.Collection()), m.ID), make([]any, insertColumns-3)...)
			index = append(index, indexed{rid: b.lastRid, coll: r.Collection(), keys: keys})
			if err := b.logChange(r.Collection(), m.ID, geo.OpCreate, 1, nil); err != nil {
				return err
			}
			results[i] = geo.ImportResult{ID: m.ID, Outcome: geo.Created}
			continue
		}
		// Known: compared with the stored Feature, encoded with its meta.
		cur, err := tx.current(r.Collection(), k.id)
		if err != nil {
			return err
		}
		old, err := geo.DecodeFeature(r.Collection(), cur.feature)
		if err != nil {
			return err
		}
		*m = *old.Base()
		m.Source = src
		same, err := geo.EncodeFeature(r)
		if err != nil {
			return err
		}
		if string(same) == string(cur.feature) {
			results[i] = geo.ImportResult{ID: k.id, Outcome: geo.Unchanged}
			if src != 0 && int64(src) != k.src {
				sources = append(sources, int64(src), cur.rid)
			}
			continue
		}
		m.Version, m.Updated = cur.version+1, tx.now
		feature, err := geo.EncodeFeature(r)
		if err != nil {
			return err
		}
		row, err := recordRow(r, keys, feature)
		if err != nil {
			return err
		}
		updates = append(updates, append(row, cur.rid))
		unindex = append(unindex, removed{cur.rid, r.Collection(), old.Keys()})
		index = append(index, indexed{rid: cur.rid, coll: r.Collection(), keys: keys, coarse: coarseBoxes(r)})
		if err := b.logChange(r.Collection(), k.id, geo.OpUpdate, m.Version, cur.feature); err != nil {
			return err
		}
		results[i] = geo.ImportResult{ID: k.id, Outcome: geo.Updated}
	}
	errs := make([]error, len(news))
	parallel.For(len(news), func(j int) {
		n := news[j]
		r := b.recs[n.rec]
		feature, err := geo.EncodeFeature(r)
		if err != nil {
			errs[j] = err
			return
		}
		row, err := recordRow(r, b.pre[n.rec].keys, feature)
		if err != nil {
			errs[j] = err
			return
		}
		copy(inserts[n.row+3:n.row+insertColumns], row)
		index[n.index].coarse = coarseBoxes(r)
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := tx.packRows(inserts, updates); err != nil {
		return err
	}
	for i := 0; i < len(sources); i += 2 {
		if _, err := tx.Exec("UPDATE records SET src = ? WHERE rid = ?", sources[i], sources[i+1]); err != nil {
			return err
		}
	}
	// The summary counts of the records replaced go before their rows
	// change: they are read from them.
	if err := tx.unsummarize(unindex...); err != nil {
		return err
	}
	for _, row := range updates {
		if _, err := tx.Exec(`UPDATE records SET external_id = ?, kind = ?, t0 = ?, t1 = ?, x = ?, y = ?, version = ?, geom = ?, feature = ?, src = ? WHERE rid = ?`,
			row...); err != nil {
			return err
		}
	}
	if _, err := tx.insertRows("INSERT INTO records (rid, collection, id, external_id, kind, t0, t1, x, y, version, geom, feature, src)", insertColumns, inserts); err != nil {
		return err
	}
	if err := tx.unindexAll(unindex); err != nil {
		return err
	}
	if err := tx.indexAll(index); err != nil {
		return err
	}
	return nil
}

// insertColumns is how many values an inserted record row takes, and
// insertFeature which of them is the Feature; updateFeature is the
// Feature's place in an updated row.
const (
	insertColumns = 13
	insertFeature = 11
	updateFeature = 8
)

// packRows replaces the Features of the rows to be written by their
// packed form, on every core, with the database's dictionary or one made
// of these Features (writeTx.dictionary).
func (tx *writeTx) packRows(inserts []any, updates [][]any) error {
	slots := make([]*any, 0, len(inserts)/insertColumns+len(updates))
	for i := insertFeature; i < len(inserts); i += insertColumns {
		slots = append(slots, &inserts[i])
	}
	for _, row := range updates {
		slots = append(slots, &row[updateFeature])
	}
	if len(slots) == 0 {
		return nil
	}
	features := make([][]byte, len(slots))
	for i, p := range slots {
		features[i] = (*p).([]byte)
	}
	d, err := tx.dictionary(features, true)
	if err != nil || d == nil {
		return err
	}
	parallel.For(len(slots), func(k int) { *slots[k] = packFeature(d, features[k]) })
	return nil
}

// recordRow returns the values of a record row from external_id to src,
// in the order of the UPDATE and INSERT statements. The source hash is
// kept only with an external_id, which a re-import finds the record by.
func recordRow(r geo.Record, k geo.Keys, feature []byte) ([]any, error) {
	row := make([]any, recordColumns)
	return row, fillRow(row, r, k, feature)
}

// recordColumns is how many values recordRow returns.
const recordColumns = 10

// fillRow sets row[:recordColumns] to what recordRow returns.
func fillRow(row []any, r geo.Record, k geo.Keys, feature []byte) error {
	m := r.Base()
	// A link has no geometry; nor does the row of a point that x and y
	// hold exactly (any but a sensitive one): see geomColumn.
	g := []byte{}
	if _, point := r.Geometry().(orb.Point); r.Geometry() != nil && (!point || geo.IsSensitive(r)) {
		var err error
		if g, err = wkb.Marshal(r.Geometry()); err != nil {
			return err
		}
	}
	// x and y place an incident in the overview and the clusters, which
	// show everyone the coarse point of a sensitive one.
	var x, y any
	if p, ok := geo.Coarsened(r).Geometry().(orb.Point); ok {
		x, y = p[0], p[1]
	}
	var ext, src any
	if k.ExternalID != "" {
		ext = k.ExternalID
		if m.Source != 0 {
			src = int64(m.Source) // the same 64 bits
		}
	}
	row = row[:recordColumns]
	row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9] = ext, k.Kind, k.Span.Start, k.Span.End, x, y, m.Version, g, feature, src
	return nil
}

// changeColumnsBulk is how many values one compact change-log row takes.
const changeColumnsBulk = 8

// logChange queues a change-log entry. The Feature it replaced (before)
// goes into the shared payload; the one it wrote is the record's (see
// changeColumns). A full payload is written at once, the entries at the
// end of the batch (flushLog).
func (b *bulk) logChange(c geo.Collection, id, op string, version int64, before []byte) error {
	var part any
	if before != nil {
		part = b.payload.add(before, nil)
	}
	b.log = append(b.log, string(c), id, op, version, b.actor, changeTime(b.tx.now), nil, part)
	if b.payload.parts == payloadParts {
		return b.flushPayload()
	}
	return nil
}

// flushPayload writes the payload being filled and gives its id to the
// queued entries that have none yet.
func (b *bulk) flushPayload() error {
	if b.payload.parts == 0 {
		return nil
	}
	data, err := b.payload.finish()
	if err != nil {
		return err
	}
	res, err := b.tx.Exec("INSERT INTO change_payloads (data) VALUES (?)", data)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for i := b.logged + 6; i < len(b.log); i += changeColumnsBulk {
		if b.log[i+1] != nil {
			b.log[i] = id
		}
	}
	b.logged = len(b.log)
	return nil
}

// flushLog writes the last payload and the queued change-log entries, in
// a few large statements. The entries take their seqs in the order they
// were queued.
func (b *bulk) flushLog() error {
	if err := b.flushPayload(); err != nil {
		return err
	}
	if len(b.log) == 0 {
		return nil
	}
	last, err := b.tx.insertRows("INSERT INTO changes (collection, id, op, version, actor, time, payload, part)", changeColumnsBulk, b.log)
	if err != nil {
		return err
	}
	b.tx.lastSeq = last
	clear(b.log)
	b.log, b.logged = b.log[:0], 0
	return nil
}

// insertRows inserts rows of cols values each (args holds them one row
// after the other) with multi-row statements, and returns the rowid of the
// last row.
func (tx *writeTx) insertRows(head string, cols int, args []any) (int64, error) {
	return tx.insertRowsBy(head, cols, rowsPerStatement, args)
}

// insertFrom runs an INSERT … SELECT and returns the rowid of the last
// row it inserted.
func (tx *writeTx) insertFrom(query string, args ...any) (int64, error) {
	res, err := tx.Exec(query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// insertRowsBy is insertRows with up to perStatement rows a statement.
func (tx *writeTx) insertRowsBy(head string, cols, perStatement int, args []any) (int64, error) {
	var last int64
	for len(args) > 0 {
		n := min(perStatement, maxVariables/cols, len(args)/cols)
		row := "(" + placeholders(cols) + ")"
		q := head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
		res, err := tx.Exec(q, args[:n*cols]...)
		if err != nil {
			return 0, err
		}
		if last, err = res.LastInsertId(); err != nil {
			return 0, err
		}
		args = args[n*cols:]
	}
	return last, nil
}

// unindexAll removes the index entries of the records.
func (tx *writeTx) unindexAll(gone []removed) error {
	if tx.load != nil && len(gone) > 0 {
		if err := tx.load.flushText(); err != nil {
			return err
		}
		rids := make([]int64, len(gone))
		for i, g := range gone {
			rids[i] = g.rid
		}
		tx.load.unindex(rids)
	}
	for len(gone) > 0 {
		chunk := gone[:min(lookupChunk, len(gone))]
		gone = gone[len(chunk):]
		args := make([]any, 0, 2*len(chunk))
		for _, g := range chunk {
			args = append(args, g.rid*2, g.rid*2+1)
		}
		if _, err := tx.Tx.Exec("DELETE FROM boxes WHERE id IN ("+placeholders(len(args))+")", args...); err != nil {
			return err
		}
		if _, err := tx.Tx.Exec("DELETE FROM coarse_boxes WHERE id IN ("+placeholders(len(args))+")", args...); err != nil {
			return err
		}
		// By the primary key: the keys of the Features replaced.
		args = args[:0]
		for _, g := range chunk {
			for _, kv := range distinctKeys(g.keys) {
				args = append(args, kv[0], kv[1], g.rid)
			}
		}
		if err := tx.deleteKeys(args); err != nil {
			return err
		}
		args = args[:0]
		for _, g := range chunk {
			args = append(args, g.rid)
		}
		if _, err := tx.Tx.Exec("DELETE FROM fts WHERE rowid IN ("+placeholders(len(args))+")", args...); err != nil {
			return err
		}
	}
	return nil
}

// keysPerDelete is how many rows of record_keys one statement of
// deleteKeys removes at most.
const keysPerDelete = 64

// deleteKeys removes rows of record_keys by their primary key; args holds
// key, value and rid of each, one row after the other. Each row is one
// term of an OR, which SQLite looks up in the primary key.
func (tx *writeTx) deleteKeys(args []any) error {
	for len(args) > 0 {
		n := min(keysPerDelete, len(args)/3)
		q := "DELETE FROM record_keys WHERE " + strings.TrimSuffix(strings.Repeat("(key = ? AND value = ? AND rid = ?) OR ", n), " OR ")
		if _, err := tx.Exec(q, args[:3*n]...); err != nil {
			return err
		}
		args = args[3*n:]
	}
	return nil
}

// indexAll writes the bounding boxes, keys and full text of the records.
func (tx *writeTx) indexAll(recs []indexed) error {
	if len(recs) == 0 {
		return nil
	}
	return tx.writeIndex(buildIndex(recs), 0)
}

// indexRows are the index entries of a batch's records, worked out before
// they are written (buildIndex): the arguments of the multi-row INSERTs
// of the boxes, the coarse boxes, the keys and the full text, and the
// counts the actor summary gains. The rid of a record not stored yet is
// a freshRid (its place among the batch's new records), and its box ids
// freshBox: writeIndex gives them their rids.
type indexRows struct {
	boxes, coarse, keys, text []any
	sum                       summary
}

// freshRid is the rid of the record that is the n-th new record of its
// batch, before the batch knows its first rid; freshBox is the id of its
// box, 2n + part.
type (
	freshRid int64
	freshBox int64
)

// settle replaces, in every stride-th value of args from args[at] on, a
// freshRid or freshBox by the rid or box id it stands for, the batch's
// new records taking rids from first on.
func settle(args []any, stride, at int, first int64) {
	for i := at; i < len(args); i += stride {
		switch v := args[i].(type) {
		case freshRid:
			args[i] = first + int64(v)
		case freshBox:
			args[i] = 2*first + int64(v)
		}
	}
}

// buildIndex works out the index entries of the records. The boxes go
// into the R*Tree in Z order, so that neighbouring inserts touch the same
// nodes, and the keys in the order of their table. An indexed whose fresh
// is set is a new record: its rid is its place among them.
func buildIndex(recs []indexed) *indexRows {
	type box struct {
		id any
		z  uint64
		b  orb.Bound
	}
	type key struct {
		key, value, folded string
		place              int   // of folded among the batch's keys, in order
		rid                int64 // the order of the rids: a new record's follow every stored one's
		arg                any
	}
	ix := &indexRows{text: make([]any, 0, 2*len(recs))}
	boxes := make([]box, 0, len(recs))
	keys := make([]key, 0, 2*len(recs))
	seen := map[string]bool{}
	for _, r := range recs {
		rid, order := any(r.rid), r.rid
		boxID := func(part int) any { return r.rid*2 + int64(part) }
		if r.fresh {
			rid, order = freshRid(r.rid), 1<<62+r.rid
			boxID = func(part int) any { return freshBox(r.rid*2 + int64(part)) }
		}
		for part, b := range r.keys.Boxes {
			boxes = append(boxes, box{boxID(part), zOrder(b.Center()), b})
		}
		for part, b := range r.coarse {
			ix.coarse = append(ix.coarse, boxID(part), b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[0], b.Max[0], b.Min[1], b.Max[1])
		}
		clear(seen)
		var actors, countries []string
		for _, kv := range keyValues(r.keys) {
			lk := kv[0] + "\x00" + strings.ToLower(kv[1])
			if seen[lk] {
				continue
			}
			seen[lk] = true
			keys = append(keys, key{key: kv[0], value: kv[1], folded: lk, rid: order, arg: rid})
			if kv[0] == "actor" {
				actors = append(actors, kv[1])
			} else {
				countries = append(countries, kv[1])
			}
		}
		ix.sum.add(r.coll, actors, countries, r.keys.Span)
		ix.text = append(ix.text, rid, ftsText(r.keys))
	}
	slices.SortFunc(boxes, func(a, b box) int { return cmp.Compare(a.z, b.z) })
	ix.boxes = make([]any, 0, 5*len(boxes))
	for _, x := range boxes {
		b := x.b
		ix.boxes = append(ix.boxes, x.id, b.Min[0], b.Max[0], b.Min[1], b.Max[1])
	}
	// In the order of the table's key, so that the rows of one actor or
	// country go in side by side: the few distinct keys are sorted, and
	// the rows by their key's place among them.
	place := map[string]int{}
	for _, k := range keys {
		place[k.folded] = 0
	}
	distinct := slices.Sorted(maps.Keys(place))
	for i, f := range distinct {
		place[f] = i
	}
	for i := range keys {
		keys[i].place = place[keys[i].folded]
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.place, b.place), cmp.Compare(a.rid, b.rid)) })
	ix.keys = make([]any, 0, 3*len(keys))
	for _, k := range keys {
		ix.keys = append(ix.keys, k.key, k.value, k.arg)
	}
	return ix
}

// writeIndex writes index entries worked out by buildIndex, the batch's
// new records taking rids from first on.
func (tx *writeTx) writeIndex(ix *indexRows, first int64) error {
	settle(ix.boxes, 5, 0, first)
	settle(ix.coarse, 9, 0, first)
	settle(ix.keys, 3, 2, first)
	settle(ix.text, 2, 0, first)
	if tx.load != nil {
		tx.load.sum.merge(&ix.sum)
	} else if err := ix.sum.write(tx); err != nil {
		return err
	}
	if tx.load == nil || !tx.load.gather(ix.boxes, ix.coarse) {
		if _, err := tx.insertRows("INSERT INTO boxes", 5, ix.boxes); err != nil {
			return err
		}
		if _, err := tx.insertRows("INSERT INTO coarse_boxes", 9, ix.coarse); err != nil {
			return err
		}
	}
	if _, err := tx.insertRows("INSERT INTO record_keys (key, value, rid)", 3, ix.keys); err != nil {
		return err
	}
	if tx.load != nil {
		return tx.load.addText(ix.text)
	}
	_, err := tx.insertRows(insertText, 2, ix.text)
	return err
}

const insertText = "INSERT INTO fts (rowid, text)"

// summary is what a batch adds to the actor summary, counted in memory
// and written with one statement per actor and per actor and country.
type summary struct {
	actors    map[[2]string]*actorSpan // actor, collection
	countries map[[2]string]int64      // actor, country
	months    map[[2]string]int64      // actor, month
	pairs     map[[3]string]int64      // a, b, collection
}

type actorSpan struct {
	n      int64
	t0, t1 any // int64 or nil for an open end
}

// add counts one record, as summarize does.
func (s *summary) add(c geo.Collection, actors, countries []string, span geo.Span) {
	if s.actors == nil {
		s.actors, s.countries = map[[2]string]*actorSpan{}, map[[2]string]int64{}
		s.months, s.pairs = map[[2]string]int64{}, map[[3]string]int64{}
	}
	for _, p := range pairsOf(actors) {
		s.pairs[[3]string{p[0], p[1], string(c)}]++
	}
	month := monthOf(c, span)
	for _, a := range actors {
		k := [2]string{a, string(c)}
		x := s.actors[k]
		if x == nil {
			x = &actorSpan{}
			s.actors[k] = x
		}
		x.n++
		if span.Start != geo.MinTime && (x.t0 == nil || span.Start < x.t0.(int64)) {
			x.t0 = span.Start
		}
		if span.End != geo.MaxTime && (x.t1 == nil || span.End > x.t1.(int64)) {
			x.t1 = span.End
		}
		for _, cc := range countries {
			s.countries[[2]string{a, cc}]++
		}
		if month != "" {
			s.months[[2]string{a, month}]++
		}
	}
}

// merge adds the counts of o to s.
func (s *summary) merge(o *summary) {
	if o.actors == nil {
		return
	}
	if s.actors == nil {
		*s = *o
		return
	}
	for k, x := range o.actors {
		y := s.actors[k]
		if y == nil {
			y = &actorSpan{}
			s.actors[k] = y
		}
		y.n += x.n
		y.widen(x.t0, x.t1)
	}
	for k, n := range o.countries {
		s.countries[k] += n
	}
	for k, n := range o.months {
		s.months[k] += n
	}
	for k, n := range o.pairs {
		s.pairs[k] += n
	}
}

func (s *summary) write(tx *writeTx) error {
	for k, x := range s.actors {
		if _, err := tx.Exec(`INSERT INTO actor_summary (actor, collection, n, t0, t1) VALUES (?,?,?,?,?)
			ON CONFLICT (actor, collection) DO UPDATE SET n = n + excluded.n,
			t0 = min(coalesce(t0, excluded.t0), coalesce(excluded.t0, t0)),
			t1 = max(coalesce(t1, excluded.t1), coalesce(excluded.t1, t1))`, k[0], k[1], x.n, x.t0, x.t1); err != nil {
			return err
		}
	}
	for k, n := range s.countries {
		if _, err := tx.Exec(`INSERT INTO actor_countries (actor, country, n) VALUES (?,?,?)
			ON CONFLICT (actor, country) DO UPDATE SET n = n + excluded.n`, k[0], k[1], n); err != nil {
			return err
		}
	}
	for k, n := range s.months {
		if _, err := tx.Exec(`INSERT INTO actor_months (actor, month, n) VALUES (?,?,?)
			ON CONFLICT (actor, month) DO UPDATE SET n = n + excluded.n`, k[0], k[1], n); err != nil {
			return err
		}
	}
	for k, n := range s.pairs {
		if _, err := tx.Exec(`INSERT INTO actor_pairs (a, b, collection, n) VALUES (?,?,?,?)
			ON CONFLICT (a, b, collection) DO UPDATE SET n = n + excluded.n`, k[0], k[1], k[2], n); err != nil {
			return err
		}
	}
	return nil
}

// zOrder interleaves the bits of a point's longitude and latitude, scaled
// to 32 bits each: points close on the map are mostly close in this order.
func zOrder(p orb.Point) uint64 {
	x := uint64((p[0] + 180) / 360 * (1<<32 - 1))
	y := uint64((p[1] + 90) / 180 * (1<<32 - 1))
	return spread(x) | spread(y)<<1
}

// spread puts the 32 low bits of v in the even bits of the result.
func spread(v uint64) uint64 {
	v &= 0xFFFFFFFF
	v = (v | v<<16) & 0x0000FFFF0000FFFF
	v = (v | v<<8) & 0x00FF00FF00FF00FF
	v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// KnownSources returns, of the source hashes given (Meta.Source of
// records an import read), those a stored record with an external_id was
// last written from, each with that external_id: importing the same bytes
// again would change nothing. The records are read as committed; a write
// after that is no concern of the caller's, which reads its input before.
func (db *DB) KnownSources(ctx context.Context, srcs []uint64) (map[uint64]string, error) {
	// The chunks are looked up side by side, a connection for each core:
	// each lookup waits on pages read at random.
	var chunks [][]uint64
	for len(srcs) > 0 {
		n := min(lookupChunk, len(srcs))
		chunks, srcs = append(chunks, srcs[:n]), srcs[n:]
	}
	found := make([][]knownSource, len(chunks))
	errs := make([]error, len(chunks))
	parallel.Each(len(chunks), func(i int) { found[i], errs[i] = db.knownSources(ctx, chunks[i]) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := map[uint64]string{}
	for _, f := range found {
		for _, k := range f {
			out[k.src] = k.ext
		}
	}
	return out, nil
}

type knownSource struct {
	src uint64
	ext string
}

// knownSources is KnownSources of one chunk of hashes.
func (db *DB) knownSources(ctx context.Context, chunk []uint64) ([]knownSource, error) {
	args := make([]any, len(chunk))
	for i, h := range chunk {
		args[i] = int64(h)
	}
	// The rows are read in rid order, mostly the order of the file,
	// where the hashes would find them in random order.
	rows, err := db.read.QueryContext(ctx, "SELECT src, external_id FROM records WHERE rid IN (SELECT rid FROM records WHERE src IN ("+placeholders(len(chunk))+")) AND external_id IS NOT NULL", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []knownSource
	for rows.Next() {
		var h int64
		var ext string
		if err := rows.Scan(&h, &ext); err != nil {
			return nil, err
		}
		out = append(out, knownSource{uint64(h), ext})
	}
	return out, rows.Err()
}
