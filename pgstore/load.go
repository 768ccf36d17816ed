package pgstore

import (
	"cmp"
	"context"
	"errors"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// loadTables are the tables whose secondary indexes a load builds after
// its rows; the change log's too, when it is empty (load.begin).
var loadTables = []string{"records", "record_boxes", "record_keys"}

// loadMemory is the maintenance_work_mem of a load's index builds: enough
// to sort a few million entries in memory.
const loadMemory = "256MB"

// ginMemory is the maintenance_work_mem of a load's full-text index
// build, the least PostgreSQL allows. The build gathers the entries in a
// balanced tree, each entry costing a walk down it, and writes the tree
// into the index each time it fills its memory: a small tree is quicker
// to walk, and the lexemes come in the order of the rows, so each write
// adds to the end of their lists. Measured on 200 000 records: 1.0 s
// with 1MB, 1.25 s with 256MB; on a million, 5.7 s and 8.3 s.
const ginMemory = "1MB"

// loadKeysMax is the most rows of record_keys a load holds before it
// writes them.
const loadKeysMax = 1 << 20

// loadStatistics is the statistics target of the ANALYZE that ends a
// load: its sample is the rows it reads (300 per unit), and most of the
// time of ANALYZE goes into reading them. 30 keeps 30 most common values
// and 30 histogram buckets of each column, and 300 most common lexemes
// of the words: what the planner needs to choose between the indexes.
const loadStatistics = "30"

// load is an import into a store that held no records, in one
// transaction (geo.Load). It does what PostgreSQL's "Populating a
// Database" advises: the indexes of the records, their boxes and their
// keys go at the start (with the primary key and the unique ids, which
// no foreign key needs), the rows go in with COPY, and the indexes are
// built again, each in one sorted pass. The keys are held and written at
// the end in the order of their index, (key, lvalue, rid), so that its
// build finds them sorted.
//
// Commit builds the records' primary key and unique ids, gathers the
// records' statistics and commits: from then on every record is read and
// written as after any import. The other indexes only make reads
// faster: Commit builds them, and gathers the other tables' statistics,
// after the commit, on several connections at once (buildPending), and
// returns when they are built. Until then a reader scans the tables, and
// a writer waits for the index being built.
// The transaction holds the tables and the change log's lock from the
// start: other writers, and readers of the records, wait until it
// commits.
type load struct {
	db          *DB
	tx          pgx.Tx
	indexes     []index  // the indexes dropped
	constraints []string // ADD CONSTRAINT statements of the constraints dropped
	keys        []keyRow // record_keys rows not written yet

	mu      sync.Mutex // one batch at a time
	lastSeq int64
	values  map[string]keyValue // the values of the keys held (value)
	done    bool

	extMu sync.Mutex
	seed  maphash.Seed
	exts  map[uint64]bool // hashes of the external_ids of the batches prepared

	roomMu sync.Mutex
	room   [3]copyBuf // COPY data of records, boxes and changes, sent, for a batch after to fill again (copyRoom)
}

// index is an index a load dropped: its name, its table, its CREATE
// INDEX statement and whether it is unique.
type index struct {
	name, table, def string
	unique           bool
}

// early reports whether a load builds ix before it commits: the unique
// ids of the records, which writers rely on to refuse a duplicate. The
// keys' unique index is not one of them: a writer replaces only the keys
// of the records it writes.
func (ix index) early() bool { return ix.unique && ix.table == "records" }

// BeginLoad begins an import in one transaction when the store holds no
// records (ingest.Loader), and returns nil when it holds some.
func (db *DB) BeginLoad(ctx context.Context) (geo.Load, error) {
	// A load drops only the indexes there are: those a load before it
	// left pending are built first.
	db.buildPending(ctx)
	var empty bool
	if err := db.pool.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM records)").Scan(&empty); err != nil || !empty {
		return nil, translate(err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, translate(err)
	}
	l := &load{db: db, tx: tx, seed: maphash.MakeSeed(), exts: map[uint64]bool{}, values: map[string]keyValue{}}
	if err := l.begin(ctx); err != nil || l.indexes == nil {
		tx.Rollback(context.Background())
		return nil, translate(err)
	}
	return l, nil
}

