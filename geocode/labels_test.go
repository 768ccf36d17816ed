package geocode

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// tileOf is the tile of zoom z holding a point.
func tileOf(z int, lon, lat float64) (x, y int) {
	mx, my := mercator(lon, lat)
	s := math.Exp2(float64(z))
	return int(mx * s), int(my * s)
}

func labelNames(ls []Label) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestLabelsByZoom(t *testing.T) {
	g := loaded(t)
	// Bogotá is labelled over Colombia at zoom 3, Tumaco not before a
	// closer zoom; over West Africa Dakar first, Bissau from zoom 5.
	cases := []struct {
		z        int
		lon, lat float64
		want     string
		kind     string
		not      string
	}{
		{3, -74.08, 4.61, "Bogotá", KindCapital, "Tumaco"},
		{3, -15.6, 11.86, "Dakar", KindCapital, "Bissau"},
		{5, -15.6, 11.86, "Bissau", KindCapital, "Bafatá"},
		{8, -78.8, 1.8, "Tumaco", KindTown, ""},
		{8, -14.7, 12.17, "Bafatá", KindTown, ""},
	}
	for _, c := range cases {
		x, y := tileOf(c.z, c.lon, c.lat)
		ls := g.Labels(c.z, x, y)
		names := labelNames(ls)
		i := slices.Index(names, c.want)
		if i < 0 {
			t.Errorf("zoom %d tile %d/%d: %q missing from %v", c.z, x, y, c.want, names)
			continue
		}
		if ls[i].Kind != c.kind || ls[i].Zoom > c.z {
			t.Errorf("%s: kind %q zoom %d, want %q and at most %d", c.want, ls[i].Kind, ls[i].Zoom, c.kind, c.z)
		}
		if c.not != "" && slices.Contains(names, c.not) {
			t.Errorf("zoom %d: %q labelled already: %v", c.z, c.not, names)
		}
	}
}

// At every zoom, the labels round Bogotá are at least LabelSpacing pixels
// apart and appear from that zoom or before; a place labelled stays
// labelled deeper, and more appear.
func TestLabelsDeclutter(t *testing.T) {
	g := loaded(t)
	// The area: the tile of zoom 9 holding Bogotá and its eight neighbours.
	bx, by := tileOf(9, -74.08, 4.61)
	var prev map[string]bool
	for z := 3; z <= LabelMaxZoom; z++ {
		var ls []Label
		if z <= 9 {
			x, y := bx>>(9-z), by>>(9-z)
			for dx := -1; dx <= 1; dx++ {
				for dy := -1; dy <= 1; dy++ {
					ls = append(ls, g.Labels(z, x+dx, y+dy)...)
				}
			}
		} else {
			k := 1 << (z - 9)
			for x := (bx - 1) * k; x < (bx+2)*k; x++ {
				for y := (by - 1) * k; y < (by+2)*k; y++ {
					ls = append(ls, g.Labels(z, x, y)...)
				}
			}
		}
		s := 256 * math.Exp2(float64(z))
		seen := map[string]bool{}
		x0, y0 := float64(bx-1)/512, float64(by-1)/512
		x1, y1 := float64(bx+2)/512, float64(by+2)/512
		for i := range ls {
			if ls[i].Zoom > z {
				t.Fatalf("zoom %d: %s appears from %d", z, ls[i].Name, ls[i].Zoom)
			}
			xi, yi := mercator(ls[i].Point[0], ls[i].Point[1])
			if xi >= x0 && xi < x1 && yi >= y0 && yi < y1 {
				seen[ls[i].Name+fmt.Sprint(ls[i].Point)] = true
			}
			for j := range i {
				xj, yj := mercator(ls[j].Point[0], ls[j].Point[1])
				if d := math.Hypot(xi-xj, yi-yj) * s; d < LabelSpacing-1e-6 {
					t.Fatalf("zoom %d: %s and %s are %.1f px apart", z, ls[i].Name, ls[j].Name, d)
				}
			}
		}
		for k := range prev {
			if !seen[k] {
				t.Errorf("zoom %d: %s no longer labelled", z, k)
			}
		}
		if prev != nil && len(seen) <= len(prev) && z >= 7 && z <= 12 {
			t.Errorf("zoom %d: %d labels, no more than %d at the zoom before", z, len(seen), len(prev))
		}
		prev = seen
	}
	if len(prev) < 50 {
		t.Errorf("only %d labels round Bogotá at zoom %d", len(prev), LabelMaxZoom)
	}
}

func TestLabelsOutOfGrid(t *testing.T) {
	g := loaded(t)
	for _, c := range [][3]int{{-1, 0, 0}, {3, 8, 0}, {3, 0, 8}, {2, -1, 0}, {31, 0, 0}} {
		if ls := g.Labels(c[0], c[1], c[2]); ls != nil {
			t.Errorf("Labels%v = %d labels, want none", c, len(ls))
		}
	}
}
