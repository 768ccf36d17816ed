package pgstore

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// aliasCache is the alias table as last read, with its version.
type aliasCache struct {
	mu      sync.Mutex
	version int64
	table   *geo.Aliases
}

// Aliases returns the actor alias table. It is kept in memory while its
// version in the database is the one read, so that a change through any
// server is seen by all at their next read.
func (db *DB) Aliases(ctx context.Context) (*geo.Aliases, error) {
	var version int64
	if err := db.pool.QueryRow(ctx, "SELECT n FROM alias_version").Scan(&version); err != nil {
		return nil, translate(err)
	}
	db.aliases.mu.Lock()
	if db.aliases.table != nil && db.aliases.version == version {
		t := db.aliases.table
		db.aliases.mu.Unlock()
		return t, nil
	}
	db.aliases.mu.Unlock()
	var list []geo.Alias
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		list = nil
		if err := tx.QueryRow(ctx, "SELECT n FROM alias_version").Scan(&version); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT alias, name, source FROM aliases")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a geo.Alias
			if err := rows.Scan(&a.Alias, &a.Name, &a.Source); err != nil {
				return err
			}
			list = append(list, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	t := geo.NewAliases(list)
	db.aliases.mu.Lock()
	db.aliases.table, db.aliases.version = t, version
	db.aliases.mu.Unlock()
	return t, nil
}

// PutAlias stores an alias, or points an existing one at a new name; it
// reports whether the alias is new. An alias of an alias points at the
// canonical name of the latter. A name that other aliases point at cannot
// itself become an alias (that would make a chain): move those first.
func (db *DB) PutAlias(ctx context.Context, actor string, a geo.Alias) (geo.Alias, bool, error) {
	if err := a.Validate(); err != nil {
		return a, false, err
	}
	created := false
	err := db.inTx(ctx, func(tx *writeTx) error {
		// One alias change at a time: the chain rule reads the table.
		if _, err := tx.Exec(ctx, "SELECT n FROM alias_version FOR UPDATE"); err != nil {
			return err
		}
		var name string
		err := tx.QueryRow(ctx, "SELECT name FROM aliases WHERE key = $1", geo.ActorKey(a.Name)).Scan(&name)
		if err == nil {
			a.Name = name
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if geo.ActorKey(a.Name) == geo.ActorKey(a.Alias) {
			return &geo.Error{Code: geo.EINVALID, Message: "invalid alias", Fields: []geo.FieldError{{Field: "name", Message: "is an alias of " + a.Alias + " itself"}}}
		}
		rows, err := tx.Query(ctx, "SELECT name FROM aliases")
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n := 0
		for _, nm := range names {
			if geo.ActorKey(nm) == geo.ActorKey(a.Alias) {
				n++
			}
		}
		if n > 0 {
			return &geo.Error{Code: geo.EINVALID, Message: "invalid alias", Fields: []geo.FieldError{{Field: "alias", Message: "is the canonical name of " + strconv.Itoa(n) + " aliases; point them elsewhere or delete them first"}}}
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM aliases WHERE key = $1)", geo.ActorKey(a.Alias)).Scan(&exists); err != nil {
			return err
		}
		created = !exists
		if _, err := tx.Exec(ctx, `INSERT INTO aliases (key, alias, name, source, actor, updated) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (key) DO UPDATE SET alias = EXCLUDED.alias, name = EXCLUDED.name, source = EXCLUDED.source, actor = EXCLUDED.actor, updated = EXCLUDED.updated`,
			geo.ActorKey(a.Alias), a.Alias, a.Name, a.Source, actor, tx.now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE alias_version SET n = n + 1")
		return err
	})
	return a, created, err
}

// DeleteAlias removes an alias; ENOTFOUND when there is none.
func (db *DB) DeleteAlias(ctx context.Context, alias string) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM aliases WHERE key = $1", geo.ActorKey(alias))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return geo.Errorf(geo.ENOTFOUND, "no alias %q", alias)
		}
		_, err = tx.Exec(ctx, "UPDATE alias_version SET n = n + 1")
		return err
	})
}
