package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"nexus/geo"
)

// mustCreate creates a record from its Feature.
func mustCreate(t *testing.T, db Engine, c geo.Collection, feature string) geo.Stored {
	t.Helper()
	r, err := geo.DecodeFeature(c, []byte(feature))
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Create(context.Background(), "tester", r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type exported struct {
	Type     string `json:"type"`
	Features []struct {
		ID       string `json:"id"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func testExport(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	// Coordinates that do not survive a float32 or a decimal rounding.
	lons := []float64{-74.05210987654321, 0.1 + 0.2, -179.99999999999997, 1e-7, 13.000000000000002}
	for i, lon := range lons {
		mustCreate(t, db, geo.Incidents, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":"t%d","type":"attack","date":"2020-0%d"}}`, lon, lon/2, i, i+1))
	}
	mustCreate(t, db, geo.Routes, `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[-75.5,6.2],[-17.1,14.7],[2.35,48.85]]},"properties":{"name":"Atlantic","commodity":"cocaine"}}`)

	tests := []struct {
		name   string
		cols   []geo.Collection
		filter func(*geo.Filter)
		want   int
	}{
		{"both collections", []geo.Collection{geo.Incidents, geo.Routes}, nil, 6},
		{"incidents only", []geo.Collection{geo.Incidents}, nil, 5},
		{"routes only", []geo.Collection{geo.Routes}, nil, 1},
		{"filtered by time", []geo.Collection{geo.Incidents}, func(f *geo.Filter) { f.Span, _ = geo.ParseInterval("2020-02/2020-03") }, 2},
		{"nothing matches", []geo.Collection{geo.Incidents, geo.Routes}, func(f *geo.Filter) { f.Q = "nowhere" }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := geo.NewFilter()
			if tt.filter != nil {
				tt.filter(&f)
			}
			var buf bytes.Buffer
			n, err := db.Export(ctx, &buf, tt.cols, f)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(tt.want) {
				t.Errorf("Export wrote %d features, want %d", n, tt.want)
			}
			var fc exported
			if err := json.Unmarshal(buf.Bytes(), &fc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, buf.String())
			}
			if fc.Type != "FeatureCollection" || len(fc.Features) != tt.want {
				t.Errorf("got type %q with %d features, want FeatureCollection with %d", fc.Type, len(fc.Features), tt.want)
			}
		})
	}

	t.Run("coordinates come out exactly", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := db.Export(ctx, &buf, []geo.Collection{geo.Incidents}, geo.NewFilter()); err != nil {
			t.Fatal(err)
		}
		var fc exported
		if err := json.Unmarshal(buf.Bytes(), &fc); err != nil {
			t.Fatal(err)
		}
		for i, f := range fc.Features {
			var c [2]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil {
				t.Fatal(err)
			}
			if c[0] != lons[i] || c[1] != lons[i]/2 {
				t.Errorf("feature %d: got %v, want [%v %v]", i, c, lons[i], lons[i]/2)
			}
		}
	})
}

func testExtent(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	e, err := db.Extent(ctx, geo.Incidents)
	if err != nil || e.BBox != nil || e.Count != 0 {
		t.Fatalf("empty collection: got %+v, %v", e, err)
	}
	mustCreate(t, db, geo.Incidents, `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74,4]},"properties":{"title":"a","type":"plot","date":"2018"}}`)
	mustCreate(t, db, geo.Incidents, `{"type":"Feature","geometry":{"type":"Point","coordinates":[2,48]},"properties":{"title":"b","type":"plot","date":"2020-05-03"}}`)
	mustCreate(t, db, geo.Routes, `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[170,-10],[-170,-12]]},"properties":{"name":"Pacific","commodity":"cocaine","active_from":"2019"}}`)
	e, err = db.Extent(ctx, geo.Incidents)
	if err != nil {
		t.Fatal(err)
	}
	if e.Count != 2 || *e.BBox != (geo.BBox{W: -74, S: 4, E: 2, N: 48}) {
		t.Errorf("incidents: got %+v %+v", e, e.BBox)
	}
	start, _ := geo.ParseDate("2018")
	end, _ := geo.ParseDate("2020-05-03")
	if !e.HasStart || !e.HasEnd || e.Start != start.Start || e.End != end.End {
		t.Errorf("incidents: time %d..%d, want %d..%d", e.Start, e.End, start.Start, end.End)
	}
	e, err = db.Extent(ctx, geo.Routes)
	if err != nil {
		t.Fatal(err)
	}
	if e.Count != 1 || e.BBox.W != -180 || e.BBox.E != 180 || !e.HasStart || e.HasEnd {
		t.Errorf("routes: got %+v %+v", e, e.BBox)
	}
}

// testExportStreams exports a few megabytes and samples the Go heap while
// it does: the export is written as the records are read, so the heap
// never holds more than a small part of it. (What SQLite's own pages hold
// is outside the Go heap: the SQLite engine checks its query plan too.)
func testExportStreams(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	gen := NewSynth(7, "stream")
	recs := gen.Incidents(2500)
	summary := strings.Repeat("Shipment unloaded at night and moved inland by road. ", 36)[:1900]
	for _, r := range recs {
		r.(*geo.Incident).Summary = summary
	}
	ImportAll(t, db, "loader", recs)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	w := &heapSampler{every: 256 << 10}
	n, err := db.Export(ctx, w, []geo.Collection{geo.Incidents}, geo.NewFilter())
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recs)) || w.written < int64(len(recs))*int64(len(summary)) {
		t.Fatalf("exported %d features in %d bytes, want %d features of more than %d bytes", n, w.written, len(recs), len(summary))
	}
	grew := int64(w.peak) - int64(base.HeapAlloc)
	t.Logf("export of %d bytes; the heap grew by %d bytes at most (%d samples)", w.written, grew, w.samples)
	if w.samples < 8 || grew > w.written/4 {
		t.Errorf("the heap grew by %d bytes during an export of %d bytes: the export is held, not streamed", grew, w.written)
	}
}

// heapSampler is a writer that discards what it is given and reads the
// heap's size after a collection every so many bytes.
type heapSampler struct {
	every, written, next int64
	peak                 uint64
	samples              int
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.written += int64(len(p))
	if h.written >= h.next {
		h.next = h.written + h.every
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
		h.samples++
	}
	return len(p), nil
}
