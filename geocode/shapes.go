package geocode

import "math"

// shapeIndex answers "which country is this point in" from the edges of the
// Natural Earth admin-0 polygons, without testing whole polygons.
//
// The world is cut into 1° cells; a cell that holds edges is cut again into
// 4×4 sub-cells, down to a few edges per cell (or about 400 m). Every cell
// knows the country at its reference point (near its centre), worked out
// once at load. A query walks down to its cell and counts, per country, the
// edges that the segment from the reference point to the query point
// crosses: an odd count means it crossed that country's boundary. That is
// the even-odd rule of point-in-polygon, on a segment a few hundred metres
// long instead of a ray across a continent.
type shapeIndex struct {
	edges []edge
	root  []uint32 // per 1° cell: country+1 (0: none) without edges, or rootNode|node
	nodes []qnode
	refs  []uint32 // edge indices, per leaf node
}

// edge is a segment of a polygon boundary and the countries it bounds: c1,
// and c2 on its other side (noCountry on a coast).
type edge struct {
	ax, ay, bx, by float32
	c1, c2         uint16
}

// qnode is a cell with edges: a leaf lists them, an inner cell has 16
// children, row-major from the south-west.
type qnode struct {
	start, n uint32 // refs[start:start+n], for a leaf
	child    uint32 // first of 16 children; 0 for a leaf
	ref      uint16 // country+1 at the reference point, 0 for none
}

const (
	noCountry = math.MaxUint16
	rootNode  = 1 << 31
	rootW     = 360
	rootH     = 180
	leafMax   = 32 // edges a cell may hold before it is cut
	maxDepth  = 4  // cuts below the 1° cells: 1/256°, about 430 m
	// refFrac places a cell's reference point inside it: near the centre,
	// but off the round numbers that borders follow (the 22nd parallel).
	refFrac = 0.4987654321
)

// build reads the admin-0 boundary lines and indexes their edges.
func (s *shapeIndex) build(r *reader, nc int) {
	sx, sy, tx, ty := r.float(), r.float(), r.float(), r.float()
	s.edges = make([]edge, 0, r.count("edges"))
	nlines := r.count("lines")
	heads, pts := r.column(), r.column()
	var cs []uint16
	var x, y int64
	for range nlines {
		cs = cs[:0]
		for range heads.count("line countries") {
			c := heads.uvarint()
			if c >= uint64(nc) {
				heads.fail("line country")
				return
			}
			cs = append(cs, uint16(c))
		}
		n := int(heads.uvarint())
		if n > len(pts.b)/2 {
			heads.fail("line positions")
			return
		}
		var px, py float32
		for k := range n {
			x += pts.varint()
			y += pts.varint()
			lon, lat := float32(float64(x)*sx+tx), float32(float64(y)*sy+ty)
			if k > 0 && (lon != px || lat != py) {
				for i := 0; i < len(cs); i += 2 {
					e := edge{ax: px, ay: py, bx: lon, by: lat, c1: cs[i], c2: noCountry}
					if i+1 < len(cs) {
						e.c2 = cs[i+1]
					}
					s.edges = append(s.edges, e)
				}
			}
			px, py = lon, lat
		}
		if r.err != nil {
			return
		}
	}
	s.index()
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }

func (e *edge) bbox() (x0, y0, x1, y1 float64) {
	return float64(min(e.ax, e.bx)), float64(min(e.ay, e.by)), float64(max(e.ax, e.bx)), float64(max(e.ay, e.by))
}

