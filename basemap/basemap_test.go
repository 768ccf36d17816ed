package basemap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math"
	"testing"
)

func tileAt(z int, lon, lat float64) (x, y int) {
	s := math.Sin(lat * math.Pi / 180)
	n := math.Exp2(float64(z))
	return int((lon + 180) / 360 * n), int((0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * n)
}

// shapes decodes a tile with shapes: its rings, border lines and lines
// between first-level divisions, as absolute positions.
func shapes(t *testing.T, gz []byte) (rings, lines, divisions [][][2]int64) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if len(b) == 0 || b[0] != Shapes {
		t.Fatalf("not a tile with shapes: %v", b[:min(len(b), 4)])
	}
	b = b[1:]
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			t.Fatal("truncated tile")
		}
		b = b[n:]
		return v
	}
	run := func() [][2]int64 {
		n := next()
		out := make([][2]int64, n)
		var x, y int64
		for i := range out {
			dx, dy := next(), next()
			x += int64(dx>>1) ^ -int64(dx&1)
			y += int64(dy>>1) ^ -int64(dy&1)
			out[i] = [2]int64{x, y}
		}
		return out
	}
	for np := next(); np > 0; np-- {
		for nr := next(); nr > 0; nr-- {
			rings = append(rings, run())
		}
	}
	for nl := next(); nl > 0; nl-- {
		lines = append(lines, run())
	}
	for na := next(); na > 0; na-- {
		divisions = append(divisions, run())
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes after the last line", len(b))
	}
	return rings, lines, divisions
}

func TestTiles(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	n, size := s.Size()
	if n < 5000 || size > 16<<20 {
		t.Errorf("%d tiles with shapes in %d bytes", n, size)
	}
	kind := func(z int, lon, lat float64) byte {
		x, y := tileAt(z, lon, lat)
		body, _, ok := s.Tile(z, x, y)
		if !ok || len(body) == 0 {
			t.Fatalf("tile %d/%d/%d: ok %v", z, x, y, ok)
		}
		if len(body) == 1 {
			return body[0]
		}
		return Shapes
	}
	for _, c := range []struct {
		what     string
		z        int
		lon, lat float64
		want     byte
	}{
		{"mid-Atlantic", 8, -35, 20, Sea},
		{"the Amazon", 8, -62, -5, Land},

		{"Tumaco's coast", 8, -78.79, 1.79, Shapes},
		{"Bissau's coast", 8, -15.6, 11.86, Shapes},
		{"the world", 0, 0, 0, Shapes},
	} {
		if got := kind(c.z, c.lon, c.lat); got != c.want {
			t.Errorf("%s at zoom %d: kind %d, want %d", c.what, c.z, got, c.want)
		}
	}
	// Off the grid: zooms not stored, past the deepest, coordinates out of range.
	for _, c := range [][3]int{{1, 0, 0}, {9, 0, 0}, {10, 0, 0}, {2, 4, 0}, {2, 0, -1}, {-2, 0, 0}} {
		if _, _, ok := s.Tile(c[0], c[1], c[2]); ok {
			t.Errorf("Tile%v is ok", c)
		}
	}
}

// At Tumaco the coast is drawn from hundreds of vertices and its islands
// (Natural Earth had a triangle there), no edge longer than the source's
// straightest beaches, and the border with Ecuador crosses the tile south
// of it.
func TestTumacoCoast(t *testing.T) {
	s, _ := Default()
	x, y := tileAt(MaxZoom, -78.79, 1.79)
	body, gz, ok := s.Tile(MaxZoom, x, y)
	if !ok || !gz {
		t.Fatalf("Tumaco's tile: ok %v gz %v", ok, gz)
	}
	rings, _, _ := shapes(t, body)
	vertices, longest := 0, 0.0
	margin := int64(MaxExtent / 64)
	for _, r := range rings {
		vertices += len(r)
		for i := 1; i < len(r); i++ {
			a, b := r[i-1], r[i]
			onMargin := a[0] == b[0] && (a[0] == -margin || a[0] == MaxExtent+margin) ||
				a[1] == b[1] && (a[1] == -margin || a[1] == MaxExtent+margin)
			if !onMargin {
				longest = math.Max(longest, math.Hypot(float64(b[0]-a[0]), float64(b[1]-a[1])))
			}
		}
	}
	// A tile of zoom 8 is 156 km across at the equator: 9.5 m per position.
	const mPerUnit = 40075016.0 / 256 / MaxExtent
	if vertices < 150 || len(rings) < 5 || longest*mPerUnit > 6000 {
		t.Errorf("Tumaco's tile: %d rings, %d vertices, longest coast edge %.0f m", len(rings), vertices, longest*mPerUnit)
	}
	bx, by := tileAt(MaxZoom, -78.8, 1.3) // the border near the Mira's mouth
	body, _, _ = s.Tile(MaxZoom, bx, by)
	if _, lines, _ := shapes(t, body); len(lines) == 0 {
		t.Error("no border line in the tile of the Colombia–Ecuador border")
	}
}

// Lines between first-level divisions: round Bogotá (Bogotá D.C.,
// Cundinamarca, Meta…) from AdminZoom on, none at the zooms below it.
func TestDivisions(t *testing.T) {
	s, _ := Default()
	for z := 0; z <= MaxZoom; z += ZoomStep {
		x, y := tileAt(z, -74.08, 4.61)
		body, gz, ok := s.Tile(z, x, y)
		if !ok || !gz {
			t.Fatalf("zoom %d: Bogotá's tile has no shapes", z)
		}
		_, _, divisions := shapes(t, body)
		if z < AdminZoom && len(divisions) > 0 || z >= AdminZoom && len(divisions) == 0 {
			t.Errorf("zoom %d: %d lines between divisions round Bogotá", z, len(divisions))
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("NXBM0\n"), []byte(Magic), append([]byte(Magic), 8, 0x80, 0x20, 0x80, 0x80, 0x01, 5)} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%q) accepted", b)
		}
	}
}

// FuzzDecode: any bytes give a tile set or an error, never a panic, and a
// set that decodes answers every tile it indexes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(Magic))
	f.Add(append([]byte(Magic), MaxZoom, 0x80, 0x20, 0x80, 0x80, 0x01, 1, 0, 2, 3, 1, 2, 3))
	f.Add(tilesBin[:min(len(tilesBin), 4096)])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		for k := range s.kinds {
			z, x, y := int(k>>58), int(k>>29&(1<<29-1)), int(k&(1<<29-1))
			s.Tile(z, x, y)
		}
	})
}
