package geo

import (
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func mustWatch(t *testing.T, js string) *Watch {
	t.Helper()
	w, err := DecodeWatch([]byte(js))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := w.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return w
}

func TestCircleContains(t *testing.T) {
	// Zona Rosa, Bogotá, 5 km.
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0537,4.6668]},"properties":{"name":"Zona Rosa","radius_km":5}}`)
	a := NewArea(w)
	cases := []struct {
		name string
		p    orb.Point
		want bool
	}{
		{"centre", orb.Point{-74.0537, 4.6668}, true},
		{"4.9 km north", orb.Point{-74.0537, 4.6668 + 4.9/111.32}, true},
		{"5.1 km north", orb.Point{-74.0537, 4.6668 + 5.1/111.32}, false},
		{"Medellín", orb.Point{-75.5636, 6.2518}, false},
	}
	for _, c := range cases {
		if got := a.ContainsPoint(c.p); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCircleAcrossAntimeridianHasTwoBoxes(t *testing.T) {
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Point","coordinates":[179.9,-17]},"properties":{"name":"Fiji","radius_km":100}}`)
	a := NewArea(w)
	if len(a.Bounds()) != 2 {
		t.Fatalf("bounds %v, want two", a.Bounds())
	}
	if !a.ContainsPoint(orb.Point{-179.7, -17}) || !a.ContainsPoint(orb.Point{179.5, -17.2}) {
		t.Error("points on both sides of 180° within 100 km are not inside")
	}
	if a.ContainsPoint(orb.Point{-178, -17}) {
		t.Error("a point 200 km away is inside")
	}
}

func TestPolygonWithHole(t *testing.T) {
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[
		[[0,0],[10,0],[10,10],[0,10],[0,0]],
		[[4,4],[6,4],[6,6],[4,6],[4,4]]]},"properties":{"name":"ring"}}`)
	a := NewArea(w)
	for _, c := range []struct {
		p    orb.Point
		want bool
	}{{orb.Point{2, 2}, true}, {orb.Point{5, 5}, false}, {orb.Point{7, 5}, true}, {orb.Point{11, 5}, false}, {orb.Point{5, -1}, false}} {
		if got := a.ContainsPoint(c.p); got != c.want {
			t.Errorf("%v: got %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPolygonAcrossAntimeridianIsSplit(t *testing.T) {
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[
		[[170,-20],[-170,-20],[-170,-10],[170,-10],[170,-20]]]},"properties":{"name":"Pacific"}}`)
	mp, ok := w.Area.(orb.MultiPolygon)
	if !ok || len(mp) != 2 {
		t.Fatalf("area %#v, want a MultiPolygon of two parts", w.Area)
	}
	for _, p := range mp {
		b := p.Bound()
		if b.Min[0] < -180 || b.Max[0] > 180 || b.Max[0]-b.Min[0] > 10+1e-9 {
			t.Errorf("part %v is not within [-180, 180] on one side", b)
		}
	}
	a := NewArea(w)
	for _, c := range []struct {
		p    orb.Point
		want bool
	}{{orb.Point{175, -15}, true}, {orb.Point{-175, -15}, true}, {orb.Point{0, -15}, false}, {orb.Point{160, -15}, false}, {orb.Point{-175, -25}, false}} {
		if got := a.ContainsPoint(c.p); got != c.want {
			t.Errorf("%v: got %v, want %v", c.p, got, c.want)
		}
	}
	// The stored form reads back to the same split geometry.
	b, err := EncodeWatch(w)
	if err != nil {
		t.Fatal(err)
	}
	again := mustWatch(t, string(b))
	if !orb.Equal(again.Area, w.Area) {
		t.Errorf("round trip changed the area:\n%v\n%v", again.Area, w.Area)
	}
}

func TestPreparedPolygonAgreesWithPlainTest(t *testing.T) {
	// A star of 100 vertices: the banded test must agree with testing
	// every edge.
	var ring orb.Ring
	for i := 0; i < 100; i++ {
		r := 1.0
		if i%2 == 1 {
			r = 0.4
		}
		ang := float64(i) / 100 * 2 * 3.141592653589793
		ring = append(ring, orb.Point{10 + r*cos(ang), 20 + r*sin(ang)})
	}
	ring = append(ring, ring[0])
	w := &Watch{Name: "star", Area: orb.Polygon{ring}}
	a := NewArea(w)
	n := 0
	for x := 8.9; x <= 11.1; x += 0.013 {
		for y := 18.9; y <= 21.1; y += 0.017 {
			p := orb.Point{x, y}
			if got, want := a.ContainsPoint(p), plainContains(ring, p); got != want {
				t.Fatalf("%v: banded %v, plain %v", p, got, want)
			}
			n++
		}
	}
	if n < 10000 {
		t.Fatalf("only %d points tested", n)
	}
}

