package store

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"modernc.org/sqlite"

	"nexus/geo"
)

// The corridor filters (near, near_route) take three steps in SQL. The
// R*Tree keeps the entries whose box meets one of the corridor's boxes
// (geo.Near.Boxes: small boxes along the path). nexus_near_box then decides
// most of them from the R*Tree's own box (geo.Near.Box), without reading
// anything more; for the rest, nexus_near_point reads the exact box (kept
// in the auxiliary columns of coarse_boxes; of the record's geometry for
// boxes, nexus_near_part), and since a point's box is the point, measures
// a point there, exactly along great circles (geo.Near), before the
// record's Feature is read. Any other geometry the boxes could not decide passes on to
// nexus_near(geom, corridor), which measures the record's geometry.
// corridor is the distance in km (8 bytes) and the WKB of the point or
// path.
func init() {
	sqlite.MustRegisterFunction("nexus_near", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, Scalar: nearFunc, VolatileArgs: true})
	sqlite.MustRegisterFunction("nexus_near_box", &sqlite.FunctionImpl{NArgs: 5, Deterministic: true, Scalar: nearBoxFunc, VolatileArgs: true})
	sqlite.MustRegisterFunction("nexus_near_point", &sqlite.FunctionImpl{NArgs: 5, Deterministic: true, Scalar: nearPointFunc, VolatileArgs: true})
	sqlite.MustRegisterFunction("nexus_near_part", &sqlite.FunctionImpl{NArgs: 3, Deterministic: true, Scalar: nearPartFunc, VolatileArgs: true})
}

// nearPointTest is the test of an entry's exact box in a corridor
// condition on coarse_boxes, with the corridor as its argument; boxRids
// turns it into nearPointTestBoxes for boxes, which reads the record's
// geometry.
const (
	nearPointTest      = "nexus_near_point(x0, x1, y0, y1, ?)"
	nearPointTestBoxes = "(SELECT nexus_near_part(nexus_geom(e.geom, e.x, e.y), boxes.id & 1, ?) FROM records e WHERE e.rid = boxes.id >> 1)"
)

// corridors caches compiled corridors by their SQL argument.
var corridors struct {
	sync.Mutex
	m map[string]*geo.Near
}

func nearArg(n *geo.Near) ([]byte, error) {
	var shape orb.Geometry = n.Path
	if n.Point != nil {
		shape = *n.Point
	}
	if shape == nil {
		return nil, fmt.Errorf("corridor %s has no shape: the filter was not resolved", n)
	}
	g, err := wkb.Marshal(shape)
	if err != nil {
		return nil, err
	}
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(g)), math.Float64bits(n.Km))
	return append(b, g...), nil
}

// corridorOf returns the corridor of a nexus_near argument, compiled once.
// arg is SQLite's memory, valid only during the call: the cache keeps a copy.
func corridorOf(arg []byte) (*geo.Near, error) {
	if len(arg) < 9 {
		return nil, errors.New("nexus_near: bad corridor")
	}
	corridors.Lock()
	n := corridors.m[string(arg)]
	corridors.Unlock()
	if n != nil {
		return n, nil
	}
	shape, err := wkb.Unmarshal(arg[8:])
	if err != nil {
		return nil, err
	}
	n = &geo.Near{Km: math.Float64frombits(binary.LittleEndian.Uint64(arg[:8]))}
	if p, ok := shape.(orb.Point); ok {
		n.Point = &p
	} else {
		n.Path = shape
	}
	corridors.Lock()
	if len(corridors.m) >= 256 || corridors.m == nil {
		corridors.m = map[string]*geo.Near{}
	}
	corridors.m[string(arg)] = n
	corridors.Unlock()
	return n, nil
}

func nearFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	geom, _ := args[0].([]byte)
	arg, _ := args[1].([]byte)
	if len(geom) == 0 {
		return int64(0), nil // a link: no place
	}
	n, err := corridorOf(arg)
	if err != nil {
		return nil, err
	}
	g, err := wkb.Unmarshal(geom)
	if err != nil {
		return nil, err
	}
	if n.Contains(g) {
		return int64(1), nil
	}
	return int64(0), nil
}

// nearBoxFunc is nexus_near_box(minx, maxx, miny, maxy, corridor) over an
// R*Tree row's box (rounded out, so holding the record's positions): 0 when
// the record cannot be within the corridor, 1 when it is, 2 when the box
// cannot tell.
func nearBoxFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	var b orb.Bound
	b.Min[0], _ = args[0].(float64)
	b.Max[0], _ = args[1].(float64)
	b.Min[1], _ = args[2].(float64)
	b.Max[1], _ = args[3].(float64)
	arg, _ := args[4].([]byte)
	n, err := corridorOf(arg)
	if err != nil {
		return nil, err
	}
	switch n.Box(b) {
	case geo.BoxInside:
		return int64(1), nil
	case geo.BoxOutside:
		return int64(0), nil
	}
	return int64(2), nil
}

