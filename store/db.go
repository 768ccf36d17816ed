// Package store keeps Nexus's records in one SQLite file: the records with
// their spatial and full-text indexes, the change log, and the tokens.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"nexus/geo"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the Nexus database. Writes go through one connection, so they are
// serialised in the process; reads use a pool and see committed snapshots.
type DB struct {
	path  string
	write *sql.DB
	read  *sql.DB

	// CountryOf derives an ISO alpha-2 country from a point; nil leaves
	// country empty when a record has none. Set it before the first write.
	CountryOf func(lon, lat float64) string
	// Countries resolves country names in filters (Resolve); nil accepts
	// only two-letter codes there. Set it before serving.
	Countries geo.CountryNames
	// Now is the clock; tests may replace it.
	Now func() time.Time

	gate     writeGate   // the order of write transactions
	creates  createQueue // creates waiting to share a transaction
	mu       sync.Mutex
	onCommit []func(seq int64)

	writeFailed atomic.Value // *writeFailure; nil while writes succeed

	dict     atomic.Pointer[dictionary] // what writes pack Features with; nil before the first
	aliases  aliasCache                 // the alias table, read once per change
	payloads payloadCache               // inflated change-log payloads
	stmts    readStmts                  // prepared statements of frequent reads
}

// dsn builds the connection string: pragmas in the DSN apply to every
// pooled connection.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(wal)",
		"busy_timeout(10000)",
		"synchronous(normal)",
		"foreign_keys(on)",
		"temp_store(memory)",
	} {
		q.Add("_pragma", p)
	}
	if readOnly {
		// Memory is bounded per connection, and there are ReadConns of
		// them: a 16 MB page cache each and no memory map (each
		// connection maps the file anew, and every mapping counts in
		// the process's resident memory). The kernel's page cache keeps
		// the file's hot pages once for all of them.
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-16384)")
		q.Add("_pragma", "mmap_size(0)")
	} else {
		// The writer reads little besides the pages it changes: a 32 MB
		// page cache holds an import batch's index pages (ids that
		// follow each other keep those few), and without a memory map a
		// long import does not count the whole file in its resident
		// memory. Each 4 KB page takes an 8 KB block of the allocator,
		// so the cache costs twice its size in resident memory; a 64 MB
		// cache imported no faster.
		q.Add("_pragma", "cache_size(-32768)")
		q.Add("_pragma", "mmap_size(0)")
		q.Set("_txlock", "immediate")
		// Checkpoint every 40 MB of WAL rather than 4 MB: bulk imports
		// spend a quarter of their time less in checkpoints.
		q.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	return "file:" + path + "?" + q.Encode()
}

// ReadConns is how many connections read at once.
const ReadConns = 8

// Open opens (creating if needed) the database file and applies the
// migrations it has not seen yet.
func Open(path string) (*DB, error) {
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: path, write: w, Now: func() time.Time { return time.Now().UTC() }}
	if err := db.migrate(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.loadDict(context.Background()); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, err
	}
	openPaths.Lock()
	openPaths.n[path]++
	openPaths.Unlock()
	r.SetMaxOpenConns(ReadConns)
	r.SetMaxIdleConns(ReadConns)
	db.read = r
	return db, nil
}

