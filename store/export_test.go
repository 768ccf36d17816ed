package store

import (
	"database/sql"
	"strings"

	"nexus/geo"
)

// ReadPool exposes the read pool to the external tests (package store_test),
// which check the database's contents with plain SQL.
func (db *DB) ReadPool() *sql.DB { return db.read }

// Where exposes the SQL condition of a filter, so that tests can read the
// query plan SQLite makes of it.
func Where(c geo.Collection, f geo.Filter) (string, []any) { return where(c, f) }

// QueryPlan returns SQLite's plan of a query, its steps joined by "; ".
func (db *DB) QueryPlan(query string, args ...any) (string, error) {
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; "), rows.Err()
}
