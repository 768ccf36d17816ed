package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"time"

	"nexus/geo"
)

// Aliases returns the actor alias table. It is read once and kept until
// the table changes through this DB.
func (db *DB) Aliases(ctx context.Context) (*geo.Aliases, error) {
	a, gen := db.aliases.get()
	if a != nil {
		return a, nil
	}
	rows, err := db.read.QueryContext(ctx, "SELECT alias, name, source FROM aliases")
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var list []geo.Alias
	for rows.Next() {
		var a geo.Alias
		if err := rows.Scan(&a.Alias, &a.Name, &a.Source); err != nil {
			return nil, err
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	a = geo.NewAliases(list)
	db.aliases.put(a, gen)
	return a, nil
}

// aliasCache holds the alias table as last read. A table read while an
// edit committed is not kept: it may predate the edit.
type aliasCache struct {
	mu    sync.Mutex
	table *geo.Aliases
	gen   int64 // edits so far
}

// get returns the table kept, or nil, with the edits counted so far.
func (c *aliasCache) get() (*geo.Aliases, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.table, c.gen
}

// put keeps a table read after get returned gen, unless an edit came since.
func (c *aliasCache) put(a *geo.Aliases, gen int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.table = a
	}
}

// edited drops the table kept: the next read reads the edit.
func (c *aliasCache) edited() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.table = nil
	c.gen++
}

// Resolve prepares a filter for matching: country names become codes (a
// name no country answers to is refused, naming the closest ones); the
// actors it names are expanded to the stored names one of whose words
// begins with them, then to every spelling the alias table knows; and a
// near_route corridor gets the route's path.
func (db *DB) Resolve(ctx context.Context, f *geo.Filter) error {
	if err := f.ResolveCountries(db.Countries); err != nil {
		return err
	}
	if err := db.resolveNear(ctx, f.Near, f.Exact); err != nil {
		return err
	}
	a, err := db.Aliases(ctx)
	if err != nil {
		return err
	}
	f.ResolveActors(a)
	return db.actorPrefixes(ctx, f, a)
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
		var name string
		err := tx.QueryRow("SELECT name FROM aliases WHERE key = ?", geo.ActorKey(a.Name)).Scan(&name)
		if err == nil {
			a.Name = name
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if geo.ActorKey(a.Name) == geo.ActorKey(a.Alias) {
			return &geo.Error{Code: geo.EINVALID, Message: "invalid alias", Fields: []geo.FieldError{{Field: "name", Message: "is an alias of " + a.Alias + " itself"}}}
		}
		var n int
		rows, err := tx.Tx.Query("SELECT name FROM aliases")
		if err != nil {
			return err
		}
		for rows.Next() {
			var nm string
			if err := rows.Scan(&nm); err != nil {
				rows.Close()
				return err
			}
			if geo.ActorKey(nm) == geo.ActorKey(a.Alias) {
				n++
			}
		}
		rows.Close()
		if n > 0 {
			return &geo.Error{Code: geo.EINVALID, Message: "invalid alias", Fields: []geo.FieldError{{Field: "alias", Message: "is the canonical name of " + strconv.Itoa(n) + " aliases; point them elsewhere or delete them first"}}}
		}
		res, err := tx.Exec("UPDATE aliases SET alias = ?, name = ?, source = ?, actor = ?, updated = ? WHERE key = ?",
			a.Alias, a.Name, a.Source, actor, tx.now.Format(time.RFC3339Nano), geo.ActorKey(a.Alias))
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			return nil
		}
		created = true
		_, err = tx.Exec("INSERT INTO aliases (key, alias, name, source, actor, updated) VALUES (?,?,?,?,?,?)",
			geo.ActorKey(a.Alias), a.Alias, a.Name, a.Source, actor, tx.now.Format(time.RFC3339Nano))
		return err
	})
	db.aliases.edited()
	return a, created, err
}

// DeleteAlias removes an alias; ENOTFOUND when there is none.
func (db *DB) DeleteAlias(ctx context.Context, alias string) error {
	err := db.inTx(ctx, func(tx *writeTx) error {
		res, err := tx.Exec("DELETE FROM aliases WHERE key = ?", geo.ActorKey(alias))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return geo.Errorf(geo.ENOTFOUND, "no alias %q", alias)
		}
		return nil
	})
	db.aliases.edited()
	return err
}
