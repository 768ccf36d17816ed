package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"nexus/geo"
)

// feature writes a one-line Feature of an incident with the properties
// given over valid ones.
func feature(ext string, props string) string {
	p := `"title": "Incident ` + ext + `", "type": "attack", "date": "2020-01-02", "external_id": "` + ext + `"`
	if props != "" {
		p += ", " + props
	}
	return `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-74.05, 4.66]}, "properties": {` + p + `}}`
}

func TestFeatureCollection(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "collection.geojson")
	rep, err := importBytes(t, db, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatGeoJSON || rep.Created != 6 || rep.RejectedCount != 0 {
		t.Fatalf("report = %+v", rep)
	}
	recs := stored(t, db)
	amia := incident(t, recs, "gtd:199407180002")
	if amia.ID == "ignored-1" || amia.Country != "AR" || amia.Precision != "exact" || *amia.Killed != 85 {
		t.Errorf("AMIA = %+v", amia)
	}
	hw10, ok := recs["route:hw10"].(*geo.Route)
	if !ok || hw10.ID == "7" || !reflect.DeepEqual(hw10.Waypoints, []string{"Cartagena", "Bissau", "Cádiz"}) {
		t.Errorf("route = %+v", recs["route:hw10"])
	}
	if _, ok := recs["route:sinaloa-north"].(*geo.Route); !ok {
		t.Error("the MultiLineString route was not stored")
	}

	seq := lastSeq(t, db)
	again, err := importBytes(t, db, data, Options{})
	if err != nil || again.Unchanged != 6 || again.Created+again.Updated != 0 {
		t.Errorf("again = %+v, %v", again, err)
	}
	if lastSeq(t, db) != seq {
		t.Error("an unchanged import wrote to the change log")
	}
}

func TestInvalidFeatureInCollection(t *testing.T) {
	db := openDB(t)
	data := readFile(t, "collection.geojson")
	data = bytes.Replace(data, []byte(`"date": "2018-02"`), []byte(`"date": "2018-02-30"`), 1)  // line 14
	data = bytes.Replace(data, []byte(`"killed": null`), []byte(`"killed": null, "foo": 1`), 1) // line 18
	data = bytes.Replace(data, []byte(`"MultiLineString"`), []byte(`"Polygon"`), 1)             // line 22
	rep, err := importBytes(t, db, data, Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 3 || rep.RejectedCount != 3 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{
		{Line: 14, Field: "date"},
		{Line: 18, Field: "properties.foo"},
		{Line: 22, Field: "geometry"},
	})
}

func TestSingleFeature(t *testing.T) {
	db := openDB(t)
	in := "\xEF\xBB\xBF\n\n" + `{
  "properties": {"title": "Plot against diplomats", "type": "plot", "date": "2018-02",
                 "country": "CO", "external_id": "x:1"},
  "id": "theirs",
  "geometry": {"type": "Point", "coordinates": [-74.05, 4.66]},
  "type": "Feature"
}
`
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil || rep.Format != FormatGeoJSON || rep.Created != 1 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	i := incident(t, stored(t, db), "x:1")
	if i.ID == "theirs" || i.Country != "CO" || i.Date != "2018-02" {
		t.Errorf("got %+v", i)
	}

	// The same feature, invalid: its line is where it starts, after the BOM and blank lines.
	in = strings.Replace(in, `"type": "plot"`, `"type": "plan"`, 1)
	rep, err = importBytes(t, db, []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkRejected(t, rep.Rejected, []Rejected{{Line: 3, Field: "type"}})
}

func TestArrayOfFeatures(t *testing.T) {
	db := openDB(t)
	in := "[\n" + feature("a:1", "") + ",\n" + feature("a:2", `"killed": -1`) + ",\n" + feature("a:3", "") + "\n]\n"
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil || rep.Created != 2 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	checkRejected(t, rep.Rejected, []Rejected{{Line: 3, Field: "killed"}})
}

func TestTextSequence(t *testing.T) {
	db := openDB(t)
	const rs = "\x1E"
	in := rs + feature("s:1", "") + "\n" +
		rs + `{"type": "Feature", "geometry": {"type": "Point", "coo` + "\n" + // broken text: skipped (RFC 8142)
		rs + `{"type": "Feature", "geometry": {"type": "Point"` + "\n" + // truncated text: skipped
		rs + feature("s:2", "") + "\n" +
		rs + "{\n  \"type\": \"Feature\",\n  \"geometry\": {\"type\": \"Point\", \"coordinates\": [1, 2]},\n  \"properties\": {\"title\": \"t\", \"type\": \"other\", \"date\": \"2020-13\"}\n}\n" + // line 5, invalid date
		rs + `[1, 2]` + "\n" + // line 10: not a feature
		rs + `{"type": "FeatureCollection", "features": [` + feature("s:3", "") + `]}` + "\n" + // a collection in a sequence
		rs + feature("s:4", `"place": "x`) + "\n" + // line 12, broken
		rs + feature("s:5", "")
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatGeoJSONSeq || rep.Created != 4 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{
		{Line: 2, Field: "feature"},
		{Line: 3, Field: "feature"},
		{Line: 5, Field: "date"},
		{Line: 10, Field: "feature"},
		{Line: 10, Field: "feature"},
		{Line: 12, Field: "feature"},
	})
}

