package store_test

import (
	"os"
	"path/filepath"
	"testing"

	"nexus/store"
	"nexus/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupShared()
	os.Exit(code)
}

// openDB opens a fresh database file in the test's temporary directory and
// closes it when the test ends.
func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// scalar runs a query that returns one value through the read pool.
func scalar[T any](t testing.TB, db *store.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := db.ReadPool().QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// TestConformance runs the store contract's suite on SQLite.
func TestConformance(t *testing.T) {
	// Not side by side with the package's other long tests (t.Parallel),
	// which wait for it: ExportStreams measures the heap of the whole
	// process while it exports.
	storetest.Run(t, func(t *testing.T) storetest.Engine { return openDB(t) })
}