func plainContains(r orb.Ring, p orb.Point) bool {
	in := false
	for i := 1; i < len(r); i++ {
		a, b := r[i-1], r[i]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func TestWatchRules(t *testing.T) {
	cases := []struct {
		name, js, field string
	}{
		{"no name", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"radius_km":5}}`, "name"},
		{"radius too small", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":0.001}}`, "radius_km"},
		{"radius too large", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":5001}}`, "radius_km"},
		{"circle without radius", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x"}}`, "radius_km"},
		{"radius on a polygon", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]},"properties":{"name":"x","radius_km":3}}`, "radius_km"},
		{"open ring", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]},"properties":{"name":"x"}}`, "geometry.coordinates[0]"},
		{"short ring", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]},"properties":{"name":"x"}}`, "geometry.coordinates[0]"},
		{"flat ring", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[2,0],[0,0]]]},"properties":{"name":"x"}}`, "geometry.coordinates[0]"},
		{"latitude", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]},"properties":{"name":"x"}}`, "geometry.coordinates[0][2]"},
		{"line", `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{"name":"x"}}`, "geometry"},
		{"bad type filter", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"filter":{"type":["bombing"]}}}`, "filter"},
		{"bad datetime", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"filter":{"datetime":"yesterday"}}}`, "filter"},
		{"unknown filter member", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"filter":{"colour":"red"}}}`, "properties.filter.colour"},
		{"webhook ftp", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"webhook":"ftp://example.org/"}}`, "webhook"},
		{"unknown property", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"colour":"red"}}`, "properties.colour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, err := DecodeWatch([]byte(c.js))
			if err == nil {
				err = w.Validate()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EINVALID {
				t.Fatalf("error %v (%T), want EINVALID", err, err)
			}
			found := false
			for _, f := range e.Fields {
				found = found || f.Field == c.field
			}
			if !found {
				t.Errorf("fields %+v, want %s", e.Fields, c.field)
			}
		})
	}
}

func TestWatchFilterMatchesAsTheAPI(t *testing.T) {
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,
		"filter":{"type":["attack","plot"],"actor":["isis"],"q":"embajada","datetime":"2020/2022"}}}`)
	f := w.FilterOf()
	in := &Incident{Point: orb.Point{0, 0}, Title: "Plot against the Embajada", Type: "plot", Date: "2021-03", Actors: []string{"ISIS"}}
	if !f.Match(in) {
		t.Error("a matching incident does not match")
	}
	for name, change := range map[string]func(*Incident){
		"type":  func(i *Incident) { i.Type = "arrest" },
		"actor": func(i *Incident) { i.Actors = []string{"FARC"} },
		"text":  func(i *Incident) { i.Title = "Plot" },
		"date":  func(i *Incident) { i.Date = "2019" },
	} {
		c := *in
		change(&c)
		if f.Match(&c) {
			t.Errorf("an incident with another %s matches", name)
		}
	}
	if !strings.Contains(string(must(EncodeWatch(w))), `"filter":{"type":["attack","plot"]`) {
		t.Error("the filter is not kept as written")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

var cos, sin = math.Cos, math.Sin

// BenchmarkContains100Vertices: one containment test of a prepared
// 100-vertex polygon, points around and inside it.
func BenchmarkContains100Vertices(b *testing.B) {
	var ring orb.Ring
	for i := 0; i < 100; i++ {
		r := 1.0 - 0.4*float64(i%2)
		ang := float64(i) / 100 * 2 * math.Pi
		ring = append(ring, orb.Point{-74 + r*math.Cos(ang), 4.6 + r*math.Sin(ang)})
	}
	a := NewArea(&Watch{Name: "star", Area: orb.Polygon{append(ring, ring[0])}})
	pts := make([]orb.Point, 1024)
	for i := range pts {
		pts[i] = orb.Point{-75.5 + 3*float64(i%32)/32, 3.1 + 3*float64(i/32)/32}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.ContainsPoint(pts[i&1023])
	}
}

func TestWatchFilterNear(t *testing.T) {
	w := mustWatch(t, `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":5000,
		"filter":{"near":"-74.05,4.67,10"}}}`)
	f := w.FilterOf()
	if f.Near == nil || f.Near.Km != 10 {
		t.Fatalf("near not read: %+v", f.Near)
	}
	in := &Incident{Point: orb.Point{-74.06, 4.66}, Title: "x", Type: "plot", Date: "2021"}
	far := &Incident{Point: orb.Point{-75.56, 6.25}, Title: "x", Type: "plot", Date: "2021"}
	if !f.Match(in) || f.Match(far) {
		t.Error("near does not select as the API does")
	}
	if _, err := DecodeWatch([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"filter":{"near":"1,2"}}}`)); err != nil {
		t.Fatal(err)
	} else if w2, _ := DecodeWatch([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"filter":{"near":"1,2"}}}`)); w2.Validate() == nil {
		t.Error("a bad near was accepted")
	}
}