func (s *shapeIndex) index() {
	// Bucket the edges into the 1° cells their bounding boxes touch.
	count := make([]uint32, rootW*rootH+1)
	cells := func(e *edge, f func(c int)) {
		x0, y0, x1, y1 := e.bbox()
		i0, i1 := clampInt(int(math.Floor(x0+180)), 0, rootW-1), clampInt(int(math.Floor(x1+180)), 0, rootW-1)
		j0, j1 := clampInt(int(math.Floor(y0+90)), 0, rootH-1), clampInt(int(math.Floor(y1+90)), 0, rootH-1)
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				f(j*rootW + i)
			}
		}
	}
	for k := range s.edges {
		cells(&s.edges[k], func(c int) { count[c+1]++ })
	}
	for c := 1; c < len(count); c++ {
		count[c] += count[c-1]
	}
	bucket := make([]uint32, count[len(count)-1])
	fill := append([]uint32(nil), count[:rootW*rootH]...)
	for k := range s.edges {
		cells(&s.edges[k], func(c int) { bucket[fill[c]] = uint32(k); fill[c]++ })
	}
	cell := func(c int) []uint32 { return bucket[count[c]:count[c+1]] }

	// The country at each cell's reference point: sweep each row's
	// reference latitude from the west, where no country is, toggling
	// at every boundary crossed.
	s.root = make([]uint32, rootW*rootH)
	s.nodes = make([]qnode, 1, len(s.edges)/4) // node 0 is unused: child 0 means leaf
	s.refs = make([]uint32, 0, len(s.edges)*3/2)
	var scratch [maxDepth + 1][16][]uint32
	var inside toggles
	for j := range rootH {
		refY := float64(j-90) + refFrac
		inside.reset()
		for i := range rootW {
			x0 := float64(i - 180)
			refX := x0 + refFrac
			es := cell(j*rootW + i)
			var after toggles
			for _, k := range es {
				e := &s.edges[k]
				ay, by := float64(e.ay), float64(e.by)
				if (ay > refY) == (by > refY) {
					continue
				}
				ax, bx := float64(e.ax), float64(e.bx)
				x := ax + (refY-ay)*(bx-ax)/(by-ay)
				switch {
				case x < x0 || x >= x0+1:
				case x < refX:
					inside.edge(e)
				default:
					after.edge(e)
				}
			}
			ref := inside.country()
			if len(es) == 0 {
				s.root[j*rootW+i] = uint32(ref)
			} else {
				n := len(s.nodes)
				s.nodes = append(s.nodes, qnode{ref: ref})
				s.root[j*rootW+i] = rootNode | uint32(n)
				s.split(n, x0, float64(j-90), 1, 0, es, scratch[:])
			}
			inside.merge(&after)
		}
	}
}

// split makes node n a leaf with the given edges, or cuts it into 16.
// scratch[d] holds the edge lists of the children being built at depth d.
func (s *shapeIndex) split(n int, x0, y0, size float64, depth int, es []uint32, scratch [][16][]uint32) {
	if len(es) <= leafMax || depth >= maxDepth {
		s.nodes[n].start = uint32(len(s.refs))
		s.nodes[n].n = uint32(len(es))
		s.refs = append(s.refs, es...)
		return
	}
	first := len(s.nodes)
	s.nodes[n].child = uint32(first)
	for range 16 {
		s.nodes = append(s.nodes, qnode{})
	}
	cs := size / 4
	// Deal each edge to the children its bounding box touches (closed
	// boxes, so an edge on a boundary goes to both sides).
	lists := &scratch[depth+1]
	for c := range lists {
		lists[c] = lists[c][:0]
	}
	for _, k := range es {
		ex0, ey0, ex1, ey1 := s.edges[k].bbox()
		i0, i1 := clampInt(int(math.Ceil((ex0-x0)/cs))-1, 0, 3), clampInt(int((ex1-x0)/cs), 0, 3)
		j0, j1 := clampInt(int(math.Ceil((ey0-y0)/cs))-1, 0, 3), clampInt(int((ey1-y0)/cs), 0, 3)
		for j := j0; j <= j1; j++ {
			for i := i0; i <= i1; i++ {
				lists[j*4+i] = append(lists[j*4+i], k)
			}
		}
	}
	// The reference states of the children, hop by hop from the parent's
	// reference point, which lies in child (1,1): each hop to a neighbour
	// crosses only edges of the two children.
	refOf := func(c int) (float64, float64) {
		return x0 + (float64(c%4)+refFrac)*cs, y0 + (float64(c/4)+refFrac)*cs
	}
	px, py := x0+size*refFrac, y0+size*refFrac
	cx, cy := refOf(5)
	s.nodes[first+5].ref = s.walk(s.nodes[n].ref, lists[5], px, py, cx, cy)
	hop := func(from, to int) {
		fx, fy := refOf(from)
		tx, ty := refOf(to)
		bx0, by0 := x0+float64(from%4)*cs, y0+float64(from/4)*cs
		bx1, by1 := bx0+cs, by0+cs
		var t toggles
		for _, k := range lists[from] {
			if crosses(&s.edges[k], fx, fy, tx, ty) {
				t.edge(&s.edges[k])
			}
		}
		for _, k := range lists[to] {
			ex0, ey0, ex1, ey1 := s.edges[k].bbox()
			if ex1 >= bx0 && ex0 <= bx1 && ey1 >= by0 && ey0 <= by1 {
				continue // in lists[from] too, counted above
			}
			if crosses(&s.edges[k], fx, fy, tx, ty) {
				t.edge(&s.edges[k])
			}
		}
		s.nodes[first+to].ref = t.apply(s.nodes[first+from].ref)
	}
	hop(5, 4)
	hop(5, 6)
	hop(6, 7)
	for i := range 4 {
		hop(4+i, i)
		hop(4+i, 8+i)
		hop(8+i, 12+i)
	}
	for c := range 16 {
		s.split(first+c, x0+float64(c%4)*cs, y0+float64(c/4)*cs, cs, depth+1, lists[c], scratch)
	}
}

