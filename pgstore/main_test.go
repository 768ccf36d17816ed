package pgstore_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"nexus/geo"
	"nexus/internal/pgtest"
	"nexus/pgstore"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// The child of TestKillDuringImport uses its parent's cluster.
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

const (
	plotFeature  = `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0539,4.6669]},"properties":{"title":"ISIS plot against a Zona Rosa restaurant in Bogotá","type":"plot","date":"2018","actors":["ISIS"],"killed":null}}`
	routeFeature = `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[175.5,-17.1],[-175.25,-13.8]]},"properties":{"name":"Pacific crossing","commodity":"methamphetamine"}}`
)

func decode(t testing.TB, c geo.Collection, feature string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(c, []byte(feature))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantCode fails unless err carries the geo error code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var e *geo.Error
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v (code %s), want code %s", err, geo.ErrorCode(err), code)
	}
}
