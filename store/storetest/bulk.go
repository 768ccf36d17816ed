package storetest

import (
	"bytes"
	"context"
	"testing"

	"nexus/geo"
)

// clone decodes a fresh copy of a record, as a second import of the same
// file would.
func clone(t testing.TB, r geo.Record) geo.Record {
	t.Helper()
	b, err := geo.EncodeFeature(r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := geo.DecodeFeature(r.Collection(), b)
	if err != nil {
		t.Fatal(err)
	}
	*c.Base() = geo.Meta{}
	return c
}

// testReimportHistory imports records in bulk, imports them again
// unchanged, then with a few changed, and reads the change log: only real
// changes are logged, one seq each, each update's before is the previous
// version, and the bulk entries read back as the records are stored.
func testReimportHistory(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	s := NewSynth(testSeed(t), "reimport")
	recs := append(s.Incidents(600), s.Routes(50)...)
	fresh := func() []geo.Record {
		out := make([]geo.Record, len(recs))
		for i, r := range recs {
			out[i] = clone(t, r)
		}
		return out
	}
	first := fresh()
	ids := ImportAll(t, db, "first", first)
	seq1 := lastSeq(t, db)
	if seq1 != int64(len(recs)) {
		t.Fatalf("first import logged up to seq %d, want %d", seq1, len(recs))
	}

	// The same records again: nothing is written.
	res, err := db.ImportBatch(ctx, "second", fresh())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != geo.Unchanged || r.ID != ids[i] {
			t.Fatalf("record %d: %s %s, want unchanged %s", i, r.Outcome, r.ID, ids[i])
		}
	}
	if seq := lastSeq(t, db); seq != seq1 {
		t.Fatalf("an unchanged re-import logged up to seq %d (was %d)", seq, seq1)
	}

	// Every seventh record changes; one of them twice in the same batch.
	third := fresh()
	changed := map[int]bool{}
	for i := 0; i < len(third); i += 7 {
		rename(third[i], "renamed")
		changed[i] = true
	}
	again := clone(t, third[0])
	rename(again, "renamed twice")
	res, err = db.ImportBatch(ctx, "third", append(third, again))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res[:len(third)] {
		want := geo.Unchanged
		if changed[i] {
			want = geo.Updated
		}
		if r.Outcome != want || r.ID != ids[i] {
			t.Fatalf("record %d: %s %s, want %s %s", i, r.Outcome, r.ID, want, ids[i])
		}
	}
	if last := res[len(third)]; last.Outcome != geo.Updated || last.ID != ids[0] {
		t.Fatalf("the second change of record 0 in one batch: %+v", last)
	}

	changes, err := db.Changes(ctx, seq1, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != len(changed)+1 {
		t.Fatalf("%d change-log entries for %d changes", len(changes), len(changed)+1)
	}
	for i, c := range changes {
		if c.Seq != seq1+int64(i)+1 || c.Op != geo.OpUpdate || c.Actor != "third" {
			t.Fatalf("entry %d: seq %d op %s actor %s", i, c.Seq, c.Op, c.Actor)
		}
	}

	// The history of record 0: created, renamed, renamed twice; each
	// before is the previous after, and the last after is what is stored.
	hist := chainedHistory(t, db, ids[0], 3)
	for i, c := range hist {
		if want := int64(3 - i); c.Version != want {
			t.Errorf("history[%d] is version %d, want %d", i, c.Version, want)
		}
	}
	if hist[2].Op != geo.OpCreate || hist[2].Before != nil {
		t.Errorf("the oldest entry is %s with before %q", hist[2].Op, hist[2].Before)
	}
	got, err := db.Get(ctx, geo.Incidents, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Feature, hist[0].After) || !bytes.Contains(got.Feature, []byte(`"renamed twice`)) {
		t.Errorf("stored %s, newest history entry %s", got.Feature, hist[0].After)
	}

	// Every record's first entry is its creation with the Feature stored
	// then; an unchanged record's is still what is stored now.
	all, err := db.Changes(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		c := all[i]
		if c.ID != id || c.Op != geo.OpCreate || c.Version != 1 || c.Actor != "first" {
			t.Fatalf("entry %d: %s %s v%d by %s, want the creation of %s", i, c.ID, c.Op, c.Version, c.Actor, id)
		}
		if changed[i] {
			continue
		}
		got, err := db.Get(ctx, recs[i].Collection(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Feature, c.After) {
			t.Fatalf("record %d: stored %s, created %s", i, got.Feature, c.After)
		}
	}
}

// testImportBatchDuplicates: a batch that names one external_id three
// times creates it once and updates it twice, in order, and logs each
// version: every before is the after of the version before it, and the
// version created is the first record's Feature.
func testImportBatchDuplicates(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	s := NewSynth(testSeed(t), "dup")
	a := s.Incident()
	b, c := clone(t, a), clone(t, a)
	rename(b, "second")
	rename(c, "third")
	other := s.Incident()
	res, err := db.ImportBatch(context.Background(), "dup", []geo.Record{a, other, b, c})
	if err != nil {
		t.Fatal(err)
	}
	want := []geo.Outcome{geo.Created, geo.Created, geo.Updated, geo.Updated}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("record %d: %s, want %s", i, r.Outcome, want[i])
		}
	}
	if res[0].ID != res[2].ID || res[0].ID != res[3].ID {
		t.Errorf("one external_id got ids %s, %s, %s", res[0].ID, res[2].ID, res[3].ID)
	}
	if n := countAll(t, db); n != 2 {
		t.Errorf("%d records, want 2", n)
	}
	if s, err := db.Get(context.Background(), geo.Incidents, res[0].ID); err != nil || s.Version != 3 {
		t.Errorf("version %d (%v), want 3", s.Version, err)
	}
	hist := chainedHistory(t, db, res[0].ID, 3)
	first, err := geo.DecodeFeature(geo.Incidents, hist[2].After)
	if err != nil || hist[2].Op != geo.OpCreate || first.(*geo.Incident).Title != a.Title {
		t.Errorf("the version created is %s %s (%v)", hist[2].Op, hist[2].After, err)
	}
}

// chainedHistory is the history of the incident id, newest first, which
// must hold n versions, each one's before the after of the one before it.
func chainedHistory(t *testing.T, db Engine, id string, n int) []geo.Change {
	t.Helper()
	hp, err := db.History(context.Background(), geo.Incidents, id, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	hist := hp.Changes
	if len(hist) != n {
		t.Fatalf("incident %s has %d versions in its history, want %d", id, len(hist), n)
	}
	for i, c := range hist {
		if i+1 < len(hist) && !bytes.Equal(c.Before, hist[i+1].After) {
			t.Errorf("version %d's before is not version %d's after", c.Version, hist[i+1].Version)
		}
	}
	return hist
}
