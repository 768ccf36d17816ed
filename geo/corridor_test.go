package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// bruteDistance is the least haversine distance, in km, from p to the
// path sampled at n points per segment along its great circles (by
// spherical interpolation written here, not the code under test), and the
// largest error the sampling allows.
func bruteDistance(p orb.Point, path orb.LineString, n int) (km, tol float64) {
	hav := func(a, b orb.Point) float64 {
		la1, la2 := a[1]*math.Pi/180, b[1]*math.Pi/180
		dla, dlo := la2-la1, (b[0]-a[0])*math.Pi/180
		h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
		return 2 * math.Asin(math.Min(1, math.Sqrt(h)))
	}
	best, worst := math.Inf(1), 0.0
	for i := 1; i < len(path); i++ {
		a, b := path[i-1], path[i]
		d := hav(a, b)
		worst = math.Max(worst, d/float64(n))
		la1, lo1, la2, lo2 := a[1]*math.Pi/180, a[0]*math.Pi/180, b[1]*math.Pi/180, b[0]*math.Pi/180
		for k := 0; k <= n; k++ {
			t := float64(k) / float64(n)
			var q orb.Point
			if d < 1e-12 {
				q = a
			} else {
				fa, fb := math.Sin((1-t)*d)/math.Sin(d), math.Sin(t*d)/math.Sin(d)
				x := fa*math.Cos(la1)*math.Cos(lo1) + fb*math.Cos(la2)*math.Cos(lo2)
				y := fa*math.Cos(la1)*math.Sin(lo1) + fb*math.Cos(la2)*math.Sin(lo2)
				z := fa*math.Sin(la1) + fb*math.Sin(la2)
				q = orb.Point{math.Atan2(y, x) * 180 / math.Pi, math.Atan2(z, math.Hypot(x, y)) * 180 / math.Pi}
			}
			best = math.Min(best, hav(p, q))
		}
	}
	r := orb.EarthRadius / 1000
	return best * r, worst / 2 * r
}

// randomPath draws paths of the kinds that break naive code: across the
// antimeridian, over and near the poles, long and short.
func randomPath(rng *rand.Rand) orb.LineString {
	pt := func() orb.Point { return orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90} }
	switch rng.IntN(4) {
	case 0: // across the antimeridian
		lat := rng.Float64()*140 - 70
		return orb.LineString{{170 + rng.Float64()*10, lat}, {-180 + rng.Float64()*10, lat + rng.Float64()*20 - 10}, {-170 + rng.Float64()*20, lat}}
	case 1: // near a pole
		s := 1.0
		if rng.IntN(2) == 0 {
			s = -1
		}
		return orb.LineString{{rng.Float64()*360 - 180, s * (80 + rng.Float64()*9.9)}, {rng.Float64()*360 - 180, s * (75 + rng.Float64()*14.9)}}
	case 2: // short
		p := pt()
		p[1] = math.Max(-85, math.Min(85, p[1]))
		return orb.LineString{p, {p[0] + rng.Float64()*2 - 1, p[1] + rng.Float64()*2 - 1}}
	}
	return orb.LineString{pt(), pt(), pt()}
}

// Point-to-path distances equal a brute-force great-circle measure.
func TestCorridorDistanceEqualsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 15))
	for range 150 {
		path := randomPath(rng)
		n := &Near{Route: "r", Path: path, Km: 1 + rng.Float64()*3000}
		for range 10 {
			p := orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90}
			if rng.IntN(2) == 0 { // close to the path
				v := path[rng.IntN(len(path))]
				p = orb.Point{wrapLon(v[0] + rng.Float64()*20 - 10), math.Max(-90, math.Min(90, v[1]+rng.Float64()*20-10))}
			}
			want, tol := bruteDistance(p, path, 1000)
			got := n.Distance(p)
			if got > want+1e-6 || got < want-tol-1e-6 {
				t.Fatalf("distance from %v to %v: %v km, brute force %v km (tolerance %v)", p, path, got, want, tol)
			}
			if math.Abs(want-n.Km) > tol+1e-6 && n.Contains(p) != (want <= n.Km) {
				t.Fatalf("%v within %v km of %v: %v, brute force distance %v", p, n.Km, path, n.Contains(p), want)
			}
			// The boxes hold every place of the corridor.
			if want <= n.Km-tol && !inAny(p, n.Boxes()) {
				t.Fatalf("%v is %v km from %v, within %v km, but outside the boxes %v", p, want, path, n.Km, n.Boxes())
			}
		}
	}
}

