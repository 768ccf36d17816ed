package storetest

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// sampledKm is a brute-force great-circle distance in km from p to a path:
// the least haversine distance to points sampled every 1/n of each
// segment by spherical interpolation, with the error the sampling allows.
func sampledKm(p orb.Point, g orb.Geometry, n int) (km, tol float64) {
	rad := math.Pi / 180
	hav := func(a, b orb.Point) float64 {
		dla, dlo := (b[1]-a[1])*rad, (b[0]-a[0])*rad
		h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(a[1]*rad)*math.Cos(b[1]*rad)*math.Sin(dlo/2)*math.Sin(dlo/2)
		return 2 * math.Asin(math.Min(1, math.Sqrt(h)))
	}
	var lines []orb.LineString
	switch g := g.(type) {
	case orb.Point:
		return hav(p, g) * orb.EarthRadius / 1000, 0
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		lines = g
	}
	best, worst := math.Inf(1), 0.0
	for _, l := range lines {
		for i := 1; i < len(l); i++ {
			a, b := l[i-1], l[i]
			d := hav(a, b)
			worst = math.Max(worst, d/float64(n)/2)
			for k := 0; k <= n; k++ {
				t := float64(k) / float64(n)
				q := a
				if d > 1e-12 {
					fa, fb := math.Sin((1-t)*d)/math.Sin(d), math.Sin(t*d)/math.Sin(d)
					x := fa*math.Cos(a[1]*rad)*math.Cos(a[0]*rad) + fb*math.Cos(b[1]*rad)*math.Cos(b[0]*rad)
					y := fa*math.Cos(a[1]*rad)*math.Sin(a[0]*rad) + fb*math.Cos(b[1]*rad)*math.Sin(b[0]*rad)
					z := fa*math.Sin(a[1]*rad) + fb*math.Sin(b[1]*rad)
					q = orb.Point{math.Atan2(y, x) / rad, math.Atan2(z, math.Hypot(x, y)) / rad}
				}
				best = math.Min(best, hav(p, q))
			}
		}
	}
	r := orb.EarthRadius / 1000
	return best * r, worst * r
}

// near and near_route select, through the R*Tree and the exact measure,
// exactly what a brute-force great-circle distance selects, on random
// places and routes across the antimeridian and near the poles.
func testNearEqualsBruteForce(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 15))
	place := func() orb.Point {
		switch rng.IntN(5) {
		case 4: // on the antimeridian, which the R*Tree leaves to the exact measure
			return orb.Point{[]float64{-180, 180}[rng.IntN(2)], rng.Float64()*160 - 80}
		case 0: // near the antimeridian
			return orb.Point{180 - rng.Float64()*6, rng.Float64()*160 - 80}
		case 1:
			return orb.Point{-180 + rng.Float64()*6, rng.Float64()*160 - 80}
		case 2: // near a pole
			return orb.Point{rng.Float64()*360 - 180, math.Copysign(80+rng.Float64()*10, rng.Float64()-0.5)}
		}
		return orb.Point{rng.Float64()*360 - 180, math.Asin(rng.Float64()*2-1) * 180 / math.Pi}
	}
	var paths []orb.LineString
	for range 40 {
		l := orb.LineString{place(), place()}
		if rng.IntN(2) == 0 {
			l = append(l, place())
		}
		if rng.IntN(3) == 0 { // across the antimeridian, short way
			lat := rng.Float64()*120 - 60
			l = orb.LineString{{175, lat}, {-175, lat + 5}, {-160, lat}}
		}
		paths = append(paths, l)
	}
	var recs []geo.Record
	var points []orb.Point
	for range Sized(1500) { // at least the 300 Match is asked about below
		p := place()
		if rng.IntN(3) == 0 { // close to a route, where narrow corridors reach
			l := paths[rng.IntN(len(paths))]
			v := l[rng.IntN(len(l))]
			p = orb.Point{v[0] + rng.Float64()*3 - 1.5, math.Max(-90, math.Min(90, v[1]+rng.Float64()*3-1.5))}
			if p[0] > 180 || p[0] < -180 {
				p[0] -= math.Copysign(360, p[0])
			}
		}
		points = append(points, p)
		recs = append(recs, &geo.Incident{Point: p, Title: "x", Type: "attack", Date: "2020"})
	}
	for _, l := range paths {
		recs = append(recs, &geo.Route{Line: l, Name: "r", Commodity: "cocaine"})
	}
	ids := ImportAll(t, db, "t", recs)
	for round := range 16 {
		f := geo.NewFilter()
		km := 50 + rng.Float64()*1500
		if round%4 < 2 { // narrow: the corridor's boxes are many and small
			km = 5 + rng.Float64()*100
		}
		var shape orb.Geometry
		if round%2 == 0 {
			k := rng.IntN(len(paths))
			f.Near = &geo.Near{Route: ids[len(points)+k], Km: km}
			shape = paths[k]
		} else {
			p := place()
			f.Near = &geo.Near{Point: &p, Km: km}
			shape = p
		}
		if err := db.Resolve(ctx, &f); err != nil {
			t.Fatal(err)
		}
		got, matched := queryIDs(t, db, geo.Incidents, f, 10000)
		if int(matched) != len(got) {
			t.Errorf("numberMatched %d for %d ids", matched, len(got))
		}
		for i, p := range points {
			d, tol := sampledKm(p, shape, 150)
			if math.Abs(d-km) <= tol+1e-6 {
				continue // too close to the edge for the brute force to tell
			}
			if want := d <= km; got[ids[i]] != want {
				t.Fatalf("round %d: %v is %.3f km from %v (corridor %.1f km): selected %v", round, p, d, shape, km, got[ids[i]])
			}
		}
		// Routes near a point: the distance from the point to their path.
		if p, ok := shape.(orb.Point); ok {
			got, _ := queryIDs(t, db, geo.Routes, f, 10000)
			for k, l := range paths {
				d, tol := sampledKm(p, l, 1000)
				if math.Abs(d-km) <= tol+1e-6 {
					continue
				}
				if want := d <= km; got[ids[len(points)+k]] != want {
					t.Fatalf("route %v is %.3f km from %v (corridor %.1f km): selected %v", l, d, p, km, got[ids[len(points)+k]])
				}
			}
		}
		// Counts and the in-memory match agree with the query.
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil || n != int64(len(got)) {
			t.Errorf("Count %d %v, Query %d", n, err, len(got))
		}
		for i, p := range points[:300] {
			if f.Match(&geo.Incident{Point: p, Title: "x", Type: "attack", Date: "2020"}) != got[ids[i]] {
				t.Fatalf("Match and the database disagree on %v", p)
			}
		}
	}
	f := geo.NewFilter()
	f.Near = &geo.Near{Route: "nope", Km: 5}
	WantCode(t, db.Resolve(ctx, &f), geo.EMALFORMED)
}

