package store

import (
	"context"
	"fmt"
	"testing"

	"nexus/geo"
	"nexus/store/storetest"
)

// TestPackedFeatures: Features are stored packed against a dictionary of
// the database, far smaller than their text, and read back byte for byte;
// a Feature stored as text (by a version before packing) reads as it is,
// and filters on properties read both kinds.
func TestPackedFeatures(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := storetest.NewSynth(1, "pack")
	recs := make([]geo.Record, 300)
	for i := range recs {
		recs[i] = s.Incident()
	}
	res, err := db.ImportBatch(ctx, "test", recs)
	if err != nil {
		t.Fatal(err)
	}
	var stored, text int
	for _, r := range res {
		got, err := db.Get(ctx, geo.Incidents, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		var blob []byte
		if err := db.read.QueryRow("SELECT feature FROM records WHERE id = ?", r.ID).Scan(&blob); err != nil {
			t.Fatal(err)
		}
		if blob[0] != packedS2 {
			t.Fatalf("record %s is stored as %q…, not packed", r.ID, blob[:min(len(blob), 20)])
		}
		if _, err := geo.DecodeFeature(geo.Incidents, got.Feature); err != nil {
			t.Fatalf("record %s reads back as %s: %v", r.ID, got.Feature, err)
		}
		stored, text = stored+len(blob), text+len(got.Feature)
	}
	if stored*2 > text {
		t.Errorf("packed Features take %d bytes for %d of text: less than half was saved", stored, text)
	}

	// A record written as text by an older version.
	first, err := db.Get(ctx, geo.Incidents, res[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec("UPDATE records SET feature = ? WHERE id = ?", first.Feature, res[0].ID); err != nil {
		t.Fatal(err)
	}
	again, err := db.Get(ctx, geo.Incidents, res[0].ID)
	if err != nil || string(again.Feature) != string(first.Feature) {
		t.Fatalf("a record stored as text reads as %s (%v), want %s", again.Feature, err, first.Feature)
	}
	// A filter on a property without a column reads both kinds.
	for _, id := range []string{res[0].ID, res[1].ID} {
		g, _ := db.Get(ctx, geo.Incidents, id)
		rec, err := geo.DecodeFeature(geo.Incidents, g.Feature)
		if err != nil {
			t.Fatal(err)
		}
		place := rec.(*geo.Incident).Place
		expr, err := geo.ParseCQL(fmt.Sprintf("place = '%s' AND id = '%s'", place, id), "cql2-text")
		if err != nil {
			t.Fatal(err)
		}
		f := geo.NewFilter()
		f.CQL = expr
		p, err := db.Query(ctx, geo.Incidents, f, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Features) != 1 || string(p.Features[0]) != string(g.Feature) {
			t.Errorf("filter on the place of %s: %d features", id, len(p.Features))
		}
	}
	// Updating a record writes it packed again and keeps the history.
	upd := s.Incident()
	upd.ExternalID = recs[0].Keys().ExternalID
	if _, err := db.ImportBatch(ctx, "test", []geo.Record{upd}); err != nil {
		t.Fatal(err)
	}
	h, err := db.History(ctx, geo.Incidents, res[0].ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Changes) != 2 || string(h.Changes[0].Before) != string(first.Feature) || string(h.Changes[1].After) != string(first.Feature) {
		t.Errorf("history after the update: %d changes", len(h.Changes))
	}
}

// TestDictionaryOfAnotherProcess: a Feature packed against a dictionary
// that this process has not seen (another process made it) is read from
// the database's table.
func TestDictionaryOfAnotherProcess(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := storetest.NewSynth(2, "other")
	st, err := db.Create(ctx, "test", s.Incident())
	if err != nil {
		t.Fatal(err)
	}
	d := db.dict.Load()
	if d == nil {
		t.Fatal("the first create made no dictionary")
	}
	dicts.Delete(d.key) // as in a process that did not make it
	got, err := db.Get(ctx, geo.Incidents, st.ID)
	if err != nil || string(got.Feature) != string(st.Feature) {
		t.Fatalf("Get: %s (%v), want %s", got.Feature, err, st.Feature)
	}
	if _, ok := dicts.Load(d.key); !ok {
		t.Error("the dictionary read from the database was not kept")
	}
}
