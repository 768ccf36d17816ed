package api

import (
	"math"
	"net/url"
	"testing"

	"nexus/geo"
)

// The parameter parsers take anything a client sends: they must never
// panic, and everything they refuse is EMALFORMED (a 400), never a 500.

func wantMalformed(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && geo.ErrorCode(err) != geo.EMALFORMED {
		t.Fatalf("%s: error %v has code %s, want %s", what, err, geo.ErrorCode(err), geo.EMALFORMED)
	}
	if err != nil && geo.ErrorMessage(err) == "" {
		t.Fatalf("%s: error without a message", what)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"", "bbox=-80,0,-70,10", "bbox=170,-20,-170,-10", "bbox=1,2,3", "bbox=a,b,c,d", "bbox=NaN,0,1,1", "bbox=-1e309,0,1,1",
		"bbox=0,0,0,0,0,0", "bbox=0,91,1,1", "bbox=0,10,1,5",
		"datetime=2018", "datetime=2018-02/2019", "datetime=../2010", "datetime=2021-01-01T00:00:00Z/..", "datetime=/", "datetime=2019/2018",
		"datetime=99999-01", "datetime=2018-02-30", "datetime=2018-02-14T25:00:00Z",
		"type=attack,plot", "type=party", "commodity=cocaine", "actor=ISIS&actor=Los Zetas", "country=co,MX", "country=Colombia",
		"q=bogot%C3%A1", "q=%22%2A%28", "bbox=1,1,2,2&bbox=1,1,2,2", "q=a&q=b", "type=,,,", "country=%FF%FE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		flt, err := parseFilter(q)
		wantMalformed(t, raw, err)
		if err != nil {
			return
		}
		if err := flt.Check(); err != nil {
			t.Fatalf("%q: accepted a filter that does not check: %v", raw, err)
		}
		if b := flt.BBox; b != nil {
			for _, v := range []float64{b.W, b.S, b.E, b.N} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%q: bbox %+v", raw, b)
				}
			}
		}
		if flt.Span.Start >= flt.Span.End {
			t.Fatalf("%q: empty span %+v", raw, flt.Span)
		}
		checkParams(q, itemsParams)
	})
}

func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"limit=10&cursor=5", "limit=0", "limit=-1", "limit=99999999999999999999", "limit=1e3", "cursor=-5", "cursor=abc",
		"zoom=3.5", "zoom=31", "zoom=NaN", "q=Bogotá&limit=5", "q=&limit=101", "lon=-74&lat=4.7", "lon=181&lat=0", "lon=Inf&lat=0",
		"collections=incidents,routes", "collections=boats", "collection=routes", "by=month", "by=", "f=html", "crs=EPSG:4326",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		if n, err := parseLimit(q); err == nil && (n < 1 || n > MaxLimit) {
			t.Fatalf("%q: limit %d", raw, n)
		} else {
			wantMalformed(t, "limit", err)
		}
		if c, err := parseCursor(q); err == nil && c < 0 {
			t.Fatalf("%q: cursor %d", raw, c)
		} else {
			wantMalformed(t, "cursor", err)
		}
		if z, err := parseZoom(q); err == nil && (z < 0 || z > 30 || math.IsNaN(z)) {
			t.Fatalf("%q: zoom %v", raw, z)
		} else {
			wantMalformed(t, "zoom", err)
		}
		_, limit, err := parseGeocode(q)
		wantMalformed(t, "geocode", err)
		if err == nil && (limit < 1 || limit > MaxGeocodeLimit) {
			t.Fatalf("%q: geocode limit %d", raw, limit)
		}
		lon, lat, err := parseLonLat(q)
		wantMalformed(t, "lon/lat", err)
		if err == nil && (math.Abs(lon) > 180 || math.Abs(lat) > 90) {
			t.Fatalf("%q: %v %v", raw, lon, lat)
		}
		_, err = parseCollections(q)
		wantMalformed(t, "collections", err)
		_, err = parseCollectionParam(q)
		wantMalformed(t, "collection", err)
		_, err = parseBy(q)
		wantMalformed(t, "by", err)
		wantMalformed(t, "params", checkParams(q, itemsParams))
		if c := clusterCell(nil, 0); c <= 0 {
			t.Fatal("cell")
		}
	})
}

func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{`"3"`, `*`, ``, `3`, `W/"3"`, `"0"`, `"-1"`, `"3", "4"`, `"99999999999999999999"`, `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		v, err := parseIfMatch(h)
		wantMalformed(t, h, err)
		if err == nil && v < 0 {
			t.Fatalf("%q: version %d", h, v)
		}
	})
}

func TestClusterCellBoundsTheFeatures(t *testing.T) {
	for _, tc := range []struct {
		b    *geo.BBox
		zoom float64
	}{{nil, 0}, {nil, 30}, {&geo.BBox{W: 170, S: -90, E: 160, N: 90}, 30}, {&geo.BBox{W: -1, S: -1, E: 1, N: 1}, 30}, {&geo.BBox{W: 0, S: 0, E: 0, N: 0}, 30}} {
		cell := clusterCell(tc.b, tc.zoom)
		w, h := 360.0, 180.0
		if tc.b != nil {
			w, h = tc.b.E-tc.b.W, tc.b.N-tc.b.S
			if w < 0 {
				w += 360
			}
		}
		if cells := (math.Ceil(w/cell) + 1) * (math.Ceil(h/cell) + 1); cells > MaxViewFeatures || cell <= 0 {
			t.Errorf("%+v zoom %v: cell %v gives %v cells", tc.b, tc.zoom, cell, cells)
		}
	}
}
