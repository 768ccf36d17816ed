package ingest

import (
	"bytes"
	"context"
	"flag"
	"testing"

	"nexus/geo"
	"nexus/store"
)

// fuzzImport imports data into a real store and checks what Import
// promises: no panic; an error only of the codes that describe the input;
// without error, every row or feature met ends created, updated, unchanged
// or rejected, and every rejection names a line of the input, a field and a
// reason.
func fuzzImport(t *testing.T, db *store.DB, data []byte) {
	im := newImporter(context.Background(), db, Options{Actor: "fuzz", Geocode: bogota, BatchSize: 3})
	err := im.run(bytes.NewReader(data))
	rep := im.rep
	if err != nil {
		switch geo.ErrorCode(err) {
		case geo.EMALFORMED, geo.EUNSUPPORTED, geo.EINVALID:
			return
		}
		t.Fatalf("error %v (%T) is not one of malformed, unsupported, invalid", err, err)
	}
	if got := rep.Created + rep.Updated + rep.Unchanged + rep.RejectedCount; got != im.attempted {
		t.Fatalf("%d rows met, %d accounted for: %+v", im.attempted, got, rep)
	}
	if want := min(rep.RejectedCount, MaxRejected); int64(len(rep.Rejected)) != want {
		t.Fatalf("%d rejections listed of %d", len(rep.Rejected), rep.RejectedCount)
	}
	lines := int64(bytes.Count(data, []byte("\n")) + 1)
	for _, r := range rep.Rejected {
		if r.Line < 1 || r.Line > lines || r.Field == "" || r.Reason == "" {
			t.Fatalf("rejection %+v in an input of %d lines", r, lines)
		}
	}
	switch rep.Format {
	case FormatGeoJSON, FormatGeoJSONSeq, FormatGTD, FormatACLED:
	default:
		t.Fatalf("format %q", rep.Format)
	}
}

// quickMinimize lowers the time Go spends minimizing each new input from its
// default of 60 s to 1 s, unless -test.fuzzminimizetime is given: every run
// of these targets writes to SQLite (some 10 ms with the fuzzer's
// instrumentation), so at the default a 30-second fuzzing session is spent
// minimizing its first finding, a few runs in all.
func quickMinimize(f *testing.F) {
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "1s"); err != nil {
			f.Log(err)
		}
	}
}

func FuzzImportCSV(f *testing.F) {
	quickMinimize(f)
	for _, name := range []string{"gtd.csv", "gtd_latin1.csv", "acled.csv"} {
		f.Add(readFile(f, name))
	}
	f.Add([]byte("eventid,iyear,imonth,iday,latitude,longitude,specificity,nkill\n1,2000,0,0,1,2,1,-9\n2,2001,2,30,1,2,1,1\n"))
	f.Add([]byte("event_id_cnty;event_date;latitude;longitude;fatalities\nA;14 March 2020;1;2;0\nB;x;1;2\n"))
	f.Add([]byte("event_id_cnty,event_date\n\"A,2020-01-01\nB,\"2020\"x\n"))
	f.Add([]byte("\x00\x01garbage\xff\xfe,\n,,\n"))
	db := openDB(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, db, data) })
}

func FuzzImportGeoJSON(f *testing.F) {
	quickMinimize(f)
	f.Add(readFile(f, "collection.geojson"))
	f.Add([]byte(feature("f:1", "")))
	f.Add([]byte(feature("f:1", "") + "\n" + feature("f:2", `"killed": 3`) + "\n"))
	f.Add([]byte("\x1E" + feature("f:3", "") + "\n\x1E{\"type\":\n\x1E" + feature("f:4", "") + "\n"))
	f.Add([]byte(`[` + feature("f:5", "") + `, 1, null, {"type": "Feature"}]`))
	f.Add([]byte(`{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "properties": {"name": "r", "commodity": "arms"}}]}`))
	f.Add([]byte(`{"type": "FeatureCollection", "features": [` + feature("f:6", "") + `, {"type": "Feat`))
	f.Add([]byte(`{"features": 1}`))
	f.Add([]byte("{\x00\xff"))
	db := openDB(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, db, data) })
}
