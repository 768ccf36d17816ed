package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

func orbPoint(lon, lat float64) orb.Point { return orb.Point{lon, lat} }

// orbLine makes a LineString from lon, lat pairs.
func orbLine(lonlat ...float64) orb.LineString {
	ls := make(orb.LineString, 0, len(lonlat)/2)
	for i := 0; i+1 < len(lonlat); i += 2 {
		ls = append(ls, orb.Point{lonlat[i], lonlat[i+1]})
	}
	return ls
}

func box(w, s, e, n float64) orb.Bound {
	return orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}}
}

const epsilon = 1e-9 // degrees

func boundEqual(a, b orb.Bound) bool {
	return math.Abs(a.Min[0]-b.Min[0]) < epsilon && math.Abs(a.Min[1]-b.Min[1]) < epsilon &&
		math.Abs(a.Max[0]-b.Max[0]) < epsilon && math.Abs(a.Max[1]-b.Max[1]) < epsilon
}

// inAnyBox reports whether p lies in one of the boxes, edges included.
func inAnyBox(boxes []orb.Bound, p orb.Point) bool {
	for _, b := range boxes {
		if b.Min[0]-epsilon <= p[0] && p[0] <= b.Max[0]+epsilon && b.Min[1]-epsilon <= p[1] && p[1] <= b.Max[1]+epsilon {
			return true
		}
	}
	return false
}

// uncovered returns a point of the line, walked segment by segment in
// lon/lat (the short way across the antimeridian), that no box covers.
func uncovered(boxes []orb.Bound, g orb.Geometry) (orb.Point, bool) {
	var lines []orb.LineString
	switch g := g.(type) {
	case orb.Point:
		lines = []orb.LineString{{g}}
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		lines = g
	}
	for _, ls := range lines {
		for i, p := range ls {
			if !inAnyBox(boxes, p) {
				return p, true
			}
			if i == 0 {
				continue
			}
			q := ls[i-1]
			dx := p[0] - q[0]
			if dx > 180 {
				dx -= 360
			} else if dx < -180 {
				dx += 360
			}
			for k := 1; k < 64; k++ {
				f := float64(k) / 64
				x := q[0] + dx*f
				if x > 180 {
					x -= 360
				} else if x < -180 {
					x += 360
				}
				s := orb.Point{x, q[1] + (p[1]-q[1])*f}
				if !inAnyBox(boxes, s) {
					return s, true
				}
			}
		}
	}
	return orb.Point{}, false
}

func TestBoxes(t *testing.T) {
	cases := []struct {
		name string
		g    orb.Geometry
		want []orb.Bound
	}{
		{"a point is its own box", orbPoint(-58.3994, -34.6025), []orb.Bound{box(-58.3994, -34.6025, -58.3994, -34.6025)}},
		{"a plain line has one box", orbLine(-75.5, 10.4, -15.6, 11.9, -6.3, 36.5), []orb.Bound{box(-75.5, 10.4, -6.3, 36.5)}},
		{"a line across Greenwich has one box", orbLine(-10, 0, 100, 5), []orb.Bound{box(-10, 0, 100, 5)}},
		{"a line touching the antimeridian does not cross it", orbLine(170, 0, 180, 5), []orb.Bound{box(170, 0, 180, 5)}},
		{"a line going eastward across the antimeridian", orbLine(170, 10, -170, 20),
			[]orb.Bound{box(170, 10, 180, 15), box(-180, 15, -170, 20)}},
		{"a line going westward across the antimeridian", orbLine(-170, 20, 170, 10),
			[]orb.Bound{box(170, 10, 180, 15), box(-180, 15, -170, 20)}},
		{"a line across the antimeridian off centre", orbLine(179, 0, -171, 10),
			[]orb.Bound{box(179, 0, 180, 1), box(-180, 1, -171, 10)}},
		{"a line that crosses and comes back", orbLine(170, 0, -170, 0, 170, 10),
			[]orb.Bound{box(170, 0, 180, 10), box(-180, 0, -170, 5)}},
		{"a line from Taiwan across the Pacific to Mexico", orbLine(121.5, 25, 179.5, 30, -150, 35, -105.3, 19.9),
			[]orb.Bound{box(121.5, 25, 180, 30.081967213114755), box(-180, 19.9, -105.3, 35)}},
		{"a line across Greenwich and then the antimeridian", orbLine(-10, 0, 100, 5, 170, 10, -170, 20),
			[]orb.Bound{box(-10, 0, 180, 15), box(-180, 15, -170, 20)}},
		{"a MultiLineString with one crossing part", orb.MultiLineString{orbLine(170, 10, -170, 20), orbLine(-80, 0, -70, 5)},
			[]orb.Bound{box(170, 10, 180, 15), box(-180, 0, -70, 20)}},
		{"a MultiLineString with no crossing part", orb.MultiLineString{orbLine(170, 10, 175, 20), orbLine(-80, 0, -70, 5)},
			[]orb.Bound{box(-80, 0, 175, 20)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Boxes(tc.g)
			if len(got) != len(tc.want) {
				t.Fatalf("Boxes = %v, want %v", got, tc.want)
			}
			for i := range got {
				if !boundEqual(got[i], tc.want[i]) {
					t.Errorf("box %d = %v, want %v", i, got[i], tc.want[i])
				}
				if got[i].Min[0] > got[i].Max[0] || got[i].Min[1] > got[i].Max[1] || got[i].Min[0] < -180 || got[i].Max[0] > 180 {
					t.Errorf("box %d = %v wraps or leaves the world", i, got[i])
				}
			}
			if p, ok := uncovered(got, tc.g); ok {
				t.Errorf("the line passes through %v, outside the boxes %v", p, got)
			}
		})
	}
}

