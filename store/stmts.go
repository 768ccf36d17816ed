package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the statements kept prepared on the read pool: the
// text of a filtered read varies with its filter, and reads past the bound
// are parsed each time.
const maxReadStmts = 256

// readStmts are the statements of frequent reads, prepared once on the
// read pool (each pooled connection prepares a statement the first time it
// runs it). A page of ten records takes about as long to parse as to read.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// query runs a read through the statement prepared for its text.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := db.stmts.get(ctx, db.read, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, query, args...)
}

// queryRow is query for one row.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.stmts.get(ctx, db.read, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// get returns the statement of the text, preparing it on first use; nil
// when the cache is full or the text does not prepare (the caller then
// runs it unprepared, which reports the error).
func (c *readStmts) get(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if len(c.m) >= maxReadStmts {
		return nil
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = s
	return s
}

// close closes the prepared statements.
func (c *readStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}
