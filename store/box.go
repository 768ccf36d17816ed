package store

import (
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"modernc.org/sqlite"

	"nexus/geo"
)

// The R*Tree boxes keeps each record's boxes (geo.Keys.Boxes; id = rid*2 +
// part) as 32-bit floats rounded outwards, and nothing more. A search
// there is made exact by reading the record's geometry, for the entries
// the 32-bit box cannot decide: those within a 32-bit step of the query's
// edge. coarse_boxes keeps the exact boxes of the coarse geometry in its
// auxiliary columns (x0, x1, y0, y1), for the few sensitive records.

// exactBoxTest is the final test of an R*Tree search on the exact box, in
// a condition on coarse_boxes, with the arguments east, west, north and
// south of the query's box; boxRids turns it into exactBoxTestBoxes for
// boxes.
const exactBoxTest = "x0 <= ? AND x1 >= ? AND y0 <= ? AND y1 >= ?"

// exactBoxTestBoxes is exactBoxTest on boxes: the exact box of the entry's
// part, of the record's geometry (see geomColumn for nexus_geom).
const exactBoxTestBoxes = "(SELECT nexus_box_meets(nexus_geom(e.geom, e.x, e.y), boxes.id & 1, ?, ?, ?, ?) FROM records e WHERE e.rid = boxes.id >> 1)"

func init() {
	// nexus_box_meets(geom, part, east, west, north, south): whether the
	// exact box of the part of a geometry meets the query's box.
	sqlite.MustRegisterFunction("nexus_box_meets", &sqlite.FunctionImpl{NArgs: 6, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			b, ok, err := partBox(args[0], args[1])
			if err != nil || !ok {
				return int64(0), err
			}
			e, _ := args[2].(float64)
			w, _ := args[3].(float64)
			n, _ := args[4].(float64)
			s, _ := args[5].(float64)
			if b.Min[0] <= e && b.Max[0] >= w && b.Min[1] <= n && b.Max[1] >= s {
				return int64(1), nil
			}
			return int64(0), nil
		}})
	// nexus_box_coord(geom, part, i): coordinate i of the exact box of
	// the part (0 west, 1 south, 2 east, 3 north); NULL without one.
	sqlite.MustRegisterFunction("nexus_box_coord", &sqlite.FunctionImpl{NArgs: 3, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			b, ok, err := partBox(args[0], args[1])
			if err != nil || !ok {
				return nil, err
			}
			i, _ := args[2].(int64)
			return [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}[i&3], nil
		}})
}

// partBox is the exact box of part (0 or 1) of a WKB geometry, as
// geo.Keys.Boxes has it for the record; false for a part there is none of.
func partBox(geom, part driver.Value) (orb.Bound, bool, error) {
	g, _ := geom.([]byte)
	p, _ := part.(int64)
	if len(g) == 0 {
		return orb.Bound{}, false, nil
	}
	shape, err := wkb.Unmarshal(g)
	if err != nil {
		return orb.Bound{}, false, fmt.Errorf("a stored geometry: %w", err)
	}
	boxes := geometryBoxes(shape)
	if p < 0 || p >= int64(len(boxes)) {
		return orb.Bound{}, false, nil
	}
	return boxes[p], true, nil
}

// geometryBoxes are the boxes of a record of this geometry (geo.Keys):
// a point's, or a line's, split at the antimeridian.
func geometryBoxes(g orb.Geometry) []orb.Bound {
	if p, ok := g.(orb.Point); ok {
		return []orb.Bound{p.Bound()}
	}
	return (&geo.Route{Line: g}).Keys().Boxes
}

// pointOfBox is the point of an exact box that is one, off the
// antimeridian; false for any other box.
func pointOfBox(b orb.Bound) (orb.Point, bool) {
	if b.Min != b.Max || !(math.Abs(b.Min[0]) < 180) {
		return orb.Point{}, false
	}
	return b.Min, true
}

// boxCondition is the condition, on an R*Tree's entries, of a box meeting
// b exactly, with its arguments. The exact test (exactBoxTest) reads the
// auxiliary columns or the record, one lookup per entry: only entries
// whose rounded-out float32 box is not wholly inside b, those within a
// float32 step of an edge, need it.
func boxCondition(b orb.Bound) (string, []any) {
	return "minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?" +
			" AND ((minx >= ? AND maxx <= ? AND miny >= ? AND maxy <= ?) OR (" + exactBoxTest + "))",
		[]any{b.Max[0], b.Min[0], b.Max[1], b.Min[1],
			b.Min[0], b.Max[0], b.Min[1], b.Max[1],
			b.Max[0], b.Min[0], b.Max[1], b.Min[1]}
}
