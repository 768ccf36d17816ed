package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"nexus/geo"
	"nexus/ingest"
)

// testPreparedBatchSeesWritesBefore: a batch prepared (ingest.BatchPreparer)
// before other writes that touch the records it names is written as if
// it had been prepared after them. One record it updates was edited
// meanwhile: the batch updates the edited version. One it creates was
// created meanwhile by another batch: the batch updates it instead of
// creating it twice. One it leaves unchanged was edited meanwhile: the
// batch writes it back. Each history is a chain of real changes.
func testPreparedBatchSeesWritesBefore(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	bp, ok := db.(ingest.BatchPreparer)
	if !ok {
		t.Skip("the engine writes each batch as it is handed")
	}
	ctx := context.Background()
	rec := func(ext, title string) geo.Record {
		t.Helper()
		r, err := geo.DecodeFeature(geo.Incidents, []byte(fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.1,4.6]},"properties":{"external_id":%q,"title":%q,"type":"attack","date":"2020-01-02"}}`, ext, title)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first, err := db.ImportBatch(ctx, "first", []geo.Record{rec("a", "a 1"), rec("u", "u 1"), rec("n", "n 1")})
	if err != nil {
		t.Fatal(err)
	}
	a, u := first[0].ID, first[1].ID

	write, err := bp.PrepareBatch("prepared", []geo.Record{rec("a", "a 3"), rec("c", "c 2"), rec("u", "u 1"), rec("n", "n 1"), rec("d", "d 1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Replace(ctx, "editor", a, 1, rec("a", "a 2")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Replace(ctx, "editor", u, 1, rec("u", "u 2")); err != nil {
		t.Fatal(err)
	}
	between, err := db.ImportBatch(ctx, "between", []geo.Record{rec("c", "c 1")})
	if err != nil {
		t.Fatal(err)
	}
	c := between[0].ID
	res, err := write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id      string
		outcome geo.Outcome
	}{{a, geo.Updated}, {c, geo.Updated}, {u, geo.Updated}, {first[2].ID, geo.Unchanged}, {"", geo.Created}}
	for i, w := range want {
		if res[i].Outcome != w.outcome || (w.id != "" && res[i].ID != w.id) {
			t.Fatalf("record %d: %s %s, want %s %s", i, res[i].Outcome, res[i].ID, w.outcome, w.id)
		}
	}
	if n, err := db.Count(ctx, geo.Incidents, geo.NewFilter()); err != nil || n != 5 {
		t.Fatalf("%d records (%v), want 5", n, err)
	}
	for _, h := range []struct {
		id     string
		titles []string // newest first
	}{{a, []string{"a 3", "a 2", "a 1"}}, {c, []string{"c 2", "c 1"}}, {u, []string{"u 1", "u 2", "u 1"}}} {
		hp, err := db.History(ctx, geo.Incidents, h.id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		hist := hp.Changes
		if len(hist) != len(h.titles) {
			t.Fatalf("%s: %d versions in its history, want %d", h.id, len(hist), len(h.titles))
		}
		for i, ch := range hist {
			if want := int64(len(hist) - i); ch.Version != want {
				t.Fatalf("%s: history[%d] is version %d, want %d", h.id, i, ch.Version, want)
			}
			if !bytes.Contains(ch.After, []byte(fmt.Sprintf(`"title":%q`, h.titles[i]))) {
				t.Fatalf("%s: version %d is %s, want the title %q", h.id, ch.Version, ch.After, h.titles[i])
			}
			if i+1 < len(hist) && !bytes.Equal(ch.Before, hist[i+1].After) {
				t.Fatalf("%s: version %d's before is not version %d's after", h.id, ch.Version, hist[i+1].Version)
			}
		}
		got, err := db.Get(ctx, geo.Incidents, h.id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Feature, hist[0].After) {
			t.Fatalf("%s: stored %s, newest history entry %s", h.id, got.Feature, hist[0].After)
		}
	}
}