// walk returns the country (+1) at q, knowing the country (+1) at p and
// the edges that the segment p→q may cross.
func (s *shapeIndex) walk(ref uint16, es []uint32, px, py, qx, qy float64) uint16 {
	var t toggles
	for _, k := range es {
		e := &s.edges[k]
		if crosses(e, px, py, qx, qy) {
			t.edge(e)
		}
	}
	return t.apply(ref)
}

// crosses reports whether segment p→q crosses edge e. A vertex on the line
// p–q counts on one side only, so that a path through a vertex is counted
// once or not at all, as it should be.
func crosses(e *edge, px, py, qx, qy float64) bool {
	ax, ay, bx, by := float64(e.ax), float64(e.ay), float64(e.bx), float64(e.by)
	if max(ax, bx) < min(px, qx) || min(ax, bx) > max(px, qx) ||
		max(ay, by) < min(py, qy) || min(ay, by) > max(py, qy) {
		return false
	}
	d1 := (qx-px)*(ay-py) - (qy-py)*(ax-px)
	d2 := (qx-px)*(by-py) - (qy-py)*(bx-px)
	if (d1 > 0) == (d2 > 0) {
		return false
	}
	d3 := (bx-ax)*(py-ay) - (by-ay)*(px-ax)
	d4 := (bx-ax)*(qy-ay) - (by-ay)*(qx-ax)
	return (d3 > 0) != (d4 > 0)
}

// toggles is the set of countries whose boundary was crossed an odd number
// of times; a handful at most.
type toggles struct {
	c [8]uint16
	n int
}

func (t *toggles) reset() { t.n = 0 }

func (t *toggles) toggle(c uint16) {
	for i := 0; i < t.n; i++ {
		if t.c[i] == c {
			t.n--
			t.c[i] = t.c[t.n]
			return
		}
	}
	if t.n < len(t.c) {
		t.c[t.n] = c
		t.n++
	}
}

func (t *toggles) edge(e *edge) {
	t.toggle(e.c1)
	if e.c2 != noCountry {
		t.toggle(e.c2)
	}
}

// apply returns the country (+1) after crossing the toggled boundaries from
// country (+1) ref: entering a country wins; else leaving ref leaves none.
func (t *toggles) apply(ref uint16) uint16 {
	if t.n == 0 {
		return ref
	}
	for _, c := range t.c[:t.n] {
		if c+1 != ref {
			return c + 1
		}
	}
	return 0
}

func (t *toggles) merge(o *toggles) {
	for _, c := range o.c[:o.n] {
		t.toggle(c)
	}
}

