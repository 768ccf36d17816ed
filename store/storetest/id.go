package storetest

import (
	"context"
	"testing"
)

// testImportedIDsAscend: the ids of records written one after the other
// are distinct, 16 characters long, and follow each other in their
// sorted order, batch after batch, so that they go into the indexes of
// ids at one end.
func testImportedIDsAscend(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	recs := NewSynth(7, "ids").Incidents(600)
	var last string
	seen := map[string]bool{}
	for k := 0; k < len(recs); k += 200 {
		res, err := db.ImportBatch(context.Background(), "test", recs[k:k+200])
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if len(r.ID) != 16 {
				t.Fatalf("record %d: id %q has %d characters, want 16", k+i, r.ID, len(r.ID))
			}
			if seen[r.ID] {
				t.Fatalf("record %d: id %q given twice", k+i, r.ID)
			}
			seen[r.ID] = true
			if r.ID <= last {
				t.Fatalf("record %d: id %q does not follow %q", k+i, r.ID, last)
			}
			last = r.ID
		}
	}
}