// nearPointFunc is nexus_near_point(x0, x1, y0, y1, corridor) over an
// R*Tree row's exact box: for a point box off the antimeridian, whether the
// point lies within the corridor; 1 for any other box, whose record
// nexus_near measures. A point record's one box is its point; other records
// have a point box only when their geometry is that one place (all
// positions the same) or for the part of a line beyond the antimeridian
// that only touches it, at longitude ±180, which is left to nexus_near.
func nearPointFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	x0, _ := args[0].(float64)
	x1, _ := args[1].(float64)
	y0, _ := args[2].(float64)
	y1, _ := args[3].(float64)
	if x0 != x1 || y0 != y1 || !(math.Abs(x0) < 180) {
		return int64(1), nil
	}
	arg, _ := args[4].([]byte)
	n, err := corridorOf(arg)
	if err != nil {
		return nil, err
	}
	if n.Contains(orb.Point{x0, y0}) {
		return int64(1), nil
	}
	return int64(0), nil
}

// nearPartFunc is nexus_near_part(geom, part, corridor), nexus_near_point
// on the exact box of a part of a record's geometry (partBox).
func nearPartFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	b, ok, err := partBox(args[0], args[1])
	if err != nil {
		return nil, err
	}
	p, isPoint := pointOfBox(b)
	if !ok || !isPoint {
		return int64(1), nil
	}
	arg, _ := args[2].([]byte)
	n, err := corridorOf(arg)
	if err != nil {
		return nil, err
	}
	if n.Contains(p) {
		return int64(1), nil
	}
	return int64(0), nil
}

// pointBoxSpan bounds the width and height, in degrees, of the R*Tree box
// of a point: its float32 box, rounded outwards, is a few float32 steps
// wide, under 1e-4° even at longitude 180.
const pointBoxSpan = 1e-3

// nearCondition is the SQL condition of a corridor filter on the records
// of collection c. Incidents are points, so the R*Tree search for them
// leaves out the wider boxes of routes before measuring anything. A record
// with a point (x) off the antimeridian was measured in the R*Tree already.
// A filter that is not exact measures sensitive records' coarse geometry
// (their coarse boxes, and x and y hold their coarse point); an exact one
// their exact boxes, and their geometry where a box cannot tell.
func nearCondition(c geo.Collection, n *geo.Near, exact bool) (string, []any) {
	arg, err := nearArg(n)
	if err != nil {
		return "0", nil // an unresolved route selects nothing
	}
	if c == geo.Routes {
		// A route's boxes hold its positions, not the great circles
		// between them, which bow out of them (towards a pole, by degrees
		// on a long leg): each route is measured. Routes are few.
		return "nexus_near(" + geomColumn(exact) + ", ?)", []any{arg}
	}
	points := ""
	if c == geo.Incidents {
		points = " AND maxx - minx <= " + strconv.FormatFloat(pointBoxSpan, 'g', -1, 64) + " AND maxy - miny <= " + strconv.FormatFloat(pointBoxSpan, 'g', -1, 64)
	}
	var parts []string
	var partArgs [][]any
	for _, b := range n.Boxes() {
		parts = append(parts, "minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"+points+
			" AND CASE nexus_near_box(minx, maxx, miny, maxy, ?) WHEN 2 THEN "+nearPointTest+" WHEN 1 THEN 1 ELSE 0 END")
		partArgs = append(partArgs, []any{b.Max[0], b.Min[0], b.Max[1], b.Min[1], arg, arg})
	}
	rids, args := boxRids(exact, parts, partArgs)
	measured := "abs(r.x) < 180"
	if exact {
		// x is a sensitive incident's coarse point, not the one its
		// exact box was measured at.
		measured += " AND r.rid NOT IN (" + sensitiveRids + ")"
	}
	return "r.rid IN (" + rids + ") AND (" + measured + " OR nexus_near(" + geomColumn(exact) + ", ?))", append(args, arg)
}

// resolveNear fills in the path of a near_route corridor from the route:
// for a filter that is not exact, the path viewers see of it.
func (db *DB) resolveNear(ctx context.Context, n *geo.Near, exact bool) error {
	if n == nil || n.Route == "" || n.Path != nil {
		return nil
	}
	st, err := db.Get(ctx, geo.Routes, n.Route)
	if err != nil {
		return geo.Errorf(geo.EMALFORMED, "near_route: there is no route with id %q", n.Route)
	}
	r, err := geo.DecodeFeature(geo.Routes, st.Feature)
	if err != nil {
		return err
	}
	if !exact {
		r = geo.Coarsened(r)
	}
	n.Path = r.Geometry()
	return nil
}
