// Package pgstore keeps Nexus's records in PostgreSQL with PostGIS: the
// records with their spatial and full-text indexes, the change log, and
// the tokens. It is the engine for deployments that run several Nexus
// servers on one database: every server follows the one change log, woken
// by LISTEN/NOTIFY.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"nexus/geo"
)

//go:embed migrations/*.sql
var migrations embed.FS

// channel is the NOTIFY channel on which every write transaction announces
// its last change-log seq.
const channel = "nexus_changes"

// tokenChannel is the NOTIFY channel on which a revocation names the
// token it deleted.
const tokenChannel = "nexus_tokens"

// Advisory lock keys (pg_advisory_lock): one for the migrations, one
// serialising the change log's seqs (see DB.log).
const (
	lockMigrate int64 = 0x6e657875_00000001
	lockLog     int64 = 0x6e657875_00000002
)

// DB is the Nexus database on PostgreSQL. Every public method is one
// transaction (or one statement) on the pool.
type DB struct {
	url  string
	pool *pgxpool.Pool

	// CountryOf derives an ISO alpha-2 country from a point; nil leaves
	// country empty when a record has none. Set it before the first write.
	CountryOf func(lon, lat float64) string
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Logger reports the listener's connection troubles.
	Logger *slog.Logger

	// Countries resolves country names in filters (Resolve); nil accepts
	// only two-letter codes there. Set it before serving.
	Countries geo.CountryNames

	mu       sync.Mutex
	onCommit []func(seq int64)
	tokens   []tokenFollower
	aliases  aliasCache

	stop   context.CancelFunc
	listen sync.WaitGroup
}

// IsURL reports whether a -db value names a PostgreSQL database rather
// than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url (postgres://…), applies the
// migrations it has not seen yet, and starts listening for the commits of
// other servers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, geo.Errorf(geo.EINVALID, "database URL: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["application_name"] = "nexus"
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db := &DB{url: url, pool: pool, Now: func() time.Time { return time.Now().UTC() }, Logger: slog.New(slog.DiscardHandler)}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", cfg.ConnConfig.Database, err)
	}
	db.buildPending(ctx)
	lctx, stop := context.WithCancel(context.Background())
	db.stop = stop
	db.listen.Add(1)
	go db.follow(lctx)
	return db, nil
}

// migrate applies the embedded migrations in name order, each in its own
// transaction, recording each in nexus_migrations. An advisory lock makes
// servers that start together migrate once.
func (db *DB) migrate(ctx context.Context) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockMigrate); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockMigrate)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS nexus_migrations (name text PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	// The extensions come first, outside the migrations: a managed
	// database may have them installed already by its administrator.
	for _, ext := range []string{"postgis", "unaccent"} {
		if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+ext); err != nil {
			return fmt.Errorf("extension %s: %w", ext, err)
		}
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		var done bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM nexus_migrations WHERE name = $1)", base).Scan(&done); err != nil {
			return err
		}
		if done {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO nexus_migrations (name) VALUES ($1)", base)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// Close stops listening and closes the pool.
func (db *DB) Close() error {
	db.stop()
	db.listen.Wait()
	db.pool.Close()
	return nil
}

// OnCommit registers f to be called with the last change-log seq after
// every commit that wrote to the log, this server's and (through NOTIFY)
// every other server's on the same database. f must not block.
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

// ListenerName is the application_name of each server's listening
// connection, as pg_stat_activity shows it.
const ListenerName = "nexus listener"

// tokenFollower is one FollowTokens registration.
type tokenFollower struct {
	revoked func(name string)
	open    func() []string
}

// FollowTokens registers revoked to be called with the name of every
// token revoked on the database: through this server, through another one
// or by the token command. A revocation is heard through NOTIFY, which a
// listener that is reconnecting can miss: after each reconnection the
// names open returns (the tokens this server holds connections for) are
// checked again, and revoked is called for each that no longer
// authenticates. Neither function may block.
func (db *DB) FollowTokens(revoked func(name string), open func() []string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.tokens = append(db.tokens, tokenFollower{revoked, open})
}

func (db *DB) tokenFollowers() []tokenFollower {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.tokens
}

// follow listens on the change and token channels until ctx ends,
// reconnecting when the connection drops. After each (re)connection it
// reports the last seq, so that followers catch up with what was
// committed while it was away, and after a reconnection it checks the
// tokens of open connections again.
func (db *DB) follow(ctx context.Context) {
	defer db.listen.Done()
	backoff := 100 * time.Millisecond
	var connected bool
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, connected, func() { backoff, connected = 100*time.Millisecond, true })
		if ctx.Err() != nil {
			return
		}
		db.Logger.Warn("change listener", "err", err, "retry", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (db *DB) listenOnce(ctx context.Context, again bool, connected func()) error {
	cfg, err := pgx.ParseConfig(db.url)
	if err != nil {
		return err
	}
	cfg.RuntimeParams["application_name"] = ListenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+channel+"; LISTEN "+tokenChannel); err != nil {
		return err
	}
	connected()
	var last int64
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&last); err != nil {
		return err
	}
	if last > 0 {
		db.committed(last)
	}
	if again {
		if err := db.recheckTokens(ctx, conn); err != nil {
			return err
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		switch n.Channel {
		case channel:
			if seq, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
				db.committed(seq)
			}
		case tokenChannel:
			for _, f := range db.tokenFollowers() {
				f.revoked(n.Payload)
			}
		}
	}
}

