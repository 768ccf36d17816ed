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
