package ingest

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"nexus/geo"
	"nexus/store"
)

// handCounter is the real store, counting the records an import hands it,
// to write at once or to prepare.
type handCounter struct {
	*store.DB
	n atomic.Int64
}

func (h *handCounter) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	h.n.Add(int64(len(recs)))
	return h.DB.ImportBatch(ctx, actor, recs)
}

func (h *handCounter) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	h.n.Add(int64(len(recs)))
	return h.DB.PrepareBatch(actor, recs)
}

// BeginLoad is the store's, its batches counted.
func (h *handCounter) BeginLoad(ctx context.Context) (geo.Load, error) {
	l, err := h.DB.BeginLoad(ctx)
	if l == nil || err != nil {
		return l, err
	}
	return countingLoad{l, &h.n}, nil
}

// countingLoad is a load that counts the records it is handed.
type countingLoad struct {
	geo.Load
	n *atomic.Int64
}

func (c countingLoad) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	c.n.Add(int64(len(recs)))
	return c.Load.ImportBatch(ctx, actor, recs)
}

func (c countingLoad) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	c.n.Add(int64(len(recs)))
	return c.Load.PrepareBatch(actor, recs)
}

// handed is how many records the store was handed.
func (h *handCounter) handed() int { return int(h.n.Load()) }

// sourceFeature is feature i of TestReimportKnownBytes, titled.
func sourceFeature(i int, title string) string {
	return fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%d.5,4.25]},"properties":{"title":%q,"type":"attack","date":"2024-03-%02d","actors":["A%d"],"external_id":"src:%d"}}`,
		-70+i%20, title, 1+i%28, i%3, i)
}

func featureCollection(features ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range features {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(f)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// An unchanged re-import hands the store nothing: the bytes of every
// feature are known. A record edited since is written again; a feature
// that changes a record before the same record's known bytes come is
// followed by them, in the same batch or the next.
func TestReimportKnownBytes(t *testing.T) {
	db := openDB(t)
	h := &handCounter{DB: db}
	ctx := context.Background()
	const n = 40
	var features []string
	for i := range n {
		features = append(features, sourceFeature(i, fmt.Sprint("Incident ", i)))
	}
	file := featureCollection(features...)
	imp := func(data []byte, batch int) Report {
		t.Helper()
		h.n.Store(0)
		rep, err := Import(ctx, h, bytes.NewReader(data), Options{Actor: "t", BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := imp(file, 8); rep.Created != n || h.handed() != n {
		t.Fatalf("first import: %+v, %d handed", rep, h.handed())
	}
	seq := lastSeq(t, db)

	if rep := imp(file, 8); rep.Unchanged != n || rep.Created+rep.Updated+rep.RejectedCount != 0 || h.handed() != 0 {
		t.Fatalf("unchanged re-import: %+v, %d records handed to the store", rep, h.handed())
	}
	if got := lastSeq(t, db); got != seq {
		t.Fatalf("the unchanged re-import logged up to %d (was %d)", got, seq)
	}

	// An editor changes record 3: the same bytes bring it back.
	recs := stored(t, db)
	edited := incident(t, recs, "src:3")
	edited.Title = "Edited"
	if _, _, err := db.Replace(ctx, "editor", edited.ID, 0, edited); err != nil {
		t.Fatal(err)
	}
	if rep := imp(file, 8); rep.Updated != 1 || rep.Unchanged != n-1 || h.handed() != 1 {
		t.Fatalf("re-import after an edit: %+v, %d handed", rep, h.handed())
	}
	if got := incident(t, stored(t, db), "src:3").Title; got != "Incident 3" {
		t.Fatalf("record 3 is titled %q after the re-import", got)
	}

	// Record 5 changed, then its known bytes: in one batch, and in
	// batches of one, where the change may still be in flight.
	for _, batch := range []int{8, 1} {
		data := featureCollection(sourceFeature(5, "Changed"), features[1], features[5], features[2])
		rep := imp(data, batch)
		if rep.Updated != 2 || rep.Unchanged != 2 {
			t.Fatalf("batch %d: %+v", batch, rep)
		}
		if got := incident(t, stored(t, db), "src:5").Title; got != "Incident 5" {
			t.Fatalf("batch %d: record 5 is titled %q, want the last bytes' title", batch, got)
		}
	}
}

// The rows of an unchanged GTD or ACLED file are known by their bytes and
// header: a re-import converts none of them and hands the store nothing.
// The same rows under another header are not the same source.
func TestReimportKnownRows(t *testing.T) {
	for _, name := range []string{"gtd.csv", "acled.csv"} {
		t.Run(name, func(t *testing.T) {
			db := openDB(t)
			h := &handCounter{DB: db}
			data := readFile(t, name)
			first, err := Import(context.Background(), h, bytes.NewReader(data), Options{Actor: "t", Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			if first.Created == 0 || h.handed() != int(first.Created) {
				t.Fatalf("first import: %+v, %d handed", first, h.handed())
			}
			h.n.Store(0)
			again, err := Import(context.Background(), h, bytes.NewReader(data), Options{Actor: "t", Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			if again.Unchanged != first.Created || again.Created+again.Updated != 0 || again.RejectedCount != first.RejectedCount || h.handed() != 0 {
				t.Fatalf("re-import: %+v (first %+v), %d handed to the store", again, first, h.handed())
			}
			// A header spelled in capitals reads the same: the rows are
			// converted again and found unchanged by content.
			header, rest, _ := bytes.Cut(data, []byte("\n"))
			upper := append(append(bytes.ToUpper(header), '\n'), rest...)
			h.n.Store(0)
			third, err := Import(context.Background(), h, bytes.NewReader(upper), Options{Actor: "t", Geocode: bogota})
			if err != nil {
				t.Fatal(err)
			}
			if third.Unchanged != first.Created || h.handed() != int(first.Created) {
				t.Fatalf("re-import under another header: %+v, %d handed", third, h.handed())
			}
		})
	}
}