func TestFilterBBoxAntimeridian(t *testing.T) {
	incidentAt := func(lon, lat float64) Record {
		return &Incident{Point: orb.Point{lon, lat}, Title: "x", Type: "attack", Date: "2020"}
	}
	routeAlong := func(g orb.Geometry) Record {
		return &Route{Line: g, Name: "x", Commodity: "fentanyl"}
	}
	pacific := routeAlong(orbLine(170, 10, -170, 20))
	eurasia := routeAlong(orbLine(-10, 0, 100, 5, 170, 10, -170, 20))
	cases := []struct {
		name  string
		bbox  string
		r     Record
		match bool
	}{
		{"a box across the antimeridian holds a point at 175", "170,-10,-170,10", incidentAt(175, 0), true},
		{"a box across the antimeridian holds a point at -175", "170,-10,-170,10", incidentAt(-175, 0), true},
		{"a box across the antimeridian holds a point at 180", "170,-10,-170,10", incidentAt(180, 0), true},
		{"a box across the antimeridian holds a point at -180", "170,-10,-170,10", incidentAt(-180, 0), true},
		{"a box across the antimeridian holds its corners", "170,-10,-170,10", incidentAt(170, -10), true},
		{"a box across the antimeridian does not hold a point at 0", "170,-10,-170,10", incidentAt(0, 0), false},
		{"a box across the antimeridian does not hold a point at 169", "170,-10,-170,10", incidentAt(169, 0), false},
		{"a box across the antimeridian does not hold a point north of it", "170,-10,-170,10", incidentAt(175, 11), false},
		{"a plain box holds a point in it", "-80,-5,-60,15", incidentAt(-74.07, 4.71), true},
		{"a plain box does not hold a point at 175", "-80,-5,-60,15", incidentAt(175, 0), false},
		{"the whole world holds anything", "-180,-90,180,90", incidentAt(-179.9, 89.9), true},

		{"a route across the antimeridian meets a box on its east side", "172,9,178,12", pacific, true},
		{"a route across the antimeridian meets a box on its west side", "-178,16,-172,19", pacific, true},
		{"a route across the antimeridian meets a box across it", "179,-90,-179,90", pacific, true},
		{"a route across the antimeridian meets a box at the crossing", "179.5,14,-179.5,16", pacific, true},
		{"a route across the antimeridian does not meet a box in the Atlantic", "-40,0,-10,30", pacific, false},
		{"a route across the antimeridian does not meet a box at Greenwich", "-5,-5,5,25", pacific, false},
		{"a route across the antimeridian does not meet a box north of it", "172,30,178,40", pacific, false},
		{"a route across Greenwich and the antimeridian meets a box over the Indian Ocean", "40,0,60,5", eurasia, true},
		{"a route across Greenwich and the antimeridian meets a box across the antimeridian", "175,-90,-175,90", eurasia, true},
		{"a route across Greenwich and the antimeridian does not meet a box in the Atlantic", "-40,-30,-20,30", eurasia, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBBox(tc.bbox)
			if err != nil {
				t.Fatal(err)
			}
			f := NewFilter()
			f.BBox = &b
			if got := f.Match(tc.r); got != tc.match {
				t.Errorf("bbox=%s matches %v = %v, want %v (boxes %v)", tc.bbox, tc.r.Geometry(), got, tc.match, tc.r.Keys().Boxes)
			}
		})
	}
}