// loadDict reads the largest dictionary, which writes pack Features with.
func (db *DB) loadDict(ctx context.Context) error {
	var data []byte
	err := db.write.QueryRowContext(ctx, "SELECT data FROM dictionaries ORDER BY length(data) DESC, key LIMIT 1").Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	d, err := loadDictionary(data)
	if err != nil {
		return err
	}
	db.dict.Store(d)
	return nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// SetClock replaces the clock the writes stamp their times with (Now),
// for tests; call it before the database is used.
func (db *DB) SetClock(now func() time.Time) { db.Now = now }

// migrate applies the embedded migrations in name order, each in its own
// transaction, tracking progress in PRAGMA user_version.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	for i, name := range names {
		if i < version {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", name, err)
		}
		if step := afterMigration[path.Base(name)]; step != nil {
			if err := step(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// afterMigration holds the steps written in Go that complete a migration,
// in its transaction, by the migration's file name.
var afterMigration = map[string]func(context.Context, *sql.Tx) error{
	"0009_fts_folded.sql": refold,
	"0021_fts_detail.sql": refold,
}

// refold fills the full-text index with the folded text of every record.
func refold(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		rid     int64
		c       geo.Collection
		feature []byte
	}
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, "SELECT rid, collection, feature FROM records WHERE rid > ? ORDER BY rid LIMIT 1000", last)
		if err != nil {
			return err
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.rid, &r.c, &r.feature); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, r := range batch {
			feature, err := unpack(nil, r.feature)
			if err != nil {
				return fmt.Errorf("record %d: %w", r.rid, err)
			}
			rec, err := geo.DecodeFeature(r.c, feature)
			if err != nil {
				return fmt.Errorf("record %d: %w", r.rid, err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO fts (rowid, text) VALUES (?, ?)", r.rid, ftsText(rec.Keys())); err != nil {
				return err
			}
			last = r.rid
		}
	}
}

// Close checkpoints the WAL into the main file and closes the database.
func (db *DB) Close() error {
	var errs []error
	openPaths.Lock()
	if openPaths.n[db.path]--; openPaths.n[db.path] <= 0 {
		delete(openPaths.n, db.path)
	}
	openPaths.Unlock()
	if db.read != nil {
		db.stmts.close()
		errs = append(errs, db.read.Close())
	}
	if _, err := db.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// OnCommit registers f to be called with the last change-log seq after
// every commit that wrote to the log. f must not block.
func (db *DB) OnCommit(f func(seq int64)) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.onCommit = append(db.onCommit, f)
}

func (db *DB) committed(seq int64) {
	db.mu.Lock()
	fns := db.onCommit
	db.mu.Unlock()
	for _, f := range fns {
		f(seq)
	}
}

// Ping checks that the database answers, and that writes do: after a
// write failed for want of room, Ping fails until a write succeeds again.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if f, _ := db.writeFailed.Load().(*writeFailure); f != nil {
		return fmt.Errorf("writes fail since %s: %w", f.since.Format(time.RFC3339), f.err)
	}
	return nil
}

// writeFailure is a write that failed for want of room, and when the
// failures began.
type writeFailure struct {
	err   error
	since time.Time
}

// wrote records how a write ended, for Ping.
func (db *DB) wrote(err error) {
	switch {
	case err == nil:
		if db.writeFailed.Load() != nil {
			db.writeFailed.Store((*writeFailure)(nil))
		}
	case geo.ErrorCode(err) == geo.EFULL:
		if f, _ := db.writeFailed.Load().(*writeFailure); f == nil {
			db.writeFailed.Store(&writeFailure{err: err, since: time.Now().UTC()})
		}
	}
}

// LimitPages bounds the database file to n pages (PRAGMA max_page_count),
// as a full disk would; writes past it fail with EFULL. For quotas and for
// tests of a full disk.
func (db *DB) LimitPages(ctx context.Context, n int64) error {
	_, err := db.write.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(n, 10))
	return err
}

// Size returns the size of the database in bytes (pages in use).
func (db *DB) Size(ctx context.Context) (int64, error) {
	var pages, size int64
	if err := db.read.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := db.read.QueryRowContext(ctx, "PRAGMA page_size").Scan(&size); err != nil {
		return 0, err
	}
	return pages * size, nil
}

// Backup writes a consistent copy of the database to out, which must not
// exist, while other connections go on reading and writing.
func (db *DB) Backup(ctx context.Context, out string) error {
	conn, err := sql.Open("sqlite", dsn(db.path, false))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "VACUUM INTO ?", out)
	return translate(err)
}

// translate maps driver errors to domain codes by their numeric code.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			if c := e.Code(); c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
				return &geo.Error{Code: geo.EDUPLICATE, Message: "a record with that key exists already"}
			}
			return &geo.Error{Code: geo.ECONFLICT, Message: "a record with that key exists already"}
		case sqlite3.SQLITE_FULL:
			return &geo.Error{Code: geo.EFULL, Message: "the database has no room left (the disk, or its size limit, is full); nothing of this write was kept"}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("database busy: %w", err)
		}
	}
	return err
}

// placeholders returns "?,?,?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}
