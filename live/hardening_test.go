package live

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"nexus/geo"
)

// bigIncident is an incident of about 250 KB, most of it in its sources.
func bigIncident(t testing.TB, title string) geo.Record {
	t.Helper()
	var sources []string
	for i := 0; i < geo.MaxItems; i++ {
		sources = append(sources, fmt.Sprintf(`{"title":"%d %s","publisher":"%s"}`, i, strings.Repeat("s", 600), strings.Repeat("p", 600)))
	}
	r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74,4]},"properties":{"title":%q,"type":"attack","date":"2024-05-01","sources":[%s]}}`,
		title, strings.Join(sources, ",")))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The changes the hub keeps for replays are bounded by their memory, not
// only by their count: many versions of a large record, with nobody
// connected, do not pile up; a replay from before them reads the log and
// misses nothing.
func TestRecentChangesBoundedByBytes(t *testing.T) {
	const budget = 2 << 20
	e := newEnv(t, Options{RecentBytes: budget})
	ctx := context.Background()
	first, err := e.db.Create(ctx, "tester", bigIncident(t, "version 1"))
	if err != nil {
		t.Fatal(err)
	}
	const versions = 16
	for v := 2; v <= versions; v++ {
		if _, _, err := e.db.Replace(ctx, "tester", first.ID, 0, bigIncident(t, fmt.Sprint("version ", v))); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := e.db.LastSeq(ctx)
	for e.hub.Seq() < last {
		time.Sleep(5 * time.Millisecond)
	}
	e.hub.mu.Lock()
	held, n := e.hub.recent.bytes, e.hub.recent.n
	e.hub.mu.Unlock()
	if held > budget || n >= versions {
		t.Fatalf("the hub holds %d changes in %d bytes, over its budget of %d", n, held, budget)
	}
	c := e.dial(nil, nil)
	c.subscribe("", 0)
	for v := 1; v <= versions; v++ {
		m := c.read()
		if m.Type != "change" || m.ID != first.ID || !strings.Contains(string(m.Feature), fmt.Sprintf(`"version %d"`, v)) {
			t.Fatalf("replay frame %d: %s %s seq %d", v, m.Type, m.ID, m.Seq)
		}
	}
}
