package geo

import (
	"testing"

	"github.com/paulmach/orb"
)

// A map draws routes along great circles; a box over the arc must find the
// route even where the arc bows far from the straight segment.
func TestRouteBoxesCoverGreatCircle(t *testing.T) {
	r := &Route{Name: "Washington to Madrid", Commodity: "cash", Line: orb.LineString{{-77.04, 38.9}, {-3.7, 40.4}}}
	r.Normalize(nil)
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	arc := Filter{Span: All, BBox: &BBox{-45, 45, -35, 50}} // the arc peaks near 46°N mid-Atlantic
	if !arc.Match(r) {
		t.Fatalf("a box over the great-circle arc misses the route: boxes %v", r.Keys().Boxes)
	}
	south := Filter{Span: All, BBox: &BBox{-45, 20, -35, 30}}
	if south.Match(r) {
		t.Fatalf("a box far south of the route matches it: boxes %v", r.Keys().Boxes)
	}
}

func TestRouteValidateChecksGeometry(t *testing.T) {
	for name, g := range map[string]orb.Geometry{
		"empty multi":         orb.MultiLineString{},
		"one distinct":        orb.LineString{{1, 1}, {1, 1}},
		"latitude out":        orb.LineString{{1, 1}, {1, 91}},
		"point is not a line": orb.Point{1, 1},
	} {
		r := &Route{Name: "r", Commodity: "arms", Line: g}
		r.Normalize(nil)
		if err := r.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%s: got %v, want invalid", name, err)
		}
	}
}