func inAny(p orb.Point, boxes []orb.Bound) bool {
	for _, b := range boxes {
		if b.Contains(p) {
			return true
		}
	}
	return false
}

// Route-to-route distances: zero when the paths cross, else the brute
// force over the sampled points of one path against the other.
func TestCorridorPathToPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 15))
	for range 50 {
		a, b := randomPath(rng), randomPath(rng)
		n := &Near{Route: "a", Path: a, Km: 100}
		got := n.Distance(b)
		// Sample b densely and measure each sample to a exactly by the
		// brute force of the point case.
		want := math.Inf(1)
		tolB := 0.0
		for i := 1; i < len(b); i++ {
			for k := 0; k <= 100; k++ {
				t := float64(k) / 100
				q := fromVec(slerp(toVec(b[i-1]), toVec(b[i]), angleBetween(toVec(b[i-1]), toVec(b[i])), t))
				d, tol := bruteDistance(q, a, 200)
				want = math.Min(want, d)
				tolB = math.Max(tolB, tol)
			}
			tolB = math.Max(tolB, angleBetween(toVec(b[i-1]), toVec(b[i]))/200*orb.EarthRadius/1000)
		}
		if got > want+1e-6 || got < want-2*tolB-1e-6 {
			t.Fatalf("distance between %v and %v: %v km, brute force %v km (tolerance %v)", a, b, got, want, 2*tolB)
		}
	}
	// Two paths that cross are 0 km apart.
	n := &Near{Route: "x", Path: orb.LineString{{170, -10}, {-170, 10}}, Km: 1}
	if d := n.Distance(orb.LineString{{170, 10}, {-170, -10}}); d > 1e-6 {
		t.Errorf("crossing paths across the antimeridian are %v km apart", d)
	}
}

func TestParseNear(t *testing.T) {
	for _, c := range []struct{ near, route, km string }{
		{"1,2", "", ""}, {"1,2,x", "", ""}, {"200,0,5", "", ""}, {"0,0,0", "", ""}, {"0,0,-1", "", ""},
		{"0,0,30000", "", ""}, {"0,0,5", "r", "5"}, {"", "r", ""}, {"", "r", "NaN"}, {"", "", "5"}, {"0,0,5", "", "5"},
	} {
		if _, err := ParseNear(c.near, c.route, c.km); ErrorCode(err) != EMALFORMED {
			t.Errorf("ParseNear(%q, %q, %q): %v, want malformed", c.near, c.route, c.km, err)
		}
	}
	n, err := ParseNear("-16.9,11.8,150", "", "")
	if err != nil || n.Point == nil || n.Km != 150 {
		t.Fatalf("%+v %v", n, err)
	}
	if n, err := ParseNear("", "", ""); n != nil || err != nil {
		t.Errorf("no corridor: %+v %v", n, err)
	}
}

