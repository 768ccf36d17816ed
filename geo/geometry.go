package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// MaxVertices is the most positions one geometry may have.
const MaxVertices = 10000

// geometryJSON is a GeoJSON geometry as it arrives, before its rules are checked.
type geometryJSON struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// decodeGeometry reads a GeoJSON geometry of one of the allowed types and
// checks the geometry rules, naming the rule and the position it breaks.
func decodeGeometry(raw json.RawMessage, allowed ...string) (orb.Geometry, *FieldError) {
	bad := func(format string, args ...any) (orb.Geometry, *FieldError) {
		return nil, &FieldError{Field: "geometry", Message: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return bad("is required")
	}
	var g geometryJSON
	if err := strictUnmarshal(raw, &g); err != nil {
		return bad("is not a GeoJSON geometry: %v", err)
	}
	ok := false
	for _, a := range allowed {
		ok = ok || g.Type == a
	}
	if !ok {
		return bad("type %q is not allowed here; use %v", g.Type, allowed)
	}
	// encoding/json leaves a null as 0 in a []float64, which would turn
	// [null, null] into a point at 0, 0. Valid coordinates hold only arrays
	// and numbers, so any "null" in them is a null coordinate.
	if bytes.Contains(g.Coordinates, []byte("null")) {
		return bad("coordinates must be finite numbers, not null")
	}
	switch g.Type {
	case "Point":
		var c []float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return bad("Point coordinates must be [lon, lat]")
		}
		p, fe := position(c, "geometry.coordinates")
		if fe != nil {
			return nil, fe
		}
		return p, nil
	case "LineString":
		var c [][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return bad("LineString coordinates must be an array of [lon, lat] positions")
		}
		return lineString(c, "geometry.coordinates", len(c))
	case "MultiLineString":
		var c [][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return bad("MultiLineString coordinates must be an array of arrays of [lon, lat] positions")
		}
		if len(c) == 0 {
			return bad("a MultiLineString needs at least one line")
		}
		total := 0
		for _, l := range c {
			total += len(l)
		}
		mls := make(orb.MultiLineString, len(c))
		for i, l := range c {
			ls, fe := lineString(l, fmt.Sprintf("geometry.coordinates[%d]", i), total)
			if fe != nil {
				return nil, fe
			}
			mls[i] = ls.(orb.LineString)
		}
		return mls, nil
	}
	return bad("type %q is not supported", g.Type)
}

func lineString(c [][]float64, field string, total int) (orb.Geometry, *FieldError) {
	if total > MaxVertices {
		return nil, &FieldError{Field: "geometry", Message: fmt.Sprintf("has %d positions, more than the limit of %d", total, MaxVertices)}
	}
	ls := make(orb.LineString, len(c))
	distinct := 0
	for i, pos := range c {
		p, fe := position(pos, fmt.Sprintf("%s[%d]", field, i))
		if fe != nil {
			return nil, fe
		}
		ls[i] = p
		if i == 0 || p != ls[0] {
			distinct++
		}
	}
	if distinct < 2 {
		return nil, &FieldError{Field: field, Message: "a LineString needs at least 2 distinct positions"}
	}
	return ls, nil
}

