package store

import (
	"database/sql"

	"nexus/geo"
)

// ReadPool exposes the read pool to the external tests (package store_test),
// which check the database's contents with plain SQL.
func (db *DB) ReadPool() *sql.DB { return db.read }

// Where exposes the SQL condition of a filter, so that tests can read the
// query plan SQLite makes of it.
func Where(c geo.Collection, f geo.Filter) (string, []any) { return where(c, f) }
