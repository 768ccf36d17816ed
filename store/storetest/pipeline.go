package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"nexus/geo"
	"nexus/ingest"
)

// testImportPipeline imports a file in small batches, each read (and, on
// an engine that prepares batches, prepared) while the one before is
// written: later batches update records of earlier ones, repeat them
// unchanged, and hold an invalid feature that only that feature is
// rejected for. The report counts each outcome, and every record's
// history is a chain: versions one after the other, each before the
// after of the entry before, the last after the stored record.
func testImportPipeline(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	feature := func(ext, title, date string) string {
		return fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.1,4.6]},"properties":{"external_id":%q,"title":%q,"type":"attack","date":%q}}`, ext, title, date)
	}
	var fs []string
	for i := range 10 {
		fs = append(fs, feature(fmt.Sprintf("p:%d", i), fmt.Sprintf("attack %d", i), "2020-01-02"))
	}
	for i := range 5 { // updates of records of earlier batches
		fs = append(fs, feature(fmt.Sprintf("p:%d", i), fmt.Sprintf("attack %d, revised", i), "2020-01-02"))
	}
	fs = append(fs, feature("p:9", "attack 9", "2020-01-02"))   // unchanged
	fs = append(fs, feature("p:10", "attack 10", "2020-13-40")) // invalid
	fs = append(fs, feature("p:11", "attack 11", "2020-01-02"))
	fs = append(fs, feature("p:0", "attack 0, revised again", "2020-01-02"))
	in := `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",\n") + "]}"
	rep, err := ingest.Import(ctx, db, strings.NewReader(in), ingest.Options{Actor: "pipeline", BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 11 || rep.Updated != 6 || rep.Unchanged != 1 || rep.RejectedCount != 1 {
		t.Fatalf("report: %d created, %d updated, %d unchanged, %d rejected; want 11, 6, 1, 1", rep.Created, rep.Updated, rep.Unchanged, rep.RejectedCount)
	}
	if len(rep.Rejected) != 1 || rep.Rejected[0].Line != 17 {
		t.Fatalf("rejected %+v, want the feature on line 17", rep.Rejected)
	}
	log, err := db.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 17 {
		t.Fatalf("%d change-log entries, want 17", len(log))
	}
	byID := map[string][]geo.Change{}
	for _, c := range log {
		byID[c.ID] = append(byID[c.ID], c)
	}
	if len(byID) != 11 {
		t.Fatalf("%d records in the log, want 11", len(byID))
	}
	for id, chain := range byID {
		got, err := db.Get(ctx, geo.Incidents, id)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range chain {
			if c.Version != int64(i+1) {
				t.Fatalf("%s: entry %d is version %d", id, i, c.Version)
			}
			if i > 0 && !bytes.Equal(c.Before, chain[i-1].After) {
				t.Fatalf("%s: version %d's before is not version %d's after:\n%s\n%s", id, c.Version, i, c.Before, chain[i-1].After)
			}
		}
		last := chain[len(chain)-1]
		if got.Version != last.Version || !bytes.Equal(got.Feature, last.After) {
			t.Fatalf("%s: stored version %d is not the log's last (%d):\n%s\n%s", id, got.Version, last.Version, got.Feature, last.After)
		}
	}
	f := geo.NewFilter()
	f.Q = "revised"
	if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != 5 {
		t.Fatalf("%d revised (%v), want 5", n, err)
	}
}
