package geo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/paulmach/orb"
)

// MaxCorridorKm is the widest corridor, in kilometres: half the Earth's
// circumference, beyond which every place is inside.
const MaxCorridorKm = math.Pi * orb.EarthRadius / 1000

// Near selects records within Km kilometres of a point (near=lon,lat,km)
// or of a route's great-circle path (near_route=ID&km=K), measured along
// the Earth's surface to the path the map draws between the route's
// vertices, across the antimeridian and over the poles alike. For a route
// record the distance is between the two paths.
type Near struct {
	Point *orb.Point   `json:"-"` // near=lon,lat,km
	Route string       `json:"-"` // near_route: the route's id
	Path  orb.Geometry `json:"-"` // the route's line, filled in by the store
	Km    float64      `json:"-"`

	once sync.Once
	c    *corridor // compiled on first use
}

// ParseNear reads the corridor parameters: near "lon,lat,km", or
// nearRoute (a route's id) with km. Both empty is no corridor (nil).
func ParseNear(near, nearRoute, km string) (*Near, error) {
	switch {
	case near == "" && nearRoute == "":
		if km != "" {
			return nil, Errorf(EMALFORMED, "km goes with near_route=ID; for a point give near=lon,lat,km")
		}
		return nil, nil
	case near != "" && nearRoute != "":
		return nil, Errorf(EMALFORMED, "give near=lon,lat,km or near_route=ID&km=K, not both")
	}
	n := &Near{}
	if near != "" {
		if km != "" {
			return nil, Errorf(EMALFORMED, "near=lon,lat,km carries its distance; km goes with near_route")
		}
		parts := strings.Split(near, ",")
		if len(parts) != 3 {
			return nil, Errorf(EMALFORMED, "near must be lon,lat,km (three numbers), got %q", clipText(near))
		}
		var v [3]float64
		for i, s := range parts {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, Errorf(EMALFORMED, "near must be lon,lat,km; %q is not a finite number", clipText(s))
			}
			v[i] = f
		}
		n.Point, n.Km = &orb.Point{v[0], v[1]}, v[2]
	} else {
		if len(nearRoute) > MaxTitle {
			return nil, Errorf(EMALFORMED, "near_route is not a route id")
		}
		n.Route = nearRoute
		if km == "" {
			return nil, Errorf(EMALFORMED, "near_route needs km=K: the corridor's half-width in kilometres")
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(km), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, Errorf(EMALFORMED, "km must be a number of kilometres, got %q", clipText(km))
		}
		n.Km = f
	}
	return n, n.Check()
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Check validates a corridor as given.
func (n *Near) Check() error {
	if n.Point == nil && n.Route == "" {
		return Errorf(EMALFORMED, "near needs a point or a route")
	}
	if n.Point != nil {
		if _, fe := CheckPoint(*n.Point, "near"); fe != nil {
			return Errorf(EMALFORMED, "near: %s", fe.Message)
		}
	}
	if math.IsNaN(n.Km) || n.Km <= 0 || n.Km > MaxCorridorKm {
		return Errorf(EMALFORMED, "the distance must be more than 0 and at most %.0f km, got %v", MaxCorridorKm, n.Km)
	}
	return nil
}

// String is the corridor as a query parameter would give it.
func (n *Near) String() string {
	if n.Point != nil {
		return fmt.Sprintf("near=%v,%v,%v", n.Point[0], n.Point[1], n.Km)
	}
	return fmt.Sprintf("near_route=%s&km=%v", n.Route, n.Km)
}

// shape is what the corridor is measured from: the point or the path.
func (n *Near) shape() orb.Geometry {
	if n.Point != nil {
		return *n.Point
	}
	return n.Path
}

func (n *Near) compiled() *corridor {
	n.once.Do(func() { n.c = compileCorridor(n.shape(), n.Km) })
	return n.c
}

// Contains reports whether a record's geometry lies within the corridor.
// A record without geometry (a link) never does.
func (n *Near) Contains(g orb.Geometry) bool {
	if g == nil {
		return false
	}
	return n.compiled().within(g)
}

// Distance returns the great-circle distance in kilometres between the
// corridor's point or path and a geometry.
func (n *Near) Distance(g orb.Geometry) float64 {
	return n.compiled().angle(g, -1) * orb.EarthRadius / 1000
}

// BoxRelation is what a box alone tells of the corridor (Near.Box).
type BoxRelation int

// The answers of Near.Box.
const (
	BoxUnknown BoxRelation = iota // the places in the box may or may not be within
	BoxInside                     // every place in the box is within
	BoxOutside                    // no place in the box, nor near it, is within
)

