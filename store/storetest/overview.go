package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"nexus/geo"
	"nexus/overview"
)

// testOverviewTextMatchesScan: the overview index answers a text filter
// from the keys the engine gives it, and keeps them current: after random
// writes (creates, replacements that change the text, deletes, imports
// that replace), its counts and statistics with q equal the engine's own
// and a brute-force pass, for texts asked before the writes and after.
func testOverviewTextMatchesScan(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	syn := NewSynth(seed, "ov")
	var recs []geo.Record
	for range 300 {
		recs = append(recs, syn.Incident())
	}
	ids := ImportAll(t, db, "test", recs)
	ix := overview.New(db, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	texts := []string{"cocaine", "Bogota", "bogo", "police seized", "med", "synthetic", "zzz", "SÃO paulo", "border coca"}
	check := func(round int) {
		t.Helper()
		page, err := db.Query(ctx, geo.Incidents, geo.NewFilter(), 0, 10000)
		if err != nil || page.Next != 0 {
			t.Fatalf("read every incident: %v (next %d)", err, page.Next)
		}
		var all []geo.Record
		for _, b := range page.Features {
			all = append(all, Decode(t, geo.Incidents, string(b)))
		}
		for _, q := range texts {
			for _, f := range []geo.Filter{{Span: geo.All}, {Span: geo.All, Types: []string{"attack", "plot"}}, {Span: geo.All, BBox: &geo.BBox{W: -120, S: -60, E: 40, N: 60}}} {
				f.Q = q
				var brute int64
				for _, r := range all {
					if f.Match(r) {
						brute++
					}
				}
				got, err := ix.Count(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				want, err := db.Count(ctx, geo.Incidents, f)
				if err != nil {
					t.Fatal(err)
				}
				if got != want || want != brute {
					t.Fatalf("round %d, q=%q, filter %+v: the overview counts %d, the engine %d, brute force %d", round, q, f, got, want, brute)
				}
				stats, err := ix.Stats(ctx, f, "type")
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				for _, c := range stats {
					sum += c.Count
				}
				if sum != want {
					t.Fatalf("round %d, q=%q: the overview's counts by type add up to %d, want %d", round, q, sum, want)
				}
			}
		}
	}
	check(0)
	for round := 1; round <= 3; round++ {
		for range 40 {
			switch op := rng.Intn(4); {
			case op == 0:
				st, err := db.Create(ctx, "test", syn.Incident())
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, st.ID)
			case op == 1:
				id := ids[rng.Intn(len(ids))]
				in := syn.Incident()
				in.Summary = texts[rng.Intn(len(texts))] + " " + in.Summary
				if _, _, err := db.Replace(ctx, "test", id, 0, in); err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
					t.Fatal(err)
				}
			case op == 2:
				if err := db.Delete(ctx, "test", geo.Incidents, ids[rng.Intn(len(ids))], 0); err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
					t.Fatal(err)
				}
			default:
				// An import that replaces some by their external ids.
				var imp []geo.Record
				for k := range 1 + rng.Intn(20) {
					in := syn.Incident()
					if k%2 == 0 {
						in.ExternalID = fmt.Sprintf("ov:%d", 1+rng.Intn(300))
					}
					imp = append(imp, in)
				}
				ids = append(ids, ImportAll(t, db, "test", imp)...)
			}
		}
		if round == 2 {
			texts = append(texts, "tonnes", "cash border") // first asked after writes
		}
		check(round)
	}
}
