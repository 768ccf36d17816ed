package storetest

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testRestore: a restore is a new version with the content of the one it
// names, written only from the latest version, and its history entry and
// change-log entry name the version restored.
func testRestore(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	plot := func(title string) *geo.Incident {
		return &geo.Incident{Point: orb.Point{-74.0539, 4.6669}, Title: title, Type: "plot", Date: "2018", Actors: []string{"ISIS"}}
	}
	created, err := db.Create(ctx, "alice", plot("ISIS plot in Bogotá"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Replace(ctx, "bob", created.ID, 1, plot("renamed")); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.Restore(ctx, "carol", created.ID, 1, 1, plot("ISIS plot in Bogotá"))
	WantCode(t, err, geo.ECONFLICT)
	st, outcome, err := db.Restore(ctx, "carol", created.ID, 2, 1, plot("ISIS plot in Bogotá"))
	if err != nil || outcome != geo.Updated || st.Version != 3 {
		t.Fatalf("restore: %v %s %+v", err, outcome, st)
	}
	got, err := db.Get(ctx, geo.Incidents, created.ID)
	if err != nil || got.Version != 3 {
		t.Fatalf("get: %v %+v", err, got)
	}
	h, err := db.History(ctx, geo.Incidents, created.ID, 0, 10)
	if err != nil || len(h.Changes) != 3 {
		t.Fatalf("history: %v %+v", err, h)
	}
	if c := h.Changes[0]; c.Version != 3 || c.Restored != 1 || c.Actor != "carol" || h.Changes[1].Restored != 0 || string(c.After) != string(got.Feature) {
		t.Fatalf("history %+v", h.Changes)
	}
	changes, err := db.Changes(ctx, 0, 10)
	if err != nil || len(changes) != 3 || changes[2].Restored != 1 {
		t.Fatalf("change log: %v %+v", err, changes)
	}
}