// Box tells from a plain box alone, for a geometry whose positions all lie
// in it, whether the geometry is within the corridor: inside when every
// place of the box is; outside when nothing the geometry can reach is,
// its segments included, which run along great circles between positions
// of the box and so stay within the box's diameter D of its positions,
// all within 1.5 D of the box's centre. A box that touches the
// antimeridian may hold part of a line that continues beyond it: unknown.
func (n *Near) Box(b orb.Bound) BoxRelation {
	if !(b.Min[0] > -180 && b.Max[0] < 180) || b.Max[0] < b.Min[0] || b.Max[1] < b.Min[1] {
		return BoxUnknown
	}
	const margin = 1e-9 // radians, about 6 mm: rounding never decides
	// D is at most the latitudes' span plus the longitudes': along a
	// meridian, then along a parallel, no shorter than the great circle.
	d := (b.Max[0] - b.Min[0] + b.Max[1] - b.Min[1]) * math.Pi / 180
	c := n.compiled()
	inner := c.max - d - margin
	a := c.angle(b.Center(), inner)
	switch {
	case a <= inner:
		return BoxInside
	case a > c.max+1.5*d+margin:
		return BoxOutside
	}
	return BoxUnknown
}

// Boxes returns plain (non-wrapping) boxes that together hold every place
// within the corridor: a cheap first test for an index, made exact by
// Contains.
func (n *Near) Boxes() []orb.Bound {
	return n.compiled().boxes
}

// corridor is a Near compiled: unit vectors and the candidate boxes.
type corridor struct {
	max   float64 // the distance as an angle, radians
	point *vec
	segs  [][2]vec // the path's segments
	boxes []orb.Bound
}

type vec [3]float64