// recheckTokens calls each token follower's revoked with the names among
// its open ones that no longer authenticate: revoked, or expired.
func (db *DB) recheckTokens(ctx context.Context, conn *pgx.Conn) error {
	for _, f := range db.tokenFollowers() {
		names := f.open()
		if len(names) == 0 {
			continue
		}
		rows, err := conn.Query(ctx, "SELECT n FROM unnest($1::text[]) AS u(n) WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE name = u.n AND (expires IS NULL OR expires > $2))",
			names, db.Now().UTC())
		if err != nil {
			return err
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, name := range gone {
			f.revoked(name)
		}
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return translate(db.pool.Ping(ctx))
}

// Size returns the size of the database in bytes.
func (db *DB) Size(ctx context.Context) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	return n, translate(err)
}

// translate maps driver errors to domain codes by their SQLSTATE; a
// database that cannot be reached is EUNAVAILABLE.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		return &geo.Error{Code: geo.EUNAVAILABLE, Message: "the database does not answer; nothing was done, try again shortly"}
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		switch {
		case e.Code == "23505":
			return &geo.Error{Code: geo.EDUPLICATE, Message: "a record with that key exists already"}
		case e.Code == "22021" || e.Code == "22P05":
			// SQLite takes them; PostgreSQL's text and jsonb do not.
			return &geo.Error{Code: geo.EMALFORMED, Message: "the request holds a NUL character, which no stored text can hold"}
		case e.Code == "53100":
			return &geo.Error{Code: geo.EFULL, Message: "the database has no room left; nothing of this write was kept"}
		case e.Code == "57014":
			if errors.Is(err, context.DeadlineExceeded) {
				return err
			}
		}
	}
	return err
}

// unreachable reports whether err says the database cannot be reached or
// went away: refused, broken or closed connections, and the SQLSTATEs of a server
// shutting down or starting (57P01-57P03) and of lost connections (08).
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return strings.HasPrefix(e.Code, "08") || strings.HasPrefix(e.Code, "57P")
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

// Pool is the connection pool, for tests and tools that read the tables.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// URL is the database's connection URL.
func (db *DB) URL() string { return db.url }

// lockStart is the advisory lock of Exclusive.
const lockStart int64 = 0x6e657875_00000003

// Exclusive runs f while holding a session advisory lock that every
// server of the database takes for the same purpose: servers that start
// together seed the sample data and make the first token one after the
// other, and the later ones find it done.
func (db *DB) Exclusive(ctx context.Context, f func() error) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return translate(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockStart); err != nil {
		return translate(err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockStart)
	return f()
}
