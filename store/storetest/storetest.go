// Package storetest is the conformance suite of the store contract: the
// tests every engine behind api.Store must pass, written against the
// Engine interface only, so that SQLite and PostgreSQL answer the same
// questions the same way.
//
// An engine runs the suite from a test of its own package, opening a
// fresh, empty database for every call of open:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Engine {
//			db, err := pgstore.Open(freshDatabaseURL(t))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// Run names each test as a subtest (TestConformance/BBoxMatchesBruteForce),
// so one can be run alone with -run. The property tests print their seed;
// -seed or NEXUS_SEED replays one. KillDuringImport is apart: it needs a
// child process, which each engine starts its own way.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"nexus/api"
	"nexus/geo"
	"nexus/live"
	"nexus/overview"
	"nexus/watch"
)

// Engine is what a store must be to stand behind Nexus: the API's Store,
// the change log the live hub, the overview and the watch evaluator follow
// (Changes, FirstSeq, LastSeq, OnCommit, DeletedAfter, EachIncident), the
// alerts and webhook deliveries, Dump and Load, and two things for tests:
// a clock to set and Close.
type Engine interface {
	api.Store
	live.Log
	overview.Source
	watch.Store
	watch.DeliveryStore
	// Dump and Load move a whole database between engines (server
	// migrate).
	geo.Dumper
	// DeletedAfter says which records were deleted after a seq, and the
	// seq of their deletion: a live replay leaves their content out.
	DeletedAfter(ctx context.Context, after int64) (map[string]int64, error)
	// SetClock makes the engine stamp its writes (created, updated, the
	// change log's time, a token's creation) with now() instead of the
	// wall clock.
	SetClock(now func() time.Time)
	Close() error
}

// Run runs the conformance suite, each test on a database of its own
// from open, which must be empty and is closed by open's cleanup.
func Run(t *testing.T, open func(t *testing.T) Engine) {
	for _, tc := range []struct {
		name string
		test func(*testing.T, func(*testing.T) Engine)
	}{
		{"BBoxMatchesBruteForce", testBBoxMatchesBruteForce},
		{"DatetimeFilter", testDatetimeFilter},
		{"NearEqualsBruteForce", testNearEqualsBruteForce},
		{"NearDecidesAtTheEdge", testNearDecidesAtTheEdge},
		{"CQLFilters", testCQLFilters},
		{"FullTextIsFolded", testFullTextIsFolded},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ConcurrentCreatesShareTransactions", testConcurrentCreatesShareTransactions},
		{"ChangeLog", testChangeLog},
		{"Restore", testRestore},
		{"ConflictCodes", testConflictCodes},
		{"ReimportHistory", testReimportHistory},
		{"ImportBatchDuplicates", testImportBatchDuplicates},
		{"ImportedIDsAscend", testImportedIDsAscend},
		{"ImportPipeline", testImportPipeline},
		{"PreparedBatchSeesWritesBefore", testPreparedBatchSeesWritesBefore},
		{"SampleRoundTrip", testSampleRoundTrip},
		{"Export", testExport},
		{"ExportStreams", testExportStreams},
		{"Extent", testExtent},
		{"Stats", testStats},
		{"StatsByPeriod", testStatsByPeriod},
		{"ActorCountsCountARecordOnce", testActorCountsCountARecordOnce},
		{"Clusters", testClusters},
		{"Tokens", testTokens},
		{"ActorSummaryFollowsWrites", testActorSummaryFollowsWrites},
		{"ActorSummaryFollowsImports", testActorSummaryFollowsImports},
		{"Aliases", testAliases},
		{"AliasEditsAreSeenAtOnce", testAliasEditsAreSeenAtOnce},
		{"ActorPrefixes", testActorPrefixes},
		{"DumpLoad", testDumpLoad},
		{"SensitiveFiltersMatchBruteForce", testSensitiveFiltersMatchBruteForce},
		{"OverviewTextMatchesScan", testOverviewTextMatchesScan},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open) })
	}
}

var seedFlag = flag.Int64("seed", 0, "seed of the property tests; 0 takes NEXUS_SEED or the clock")

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

// ImportAll writes the records in batches of geo.ImportBatchSize and
// returns their ids in order.
func ImportAll(t testing.TB, db Engine, actor string, recs []geo.Record) []string {
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

// queryIDs pages through Query with the limit, following the Next
// cursors, and returns the ids found and the numberMatched of the pages.
// It fails on a duplicate id or a numberMatched that changes between pages.
func queryIDs(t testing.TB, db Engine, c geo.Collection, f geo.Filter, limit int) (map[string]bool, int64) {
	t.Helper()
	ids := map[string]bool{}
	var order []string
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
			order = append(order, id)
		}
		if p.Next == 0 {
			// A cursor past every match (its records deleted since) gives
			// an empty page, still with the number matched.
			if past, err := db.Query(context.Background(), c, f, math.MaxInt64, limit); err != nil || len(past.Features) != 0 || past.Matched != matched {
				t.Fatalf("page past the last match: %d features, numberMatched %d, want 0 and %d (%v)", len(past.Features), past.Matched, matched, err)
			}
			// PageOnly pages through the same records, in the same order,
			// through the spatial index or not.
			for _, scan := range []bool{false, true} {
				if got := pageOnlyIDs(t, db, c, f, limit, scan); !slices.Equal(got, order) {
					t.Fatalf("PageOnly (scan %v) found %d records, Query %d, or in another order", scan, len(got), len(order))
				}
			}
			return ids, matched
		}
		if len(p.Features) != limit {
			t.Fatalf("a page with a next cursor holds %d features, not the limit %d", len(p.Features), limit)
		}
		after = p.Next
	}
}

// pageOnlyIDs pages through PageOnly with the limit and returns the ids
// found, in order.
func pageOnlyIDs(t testing.TB, db Engine, c geo.Collection, f geo.Filter, limit int, scan bool) []string {
	t.Helper()
	var out []string
	var after int64
	for {
		p, err := db.PageOnly(context.Background(), c, f, after, limit, scan)
		if err != nil {
			t.Fatal(err)
		}
		for _, feat := range p.Features {
			out = append(out, featureID(t, feat))
		}
		if p.Next == 0 {
			return out
		}
		after = p.Next
	}
}

// WantCode fails unless err carries the geo error code.
func WantCode(t testing.TB, err error, code string) {
	t.Helper()
	var e *geo.Error
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v (code %s), want code %s", err, geo.ErrorCode(err), code)
	}
}

// lastSeq is the newest seq of the change log.
func lastSeq(t testing.TB, db Engine) int64 {
	t.Helper()
	seq, err := db.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// countAll is how many records the database holds, of every collection.
func countAll(t testing.TB, db Engine) int64 {
	t.Helper()
	var n int64
	for _, c := range geo.Collections {
		k, err := db.Count(context.Background(), c, geo.NewFilter())
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	return n
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

// raceDivisor is how much smaller the data of a property test is under
// the race detector.
const raceDivisor = 4

// Sized is n, the size of a test's data or how many cases it checks, or a
// quarter of it (at least one) under the race detector. Tests that race
// goroutines against each other keep their sizes.
func Sized(n int) int {
	if RaceDetector {
		return max(1, n/raceDivisor)
	}
	return n
}
