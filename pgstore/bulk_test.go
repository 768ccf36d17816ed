package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"nexus/geo"
	"nexus/store/storetest"
)

func rename(r geo.Record, name string) {
	switch r := r.(type) {
	case *geo.Incident:
		r.Title = name
	case *geo.Route:
		r.Name = name
	}
}

// batch makes n incidents with external ids and a few routes without.
func batch(t testing.TB, n int) []geo.Record {
	var out []geo.Record
	for i := range n {
		out = append(out, storetest.Decode(t, geo.Incidents, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"external_id":"ext:%d","title":"seizure %d at the port of Buenaventura","type":"seizure","date":"2021-%02d","actors":["Clan del Golfo","Navy %d"],"killed":null}}`,
			-77+float64(i)/100, 3.8+float64(i)/200, i, i, 1+i%12, i%3)))
	}
	for i := range 5 {
		out = append(out, storetest.Decode(t, geo.Routes, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[179,%d],[-179,%d]]},"properties":{"name":"crossing %d","commodity":"cocaine"}}`, i, i+1, i)))
	}
	return out
}

// TestImportBatch: a batch is created with one seq per record; the same
// batch again changes nothing and logs nothing; a batch with a few changes
// (one record changed twice) updates only those, each update's before
// being the previous version.
func TestImportBatch(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	res, err := db.ImportBatch(ctx, "first", batch(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(res))
	for i, r := range res {
		if r.Outcome != geo.Created {
			t.Fatalf("record %d: %s", i, r.Outcome)
		}
		ids[i] = r.ID
	}
	seq1, _ := db.LastSeq(ctx)
	all, err := db.Changes(ctx, 0, 1000)
	if err != nil || len(all) != len(res) || seq1 != all[len(all)-1].Seq {
		t.Fatalf("%d changes (%v) for %d records", len(all), err, len(res))
	}
	for i, c := range all {
		got, err := db.Get(ctx, c.Collection, ids[i])
		if err != nil || c.ID != ids[i] || c.Op != geo.OpCreate || !bytes.Equal(c.After, got.Feature) {
			t.Fatalf("change %d: %s %s, record %s (%v)", i, c.ID, c.Op, ids[i], err)
		}
	}
	// Storage order is batch order.
	p, err := db.Query(ctx, geo.Incidents, geo.NewFilter(), 0, 1000)
	if err != nil || len(p.Features) != 300 {
		t.Fatalf("%d incidents (%v)", len(p.Features), err)
	}
	for i, f := range p.Features {
		if !bytes.Contains(f, []byte(`"id":"`+ids[i]+`"`)) {
			t.Fatalf("incident %d is not the batch's %d", i, i)
		}
	}
	// The index entries are written: box, actor, words, span.
	f := geo.NewFilter()
	f.BBox = &geo.BBox{W: -77, S: 3.8, E: -76.5, N: 4}
	f.Actors = []string{"navy 1"}
	f.Q = "buenaven"
	want := 0 // x = -77+i/100 ≤ -76.5, y = 3.8+i/200 ≤ 4, actor Navy i%3
	for i := range 300 {
		if i <= 40 && i%3 == 1 {
			want++
		}
	}
	n, err := db.Count(ctx, geo.Incidents, f)
	if err != nil || n != int64(want) {
		t.Fatalf("box, actor and words select %d (%v), want %d", n, err, want)
	}
	f = geo.NewFilter()
	f.BBox = &geo.BBox{W: 179.5, S: 0, E: -179.5, N: 10}
	if n, err := db.Count(ctx, geo.Routes, f); err != nil || n != 5 {
		t.Fatalf("%d routes across the antimeridian (%v)", n, err)
	}

	res, err = db.ImportBatch(ctx, "second", batch(t, 300))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:300] {
		if r.Outcome != geo.Unchanged || r.ID != ids[i] {
			t.Fatalf("re-import of record %d: %s %s", i, r.Outcome, r.ID)
		}
	}
	for _, r := range res[300:] {
		if r.Outcome != geo.Created {
			t.Fatalf("a route without external_id: %s", r.Outcome)
		}
	}
	seq2, _ := db.LastSeq(ctx)
	if seq2 != seq1+5 {
		t.Fatalf("an unchanged re-import logged %d changes", seq2-seq1-5)
	}

	third := batch(t, 300)[:300]
	for i := 0; i < len(third); i += 7 {
		rename(third[i], fmt.Sprintf("renamed %d", i))
	}
	again := batch(t, 1)[0]
	rename(again, "renamed twice")
	third = append([]geo.Record{batch(t, 2)[1]}, append(third, again)...) // record 1 unchanged first
	rename(third[2], "record one renamed")
	res, err = db.ImportBatch(ctx, "third", third)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != geo.Unchanged || res[2].Outcome != geo.Updated || res[2].ID != ids[1] || res[len(res)-1].Outcome != geo.Updated || res[len(res)-1].ID != ids[0] {
		t.Fatalf("outcomes %+v %+v %+v", res[0], res[2], res[len(res)-1])
	}
	h, err := db.History(ctx, geo.Incidents, ids[0], 0, 10)
	if err != nil || len(h.Changes) != 3 {
		t.Fatalf("history of record 0: %d (%v)", len(h.Changes), err)
	}
	for i, c := range h.Changes {
		if c.Version != int64(3-i) || (i+1 < len(h.Changes) && !bytes.Equal(c.Before, h.Changes[i+1].After)) {
			t.Fatalf("history entry %d: version %d", i, c.Version)
		}
	}
	got, _ := db.Get(ctx, geo.Incidents, ids[0])
	if got.Version != 3 || !bytes.Equal(got.Feature, h.Changes[0].After) || !bytes.Contains(got.Feature, []byte("renamed twice")) {
		t.Fatalf("stored %s", got.Feature)
	}
	h, err = db.History(ctx, geo.Incidents, ids[1], 0, 10)
	if err != nil || len(h.Changes) != 2 || !bytes.Contains(h.Changes[0].After, []byte("record one renamed")) {
		t.Fatalf("history of record 1: %d (%v)", len(h.Changes), err)
	}
	f = geo.NewFilter()
	f.Q = "renamed"
	// Every seventh of 300 (43), and record 1.
	if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != 44 {
		t.Fatalf("%d renamed (%v), want 44", n, err)
	}
}