// country is the country+1 the set says we are in (the sweep starts outside
// every country, so the set is who we are inside), 0 for none.
func (t *toggles) country() uint16 {
	if t.n == 0 {
		return 0
	}
	return t.c[0] + 1
}

// countryAt returns the country whose polygon holds the point, or -1.
func (s *shapeIndex) countryAt(lon, lat float64) int {
	i := clampInt(int(lon+180), 0, rootW-1)
	j := clampInt(int(lat+90), 0, rootH-1)
	v := s.root[j*rootW+i]
	if v&rootNode == 0 {
		return int(v) - 1
	}
	n := &s.nodes[v&^rootNode]
	x0, y0, size := float64(i-180), float64(j-90), 1.0
	for n.child != 0 {
		size /= 4
		ci := clampInt(int((lon-x0)/size), 0, 3)
		cj := clampInt(int((lat-y0)/size), 0, 3)
		x0 += float64(ci) * size
		y0 += float64(cj) * size
		n = &s.nodes[int(n.child)+cj*4+ci]
	}
	if n.n == 0 {
		return int(n.ref) - 1
	}
	return int(s.walk(n.ref, s.refs[n.start:n.start+n.n], x0+size*refFrac, y0+size*refFrac, lon, lat)) - 1
}

// kmPerDegree is the length of a degree of latitude, in kilometres.
const kmPerDegree = earthRadiusKm * math.Pi / 180

// nearestCoast returns the country of the coast nearest to a point and its
// distance in kilometres, looking no further than maxKm; -1 when none is.
func (s *shapeIndex) nearestCoast(lon, lat, maxKm float64) (country int, km float64) {
	dLat := maxKm / kmPerDegree
	cosLat := math.Cos(lat * math.Pi / 180)
	dLon := math.Min(180, dLat/math.Max(cosLat, 1e-6))
	kx, ky := cosLat*kmPerDegree, kmPerDegree
	bx0, bx1, by0, by1 := lon-dLon, lon+dLon, lat-dLat, lat+dLat
	best, bestD := -1, maxKm*maxKm
	visit := func(es []uint32, shift float64) {
		for _, k := range es {
			e := &s.edges[k]
			if e.c2 != noCountry {
				continue // a land border, not a coast
			}
			ax, ay := (float64(e.ax)+shift-lon)*kx, (float64(e.ay)-lat)*ky
			bx, by := (float64(e.bx)+shift-lon)*kx, (float64(e.by)-lat)*ky
			if d := segDist2(ax, ay, bx, by); d <= bestD {
				best, bestD = int(e.c1), d
			}
		}
	}
	var walk func(n *qnode, x0, y0, size, shift float64)
	walk = func(n *qnode, x0, y0, size, shift float64) {
		if x0 > bx1 || x0+size < bx0 || y0 > by1 || y0+size < by0 {
			return
		}
		if n.child == 0 {
			visit(s.refs[n.start:n.start+n.n], shift)
			return
		}
		cs := size / 4
		for k := range 16 {
			walk(&s.nodes[int(n.child)+k], x0+float64(k%4)*cs, y0+float64(k/4)*cs, cs, shift)
		}
	}
	j0 := clampInt(int(math.Floor(by0+90)), 0, rootH-1)
	j1 := clampInt(int(math.Floor(by1+90)), 0, rootH-1)
	i0, i1 := int(math.Floor(bx0+180)), int(math.Floor(bx1+180))
	for j := j0; j <= j1; j++ {
		for ii := i0; ii <= i1; ii++ {
			i := ((ii % rootW) + rootW) % rootW
			shift := float64(ii - i) // ±360 across the antimeridian
			v := s.root[j*rootW+i]
			if v&rootNode == 0 {
				continue
			}
			walk(&s.nodes[v&^rootNode], float64(ii-180), float64(j-90), 1, shift)
		}
	}
	if best < 0 {
		return -1, 0
	}
	return best, math.Sqrt(bestD)
}

// segDist2 is the squared distance from the origin to segment a–b.
func segDist2(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
	}
	x, y := ax+t*dx, ay+t*dy
	return x*x + y*y
}
