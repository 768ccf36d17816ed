package storetest

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testFullTextIsFolded: full text matches folded words (geo.Fold) by
// prefix, whatever the case and accents, in the database as in memory.
func testFullTextIsFolded(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	inc := &geo.Incident{Point: orb.Point{-74.08, 4.6}, Title: "Car bomb in BOGOTÁ", Type: "attack", Date: "2019-01-17", Place: "Ṣan‘ā’ street, D.C."}
	if _, err := db.Create(ctx, "test", inc); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(ctx, "test", &geo.Incident{Point: orb.Point{2.35, 48.85}, Title: "Arrest in Besançon", Type: "arrest", Date: "2020"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q      string
		bogota bool // the first record matches
		n      int64
	}{
		{"bogota", true, 1}, {"Bogotá car", true, 1}, {"bogo", true, 1}, {"ota", false, 0},
		{"sana", true, 1}, {"d.c.", true, 1}, {"san", true, 1}, {"BESANCON", false, 1}, {"besan", false, 1}, {"ancon", false, 0},
	} {
		f := geo.NewFilter()
		f.Q = tc.q
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.n {
			t.Errorf("q=%q matches %d, want %d", tc.q, n, tc.n)
		}
		if got := f.Match(inc); got != tc.bogota {
			t.Errorf("q=%q: in memory the Bogotá record matches: %v, want %v", tc.q, got, tc.bogota)
		}
	}
}