func toVec(p orb.Point) vec {
	lon, lat := p[0]*math.Pi/180, p[1]*math.Pi/180
	return vec{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

func (a vec) dot(b vec) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec) cross(b vec) vec {
	return vec{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func (a vec) norm() float64         { return math.Sqrt(a.dot(a)) }
func (a vec) scale(s float64) vec   { return vec{a[0] * s, a[1] * s, a[2] * s} }
func (a vec) sub(b vec) vec         { return vec{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func angleBetween(a, b vec) float64 { return math.Atan2(a.cross(b).norm(), a.dot(b)) }

// pointArc is the angle from p to the nearest point of the minor arc a–b.
func pointArc(p, a, b vec) float64 {
	n := a.cross(b)
	nn := n.norm()
	if nn < 1e-15 { // one point (or antipodes: no single arc)
		return math.Min(angleBetween(p, a), angleBetween(p, b))
	}
	n = n.scale(1 / nn)
	s := p.dot(n)
	c := p.sub(n.scale(s)) // p projected on the arc's great circle
	if a.cross(c).dot(n) >= 0 && c.cross(b).dot(n) >= 0 {
		return math.Asin(math.Min(1, math.Abs(s)))
	}
	return math.Min(angleBetween(p, a), angleBetween(p, b))
}

// onArc reports whether x, a point of the great circle of a–b with normal
// n, lies on the minor arc a–b.
func onArc(x, a, b, n vec) bool {
	return a.cross(x).dot(n) >= 0 && x.cross(b).dot(n) >= 0
}

// arcArc is the angle between the nearest points of two minor arcs: 0 when
// they cross, else the least distance from an end of one to the other.
func arcArc(a1, a2, b1, b2 vec) float64 {
	na, nb := a1.cross(a2), b1.cross(b2)
	if x := na.cross(nb); na.norm() > 1e-15 && nb.norm() > 1e-15 && x.norm() > 1e-15 {
		x = x.scale(1 / x.norm())
		for _, y := range []vec{x, x.scale(-1)} {
			if onArc(y, a1, a2, na) && onArc(y, b1, b2, nb) {
				return 0
			}
		}
	}
	return math.Min(math.Min(pointArc(a1, b1, b2), pointArc(a2, b1, b2)), math.Min(pointArc(b1, a1, a2), pointArc(b2, a1, a2)))
}

func segments(g orb.Geometry) [][2]vec {
	var out [][2]vec
	add := func(l orb.LineString) {
		for i := 1; i < len(l); i++ {
			out = append(out, [2]vec{toVec(l[i-1]), toVec(l[i])})
		}
		if len(l) == 1 {
			v := toVec(l[0])
			out = append(out, [2]vec{v, v})
		}
	}
	switch g := g.(type) {
	case orb.LineString:
		add(g)
	case orb.MultiLineString:
		for _, l := range g {
			add(l)
		}
	}
	return out
}

func compileCorridor(shape orb.Geometry, km float64) *corridor {
	c := &corridor{max: km * 1000 / orb.EarthRadius}
	if p, ok := shape.(orb.Point); ok {
		v := toVec(p)
		c.point = &v
		c.boxes = capBoxes(p, c.max)
		return c
	}
	c.segs = segments(shape)
	c.boxes = pathBoxes(shape, c.max)
	return c
}

// angle is the least angle between the corridor's shape and g; with
// stop >= 0 it returns as soon as it finds one no greater than stop.
func (c *corridor) angle(g orb.Geometry, stop float64) float64 {
	best := math.Inf(1)
	switch g := g.(type) {
	case orb.Point:
		p := toVec(g)
		if c.point != nil {
			return angleBetween(p, *c.point)
		}
		for _, s := range c.segs {
			if d := pointArc(p, s[0], s[1]); d < best {
				if best = d; best <= stop {
					return best
				}
			}
		}
	case orb.LineString, orb.MultiLineString:
		for _, t := range segments(g) {
			if c.point != nil {
				if d := pointArc(*c.point, t[0], t[1]); d < best {
					if best = d; best <= stop {
						return best
					}
				}
				continue
			}
			for _, s := range c.segs {
				if d := arcArc(s[0], s[1], t[0], t[1]); d < best {
					if best = d; best <= stop {
						return best
					}
				}
			}
		}
	}
	return best
}

func (c *corridor) within(g orb.Geometry) bool {
	return c.angle(g, c.max) <= c.max
}

// capBoxes returns the plain boxes holding every place within the angle r
// of p: one box, two across the antimeridian, all longitudes when the cap
// holds a pole.
func capBoxes(p orb.Point, r float64) []orb.Bound {
	const eps = 1e-9 // degrees: rounding never leaves a place out
	dlat := r*180/math.Pi + eps
	s, n := p[1]-dlat, p[1]+dlat
	if n >= 90 || s <= -90 || r >= math.Pi/2 {
		return []orb.Bound{{Min: orb.Point{-180, math.Max(s, -90)}, Max: orb.Point{180, math.Min(n, 90)}}}
	}
	// The widest longitude of a cap not holding a pole.
	dlon := math.Asin(math.Min(1, math.Sin(r)/math.Cos(p[1]*math.Pi/180)))*180/math.Pi + eps
	w, e := p[0]-dlon, p[0]+dlon
	switch {
	case w < -180:
		return []orb.Bound{{Min: orb.Point{w + 360, s}, Max: orb.Point{180, n}}, {Min: orb.Point{-180, s}, Max: orb.Point{e, n}}}
	case e > 180:
		return []orb.Bound{{Min: orb.Point{w, s}, Max: orb.Point{180, n}}, {Min: orb.Point{-180, s}, Max: orb.Point{e - 360, n}}}
	}
	return []orb.Bound{{Min: orb.Point{w, s}, Max: orb.Point{e, n}}}
}

// pathBoxes covers the places within the angle r of a path. The path is
// cut into pieces along its great circles; each piece gets the box of its
// own longitudes and latitudes (its highest and lowest points included)
// widened by r: by r in latitude, and in longitude by the most r spans at
// the piece's latitude farthest from the equator; two boxes across the
// antimeridian, all longitudes when the piece comes within r of a pole.
// Pieces of a few times r keep the boxes close to the corridor whatever
// the path's heading; neighbouring boxes are merged where that adds no
// area, and the fewest-area merges keep them at most maxPathBoxes.
func pathBoxes(g orb.Geometry, r float64) []orb.Bound {
	segs := segments(g)
	length := 0.0
	for _, s := range segs {
		length += angleBetween(s[0], s[1])
	}
	step := math.Max(4*r, length/128)
	var out []orb.Bound
	add := func(b orb.Bound) {
		if n := len(out); n > 0 {
			if m := out[n-1].Union(b); area(m) <= 1.1*(area(out[n-1])+area(b)-overlap(out[n-1], b)) {
				out[n-1] = m
				return
			}
		}
		out = append(out, b)
	}
	for _, s := range segs {
		if s[0].cross(s[1]).norm() < 1e-15 { // one point, or antipodes: no single arc
			for _, b := range pieceBoxes(s[0], s[0], r) {
				add(b)
			}
			for _, b := range pieceBoxes(s[1], s[1], r) {
				add(b)
			}
			continue
		}
		d := angleBetween(s[0], s[1])
		k := max(1, int(math.Ceil(d/step)))
		prev := s[0]
		for i := 1; i <= k; i++ {
			next := s[1]
			if i < k {
				next = slerp(s[0], s[1], d, float64(i)/float64(k))
			}
			for _, b := range pieceBoxes(prev, next, r) {
				add(b)
			}
			prev = next
		}
	}
	for len(out) > maxPathBoxes {
		best, cost := 0, math.Inf(1)
		for i := 1; i < len(out); i++ {
			if c := area(out[i-1].Union(out[i])) - area(out[i-1]) - area(out[i]); c < cost {
				best, cost = i, c
			}
		}
		out[best-1] = out[best-1].Union(out[best])
		out = slices.Delete(out, best, best+1)
	}
	return out
}

// maxPathBoxes bounds the boxes of a path corridor: each is one R*Tree
// search.
const maxPathBoxes = 16

// pieceBoxes returns the plain boxes holding every place within the angle
// r of the minor arc a–b (a piece of a path, shorter than half the Earth).
func pieceBoxes(a, b vec, r float64) []orb.Bound {
	const eps = 1e-9 // degrees: rounding never leaves a place out
	pa, pb := fromVec(a), fromVec(b)
	lo, hi := math.Min(pa[1], pb[1]), math.Max(pa[1], pb[1])
	if n := a.cross(b); n.norm() > 1e-15 {
		// The great circle's northernmost and southernmost points, when
		// they lie on the arc.
		n = n.scale(1 / n.norm())
		if top := (vec{0, 0, 1}).sub(n.scale(n[2])); top.norm() > 1e-15 {
			top = top.scale(1 / top.norm())
			if onArc(top, a, b, n) {
				hi = math.Max(hi, fromVec(top)[1])
			}
			if bottom := top.scale(-1); onArc(bottom, a, b, n) {
				lo = math.Min(lo, fromVec(bottom)[1])
			}
		}
	}
	rd := r*180/math.Pi + eps
	s, north := lo-rd, hi+rd
	if north >= 90 || s <= -90 || r >= math.Pi/2 {
		return []orb.Bound{{Min: orb.Point{-180, math.Max(s, -90)}, Max: orb.Point{180, math.Min(north, 90)}}}
	}
	// Longitudes change monotonically along a minor arc that misses the
	// poles, by less than 180°: the short way from a to b.
	w, dx := pa[0], pb[0]-pa[0]
	if dx > 180 {
		dx -= 360
	} else if dx < -180 {
		dx += 360
	}
	if dx < 0 {
		w, dx = w+dx, -dx
	}
	far := math.Max(math.Abs(lo), math.Abs(hi)) * math.Pi / 180
	dlon := math.Asin(math.Min(1, math.Sin(r)/math.Cos(far)))*180/math.Pi + eps
	w, e := w-dlon, w+dx+dlon
	switch {
	case e-w >= 360:
		return []orb.Bound{{Min: orb.Point{-180, s}, Max: orb.Point{180, north}}}
	case w < -180:
		return []orb.Bound{{Min: orb.Point{w + 360, s}, Max: orb.Point{180, north}}, {Min: orb.Point{-180, s}, Max: orb.Point{e, north}}}
	case e > 180:
		return []orb.Bound{{Min: orb.Point{w, s}, Max: orb.Point{180, north}}, {Min: orb.Point{-180, s}, Max: orb.Point{e - 360, north}}}
	}
	return []orb.Bound{{Min: orb.Point{w, s}, Max: orb.Point{e, north}}}
}

func area(b orb.Bound) float64 { return (b.Max[0] - b.Min[0]) * (b.Max[1] - b.Min[1]) }

// overlap is the area two boxes share.
func overlap(a, b orb.Bound) float64 {
	w := math.Min(a.Max[0], b.Max[0]) - math.Max(a.Min[0], b.Min[0])
	h := math.Min(a.Max[1], b.Max[1]) - math.Max(a.Min[1], b.Min[1])
	return math.Max(0, w) * math.Max(0, h)
}

// slerp is the point a fraction t along the great-circle arc a–b of angle d.
func slerp(a, b vec, d, t float64) vec {
	if d < 1e-12 {
		return a
	}
	sa, sb := math.Sin((1-t)*d)/math.Sin(d), math.Sin(t*d)/math.Sin(d)
	return vec{a[0]*sa + b[0]*sb, a[1]*sa + b[1]*sb, a[2]*sa + b[2]*sb}
}

func fromVec(v vec) orb.Point {
	return orb.Point{math.Atan2(v[1], v[0]) * 180 / math.Pi, math.Atan2(v[2], math.Hypot(v[0], v[1])) * 180 / math.Pi}
}
