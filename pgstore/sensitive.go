package pgstore

import (
	"github.com/paulmach/orb"

	"nexus/geo"
)

// Sensitive records (geo.Coarsened) keep their exact geometry in
// records.geom, as every record does, and the geometry viewers see in
// records.coarse. Their exact boxes serve editors only and their coarse
// boxes viewers only (record_boxes.editors, .viewers). A filter that is not
// Exact (a viewer's) tests the coarse boxes and geometry of those records
// instead of the exact ones, and the Features it returns are coarsened as
// they are read: the SQLite engine's rule, on PostgreSQL.

// indexBox is one row of record_boxes: a box and who tests it.
type indexBox struct {
	orb.Bound
	editors, viewers bool
}

// appendIndexBoxes appends the record_boxes rows of a record to dst: its
// exact boxes for everyone, or for a sensitive record its exact boxes for
// editors and the boxes of its coarse geometry for viewers.
func appendIndexBoxes(dst []indexBox, r geo.Record, exact []orb.Bound) []indexBox {
	sensitive := geo.IsSensitive(r)
	for _, b := range exact {
		dst = append(dst, indexBox{b, true, !sensitive})
	}
	if sensitive {
		if in, ok := r.(*geo.Incident); ok {
			// The box of its coarsened copy, without making the copy.
			return append(dst, indexBox{geo.CoarsePoint(in.Point).Bound(), false, true})
		}
		for _, b := range geo.Coarsened(r).Keys().Boxes {
			dst = append(dst, indexBox{b, false, true})
		}
	}
	return dst
}

// boxesFor is the condition on record_boxes that keeps the boxes a filter
// tests: the exact ones for an Exact filter, else those viewers see.
func boxesFor(exact bool) string {
	if exact {
		return "editors"
	}
	return "viewers"
}

// geomFor is the SQL of the geometry of a record r that a filter tests:
// for a filter that is not Exact, a sensitive record's coarse geometry.
func geomFor(exact bool) string {
	if exact {
		return "r.geom"
	}
	return "coalesce(r.coarse, r.geom)"
}

// shown is what the filter's caller sees of a Feature read under it: a
// viewer's copy of a sensitive record is coarsened (geo.PublicFeature).
func shown(c geo.Collection, f geo.Filter, feature []byte) ([]byte, error) {
	if f.Exact {
		return feature, nil
	}
	return geo.PublicFeature(c, feature)
}
