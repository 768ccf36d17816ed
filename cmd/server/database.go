package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"nexus/api"
	"nexus/geo"
	"nexus/geocode"
	"nexus/ingest"
	"nexus/live"
	"nexus/overview"
	"nexus/pgstore"
	"nexus/store"
	"nexus/watch"
)

// database is what the server and its commands need of an engine: SQLite
// (*store.DB, a file path in -db) or PostgreSQL with PostGIS (*pgstore.DB,
// a postgres:// URL in -db, for several servers on one database).
type database interface {
	api.Store
	live.Log
	overview.Source
	watch.Store
	watch.DeliveryStore
	TokenCount(ctx context.Context) (int, error)
	CreateToken(ctx context.Context, name, role string) (string, error)
	TokenValid(ctx context.Context, name string) (bool, error)
	// Dump and Load move a whole database between engines (migrate).
	geo.Dumper
	Close() error
}

var (
	_ database = (*store.DB)(nil)
	_ database = (*pgstore.DB)(nil)
	// Both engines prepare an import's next batch while they write one.
	_ ingest.BatchPreparer = (*store.DB)(nil)
	_ ingest.BatchPreparer = (*pgstore.DB)(nil)
)

// openDatabase opens the database -db names, creating it if needed, with
// countries derived from points and resolved in filters when gaz is set.
func openDatabase(ctx context.Context, dsn string, gaz *geocode.Gazetteer) (database, error) {
	if pgstore.IsURL(dsn) {
		db, err := pgstore.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		if gaz != nil {
			db.CountryOf, db.Countries = gaz.CountryOf, gaz
		}
		return db, nil
	}
	db, err := store.Open(dsn)
	if err != nil {
		return nil, err
	}
	if gaz != nil {
		db.CountryOf, db.Countries = gaz.CountryOf, gaz
	}
	return db, nil
}

// openExisting opens a database that must exist already: a mistyped -db
// file for a command that reads or extends one is an error, not a new
// empty database.
func openExisting(ctx context.Context, dsn string) (database, error) {
	if !pgstore.IsURL(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no database at %s (check -db)", dsn)
			}
			return nil, err
		}
	}
	return openDatabase(ctx, dsn, nil)
}

// startOnce runs f, the start-up writes (sample data, the first token),
// once however many servers start together on one database: on
// PostgreSQL under an advisory lock, so that the second server finds the
// first one's work done.
func startOnce(ctx context.Context, db database, f func() error) error {
	if pg, ok := db.(*pgstore.DB); ok {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		return pg.Exclusive(ctx, f)
	}
	return f()
}
