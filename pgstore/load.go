package pgstore

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// loadTables are the tables whose secondary indexes a load builds after
// its rows.
var loadTables = []string{"records", "record_boxes", "record_keys"}

// loadMemory is the maintenance_work_mem of a load's index builds: enough
// to sort a few million entries in memory.
const loadMemory = "256MB"

// load is an import into a store that held no records, in one
// transaction (geo.Load). It does what PostgreSQL's "Populating a
// Database" advises: the secondary indexes of the records, their boxes
// and their keys go at the start, the rows go in with COPY, and Commit
// builds the indexes again, each in one sorted pass, and runs ANALYZE
// before it commits.
// The transaction holds the tables and the change log's lock from the
// start: other writers, and readers of the records, wait until it ends.
type load struct {
	db      *DB
	tx      pgx.Tx
	indexes []string // CREATE INDEX statements of the indexes dropped

	mu      sync.Mutex // one batch at a time
	lastSeq int64
	seed    maphash.Seed
	exts    map[uint64]bool // hashes of the external_ids written
	done    bool
}

// BeginLoad begins an import in one transaction when the store holds no
// records (ingest.Loader), and returns nil when it holds some.
func (db *DB) BeginLoad(ctx context.Context) (geo.Load, error) {
	var empty bool
	if err := db.pool.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM records)").Scan(&empty); err != nil || !empty {
		return nil, translate(err)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return nil, translate(err)
	}
	l := &load{db: db, tx: tx, seed: maphash.MakeSeed(), exts: map[uint64]bool{}}
	if err := l.begin(ctx); err != nil || l.indexes == nil {
		tx.Rollback(context.Background())
		return nil, translate(err)
	}
	return l, nil
}

// begin locks the tables and, if they are still empty, drops their
// secondary indexes (those that back no constraint) and keeps their
// definitions; it leaves indexes nil when another writer came first.
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
	if _, err := l.tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '"+loadMemory+"'"); err != nil {
		return err
	}
	rows, err := l.tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
		FROM pg_index i
		WHERE i.indrelid = ANY($1::regclass[]) AND NOT i.indisprimary
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
		ORDER BY 1`, loadTables)
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := l.tx.Exec(ctx, "DROP INDEX "+name); err != nil {
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
// into the load.
func (l *load) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	pre, err := l.db.prepareAll(recs)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]geo.ImportResult, error) {
		return l.db.writeBatch(ctx, actor, recs, pre, l)
	}, nil
}

// inTx runs f in a savepoint of the load's transaction: a batch that
// fails leaves the load as it was before it.
func (l *load) inTx(ctx context.Context, f func(*writeTx) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
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
	return nil
}

// wrote notes the external_ids of a batch written.
func (l *load) wrote(pre []prepared) {
	for _, p := range pre {
		if p.ext != "" {
			l.exts[maphash.String(l.seed, p.ext)] = true
		}
	}
}

// mayHold reports whether the load may have written a record with the
// external_id ext: only those need looking up, since the store was empty.
func (l *load) mayHold(ext string) bool {
	return l.exts[maphash.String(l.seed, ext)]
}

// Commit builds the indexes, gathers the tables' statistics, announces
// the last seq and commits.
func (l *load) Commit(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return geo.Errorf(geo.EINTERNAL, "the load has ended")
	}
	l.done = true
	for _, def := range l.indexes {
		if _, err := l.tx.Exec(ctx, def); err != nil {
			l.tx.Rollback(context.Background())
			return translate(err)
		}
	}
	// The planner needs statistics of what was loaded as soon as it is
	// seen: without them it reads the keys of a record through the wrong
	// index, and the servers' first overview takes hours.
	if _, err := l.tx.Exec(ctx, "ANALYZE records, record_boxes, record_keys, changes"); err != nil {
		l.tx.Rollback(context.Background())
		return translate(err)
	}
	if l.lastSeq > 0 {
		if _, err := l.tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, strconv.FormatInt(l.lastSeq, 10)); err != nil {
			l.tx.Rollback(context.Background())
			return translate(err)
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
	return nil
}

// Rollback drops everything the load wrote; after Commit it does nothing.
func (l *load) Rollback() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.tx.Rollback(context.Background())
}