func TestNewlineDelimited(t *testing.T) {
	db := openDB(t)
	in := feature("n:1", "") + "\n" +
		feature("n:2", `"date": "yesterday"`) + "\n" +
		`{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, ` + "\n" + // broken line: skipped
		"\n" +
		feature("n:3", "") + "\r\n" +
		`"just a string"` + "\n" +
		`{"type": "Point", "coordinates": [1, 2]}` + "\n" +
		feature("n:4", "") + "\n"
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Format != FormatGeoJSONSeq || rep.Created != 3 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{
		{Line: 2, Field: "date"},
		{Line: 3, Field: "feature"},
		{Line: 6, Field: "feature"},
		{Line: 7, Field: "type"},
	})
}

func TestTruncated(t *testing.T) {
	data := readFile(t, "collection.geojson")
	for _, c := range []struct {
		name    string
		cut     string // the input ends just before this
		created int64
	}{
		// Batches of 2: the features before the break that fill whole
		// batches are kept, the rest of the last batch is not written.
		{"in the fifth feature", `"coordinates": [[[-99.1`, 4},
		{"in the fourth feature", `"title": "Cocaine seized`, 2},
		{"after the last feature", `],
  "crs"`, 6},
		{"in the first feature", `"subtype"`, 0},
	} {
		for _, load := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, load %t", c.name, load), func(t *testing.T) {
				db := openDB(t)
				var dst Batcher = batchwise{db}
				want := c.created
				if load { // the first import into an empty store keeps nothing of a broken input
					dst, want = db, 0
				}
				i := bytes.Index(data, []byte(c.cut))
				if i < 0 {
					t.Fatal("no cut")
				}
				rep, err := Import(context.Background(), dst, bytes.NewReader(data[:i]), Options{Actor: "importer", BatchSize: 2})
				if geo.ErrorCode(err) != geo.EMALFORMED {
					t.Fatalf("error = %v, want EMALFORMED", err)
				}
				if c.created == 6 && !strings.Contains(err.Error(), "ends") {
					t.Errorf("message %q", err)
				}
				if rep.Created != want || int64(len(stored(t, db))) != want {
					t.Errorf("created %d, stored %d, want %d", rep.Created, len(stored(t, db)), want)
				}
			})
		}
	}
}

func TestLatin1GeoJSON(t *testing.T) {
	db := openDB(t)
	in := "{\"type\": \"FeatureCollection\", \"features\": [" + feature("l:1", `"place": "Bogot`+"\xe1"+`"`) + "]}"
	rep, err := importBytes(t, db, []byte(in), Options{})
	if err != nil || rep.Created != 1 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if i := incident(t, stored(t, db), "l:1"); i.Place != "Bogotá" {
		t.Errorf("place = %q", i.Place)
	}
}

// The store refuses a whole batch for one record's sake (a rule the store
// checks and Validate does not: here a Batcher stands in for such a store);
// the other records go in.
func TestBatchRefused(t *testing.T) {
	db := openDB(t)
	b := batcherFunc(func(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
		for _, r := range recs {
			if r.Keys().ExternalID == "b:2" {
				return nil, &geo.Error{Code: geo.EINVALID, Message: "invalid record", Fields: []geo.FieldError{{Field: "external_id", Message: "is taken"}}}
			}
		}
		return db.ImportBatch(ctx, actor, recs)
	})
	in := feature("b:1", "") + "\n" + feature("b:2", "") + "\n" + feature("b:3", "") + "\n"
	rep, err := Import(context.Background(), b, strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 2 {
		t.Errorf("report = %+v", rep)
	}
	checkRejected(t, rep.Rejected, []Rejected{{Line: 2, Field: "external_id"}})

	// Any other failure of the store stops the import.
	failed := errors.New("disk full")
	b = batcherFunc(func(context.Context, string, []geo.Record) ([]geo.ImportResult, error) { return nil, failed })
	if _, err := Import(context.Background(), b, strings.NewReader(in), Options{}); !errors.Is(err, failed) {
		t.Errorf("error = %v", err)
	}
}
