package store

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// maxGathered is how many R*Tree entries a load holds in memory to load
// packed (bulkLoadRTree): past it, they are loaded and the rest of the
// load inserts its boxes row by row, so that memory does not grow with
// the import. Each entry takes about 100 bytes while it is held and
// loaded.
const maxGathered = 1 << 18

// load is an import into a store that held no records, in one
// transaction (geo.Load, ingest.Loader). It does what GDAL does with a
// table it fills at once: the boxes of its records are gathered as its
// batches are written and go into the R*Tree packed (bulkLoadRTree)
// before it commits, rather than one by one; and the records' indexes
// whose entries fall at random places (sortedIndexes) go at its start and
// are built again, each in one sorted pass, with the R*Tree. The load holds
// the write lock from the start: other writers wait until it ends;
// readers see the store as it was before it.
//
// While the indexes are gone, a batch looks no record up by external_id:
// the load keeps the hashes of the external_ids it wrote, and a batch
// that may name one of them (or names one twice) has the indexes built
// first and is then written as any other.
type load struct {
	db *DB

	mu   sync.Mutex // one batch at a time
	tx   *writeTx
	done bool
	// dict is the dictionary the load made, which batches prepared
	// after it pack their Features with.
	dict atomic.Pointer[dictionary]
	// boxes and coarse are the entries of boxes and coarse_boxes
	// gathered, while gathering lasts.
	boxes, coarse []rtreeEntry
	gathering     bool
	// dead says, of the box ids whose record was replaced after its
	// box was gathered, how many entries of boxes and of coarse were
	// gathered then: those before are gone.
	dead map[int64][2]int
	// indexes are the CREATE INDEX statements of the indexes dropped,
	// nil once they are built again; exts are the hashes of the
	// external_ids written until then.
	indexes []string
	seed    maphash.Seed
	exts    map[uint64]bool
	// text are the rows of the full-text index gathered, rowid and
	// text, up to textGathered of them.
	text []any
	// sum is what the batches add to the actor summary, written before
	// a record is replaced and at the end.
	sum     summary
	lastSeq int64
	failed  error // the error a batch ended the load with
}

// BeginLoad begins an import into the store in one transaction when it
// holds no records (ingest.Loader); it returns nil when it holds some.
func (db *DB) BeginLoad(ctx context.Context) (geo.Load, error) {
	var empty bool
	if err := db.read.QueryRowContext(ctx, "SELECT NOT EXISTS (SELECT 1 FROM records)").Scan(&empty); err != nil || !empty {
		return nil, translate(err)
	}
	if err := db.gate.acquire(ctx); err != nil {
		return nil, err
	}
	// The transaction lives as long as the load, not as ctx: a load
	// that is interrupted is rolled back by the import.
	sqlTx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		db.gate.release()
		return nil, translate(err)
	}
	// Still empty, now that the load holds the write lock?
	if err := sqlTx.QueryRow("SELECT NOT EXISTS (SELECT 1 FROM records)").Scan(&empty); err != nil || !empty {
		sqlTx.Rollback()
		db.gate.release()
		return nil, translate(err)
	}
	l := &load{db: db, gathering: true, dead: map[int64][2]int{}, seed: maphash.MakeSeed(), exts: map[uint64]bool{}}
	l.tx = &writeTx{Tx: sqlTx, db: db, load: l}
	if err := l.dropIndexes(); err != nil {
		sqlTx.Rollback()
		db.gate.release()
		return nil, translate(err)
	}
	return l, nil
}

// sortedIndexes are the indexes of the records a load builds after its
// rows: their entries go in at random places, each costing a search of
// the index and pages written out of order. The others take their
// entries at a few places only (ids made in order; kinds, and routes by
// rid, at the end of each), and are written as the rows are.
var sortedIndexes = []any{"records_external", "records_src"}

// dropIndexes drops the sortedIndexes and keeps their definitions.
func (l *load) dropIndexes() error {
	rows, err := l.tx.Query("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'records' AND name IN ("+placeholders(len(sortedIndexes))+") ORDER BY name", sortedIndexes...)
	if err != nil {
		return err
	}
	var names []string
	l.indexes = []string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names = append(names, name)
		l.indexes = append(l.indexes, def)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := l.tx.Exec(`DROP INDEX "` + name + `"`); err != nil {
			return err
		}
	}
	return nil
}

// buildIndexes builds the indexes dropped again, if they are not yet.
func (l *load) buildIndexes() error {
	for _, def := range l.indexes {
		if _, err := l.tx.Exec(def); err != nil {
			return err
		}
	}
	l.indexes, l.exts = nil, nil
	return nil
}

// needsIndexes reports whether the batch p must look records up by
// external_id in the load: it names one twice, or one the load may have
// written. With the indexes built, every batch looks them up.
func (l *load) needsIndexes(p *plan) bool {
	if l.indexes == nil {
		return false
	}
	if p.inTx {
		return true
	}
	for _, x := range p.pre {
		if x.ext != "" && l.exts[maphash.String(l.seed, x.ext)] {
			return true
		}
	}
	return false
}

// wrote notes the external_ids of the batch p, written while the indexes
// are gone.
func (l *load) wrote(p *plan) {
	if l.indexes == nil {
		return
	}
	for _, x := range p.pre {
		if x.ext != "" {
			l.exts[maphash.String(l.seed, x.ext)] = true
		}
	}
}

// textGathered is how many rows of the full-text index a load gathers
// before it writes them with one statement. The index writes what a
// statement added as a segment of its own when the next begins, and
// merges the segments as they pile up: a few large segments cost a
// fraction of many small ones.
const textGathered = 1 << 14

