package store

import (
	"database/sql/driver"
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
// one of the conditions on an R*Tree's columns (minx, maxx, miny, maxy,
// x0, x1, y0, y1), each with its arguments: the exact boxes for an Exact
// filter; otherwise the exact boxes of the records that are not sensitive
// and the coarse boxes of those that are.
func boxRids(exact bool, conds []string, condArgs [][]any) (string, []any) {
	var parts []string
	var args []any
	for i, c := range conds {
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
// is not Exact, sensitive records' coarse geometry.
func geomColumn(exact bool) string {
	if exact {
		return "r.geom"
	}
	return "(CASE WHEN r.rid IN (" + sensitiveRids + ") THEN nexus_coarse(r.geom) ELSE r.geom END)"
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
