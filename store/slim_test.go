package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// TestCompactRows: the row of a point that is not sensitive keeps no
// geometry (x and y are its point) and spatial filters still find it by
// its exact point; a sensitive one keeps its exact geometry. The change
// log keeps a change's time in six bytes and reads it back to the
// millisecond, through the single and the bulk write paths.
func TestCompactRows(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	db.SetClock(func() time.Time { return now })
	plain := &geo.Incident{Point: orb.Point{-15.25, 12.5}, Title: "Seizure", Type: "seizure", Date: "2021-02-03"}
	st, err := db.Create(ctx, "test", plain)
	if err != nil {
		t.Fatal(err)
	}
	secret := &geo.Incident{Point: orb.Point{-15.2512345, 12.5012345}, Title: "Informant", Type: "other", Date: "2021-02-03", Sensitive: true}
	sst, err := db.Create(ctx, "test", secret)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	res, err := db.ImportBatch(ctx, "test", []geo.Record{&geo.Incident{Point: orb.Point{30, 40}, Title: "Plot", Type: "plot", Date: "2022", ExternalID: "e1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := scalar[int](t, db, "SELECT length(geom) FROM records WHERE id = ?", st.ID); n != 0 {
		t.Errorf("the plain point's row keeps %d bytes of geometry, want none", n)
	}
	if n := scalar[int](t, db, "SELECT length(geom) FROM records WHERE id = ?", res[0].ID); n != 0 {
		t.Errorf("the imported point's row keeps %d bytes of geometry, want none", n)
	}
	if n := scalar[int](t, db, "SELECT length(geom) FROM records WHERE id = ?", sst.ID); n != 21 {
		t.Errorf("the sensitive point's row keeps %d bytes of geometry, want its 21 of WKB", n)
	}
	// A polygon around both points, but off the sensitive one's coarse
	// point: an exact filter finds both, a viewer's the plain one only.
	poly, err := geo.ParseCQL("S_INTERSECTS(geometry, POLYGON((-15.26 12.49, -15.24 12.49, -15.24 12.51, -15.26 12.51, -15.26 12.49)))", "cql2-text")
	if err != nil {
		t.Fatal(err)
	}
	for _, exact := range []bool{true, false} {
		f := geo.NewFilter()
		f.CQL, f.Exact = poly, exact
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int64{true: 2, false: 1}[exact]; n != want {
			t.Errorf("polygon, exact %v: %d incidents, want %d", exact, n, want)
		}
	}
	for id, want := range map[string]time.Time{st.ID: now.Add(-time.Hour), res[0].ID: now} {
		if n := scalar[int](t, db, "SELECT length(time) FROM changes WHERE id = ?", id); n != 6 {
			t.Errorf("the change of %s keeps its time in %d bytes, want 6", id, n)
		}
		h, err := db.History(ctx, geo.Incidents, id, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Changes) != 1 || !h.Changes[0].Time.Equal(want) || h.Changes[0].Time.Location() != time.UTC {
			t.Errorf("history of %s: %+v, want one change at %v UTC", id, h.Changes, want)
		}
	}
}
