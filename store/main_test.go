package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
)

var seedFlag = flag.Int64("seed", 0, "seed of the property tests; 0 takes NEXUS_SEED or the clock")

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	cleanupShared()
	os.Exit(code)
}

// testSeed returns the seed of a property test and prints it, so a failure
// can be replayed with -seed or NEXUS_SEED.
func testSeed(t testing.TB) int64 {
	seed := *seedFlag
	if seed == 0 {
		if s := os.Getenv("NEXUS_SEED"); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("NEXUS_SEED=%q is not an integer", s)
			}
			seed = v
		}
	}
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d", seed)
	return seed
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

// importAll writes the records in batches of geo.ImportBatchSize and
// returns their ids in order.
func importAll(t testing.TB, db *store.DB, actor string, recs []geo.Record) []string {
	t.Helper()
	ids := make([]string, 0, len(recs))
	for start := 0; start < len(recs); start += geo.ImportBatchSize {
		end := min(start+geo.ImportBatchSize, len(recs))
		res, err := db.ImportBatch(context.Background(), actor, recs[start:end])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// featureID reads the top-level id of an encoded Feature. The store writes
// it first, as {"type":"Feature","id":"…"; anything else is decoded.
func featureID(t testing.TB, feature []byte) string {
	t.Helper()
	const prefix = `{"type":"Feature","id":"`
	if rest, ok := bytes.CutPrefix(feature, []byte(prefix)); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end])
		}
	}
	var f struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(feature, &f); err != nil || f.ID == "" {
		t.Fatalf("feature without id (%v): %.200s", err, feature)
	}
	return f.ID
}

// queryIDs pages through store.Query with the limit, following the Next
// cursors, and returns the ids found and the numberMatched of the pages.
// It fails on a duplicate id or a numberMatched that changes between pages.
func queryIDs(t testing.TB, db *store.DB, c geo.Collection, f geo.Filter, limit int) (map[string]bool, int64) {
	t.Helper()
	ids := map[string]bool{}
	matched := int64(-1)
	var after int64
	for {
		p, err := db.Query(context.Background(), c, f, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		if matched >= 0 && p.Matched != matched {
			t.Fatalf("numberMatched changed between pages: %d then %d", matched, p.Matched)
		}
		matched = p.Matched
		if len(p.Features) > limit {
			t.Fatalf("page of %d features for limit %d", len(p.Features), limit)
		}
		for _, feat := range p.Features {
			id := featureID(t, feat)
			if ids[id] {
				t.Fatalf("id %s returned twice", id)
			}
			ids[id] = true
		}
		if p.Next == 0 {
			return ids, matched
		}
		if len(p.Features) != limit {
			t.Fatalf("a page with a next cursor holds %d features, not the limit %d", len(p.Features), limit)
		}
		after = p.Next
	}
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

// scalar runs a query that returns one value through the read pool.
func scalar[T any](t testing.TB, db *store.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := db.ReadPool().QueryRow(query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// sameIDs fails with the difference when two id sets differ.
func sameIDs(t testing.TB, what string, got, want map[string]bool) {
	t.Helper()
	var missing, extra []string
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	for id := range got {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: %d ids missing %v, %d ids extra %v", what, len(missing), head(missing), len(extra), head(extra))
	}
}

// head returns at most the first five items, for short failure messages.
func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}
