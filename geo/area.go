package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// Area is a watch area prepared for many containment tests: a circle
// keeps its centre and radius; each polygon keeps its box and its edges
// sorted into horizontal bands, so that a test reads only the few edges of
// the point's band rather than every edge.
type Area struct {
	center  orb.Point
	radiusM float64 // metres; 0 for polygons
	polys   []preparedPolygon
	bounds  []orb.Bound
}

// preparedPolygon is one polygon with its edges (every ring's) banded.
type preparedPolygon struct {
	bound  orb.Bound
	edges  []edge
	bandH  float64 // band height in degrees
	nb     int     // bands
	starts []int32 // band b holds idx[starts[b]:starts[b+1]]
	idx    []int32 // edge numbers
}

type edge struct{ x0, y0, x1, y1 float64 }

// earthRadiusM is the sphere distances are measured on, in metres (the
// one orb's haversine uses).
const earthRadiusM = orb.EarthRadius

// NewArea prepares a watch's area for containment tests.
func NewArea(w *Watch) *Area {
	a := &Area{}
	switch g := w.Area.(type) {
	case orb.Point:
		a.center, a.radiusM = g, w.RadiusKM*1000
		a.bounds = circleBounds(g, a.radiusM)
	case orb.Polygon:
		a.addPolygon(g)
	case orb.MultiPolygon:
		for _, p := range g {
			a.addPolygon(p)
		}
	}
	return a
}

// Bounds are boxes that together cover the area, none across the
// antimeridian: what a spatial index of areas holds.
func (a *Area) Bounds() []orb.Bound { return a.bounds }

// circleBounds returns the box of a spherical cap: its latitude extent is
// the radius; its longitude extent is asin(sin r / cos lat). A cap that
// reaches a pole covers every longitude; one that crosses the
// antimeridian gets two boxes.
func circleBounds(c orb.Point, radiusM float64) []orb.Bound {
	ang := radiusM / earthRadiusM // radians
	dlat := ang * 180 / math.Pi
	s, n := c[1]-dlat, c[1]+dlat
	if s <= -90 || n >= 90 {
		return []orb.Bound{{Min: orb.Point{-180, math.Max(s, -90)}, Max: orb.Point{180, math.Min(n, 90)}}}
	}
	x := math.Sin(ang) / math.Cos(c[1]*math.Pi/180)
	if x >= 1 {
		return []orb.Bound{{Min: orb.Point{-180, s}, Max: orb.Point{180, n}}}
	}
	dlon := math.Asin(x) * 180 / math.Pi
	// A little margin for rounding: the exact test comes after.
	dlon, s, n = dlon*1.000001+1e-9, s-1e-9, n+1e-9
	return BBox{W: wrapLon(c[0] - dlon), S: s, E: wrapLon(c[0] + dlon), N: n}.Bounds()
}

// addPolygon prepares one polygon.
func (a *Area) addPolygon(p orb.Polygon) {
	pp := preparedPolygon{bound: p.Bound()}
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			if r[i-1][1] == r[i][1] {
				continue // horizontal edges never cross a horizontal ray
			}
			pp.edges = append(pp.edges, edge{r[i-1][0], r[i-1][1], r[i][0], r[i][1]})
		}
	}
	bands := max(1, min(len(pp.edges)/2, 4096))
	h := pp.bound.Max[1] - pp.bound.Min[1]
	pp.bandH = h / float64(bands)
	if pp.bandH <= 0 {
		pp.bandH, bands = 1, 1
	}
	pp.nb = bands
	counts := make([]int32, bands+1)
	eachBand := func(e edge, f func(b int)) {
		b0, b1 := pp.band(math.Min(e.y0, e.y1)), pp.band(math.Max(e.y0, e.y1))
		for b := b0; b <= b1 && b < bands; b++ {
			f(b)
		}
	}
	for _, e := range pp.edges {
		eachBand(e, func(b int) { counts[b+1]++ })
	}
	for b := 1; b <= bands; b++ {
		counts[b] += counts[b-1]
	}
	pp.starts = counts
	pp.idx = make([]int32, counts[bands])
	fill := append([]int32(nil), counts[:bands]...)
	for i, e := range pp.edges {
		eachBand(e, func(b int) {
			pp.idx[fill[b]] = int32(i)
			fill[b]++
		})
	}
	a.polys = append(a.polys, pp)
	a.bounds = append(a.bounds, pp.bound)
}

// band is the band of a latitude, clamped to the polygon's bands.
func (pp *preparedPolygon) band(y float64) int {
	b := int((y - pp.bound.Min[1]) / pp.bandH)
	return max(0, min(b, pp.nb-1))
}

// contains is the even-odd test over the edges of the point's band: holes
// are rings like the outer one, so a point in a hole crosses an even
// number of edges.
func (pp *preparedPolygon) contains(p orb.Point) bool {
	if !pp.bound.Contains(p) {
		return false
	}
	b := pp.band(p[1])
	in := false
	for _, i := range pp.idx[pp.starts[b]:pp.starts[b+1]] {
		e := &pp.edges[i]
		if (e.y0 > p[1]) != (e.y1 > p[1]) && p[0] < (e.x1-e.x0)*(p[1]-e.y0)/(e.y1-e.y0)+e.x0 {
			in = !in
		}
	}
	return in
}

// ContainsPoint reports whether the point lies in the area: within the
// circle's great-circle radius, or inside a polygon (not in a hole).
func (a *Area) ContainsPoint(p orb.Point) bool {
	if a.radiusM > 0 {
		return geo.DistanceHaversine(a.center, p) <= a.radiusM
	}
	for i := range a.polys {
		if a.polys[i].contains(p) {
			return true
		}
	}
	return false
}

// Contains reports whether a record's geometry lies, at least in part, in
// the area: an incident's point; for a route, a vertex or a position of the
// great-circle path between vertices (sampled every 10 km, or more
// sparsely on very long routes).
func (a *Area) Contains(g orb.Geometry) bool {
	switch g := g.(type) {
	case orb.Point:
		return a.ContainsPoint(g)
	case orb.LineString:
		return a.containsLine(g)
	case orb.MultiLineString:
		for _, l := range g {
			if a.containsLine(l) {
				return true
			}
		}
	}
	return false
}

func (a *Area) containsLine(l orb.LineString) bool {
	for _, p := range l {
		if a.ContainsPoint(p) {
			return true
		}
	}
	for _, p := range Densify(l, math.Max(10e3, geo.LengthHaversine(l)/5000)) {
		p[0] = wrapLon(p[0])
		if a.ContainsPoint(p) {
			return true
		}
	}
	return false
}