// addText gathers rows of the full-text index (rowid and text, as
// writeIndex has them), and writes them when textGathered are.
func (l *load) addText(rows []any) error {
	l.text = append(l.text, rows...)
	if len(l.text) < 2*textGathered {
		return nil
	}
	return l.flushText()
}

// flushText writes the rows of the full-text index gathered.
func (l *load) flushText() error {
	if len(l.text) == 0 {
		return nil
	}
	if _, err := l.tx.insertRowsBy(insertText, 2, textGathered, l.text); err != nil {
		return err
	}
	clear(l.text)
	l.text = l.text[:0]
	return nil
}

// flushSummary writes what the batches added to the actor summary.
func (l *load) flushSummary() error {
	if err := l.sum.write(l.tx); err != nil {
		return err
	}
	l.sum = summary{}
	return nil
}

// ImportBatch writes a batch as DB.ImportBatch does, inside the load.
func (l *load) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	write, err := l.PrepareBatch(actor, recs)
	if err != nil {
		return nil, err
	}
	return write(ctx)
}

// PrepareBatch prepares a batch as DB.PrepareBatch does; its write goes
// into the load.
func (l *load) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	return l.db.prepareBatch(actor, recs, l)
}

// inTx runs f in the load's transaction, at now. A batch is not a
// savepoint of its own (SQLite would keep a copy of every page it
// changes, in memory, until it ends): a batch that fails ends the load,
// which keeps nothing, with an error that is no record's.
func (l *load) inTx(ctx context.Context, now time.Time, f func(*writeTx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
	}
	if l.failed != nil {
		return l.failed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tx := l.tx
	tx.now = now
	err := f(tx)
	if err == nil {
		err = tx.recheckSummary()
	}
	if err == nil && l.gathering && len(l.boxes)+len(l.coarse) > maxGathered {
		err = l.flush()
		l.gathering = false
	}
	if err == nil && !l.gathering {
		// What is held in memory stays bounded: the indexes are built
		// when the R*Tree is, and a long load goes on with them.
		err = l.buildIndexes()
	}
	if err != nil {
		err = translate(err)
		switch geo.ErrorCode(err) {
		case geo.EINVALID, geo.ECONFLICT, geo.EDUPLICATE:
			err = geo.Errorf(geo.EINTERNAL, "the import stopped, and keeps nothing: %s", geo.ErrorMessage(err))
		}
		l.failed = err
		return err
	}
	l.lastSeq = tx.lastSeq
	if tx.pending != nil {
		l.dict.Store(tx.pending)
	}
	return nil
}

// gather keeps the R*Tree entries of a batch (the arguments of their
// INSERT, as writeIndex has them) to be loaded packed, and reports
// whether it did; when gathering is over, they are to be inserted.
func (l *load) gather(boxes, coarse []any) bool {
	if !l.gathering {
		return false
	}
	l.boxes = appendEntries(l.boxes, boxes, 5)
	l.coarse = appendEntries(l.coarse, coarse, 9)
	return true
}

// appendEntries appends the R*Tree entries of INSERT arguments of stride
// values each: id, minx, maxx, miny, maxy, then for coarse_boxes (stride
// 9) the same four again.
func appendEntries(dst []rtreeEntry, args []any, stride int) []rtreeEntry {
	for i := 0; i+stride <= len(args); i += stride {
		dst = append(dst, rtreeEntry{args[i].(int64), orb.Bound{
			Min: orb.Point{args[i+1].(float64), args[i+3].(float64)},
			Max: orb.Point{args[i+2].(float64), args[i+4].(float64)}}})
	}
	return dst
}

// unindex notes that the records rids lost their boxes: those gathered
// so far are gone.
func (l *load) unindex(rids []int64) {
	if !l.gathering {
		return
	}
	for _, rid := range rids {
		for part := range int64(2) {
			l.dead[rid*2+part] = [2]int{len(l.boxes), len(l.coarse)}
		}
	}
}

// flush loads the entries gathered into the R*Trees, packed.
func (l *load) flush() error {
	live := func(es []rtreeEntry, k int) []rtreeEntry {
		if len(l.dead) == 0 {
			return es
		}
		out := es[:0]
		for i, e := range es {
			if n, ok := l.dead[e.id]; ok && i < n[k] {
				continue
			}
			out = append(out, e)
		}
		return out
	}
	if err := l.tx.bulkLoadRTree("boxes", live(l.boxes, 0)); err != nil {
		return err
	}
	if err := l.tx.bulkLoadRTree("coarse_boxes", live(l.coarse, 1)); err != nil {
		return err
	}
	l.boxes, l.coarse = nil, nil
	clear(l.dead)
	return nil
}

// Commit loads the boxes gathered, commits, and tells the listeners.
func (l *load) Commit(ctx context.Context) (err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
	}
	l.done = true
	db := l.db
	defer func() { db.wrote(err) }()
	defer db.gate.release()
	if err := l.finish(); err != nil {
		l.tx.Rollback()
		return translate(err)
	}
	if err := l.tx.Commit(); err != nil {
		return translate(err)
	}
	if d := l.dict.Load(); d != nil {
		db.dict.Store(d)
	}
	if l.lastSeq > 0 {
		db.committed(l.lastSeq)
	}
	return nil
}

// finish writes what the load gathered and builds the indexes it
// dropped.
func (l *load) finish() error {
	if l.gathering {
		if err := l.flush(); err != nil {
			return err
		}
	}
	if err := l.flushText(); err != nil {
		return err
	}
	if err := l.flushSummary(); err != nil {
		return err
	}
	return l.buildIndexes()
}

// Rollback drops everything the load wrote; after Commit it does nothing.
func (l *load) Rollback() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	l.done = true
	l.tx.Rollback()
	l.db.gate.release()
}