// Places a metre or two either side of a corridor's edge, where the
// R*Tree's float32 boxes cannot tell and the exact coordinates decide: a
// point corridor and a route corridor (measured from the middle of a
// segment, square to it), on the antimeridian and near the poles too. The
// places are made here by rotations on the sphere.
func testNearDecidesAtTheEdge(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(6, 15))
	type vec = [3]float64
	unit := func(p orb.Point) vec {
		lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
		return vec{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
	}
	point := func(v vec) orb.Point {
		return orb.Point{math.Atan2(v[1], v[0]) * 180 / math.Pi, math.Atan2(v[2], math.Hypot(v[0], v[1])) * 180 / math.Pi}
	}
	norm := func(v vec) vec {
		n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		return vec{v[0] / n, v[1] / n, v[2] / n}
	}
	// along turns c by the angle d towards the unit vector u square to c.
	along := func(c, u vec, d float64) vec {
		return vec{c[0]*math.Cos(d) + u[0]*math.Sin(d), c[1]*math.Cos(d) + u[1]*math.Sin(d), c[2]*math.Cos(d) + u[2]*math.Sin(d)}
	}
	const km = 40.0
	offsets := []float64{-2, -1, -0.5, 0.5, 1, 2} // metres from the edge
	type want struct {
		p  orb.Point
		in bool
	}
	type corridor struct {
		near   *geo.Near // a route's is resolved below
		places []want
	}
	var cases []corridor
	centres := []orb.Point{{180, 10}, {-180, -33}, {179.9999, 0}, {12.5, 89.5}, {-70, -89.7}, {-16.9, 11.8}}
	for range 6 {
		centres = append(centres, orb.Point{rng.Float64()*360 - 180, rng.Float64()*170 - 85})
	}
	var recs []geo.Record
	var routes []int
	for _, c := range centres {
		cv := unit(c)
		// Point corridor: places at km + offset from c in random directions.
		pc := corridor{near: &geo.Near{Point: &orb.Point{c[0], c[1]}, Km: km}}
		// Route corridor: a segment through c; places square to it from c.
		r := vec{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		dot := r[0]*cv[0] + r[1]*cv[1] + r[2]*cv[2]
		t0 := norm(vec{r[0] - dot*cv[0], r[1] - dot*cv[1], r[2] - dot*cv[2]}) // along the segment
		n := norm(vec{cv[1]*t0[2] - cv[2]*t0[1], cv[2]*t0[0] - cv[0]*t0[2], cv[0]*t0[1] - cv[1]*t0[0]})
		seg := orb.LineString{point(along(cv, t0, -0.05)), point(along(cv, t0, 0.05))}
		rc := corridor{near: &geo.Near{Km: km}}
		for _, o := range offsets {
			d := (km*1000 + o) / orb.EarthRadius
			for range 3 {
				r := vec{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
				dot := r[0]*cv[0] + r[1]*cv[1] + r[2]*cv[2]
				u := norm(vec{r[0] - dot*cv[0], r[1] - dot*cv[1], r[2] - dot*cv[2]})
				pc.places = append(pc.places, want{point(along(cv, u, d)), o < 0})
			}
			for _, s := range []float64{1, -1} {
				rc.places = append(rc.places, want{point(along(cv, vec{n[0] * s, n[1] * s, n[2] * s}, d)), o < 0})
			}
		}
		routes = append(routes, len(recs))
		recs = append(recs, &geo.Route{Line: seg, Name: "r", Commodity: "cocaine"})
		cases = append(cases, pc, rc)
	}
	first := len(recs)
	for _, c := range cases {
		for _, w := range c.places {
			recs = append(recs, &geo.Incident{Point: w.p, Title: "x", Type: "attack", Date: "2020"})
		}
	}
	ids := ImportAll(t, db, "t", recs)
	k := first
	for i, c := range cases {
		f := geo.NewFilter()
		f.Near = c.near
		if c.near.Point == nil {
			f.Near = &geo.Near{Route: ids[routes[i/2]], Km: km}
		}
		if err := db.Resolve(ctx, &f); err != nil {
			t.Fatal(err)
		}
		got, _ := queryIDs(t, db, geo.Incidents, f, 10000)
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.places {
			if got[ids[k]] != w.in {
				t.Errorf("%s: %v (%.4f km away) selected %v", f.Near, w.p, f.Near.Distance(w.p), got[ids[k]])
			}
			k++
		}
		if n != int64(len(got)) {
			t.Errorf("%s: Count %d, Query %d", f.Near, n, len(got))
		}
	}
}