// The boxes of a corridor hold the places just inside its edge: points at
// a random distance up to the corridor's width, in a random direction,
// from a random point of the path, narrow and wide corridors alike, across
// the antimeridian and near the poles. The points are made here by the
// rotation formula on the sphere, not by the code under test.
func TestCorridorBoxesHoldTheEdge(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 15))
	unit := func(p orb.Point) [3]float64 {
		lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
		return [3]float64{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
	}
	for range 200 {
		path := randomPath(rng)
		if rng.IntN(4) == 0 { // a long route of many waypoints
			path = orb.LineString{{-74.08, 4.6}}
			for range 1 + rng.IntN(200) {
				last := path[len(path)-1]
				path = append(path, orb.Point{wrapLon(last[0] + rng.Float64()*4 - 1), math.Max(-89, math.Min(89, last[1]+rng.Float64()*2-1))})
			}
		}
		km := []float64{0.5, 5, 50, 150, 1000}[rng.IntN(5)] * (0.5 + rng.Float64())
		n := &Near{Route: "r", Path: path, Km: km}
		boxes := n.Boxes()
		if len(boxes) > maxPathBoxes {
			t.Fatalf("%d boxes for %v", len(boxes), path)
		}
		for range 30 {
			// A point q of the path: a fraction along one segment.
			i := 1 + rng.IntN(len(path)-1)
			a, b := unit(path[i-1]), unit(path[i])
			d := math.Acos(math.Max(-1, math.Min(1, a[0]*b[0]+a[1]*b[1]+a[2]*b[2])))
			q := a
			if d > 1e-12 {
				f := rng.Float64()
				fa, fb := math.Sin((1-f)*d)/math.Sin(d), math.Sin(f*d)/math.Sin(d)
				q = [3]float64{fa*a[0] + fb*b[0], fa*a[1] + fb*b[1], fa*a[2] + fb*b[2]}
			}
			// A random direction u at q and a distance up to the width.
			r := [3]float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			dot := r[0]*q[0] + r[1]*q[1] + r[2]*q[2]
			u := [3]float64{r[0] - dot*q[0], r[1] - dot*q[1], r[2] - dot*q[2]}
			un := math.Sqrt(u[0]*u[0] + u[1]*u[1] + u[2]*u[2])
			ang := km * (1 - 1e-9) * 1000 / orb.EarthRadius
			if rng.IntN(2) == 0 {
				ang *= rng.Float64()
			}
			c, s := math.Cos(ang), math.Sin(ang)/un
			v := [3]float64{c*q[0] + s*u[0], c*q[1] + s*u[1], c*q[2] + s*u[2]}
			p := orb.Point{math.Atan2(v[1], v[0]) * 180 / math.Pi, math.Atan2(v[2], math.Hypot(v[0], v[1])) * 180 / math.Pi}
			if !inAny(p, boxes) {
				t.Fatalf("%v is within %v km of %v (%v km from a point of it) but outside the boxes %v", p, km, path, ang*orb.EarthRadius/1000, boxes)
			}
			if !n.Contains(p) {
				t.Fatalf("%v is within %v km of %v but not in the corridor (distance %v km)", p, km, path, n.Distance(p))
			}
		}
	}
}

// What a box alone tells agrees with the exact measure: every place of a
// box said inside is within the corridor, and no place of a box said
// outside is, nor any place of a great-circle segment between two of its
// places; on small boxes like the R*Tree's boxes of points and larger
// ones, across the antimeridian and near the poles.
func TestCorridorBoxAgreesWithDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 15))
	decided := map[BoxRelation]int{}
	for range 150 {
		var n *Near
		if rng.IntN(3) == 0 {
			p := orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90}
			n = &Near{Point: &p, Km: 1 + rng.Float64()*2000}
		} else {
			n = &Near{Route: "r", Path: randomPath(rng), Km: 1 + rng.Float64()*2000}
		}
		for range 40 {
			// A box near the corridor's shape, of a random size.
			c := orb.Point{rng.Float64()*360 - 180, rng.Float64()*180 - 90}
			if path, ok := n.Path.(orb.LineString); ok && rng.IntN(2) == 0 {
				v := path[rng.IntN(len(path))]
				c = orb.Point{wrapLon(v[0] + rng.NormFloat64()*n.Km/100), math.Max(-90, math.Min(90, v[1]+rng.NormFloat64()*n.Km/100))}
			}
			size := math.Pow(10, -5+rng.Float64()*6) // 1e-5° to 10°
			b := orb.Bound{Min: orb.Point{math.Max(-180, c[0]-size*rng.Float64()), math.Max(-90, c[1]-size*rng.Float64())}}
			b.Max = orb.Point{math.Min(180, b.Min[0]+size), math.Min(90, b.Min[1]+size)}
			rel := n.Box(b)
			decided[rel]++
			at := func() orb.Point {
				return orb.Point{b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1])}
			}
			for range 10 {
				p, q := at(), at()
				switch rel {
				case BoxInside:
					if !n.Contains(p) {
						t.Fatalf("%v said inside %v, but %v is %v km away", b, n, p, n.Distance(p))
					}
				case BoxOutside:
					if seg := (orb.LineString{p, q}); n.Contains(seg) {
						t.Fatalf("%v said outside %v, but the segment %v is %v km away", b, n, seg, n.Distance(seg))
					}
				}
			}
		}
	}
	if decided[BoxInside] == 0 || decided[BoxOutside] == 0 || decided[BoxUnknown] == 0 {
		t.Fatalf("every answer should occur: %v", decided)
	}
}