// position checks one [lon, lat] position.
func position(c []float64, field string) (orb.Point, *FieldError) {
	bad := func(format string, args ...any) (orb.Point, *FieldError) {
		return orb.Point{}, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if len(c) != 2 {
		return bad("a position must be [lon, lat], got %d numbers", len(c))
	}
	return CheckPoint(orb.Point{c[0], c[1]}, field)
}

// CheckPoint checks the coordinate rules: finite numbers, longitude in
// [-180, 180], latitude in [-90, 90].
func CheckPoint(p orb.Point, field string) (orb.Point, *FieldError) {
	switch {
	case math.IsNaN(p[0]) || math.IsInf(p[0], 0) || math.IsNaN(p[1]) || math.IsInf(p[1], 0):
		return p, &FieldError{Field: field, Message: "coordinates must be finite numbers"}
	case p[0] < -180 || p[0] > 180:
		return p, &FieldError{Field: field, Message: fmt.Sprintf("longitude %v is outside [-180, 180]", p[0])}
	case p[1] < -90 || p[1] > 90:
		return p, &FieldError{Field: field, Message: fmt.Sprintf("latitude %v is outside [-90, 90]", p[1])}
	}
	return p, nil
}

// Boxes returns the bounding boxes of a geometry in a form that never wraps:
// one box, or two when a line crosses the antimeridian (a segment whose
// longitudes differ by more than 180° takes the short way across it). The
// second box then covers the part west of the antimeridian.
func Boxes(g orb.Geometry) []orb.Bound {
	var lines []orb.LineString
	switch g := g.(type) {
	case orb.Point:
		return []orb.Bound{g.Bound()}
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		lines = g
	case nil:
		return []orb.Bound{{}}
	default:
		return []orb.Bound{g.Bound()}
	}
	var east, west orb.Bound // east: x in (0, 180] side of a crossing; west: [-180, 0)
	var plain orb.Bound
	hasPlain, hasEast, hasWest := false, false, false
	extend := func(b *orb.Bound, has *bool, p orb.Point) {
		if !*has {
			*b, *has = orb.Bound{Min: p, Max: p}, true
		} else {
			*b = b.Extend(p)
		}
	}
	for _, ls := range lines {
		for i, p := range ls {
			extend(&plain, &hasPlain, p)
			if i == 0 {
				continue
			}
			q := ls[i-1]
			if math.Abs(p[0]-q[0]) <= 180 {
				continue
			}
			// The segment crosses the antimeridian: find the latitude where it does.
			e, w := q, p
			if e[0] < w[0] {
				e, w = w, e
			}
			dx := (180 - e[0]) + (w[0] + 180)
			lat := e[1]
			if dx > 0 {
				lat = e[1] + (w[1]-e[1])*(180-e[0])/dx
			}
			extend(&east, &hasEast, e)
			extend(&east, &hasEast, orb.Point{180, lat})
			extend(&west, &hasWest, w)
			extend(&west, &hasWest, orb.Point{-180, lat})
		}
	}
	if !hasEast {
		return []orb.Bound{plain}
	}
	// Assign the vertices to the boxes by walking each line and changing
	// box only where it crosses the antimeridian, so that a segment that
	// does not cross lies wholly in one box. (Sorting vertices by the sign
	// of their longitude would leave out a segment from -10 to 100.) The
	// crossings themselves were added above.
	for _, ls := range lines {
		onEast := len(ls) > 0 && ls[0][0] >= 0
		for i := 1; i < len(ls); i++ {
			if math.Abs(ls[i][0]-ls[i-1][0]) > 180 {
				onEast = ls[i-1][0] > 0
				break
			}
		}
		for i, p := range ls {
			if i > 0 && math.Abs(p[0]-ls[i-1][0]) > 180 {
				onEast = p[0] > 0
			}
			if onEast {
				extend(&east, &hasEast, p)
			} else {
				extend(&west, &hasWest, p)
			}
		}
	}
	return []orb.Bound{east, west}
}

// Densify returns the line drawn along great circles: extra positions are
// added so that no step is longer than maxStep metres. Longitudes are left
// continuous across the antimeridian (they may leave [-180, 180]) so that a
// map can draw the line without a jump.
func Densify(ls orb.LineString, maxStep float64) orb.LineString {
	if len(ls) < 2 || maxStep <= 0 {
		return ls
	}
	out := orb.LineString{ls[0]}
	for i := 1; i < len(ls); i++ {
		a, b := ls[i-1], ls[i]
		d := geo.DistanceHaversine(a, b) // geo.Distance is a flat approximation: it overshoots long legs
		n := int(math.Ceil(d / maxStep))
		bearing := geo.Bearing(a, b)
		prev := out[len(out)-1]
		for k := 1; k < n; k++ {
			p := geo.PointAtBearingAndDistance(a, bearing, d*float64(k)/float64(n))
			p[0] = unwrap(prev[0], p[0])
			out = append(out, p)
			prev = p
		}
		b[0] = unwrap(prev[0], b[0])
		out = append(out, b)
	}
	return out
}

// unwrap shifts lon by whole turns so it lies within 180° of ref.
func unwrap(ref, lon float64) float64 {
	for lon-ref > 180 {
		lon -= 360
	}
	for lon-ref < -180 {
		lon += 360
	}
	return lon
}

// routeBoxes returns the boxes of a route that cover both its straight
// segments and the great-circle arcs a map draws between its vertices
// (positions every 100 km, further apart on very long routes so a route
// never grows beyond a few thousand positions).
func routeBoxes(g orb.Geometry) []orb.Bound {
	var lines orb.MultiLineString
	switch g := g.(type) {
	case orb.LineString:
		lines = orb.MultiLineString{g}
	case orb.MultiLineString:
		lines = g
	default:
		return Boxes(g)
	}
	all := append(orb.MultiLineString{}, lines...)
	for _, l := range lines {
		d := Densify(l, math.Max(100e3, geo.LengthHaversine(l)/2000))
		for i := range d {
			d[i][0] = wrapLon(d[i][0])
		}
		all = append(all, d)
	}
	return Boxes(all)
}

// wrapLon brings a longitude back into [-180, 180].
func wrapLon(lon float64) float64 {
	for lon > 180 {
		lon -= 360
	}
	for lon < -180 {
		lon += 360
	}
	return lon
}

// checkLines checks the geometry rules of a route built in Go, as
// decodeGeometry does for one that arrives as GeoJSON.
func checkLines(v *invalid, g orb.Geometry) {
	var lines []orb.LineString
	switch g := g.(type) {
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		if len(g) == 0 {
			v.add("geometry", "a MultiLineString needs at least one line")
		}
		lines = g
	default:
		v.add("geometry", "a route is a LineString or a MultiLineString")
		return
	}
	total := 0
	for i, l := range lines {
		total += len(l)
		distinct := 0
		for k, p := range l {
			if _, fe := CheckPoint(p, fmt.Sprintf("geometry.coordinates[%d][%d]", i, k)); fe != nil {
				v.fields = append(v.fields, *fe)
				return
			}
			if k == 0 || p != l[0] {
				distinct++
			}
		}
		if distinct < 2 {
			v.add(fmt.Sprintf("geometry.coordinates[%d]", i), "a LineString needs at least 2 distinct positions")
		}
	}
	if total > MaxVertices {
		v.add("geometry", "has %d positions, more than the limit of %d", total, MaxVertices)
	}
}

// EachVertex calls f with every vertex of a geometry, in order.
func EachVertex(g orb.Geometry, f func(orb.Point)) {
	eachRun(g, func(ps []orb.Point) {
		for _, p := range ps {
			f(p)
		}
	})
}

// eachRun calls f with each run of positions of a geometry, in order: a
// point's one, a line's, each ring of a polygon, each part of a
// multi-geometry, the outline of a bound.
func eachRun(g orb.Geometry, f func([]orb.Point)) {
	switch g := g.(type) {
	case orb.Point:
		f([]orb.Point{g})
	case orb.MultiPoint:
		for _, p := range g {
			f([]orb.Point{p})
		}
	case orb.LineString:
		f(g)
	case orb.Ring:
		f(g)
	case orb.MultiLineString:
		for _, l := range g {
			f(l)
		}
	case orb.Polygon:
		for _, r := range g {
			f(r)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			for _, r := range p {
				f(r)
			}
		}
	case orb.Bound:
		f(g.ToPolygon()[0])
	}
}
