package geo

import (
	"bytes"
	"math"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

func TestCoarsePoint(t *testing.T) {
	cases := []struct {
		name string
		p    orb.Point
	}{
		{"Bogotá", orb.Point{-74.0721, 4.711}},
		{"equator and prime meridian", orb.Point{0, 0}},
		{"antimeridian east", orb.Point{180, -17.5}},
		{"antimeridian west", orb.Point{-180, -17.5}},
		{"north pole", orb.Point{12, 90}},
		{"south pole", orb.Point{-150, -90}},
		{"high latitude", orb.Point{25.7, 78.2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := CoarsePoint(tc.p)
			cell := CoarseCell(tc.p)
			if !cell.Pad(1e-6).Contains(c) {
				t.Errorf("the coarse point %v is not in the cell %v", c, cell)
			}
			if CoarsePoint(c) != c {
				t.Errorf("the coarse point %v of %v does not coarsen to itself but to %v", c, tc.p, CoarsePoint(c))
			}
			// Every point of the cell has the same coarse point.
			for _, f := range [][2]float64{{0.01, 0.01}, {0.99, 0.01}, {0.5, 0.5}, {0.01, 0.99}, {0.99, 0.99}} {
				q := orb.Point{cell.Min[0] + f[0]*(cell.Max[0]-cell.Min[0]), cell.Min[1] + f[1]*(cell.Max[1]-cell.Min[1])}
				if got := CoarsePoint(q); got != c {
					t.Errorf("%v of the same cell coarsens to %v, not %v", q, got, c)
				}
			}
			h := orbgeo.DistanceHaversine(orb.Point{cell.Min[0], cell.Min[1]}, orb.Point{cell.Min[0], cell.Max[1]}) / 1000
			if math.Abs(h-CoarseKm) > 0.05 {
				t.Errorf("the cell is %.3f km tall; want %d", h, CoarseKm)
			}
			if math.Abs(c[1]) < 80 {
				mid := (cell.Min[1] + cell.Max[1]) / 2
				w := orbgeo.DistanceHaversine(orb.Point{cell.Min[0], mid}, orb.Point{cell.Max[0], mid}) / 1000
				if w < 0.9*CoarseKm || w > 1.1*CoarseKm {
					t.Errorf("the cell is %.3f km wide; want about %d", w, CoarseKm)
				}
			}
		})
	}
}

func TestCoarsened(t *testing.T) {
	in := &Incident{Point: orb.Point{-74.0937, 4.5981}, Title: "t", Type: "attack", Date: "2024", Precision: "exact", Sensitive: true}
	c := Coarsened(in).(*Incident)
	if c.Point != CoarsePoint(in.Point) || c.Precision != PrecisionCoarse || !c.Sensitive {
		t.Errorf("coarsened incident: %+v", c)
	}
	if in.Point != (orb.Point{-74.0937, 4.5981}) || in.Precision != "exact" {
		t.Errorf("Coarsened changed the record: %+v", in)
	}
	line := orb.LineString{{-77.1, 8.1}, {-77.1001, 8.1001}, {-60, 10}}
	r := &Route{Line: line, Name: "r", Commodity: "cash", Waypoints: []string{"a", "b", "c"}, Sensitive: true}
	cr := Coarsened(r).(*Route)
	got := cr.Line.(orb.LineString)
	if len(got) != 3 || got[0] != CoarsePoint(line[0]) || got[2] != CoarsePoint(line[2]) || cr.Precision != PrecisionCoarse {
		t.Errorf("coarsened route: %v %q", got, cr.Precision)
	}
	if line[0] != (orb.Point{-77.1, 8.1}) {
		t.Errorf("Coarsened changed the route's line: %v", line)
	}
	plain := &Incident{Point: orb.Point{1, 2}}
	if Coarsened(plain) != Record(plain) {
		t.Error("a record that is not sensitive is not returned as it is")
	}
}

func TestPublicFeature(t *testing.T) {
	in := &Incident{Point: orb.Point{-74.0937, 4.5981}, Title: `says "sensitive":true`, Type: "attack", Date: "2024", Precision: "exact"}
	in.Normalize(nil)
	plain, _ := EncodeFeature(in)
	if got, err := PublicFeature(Incidents, plain); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("a Feature that is not sensitive changed: %s %v", got, err)
	}
	in.Sensitive = true
	sens, _ := EncodeFeature(in)
	got, err := PublicFeature(Incidents, sens)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeFeature(Incidents, got)
	if err != nil {
		t.Fatal(err)
	}
	if p := r.(*Incident); p.Point != CoarsePoint(in.Point) || p.Precision != PrecisionCoarse || !p.Sensitive {
		t.Errorf("the public Feature: %s", got)
	}
	if bytes.Contains(got, []byte("-74.0937")) || bytes.Contains(got, []byte("4.5981")) {
		t.Errorf("the public Feature holds the exact coordinates: %s", got)
	}
}
