package pgstore_test

import (
	"context"
	"os"
	"testing"

	"nexus/internal/pgtest"
	"nexus/pgstore"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" || os.Getenv(loadChildEnv) != "" {
		// The children of TestKillDuringImport and TestKillDuringLoad use
		// their parent's cluster.
		os.Exit(m.Run())
	}
	os.Exit(pgtest.Main(m))
}

// openDB opens a new empty database of the test binary's cluster and
// closes it when the test ends.
func openDB(t testing.TB) *pgstore.DB {
	t.Helper()
	return openURL(t, pgtest.DB(t))
}

// openURL opens the database at url (a second server on the same
// database opens it again) and closes it when the test ends.
func openURL(t testing.TB, url string) *pgstore.DB {
	t.Helper()
	db, err := pgstore.Open(context.Background(), url)
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
