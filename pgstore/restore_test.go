package pgstore_test

import (
	"context"
	"testing"

	"nexus/geo"
)

// TestRestore: a restore is a new version with the content of the one it
// names, and its history entry names it.
func TestRestore(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	created, err := db.Create(ctx, "alice", decode(t, geo.Incidents, plotFeature))
	if err != nil {
		t.Fatal(err)
	}
	r := decode(t, geo.Incidents, plotFeature)
	r.(*geo.Incident).Title = "renamed"
	if _, _, err := db.Replace(ctx, "bob", created.ID, 1, r); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.Restore(ctx, "carol", created.ID, 1, 1, decode(t, geo.Incidents, plotFeature))
	wantCode(t, err, geo.ECONFLICT)
	st, outcome, err := db.Restore(ctx, "carol", created.ID, 2, 1, decode(t, geo.Incidents, plotFeature))
	if err != nil || outcome != geo.Updated || st.Version != 3 {
		t.Fatalf("restore: %v %s %+v", err, outcome, st)
	}
	h, err := db.History(ctx, geo.Incidents, created.ID, 0, 10)
	if err != nil || len(h.Changes) != 3 {
		t.Fatalf("history: %v %+v", err, h)
	}
	if c := h.Changes[0]; c.Version != 3 || c.Restored != 1 || c.Actor != "carol" || h.Changes[1].Restored != 0 {
		t.Fatalf("history %+v", h.Changes)
	}
	changes, err := db.Changes(ctx, 0, 10)
	if err != nil || len(changes) != 3 || changes[2].Restored != 1 {
		t.Fatalf("change log: %v %+v", err, changes)
	}
}
