package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"nexus/geo"
)

// testConcurrentCreatesShareTransactions: sixteen writers create at once;
// a create that breaks a constraint (a duplicate external_id) fails alone,
// every other is stored as version 1 with its own change-log entry.
func testConcurrentCreatesShareTransactions(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	if _, err := db.Create(ctx, "first", Decode(t, geo.Incidents, `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"Taken","type":"plot","date":"2018","external_id":"dup:1"}}`)); err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 40
	var wg sync.WaitGroup
	ids := make([][]string, writers)
	fails := make([]int, writers)
	for w := range writers {
		wg.Go(func() {
			for k := range each {
				ext := fmt.Sprintf("w%d:%d", w, k)
				if k == each/2 {
					ext = "dup:1"
				}
				s, err := db.Create(ctx, fmt.Sprint("writer", w), Decode(t, geo.Incidents, fmt.Sprintf(
					`{"type":"Feature","geometry":{"type":"Point","coordinates":[%d,%d]},"properties":{"title":"Writer %d, record %d","type":"plot","date":"2018","external_id":%q}}`, w, k, w, k, ext)))
				if err != nil {
					if ext != "dup:1" {
						t.Errorf("writer %d record %d: %v", w, k, err)
					}
					WantCode(t, err, geo.EDUPLICATE)
					fails[w]++
					continue
				}
				if ext == "dup:1" || s.Version != 1 {
					t.Errorf("writer %d record %d: stored %+v", w, k, s)
				}
				ids[w] = append(ids[w], s.ID)
			}
		})
	}
	wg.Wait()
	total := 0
	for w := range writers {
		if fails[w] != 1 || len(ids[w]) != each-1 {
			t.Errorf("writer %d: %d created, %d refused", w, len(ids[w]), fails[w])
		}
		for _, id := range ids[w] {
			got, err := db.Get(ctx, geo.Incidents, id)
			if err != nil || got.Version != 1 {
				t.Fatalf("record %s: %+v %v", id, got, err)
			}
		}
		total += len(ids[w])
	}
	changes, err := db.Changes(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != total+1 {
		t.Fatalf("%d change-log entries for %d creates", len(changes), total+1)
	}
	for i, c := range changes {
		if c.Seq != int64(i+1) || c.Op != geo.OpCreate {
			t.Fatalf("entry %d: seq %d op %s", i, c.Seq, c.Op)
		}
	}
	if n := countAll(t, db); n != int64(total+1) {
		t.Errorf("%d records, want %d", n, total+1)
	}
}