// begin locks the tables and, if they are still empty, drops their
// secondary indexes (those that back no constraint) and keeps their
// definitions; it leaves indexes nil when another writer came first.
// When the change log is empty too, its indexes go as well: its readers
// then wait for the load, as those of the records do.
func (l *load) begin(ctx context.Context) error {
	// The tables, then the log: the order in which every write takes them.
	for _, t := range loadTables {
		if _, err := l.tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{t}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
	}
	var empty bool
	if err := l.tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM records)").Scan(&empty); err != nil || !empty {
		return err
	}
	if _, err := l.tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockLog); err != nil {
		return err
	}
	// Every writer of the log holds its lock: no other can write it now.
	tables := loadTables
	if err := l.tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM changes)").Scan(&empty); err != nil {
		return err
	}
	if empty {
		if _, err := l.tx.Exec(ctx, "LOCK TABLE changes IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		tables = append(slices.Clip(tables), "changes")
	}
	if _, err := l.tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '"+loadMemory+"'"); err != nil {
		return err
	}
	rows, err := l.tx.Query(ctx, `SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisunique
		FROM pg_index i
		WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, tables)
	if err != nil {
		return err
	}
	var names, drops []string
	l.indexes = []index{}
	for rows.Next() {
		var ix index
		if err := rows.Scan(&ix.name, &ix.table, &ix.def, &ix.unique); err != nil {
			rows.Close()
			return err
		}
		names = append(names, ix.name)
		l.indexes = append(l.indexes, ix)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = l.tx.Query(ctx, `SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid)
		FROM pg_constraint c
		WHERE c.conrelid = ANY($1::regclass[]) AND c.contype IN ('p', 'u')
			AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
		ORDER BY c.contype, 1, 2`, tables)
	if err != nil {
		return err
	}
	for rows.Next() {
		var table, name, def string
		if err := rows.Scan(&table, &name, &def); err != nil {
			rows.Close()
			return err
		}
		drops = append(drops, "ALTER TABLE "+table+" DROP CONSTRAINT "+name)
		l.constraints = append(l.constraints, "ALTER TABLE "+table+" ADD CONSTRAINT "+name+" "+def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		drops = append(drops, "DROP INDEX "+name)
	}
	for _, q := range drops {
		if _, err := l.tx.Exec(ctx, q); err != nil {
			return err
		}
	}
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
// into the load. While no record of the batch can be stored yet (none
// has an external_id of a batch before it), the batch is worked out, and
// its records encoded, here, while the batch before is written; its write
// gives them their rids and sends them.
func (l *load) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	pre, err := l.db.prepareAll(recs)
	if err != nil {
		return nil, err
	}
	if !l.note(pre) {
		return func(ctx context.Context) ([]geo.ImportResult, error) {
			return l.db.writeBatch(ctx, actor, recs, pre, l)
		}, nil
	}
	b, err := planBatch(recs, pre, map[extKey]*pending{}, l.db.Now().UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, err
	}
	enc := b.encode(l.copyRoom)
	plannedAhead()
	return func(ctx context.Context) ([]geo.ImportResult, error) {
		if err := l.inTx(ctx, func(tx *writeTx) error { return tx.writePlan(actor, b, enc) }); err != nil {
			return nil, err
		}
		return b.results, nil
	}, nil
}

// copyRoom is a COPY's data for size bytes of tuples, in the room a batch
// before left in slot i when there is one, taken until the data is sent
// (a COPY that fails may still read it).
func (l *load) copyRoom(i, size int) copyBuf {
	l.roomMu.Lock()
	defer l.roomMu.Unlock()
	c := reuseCopy(l.room[i], size)
	l.room[i] = nil
	return c
}

// leaveRoom leaves c, sent, in slot i for a batch after.
func (l *load) leaveRoom(i int, c copyBuf) {
	l.roomMu.Lock()
	defer l.roomMu.Unlock()
	l.room[i] = c
}

// inTx runs f in a savepoint of the load's transaction: a batch that
// fails leaves the load as it was before it.
func (l *load) inTx(ctx context.Context, f func(*writeTx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
	}
	if len(l.keys) >= loadKeysMax {
		if err := l.writeKeys(ctx); err != nil {
			return translate(err)
		}
	}
	sp, err := l.tx.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	tx := &writeTx{Tx: sp, ctx: ctx, db: l.db, now: l.db.Now().UTC().Truncate(time.Millisecond), locked: true, load: l}
	if err := f(tx); err != nil {
		sp.Rollback(context.Background())
		return translate(err)
	}
	if err := sp.Commit(ctx); err != nil {
		return translate(err)
	}
	if tx.lastSeq > 0 {
		l.lastSeq = tx.lastSeq
	}
	l.holdKeys(tx.keys, tx.replaced)
	return nil
}

// keyRow is one row of record_keys.
type keyRow struct {
	key, value, lvalue string
	rid                int64
}

// holdKeys keeps the keys a batch wrote (their key one of rowOf's names,
// their lvalue not set), in place of those of the records it replaced.
func (l *load) holdKeys(keys []keyRow, replaced []int64) {
	if len(replaced) > 0 {
		gone := make(map[int64]bool, len(replaced))
		for _, rid := range replaced {
			gone[rid] = true
		}
		l.keys = slices.DeleteFunc(l.keys, func(k keyRow) bool { return gone[k.rid] })
	}
	if need := len(l.keys) + len(keys); need > cap(l.keys) {
		// Twice the room, not the quarter more of append: the keys
		// held grow by the million, up to loadKeysMax.
		l.keys = slices.Grow(l.keys, max(need, min(2*cap(l.keys), loadKeysMax))-len(l.keys))
	}
	// The values are kept once each, apart from the records, whose
	// memory they would otherwise hold to the end.
	for _, k := range keys {
		v := l.value(k.value)
		l.keys = append(l.keys, keyRow{k.key, v.value, v.lvalue, k.rid})
	}
}

// keyValue is a key's value and its lvalue.
type keyValue struct{ value, lvalue string }

// value is the load's own copy of the value s, with its lvalue.
func (l *load) value(s string) keyValue {
	if v, ok := l.values[s]; ok {
		return v
	}
	v := keyValue{value: strings.Clone(s)}
	v.lvalue = lowerASCII(v.value)
	l.values[v.value] = v
	return v
}

// writeKeys writes the keys held, in the order of their index.
func (l *load) writeKeys(ctx context.Context) error {
	copies := keyCopies(l.keys)
	l.keys = nil
	for _, c := range copies {
		if err := copyIn(ctx, l.tx, "record_keys", keyColumns, c); err != nil {
			return err
		}
	}
	return nil
}

// keyCopies sorts keys in the order of record_keys_value, (key, lvalue,
// rid), and encodes them for COPY, 65 536 rows a COPY. The keys hold few
// distinct (key, lvalue): those are sorted, and the rows go by the place
// of theirs among them, each group in the order of its rids.
func keyCopies(keys []keyRow) []copyBuf {
	type pair struct{ key, lvalue string }
	ids := map[pair]int32{} // in the order first met
	var pairs []pair
	of := make([]int32, len(keys))
	for i, k := range keys {
		p := pair{k.key, k.lvalue}
		id, ok := ids[p]
		if !ok {
			id = int32(len(pairs))
			ids[p] = id
			pairs = append(pairs, p)
		}
		of[i] = id
	}
	byPair := make([]int32, len(pairs)) // the ids in the order of their pairs
	for i := range byPair {
		byPair[i] = int32(i)
	}
	slices.SortFunc(byPair, func(a, b int32) int {
		if c := strings.Compare(pairs[a].key, pairs[b].key); c != 0 {
			return c
		}
		return strings.Compare(pairs[a].lvalue, pairs[b].lvalue)
	})
	// The rows of each group, in the groups' order.
	count := make([]int, len(pairs))
	for _, id := range of {
		count[id]++
	}
	first, at := make([]int, len(pairs)), 0
	for _, id := range byPair {
		first[id] = at
		at += count[id]
	}
	order := make([]int32, len(keys))
	next := slices.Clone(first)
	for i, id := range of {
		order[next[id]] = int32(i)
		next[id]++
	}
	byRid := func(a, b int32) int { return cmp.Compare(keys[a].rid, keys[b].rid) }
	for id := range pairs {
		if group := order[first[id] : first[id]+count[id]]; !slices.IsSortedFunc(group, byRid) {
			slices.SortFunc(group, byRid)
		}
	}
	const chunk = 1 << 16
	var out []copyBuf
	for len(order) > 0 {
		n := min(len(order), chunk)
		size := 0
		for _, i := range order[:n] {
			k := &keys[i]
			size += 2 + 4*4 + len(k.key) + len(k.value) + len(k.lvalue) + 8
		}
		c := newCopy(size)
		for _, i := range order[:n] {
			k := &keys[i]
			c.tuple(4)
			c.text(k.key)
			c.text(k.value)
			c.text(k.lvalue)
			c.int8(k.rid)
		}
		out = append(out, c)
		order = order[n:]
	}
	return out
}

// note notes the external_ids of a batch prepared, and reports whether
// none of them is one of a batch prepared before it: then none of its
// records can be stored yet.
func (l *load) note(pre []prepared) bool {
	hashes := make([]uint64, 0, len(pre))
	for _, p := range pre {
		if p.ext != (extKey{}) {
			hashes = append(hashes, p.ext.hash(l.seed))
		}
	}
	l.extMu.Lock()
	defer l.extMu.Unlock()
	fresh := true
	for _, h := range hashes {
		fresh = fresh && !l.exts[h]
	}
	for _, h := range hashes {
		l.exts[h] = true
	}
	return fresh
}

// mayHold reports whether the load may have written a record with the
// external_id ext: only those need looking up, since the store was empty.
func (l *load) mayHold(ext extKey) bool {
	l.extMu.Lock()
	defer l.extMu.Unlock()
	return l.exts[ext.hash(l.seed)]
}

// Commit builds the records' primary key and unique ids, writes the
// keys held, gathers the records' statistics, announces the last seq and
// commits; then it builds the other indexes and gathers the other
// tables' statistics.
func (l *load) Commit(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
	}
	l.done = true
	// The keys held are sorted while the records' unique ids are built.
	sorted := make(chan []copyBuf, 1)
	go func(keys []keyRow) { sorted <- keyCopies(keys) }(l.keys)
	l.keys = nil
	fail := func(err error) error {
		l.tx.Rollback(context.Background())
		return translate(err)
	}
	stmts := slices.Clone(l.constraints)
	var later []index
	for _, ix := range l.indexes {
		if ix.early() {
			stmts = append(stmts, ix.def)
		} else {
			later = append(later, ix)
		}
	}
	for _, q := range stmts {
		if _, err := l.tx.Exec(ctx, q); err != nil {
			return fail(err)
		}
	}
	for _, c := range <-sorted {
		if err := copyIn(ctx, l.tx, "record_keys", keyColumns, c); err != nil {
			return fail(err)
		}
	}
	// The planner needs statistics of what was loaded as soon as it is
	// seen: without them it reads the keys of a record through the wrong
	// index, and the servers' first overview takes hours. Those of the
	// records are gathered before the commit. Those of the other tables
	// are gathered after it, before any index of theirs is built: until
	// then, a reader scans them whatever their statistics.
	stmts = []string{"SET LOCAL default_statistics_target = " + loadStatistics, "ANALYZE records"}
	for _, q := range stmts {
		if _, err := l.tx.Exec(ctx, q); err != nil {
			return fail(err)
		}
	}
	// The full-text index takes longest to build: it comes first, so that
	// the statistics and the other indexes are made beside it. A row left
	// by a load before this one stays as it is.
	var pending []index
	for _, ix := range later {
		if ix.gin() {
			pending = append(pending, ix)
		}
	}
	pending = append(pending, index{name: "statistics", def: "ANALYZE record_boxes, record_keys, changes"})
	for _, ix := range later {
		if !ix.gin() {
			pending = append(pending, ix)
		}
	}
	for k, ix := range pending {
		if _, err := l.tx.Exec(ctx, "INSERT INTO pending_indexes (name, ord, def) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING", ix.name, k, ix.def); err != nil {
			return fail(err)
		}
	}
	if l.lastSeq > 0 {
		if _, err := l.tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, strconv.FormatInt(l.lastSeq, 10)); err != nil {
			return fail(err)
		}
	}
	if err := l.tx.Commit(ctx); err != nil {
		if unreachable(err) {
			return &geo.Error{Code: geo.EUNAVAILABLE, Message: "the database went away during the commit: the import may have been kept; look for it before you try again"}
		}
		return translate(err)
	}
	if l.lastSeq > 0 {
		l.db.committed(l.lastSeq)
	}
	afterLoadCommit()
	// What was imported is kept: the builds go on if the import's caller
	// goes away.
	l.db.buildPending(context.WithoutCancel(ctx))
	return nil
}

// gin reports whether ix is a GIN index.
func (ix index) gin() bool { return strings.Contains(ix.def, " USING gin ") }

// plannedAhead runs when a load's batch is worked out as it is prepared:
// a test counts them.
var plannedAhead = func() {}

// afterLoadCommit runs between a load's commit and its index builds: a
// test stops there.
var afterLoadCommit = func() {}

// pendingBuilders is how many connections build the pending indexes at
// once: the full-text index on one, the others beside it.
const pendingBuilders = 2

// buildPending builds the indexes a load committed without, and gathers
// the statistics it did not (pending_indexes), on pendingBuilders
// connections. Each claims one at a time, skipping those another server
// is making, and makes it in the transaction that deletes its row. One
// that fails leaves its row for the next server that opens the database;
// the failure is logged, since what was imported is kept either way.
func (db *DB) buildPending(ctx context.Context) {
	var wg sync.WaitGroup
	for range pendingBuilders {
		wg.Go(func() {
			for {
				built, err := db.buildOnePending(ctx)
				if err != nil {
					db.Logger.Warn("an index of the last import is not built yet; the next server to open the database builds it", "err", err)
					return
				}
				if !built {
					return
				}
			}
		})
	}
	wg.Wait()
}

// buildOnePending builds the first pending index no other connection is
// building, and reports whether there was one.
func (db *DB) buildOnePending(ctx context.Context) (bool, error) {
	built := false
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var name, def string
		err := tx.QueryRow(ctx, "SELECT name, def FROM pending_indexes ORDER BY ord LIMIT 1 FOR UPDATE SKIP LOCKED").Scan(&name, &def)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// The full-text index takes longest, and PostgreSQL builds it on
		// one core: the others, built one after another beside it, end
		// before it without parallel workers, which would only take the
		// cores it needs.
		memory := loadMemory
		if (index{def: def}).gin() {
			memory = ginMemory
		}
		for _, q := range []string{"SET LOCAL maintenance_work_mem = '" + memory + "'", "SET LOCAL max_parallel_maintenance_workers = 0",
			"SET LOCAL default_statistics_target = " + loadStatistics} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, def); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM pending_indexes WHERE name = $1", name)
		built = err == nil
		return err
	})
	return built, err
}

// Rollback drops everything the load wrote; after Commit it does nothing.
func (l *load) Rollback() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.tx.Rollback(context.Background())
}
