package store

import (
	"database/sql/driver"
	"encoding/binary"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"modernc.org/sqlite"

	"nexus/geo"
)

// Sensitive records (geo.Coarsened) keep their exact geometry in records
// and boxes, as every record does, and the boxes of their coarse geometry
// in coarse_boxes. A filter that is not Exact (a viewer's) tests, for the
// records of coarse_boxes, their coarse boxes and geometry instead of the
// exact ones, and the Features it returns are coarsened as they are read.

func init() {
	// nexus_geom(geom, x, y) is the WKB of a record's geometry: geom, or
	// for a row without one that has a point, the point (x, y).
	sqlite.MustRegisterDeterministicScalarFunction("nexus_geom", 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if b, ok := args[0].([]byte); ok && len(b) > 0 {
			return b, nil
		}
		x, okx := args[1].(float64)
		y, oky := args[2].(float64)
		if !okx || !oky {
			return args[0], nil
		}
		return pointWKB(x, y), nil
	})
	// nexus_coarse(geom) is the WKB of the coarse geometry of a WKB geometry.
	sqlite.MustRegisterDeterministicScalarFunction("nexus_coarse", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		b, ok := args[0].([]byte)
		if !ok || len(b) == 0 {
			return args[0], nil
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return nil, err
		}
		return wkb.Marshal(geo.CoarseGeometry(g))
	})
}

// coarseBoxes are the boxes of a sensitive record's coarse geometry; nil
// for any other record.
func coarseBoxes(r geo.Record) []orb.Bound {
	if !geo.IsSensitive(r) {
		return nil
	}
	return geo.Coarsened(r).Keys().Boxes
}

// sensitiveRids selects the rids of the sensitive records.
const sensitiveRids = "SELECT id>>1 FROM coarse_boxes"

// boxRids is a compound SELECT of the rids of the records whose box meets
// one of the conditions on an R*Tree's columns, each with its arguments:
// the exact boxes for an Exact filter; otherwise the exact boxes of the
// records that are not sensitive and the coarse boxes of those that are.
// The conditions are written for coarse_boxes (minx, maxx, miny, maxy and
// the exact x0, x1, y0, y1 in exactBoxTest and nearPointTest); on boxes,
// which keeps no exact box, those tests read the record's geometry.
func boxRids(exact bool, conds []string, condArgs [][]any) (string, []any) {
	var parts []string
	var args []any
	for i, c := range conds {
		c = strings.ReplaceAll(c, exactBoxTest, exactBoxTestBoxes)
		c = strings.ReplaceAll(c, nearPointTest, nearPointTestBoxes)
		parts = append(parts, "SELECT id>>1 FROM boxes WHERE "+c)
		args = append(args, condArgs[i]...)
	}
	q := strings.Join(parts, " UNION ")
	if exact {
		return q, args
	}
	q += " EXCEPT " + sensitiveRids
	for i, c := range conds {
		q += " UNION SELECT id>>1 FROM coarse_boxes WHERE " + c
		args = append(args, condArgs[i]...)
	}
	return q, args
}

// geomColumn is the SQL of the geometry a filter tests: for a filter that
// is not Exact, sensitive records' coarse geometry. The row of a point
// that is not sensitive keeps no geometry: x and y are its point
// (nexus_geom).
func geomColumn(exact bool) string {
	if exact {
		return "nexus_geom(r.geom, r.x, r.y)"
	}
	return "(CASE WHEN r.rid IN (" + sensitiveRids + ") THEN nexus_coarse(r.geom) ELSE nexus_geom(r.geom, r.x, r.y) END)"
}

// pointWKB is the WKB of a point: little-endian, type 1, x, y.
func pointWKB(x, y float64) []byte {
	b := make([]byte, 21)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 1)
	binary.LittleEndian.PutUint64(b[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(b[13:], math.Float64bits(y))
	return b
}

// shown is what the filter's caller sees of a Feature read under it, as
// stored (blob, unpacked in dst's memory when it has room): a viewer's
// copy of a sensitive record is coarsened (geo.PublicFeature).
func shown(dst []byte, c geo.Collection, f geo.Filter, blob []byte) ([]byte, error) {
	feature, err := unpack(dst, blob)
	if err != nil || f.Exact {
		return feature, err
	}
	return geo.PublicFeature(c, feature)
}
