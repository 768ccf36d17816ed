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

// TestChangeLogKeepsOneCopy: the change log keeps the Feature a change
// replaced, not the one it wrote, which the record (or the next change)
// holds: a create logs no Feature, an update its before only; yet every
// change reads back with both, from Changes and from History.
func TestChangeLogKeepsOneCopy(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := storetest.NewSynth(3, "one")
	created, err := db.Create(ctx, "test", s.Incident())
	if err != nil {
		t.Fatal(err)
	}
	bulk, err := db.ImportBatch(ctx, "test", []geo.Record{s.Incident(), s.Incident()})
	if err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := db.read.QueryRow("SELECT count(*) FROM changes WHERE after IS NOT NULL OR before IS NOT NULL OR payload IS NOT NULL").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Errorf("%d creates keep a copy of the Feature in the change log", stored)
	}
	next := s.Incident()
	updated, _, err := db.Replace(ctx, "test", created.ID, 0, next)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := db.Get(ctx, geo.Incidents, bulk[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := geo.DecodeFeature(geo.Incidents, cur.Feature)
	if err != nil {
		t.Fatal(err)
	}
	in := rec.(*geo.Incident)
	in.Title = "Changed in bulk"
	if _, err := db.ImportBatch(ctx, "test", []geo.Record{in}); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, "test", geo.Incidents, bulk[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	changes, err := db.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last, _ := db.Get(ctx, geo.Incidents, bulk[0].ID)
	want := []struct {
		id, op        string
		before, after string
	}{
		{created.ID, geo.OpCreate, "", string(created.Feature)},
		{bulk[0].ID, geo.OpCreate, "", string(cur.Feature)},
		{bulk[1].ID, geo.OpCreate, "", "?"},
		{created.ID, geo.OpUpdate, string(created.Feature), string(updated.Feature)},
		{bulk[0].ID, geo.OpUpdate, string(cur.Feature), string(last.Feature)},
		{bulk[1].ID, geo.OpDelete, "?", ""},
	}
	if len(changes) != len(want) {
		t.Fatalf("%d changes, want %d", len(changes), len(want))
	}
	for i, w := range want {
		c := changes[i]
		if c.ID != w.id || c.Op != w.op {
			t.Fatalf("change %d: %s %s, want %s %s", i, c.Op, c.ID, w.op, w.id)
		}
		if w.before != "?" && string(c.Before) != w.before || w.after != "?" && string(c.After) != w.after {
			t.Errorf("change %d (%s %s): before %.80s…, after %.80s…", i, c.Op, c.ID, c.Before, c.After)
		}
	}
	// The create of the deleted record reads its Feature from the delete.
	if len(changes[2].After) == 0 || string(changes[2].After) != string(changes[5].Before) {
		t.Errorf("the deleted record's create reads %.80s…, its delete %.80s…", changes[2].After, changes[5].Before)
	}
	h, err := db.History(ctx, geo.Incidents, created.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Changes) != 2 || string(h.Changes[1].After) != string(created.Feature) || string(h.Changes[0].After) != string(updated.Feature) {
		t.Errorf("history of %s: %d changes", created.ID, len(h.Changes))
	}
}

// TestChangeLogOfOlderVersions: change-log rows that keep both Features
// (written before the log kept one copy) read as they are, beside new ones.
func TestChangeLogOfOlderVersions(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	s := storetest.NewSynth(4, "old")
	created, err := db.Create(ctx, "test", s.Incident())
	if err != nil {
		t.Fatal(err)
	}
	// As an older version wrote it: the create keeps its after.
	if _, err := db.write.Exec("UPDATE changes SET after = ? WHERE id = ?", created.Feature, created.ID); err != nil {
		t.Fatal(err)
	}
	updated, _, err := db.Replace(ctx, "test", created.ID, 0, s.Incident())
	if err != nil {
		t.Fatal(err)
	}
	changes, err := db.Changes(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || string(changes[0].After) != string(created.Feature) ||
		string(changes[1].Before) != string(created.Feature) || string(changes[1].After) != string(updated.Feature) {
		t.Errorf("changes: %+v", changes)
	}
}