func TestParseBBox(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []orb.Bound // nil when an error is expected
	}{
		{"a plain box", "-80,-5,-60,15", []orb.Bound{box(-80, -5, -60, 15)}},
		{"spaces are allowed", " -80, -5 ,-60 ,15", []orb.Bound{box(-80, -5, -60, 15)}},
		{"west greater than east crosses the antimeridian", "170,-10,-170,10", []orb.Bound{box(170, -10, 180, 10), box(-180, -10, -170, 10)}},
		{"a box of one point", "1,2,1,2", []orb.Bound{box(1, 2, 1, 2)}},
		{"three numbers", "1,2,3", nil},
		{"six numbers (3D): heights are ignored", "1,2,0,3,4,10", []orb.Bound{box(1, 2, 3, 4)}},
		{"five numbers", "1,2,0,3,4", nil},
		{"not a number", "a,2,3,4", nil},
		{"empty", "", nil},
		{"longitude out of range", "-181,0,10,10", nil},
		{"latitude out of range", "0,0,10,90.5", nil},
		{"south north of north", "0,10,10,0", nil},
		{"NaN", "NaN,0,10,10", nil},
		{"infinity", "0,0,+Inf,10", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBBox(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("ParseBBox(%q) = %v, want an error", tc.in, b)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBBox(%q): %v", tc.in, err)
			}
			got := b.Bounds()
			if len(got) != len(tc.want) {
				t.Fatalf("Bounds = %v, want %v", got, tc.want)
			}
			for i := range got {
				if !boundEqual(got[i], tc.want[i]) {
					t.Errorf("bound %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// unitVector is a point on the unit sphere.
func unitVector(p orb.Point) [3]float64 {
	lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
	return [3]float64{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

// offGreatCircle is the distance in metres from p to the great circle through a and b.
func offGreatCircle(a, b, p orb.Point) float64 {
	u, v, w := unitVector(a), unitVector(b), unitVector(p)
	n := [3]float64{u[1]*v[2] - u[2]*v[1], u[2]*v[0] - u[0]*v[2], u[0]*v[1] - u[1]*v[0]}
	norm := math.Sqrt(n[0]*n[0] + n[1]*n[1] + n[2]*n[2])
	return math.Abs(math.Asin((n[0]*w[0]+n[1]*w[1]+n[2]*w[2])/norm)) * orb.EarthRadius
}

func TestDensify(t *testing.T) {
	const step = 100e3 // metres
	bogota, madrid := orb.Point{-74.0721, 4.7110}, orb.Point{-3.7038, 40.4168}
	taipei, mazatlan := orb.Point{121.5654, 25.0330}, orb.Point{-106.4111, 23.2494}

	t.Run("Bogotá to Madrid in steps of at most 100 km", func(t *testing.T) {
		d := Densify(orb.LineString{bogota, madrid}, step)
		total := geo.DistanceHaversine(bogota, madrid)
		if want := int(math.Ceil(total/step)) + 1; len(d) != want {
			t.Errorf("%d points, want %d", len(d), want)
		}
		if d[0] != bogota || d[len(d)-1] != madrid {
			t.Errorf("ends are %v and %v, want %v and %v exactly", d[0], d[len(d)-1], bogota, madrid)
		}
		sum := 0.0
		for i := 1; i < len(d); i++ {
			s := geo.Distance(d[i-1], d[i])
			if s > step*1.0001 {
				t.Errorf("step %d is %.0f m long, more than %.0f m", i, s, step)
			}
			if s < step*0.95 {
				t.Errorf("step %d is %.0f m long: steps should be even", i, s)
			}
			sum += geo.DistanceHaversine(d[i-1], d[i])
		}
		if math.Abs(sum-total) > total*1e-6 {
			t.Errorf("the steps add up to %.0f m, the line is %.0f m: the line overshoots or falls short", sum, total)
		}
		for i, p := range d {
			if off := offGreatCircle(bogota, madrid, p); off > 1 {
				t.Errorf("point %d %v is %.1f m off the great circle", i, p, off)
			}
		}
	})

	t.Run("the great circle from Bogotá to Madrid bows toward the pole", func(t *testing.T) {
		d := Densify(orb.LineString{bogota, madrid}, step)
		midLon, midLat := (bogota[0]+madrid[0])/2, (bogota[1]+madrid[1])/2
		nearest := d[0]
		for _, p := range d {
			if math.Abs(p[0]-midLon) < math.Abs(nearest[0]-midLon) {
				nearest = p
			}
		}
		if math.Abs(nearest[0]-midLon) > 1.5 {
			t.Fatalf("no point near longitude %.2f (nearest %v)", midLon, nearest)
		}
		if nearest[1] < midLat+3 {
			t.Errorf("at longitude %.2f the line is at latitude %.2f, want well north of the straight midpoint %.2f", nearest[0], nearest[1], midLat)
		}
		if m := geo.Midpoint(bogota, madrid); offGreatCircle(bogota, madrid, m) > 1 || m[1] <= midLat {
			t.Errorf("the great-circle midpoint %v should be north of %.2f", m, midLat)
		}
	})

	t.Run("a line across the antimeridian keeps longitudes continuous", func(t *testing.T) {
		d := Densify(orb.LineString{taipei, mazatlan}, step)
		if len(d) < 100 {
			t.Fatalf("only %d points for %.0f km", len(d), geo.DistanceHaversine(taipei, mazatlan)/1e3)
		}
		if d[0] != taipei {
			t.Errorf("first point %v, want %v", d[0], taipei)
		}
		last := d[len(d)-1]
		if last[1] != mazatlan[1] || last[0] != mazatlan[0]+360 {
			t.Errorf("last point %v, want %v shifted by 360° of longitude", last, mazatlan)
		}
		crossed := false
		for i := 1; i < len(d); i++ {
			if math.Abs(d[i][0]-d[i-1][0]) > 180 {
				t.Fatalf("longitude jumps from %v to %v at point %d", d[i-1][0], d[i][0], i)
			}
			if d[i][0] <= d[i-1][0] {
				t.Errorf("longitude goes back from %v to %v at point %d on an eastward line", d[i-1][0], d[i][0], i)
			}
			if s := geo.DistanceHaversine(d[i-1], d[i]); s > step*1.0001 {
				t.Errorf("step %d is %.0f m long", i, s)
			}
			crossed = crossed || d[i][0] > 180
		}
		if !crossed {
			t.Errorf("the line never passes longitude 180: %v … %v", d[0], last)
		}
	})

	t.Run("a line across the antimeridian westward", func(t *testing.T) {
		d := Densify(orb.LineString{mazatlan, taipei}, step)
		for i := 1; i < len(d); i++ {
			if math.Abs(d[i][0]-d[i-1][0]) > 180 {
				t.Fatalf("longitude jumps from %v to %v at point %d", d[i-1][0], d[i][0], i)
			}
		}
		if last := d[len(d)-1]; last[0] != taipei[0]-360 || last[1] != taipei[1] {
			t.Errorf("last point %v, want %v shifted by -360°", last, taipei)
		}
	})

	t.Run("the vertices are kept, in order", func(t *testing.T) {
		in := orbLine(-75.5, 10.4, -15.6, 11.9, -6.3, 36.5)
		d := Densify(in, step)
		k := 0
		for _, p := range d {
			if k < len(in) && p == in[k] {
				k++
			}
		}
		if k != len(in) {
			t.Errorf("found %d of the %d vertices in order", k, len(in))
		}
	})

	cases := []struct {
		name string
		in   orb.LineString
		step float64
	}{
		{"a short line is left alone", orbLine(-74.07, 4.71, -74.08, 4.72), step},
		{"a single point is left alone", orbLine(1, 2), step},
		{"no step is no densification", orbLine(-74.07, 4.71, -3.70, 40.42), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Densify(tc.in, tc.step)
			if len(d) != len(tc.in) {
				t.Fatalf("Densify = %v, want %v", d, tc.in)
			}
			for i := range d {
				if d[i] != tc.in[i] {
					t.Errorf("point %d = %v, want %v", i, d[i], tc.in[i])
				}
			}
		})
	}
}
