package overview

import (
	"math"
	"slices"
	"sort"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// Cluster is the incidents of one grid cell of a view that match a filter.
type Cluster struct {
	Lon, Lat float64 // mean position of its incidents
	Count    int64
	ByType   []int64 // count by type, in the order of geo.IncidentTypes
}

// Dominant is the type most of the cluster's incidents have.
func (c Cluster) Dominant() string {
	best := 0
	for i, n := range c.ByType {
		if n > c.ByType[best] {
			best = i
		}
	}
	return geo.IncidentTypes[best]
}

// world is the whole map as one bound.
var world = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}

// Cells is the number of grid cells of the level a box meets (the whole
// world for nil).
func Cells(b *geo.BBox, level int) int {
	bounds := []orb.Bound{world}
	if b != nil {
		bounds = b.Bounds()
	}
	var n uint64
	for _, bd := range bounds {
		n += (cellX(bd.Max[0], level) - cellX(bd.Min[0], level) + 1) * (cellY(bd.Max[1], level) - cellY(bd.Min[1], level) + 1)
	}
	return int(min(n, math.MaxInt32))
}

// Level is the grid level for a view: cells about 64 pixels wide at the
// zoom (a 256-pixel tile spans 360/2^zoom degrees), made coarser until the
// box meets no more than maxCells of them.
func Level(b *geo.BBox, zoom float64, maxCells int) int {
	l := min(max(int(math.Round(zoom))+2, 0), MaxLevel)
	for l > 0 && Cells(b, l) > maxCells {
		l--
	}
	return l
}

// acc sums the points of one cell of a view.
type acc struct {
	n      [maxTypes]int32
	sx, sy float64
}

// part is one bound of a view with its grid of accumulators.
type part struct {
	b            orb.Bound
	x0, y0, w, h uint64
	off          int
}

// grid is the accumulators of a view at one level.
type grid struct {
	level int
	parts []part
	accs  []acc
}

func newGrid(bounds []orb.Bound, level int) *grid {
	g := &grid{level: level}
	if bounds == nil {
		bounds = []orb.Bound{world}
	}
	n := 0
	for _, b := range bounds {
		pt := part{b: b, x0: cellX(b.Min[0], level), y0: cellY(b.Min[1], level), off: n}
		pt.w = cellX(b.Max[0], level) - pt.x0 + 1
		pt.h = cellY(b.Max[1], level) - pt.y0 + 1
		n += int(pt.w * pt.h)
		g.parts = append(g.parts, pt)
	}
	g.accs = make([]acc, n)
	return g
}

// at is the accumulator of a point of the part.
func (g *grid) at(i int, x, y float64) *acc {
	pt := &g.parts[i]
	gx, gy := cellX(x, g.level)-pt.x0, cellY(y, g.level)-pt.y0
	return &g.accs[pt.off+int(gy*pt.w+gx)]
}

// find is the part a point of the box is in.
func (g *grid) find(x, y float64) int {
	for i := range g.parts {
		if within(x, y, g.parts[i].b) {
			return i
		}
	}
	return 0
}

func (a *acc) addPoint(t uint8, x, y float64) {
	a.n[t]++
	a.sx += x
	a.sy += y
}

func (a *acc) addAgg(c *agg, q *query) {
	for t := range nTypes {
		if q.types[t] && c.n[t] != 0 {
			a.n[t] += c.n[t]
			a.sx += c.sx[t]
			a.sy += c.sy[t]
		}
	}
}

// everything says the query matches every point.
func (q *query) everything() bool {
	return q.bounds == nil && q.allTypes && q.cellsOnly()
}

// cellsOnly says the query can be answered from the cells' counts: no
// date, no country, no actor, no text.
func (q *query) cellsOnly() bool {
	return !q.dated && q.countries == nil && q.actors == nil && q.text == nil
}

// collect adds to a the points under n, the cell (l, gx, gy), that lie in
// b and match the query's types: whole cells where they lie inside b, the
// points themselves in unsplit cells on its edges.
func (p *points) collect(q *query, n *node, l int, gx, gy uint64, b orb.Bound, a *acc) {
	cb := cellBound(gx, gy, l)
	if !cb.Intersects(b) {
		return
	}
	if inside(cb, b) {
		a.addAgg(&n.agg, q)
		return
	}
	if !n.split {
		r := &n.run
		for i, t := range r.typs {
			if q.types[t] && within(r.xs[i], r.ys[i], b) {
				a.addPoint(t, r.xs[i], r.ys[i])
			}
		}
		return
	}
	for j, c := range n.kids {
		if c != nil {
			p.collect(q, c, l+1, 2*gx+uint64(j&1), 2*gy+uint64(j>>1), b, a)
		}
	}
}

// gridWalk adds to the grid's accumulators of part k the points under n,
// the cell (l, gx, gy), that match the query's types: a whole cell where
// it lies inside the box and inside one cell of the grid, the points
// themselves in unsplit cells that do not.
func (p *points) gridWalk(q *query, g *grid, k int, n *node, l int, gx, gy uint64) {
	pt := &g.parts[k]
	cb := cellBound(gx, gy, l)
	if !cb.Intersects(pt.b) {
		return
	}
	if l >= g.level && inside(cb, pt.b) {
		s := l - g.level
		cx, cy := gx>>s-pt.x0, gy>>s-pt.y0
		g.accs[pt.off+int(cy*pt.w+cx)].addAgg(&n.agg, q)
		return
	}
	if !n.split {
		r := &n.run
		for i, t := range r.typs {
			if x, y := r.xs[i], r.ys[i]; q.types[t] && within(x, y, pt.b) {
				g.at(k, x, y).addPoint(t, x, y)
			}
		}
		return
	}
	for j, c := range n.kids {
		if c != nil {
			p.gridWalk(q, g, k, c, l+1, 2*gx+uint64(j&1), 2*gy+uint64(j>>1))
		}
	}
}

// view fills the grid with the points matching the query.
func (p *points) view(q *query, g *grid) {
	if q.cellsOnly() {
		for k := range g.parts {
			p.gridWalk(q, g, k, p.root, 0, 0, 0)
		}
		return
	}
	if q.dated {
		p.eachDated(q, func(r *run, i int) {
			x, y := r.xs[i], r.ys[i]
			g.at(g.find(x, y), x, y).addPoint(r.typs[i], x, y)
		})
		return
	}
	p.eachInBox(q, func(k int, r *run, i int) {
		if p.keep(q, r, i) {
			x, y := r.xs[i], r.ys[i]
			g.at(k, x, y).addPoint(r.typs[i], x, y)
		}
	})
}

// clusters turns the grid's accumulators into clusters, and the total.
func (g *grid) clusters() ([]Cluster, int64) {
	var out []Cluster
	var total int64
	for i := range g.accs {
		a := &g.accs[i]
		var n int64
		for t := range nTypes {
			n += int64(a.n[t])
		}
		if n == 0 {
			continue
		}
		total += n
		c := Cluster{Lon: a.sx / float64(n), Lat: a.sy / float64(n), Count: n, ByType: make([]int64, nTypes)}
		for t := range nTypes {
			c.ByType[t] = int64(a.n[t])
		}
		out = append(out, c)
	}
	return out, total
}

// count is the number of points matching the query.
func (p *points) count(q *query) int64 {
	if q.cellsOnly() {
		if q.bounds == nil && q.allTypes {
			return int64(len(p.ids))
		}
		var a acc
		for _, b := range boundsOf(q) {
			p.collect(q, p.root, 0, 0, 0, b, &a)
		}
		var n int64
		for t := range nTypes {
			n += int64(a.n[t])
		}
		return n
	}
	var n int64
	p.each(q, func(*run, int) { n++ })
	return n
}

func boundsOf(q *query) []orb.Bound {
	if q.bounds == nil {
		return []orb.Bound{world}
	}
	return q.bounds
}

// Count is one bucket of a statistic.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// StatsBy lists the dimensions the index counts by.
var StatsBy = []string{"country", "type", "actor", "month", "period"}

// secondsPerDay is the length of a day, in seconds.
const secondsPerDay = 86400

// The precisions of a date, as by=period names them: a span longer than
// 31 days is a year, one longer than a day a month, else a day.
const (
	periodYear = iota
	periodMonth
	periodDay
)

var periodNames = [...]string{periodYear: "year:", periodMonth: "month:", periodDay: "day:"}

// periodOf is the precision of a span and the month its key names (for a
// year, its January).
func periodOf(t0, t1 int64) (kind int, m int32) {
	m = month(t0)
	switch d := t1 - t0; {
	case d > 31*secondsPerDay:
		return periodYear, m - m%12
	case d > secondsPerDay:
		return periodMonth, m
	}
	return periodDay, m
}

// minMonthTime is the first second the store counts in months (0001-01-01
// exclusive); earlier dates have no month in the statistics.
const minMonthTime = -62135596800

// stats counts the points matching the query by a dimension.
func (p *points) stats(q *query, by string) []Count {
	out := []Count{}
	switch by {
	case "type":
		var a acc
		if q.cellsOnly() {
			for _, b := range boundsOf(q) {
				p.collect(q, p.root, 0, 0, 0, b, &a)
			}
		} else {
			p.each(q, func(r *run, i int) { a.n[r.typs[i]]++ })
		}
		for t := range nTypes {
			if a.n[t] > 0 {
				out = append(out, Count{geo.IncidentTypes[t], int64(a.n[t])})
			}
		}
	case "month":
		byMonth := map[int32]int64{}
		if q.everything() {
			for k, b := range p.bkts {
				if b.lo0 > minMonthTime {
					byMonth[k.m0] += int64(b.len())
				}
			}
		} else {
			p.each(q, func(r *run, i int) {
				if pt := &p.pts[r.slots[i]]; pt.t0 > minMonthTime {
					byMonth[pt.bkt.m0]++
				}
			})
		}
		for m, n := range byMonth {
			out = append(out, Count{monthKey(m), n})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	case "period":
		// What each date names at its precision, in time order, the
		// widest first: "year:2018", "month:2018-02", "day:2018-02".
		type period struct {
			m    int32
			kind int
		}
		byPeriod := map[period]int64{}
		count := func(r *run, i int) {
			if t0 := r.t0s[i]; t0 > minMonthTime {
				k, m := periodOf(t0, r.t1s[i])
				byPeriod[period{m, k}]++
			}
		}
		if q.everything() {
			for _, b := range p.bkts {
				for i := range b.slots {
					count(&b.run, i)
				}
			}
		} else {
			p.each(q, count)
		}
		keys := make([]period, 0, len(byPeriod))
		for k := range byPeriod {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b period) int {
			if a.m != b.m {
				return int(a.m - b.m)
			}
			return a.kind - b.kind
		})
		for _, k := range keys {
			key := monthKey(k.m)
			if k.kind == periodYear {
				key = key[:4]
			}
			out = append(out, Count{periodNames[k.kind] + key, byPeriod[k]})
		}
		return out
	case "country":
		n := p.byCountry
		if !q.everything() {
			n = make([]int64, len(p.cntry.names))
			p.each(q, func(r *run, i int) {
				if c := r.cntry[i]; c >= 0 {
					n[c]++
				}
			})
		}
		out = fold(p.cntry.names, n)
	case "actor":
		// Each incident counts once per actor (names that are one under
		// the filter's alias table), however many spellings it lists. The
		// running tallies count spellings apart (case aside): they serve
		// while the alias table merges no names that differ otherwise.
		group, groups, merged := p.actorGroups(q.aliases)
		n := p.byActor
		if !q.everything() || merged {
			n = make([]int64, len(p.actors.names))
			var seen []int32
			once := func(a int32) {
				if g := group[a]; !slices.Contains(seen, g) {
					n[a]++
					seen = append(seen, g)
				}
			}
			p.each(q, func(r *run, i int) {
				first := r.actor[i]
				if first < 0 {
					return
				}
				more := p.extra[r.slots[i]]
				if len(more) == 0 {
					n[first]++
					return
				}
				seen = append(seen[:0], group[first])
				n[first]++
				for _, a := range more {
					once(a)
				}
			})
		}
		// Under the canonical name of the first spelling counted.
		at := make([]int, groups)
		for id, c := range n {
			if c == 0 {
				continue
			}
			if g := group[id]; at[g] > 0 {
				out[at[g]-1].Count += c
			} else {
				out = append(out, Count{q.aliases.Canonical(p.actors.names[id]), c})
				at[g] = len(out)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// actorGroups maps each interned actor to its group, the actors that are
// one under the alias table (geo.ActorKey of the canonical name), and
// returns how many groups there are and whether a group holds names that
// differ other than in the case of ASCII letters (geo.SameKey).
func (p *points) actorGroups(a *geo.Aliases) (group []int32, groups int, merged bool) {
	group = make([]int32, len(p.actors.names))
	at := map[string]int32{}
	first := []string{}
	for id, name := range p.actors.names {
		k := geo.ActorKey(a.Canonical(name))
		g, ok := at[k]
		if !ok {
			g = int32(len(first))
			at[k] = g
			first = append(first, name)
		} else if !geo.SameKey(first[g], name) {
			merged = true
		}
		group[id] = g
	}
	return group, len(first), merged
}

// fold merges the counts of names that differ only in the case of ASCII
// letters (geo.SameKey), under the first name seen.
func fold(names []string, n []int64) []Count {
	var out []Count
	at := map[string]int{}
	for id, c := range n {
		if c == 0 {
			continue
		}
		k := asciiLower(names[id])
		if i, ok := at[k]; ok {
			out[i].Count += c
			continue
		}
		at[k] = len(out)
		out = append(out, Count{names[id], c})
	}
	if out == nil {
		out = []Count{}
	}
	return out
}

func monthKey(m int32) string {
	y, mo := int(m)/12, int(m)%12+1
	b := make([]byte, 0, 7)
	b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-', byte('0'+mo/10), byte('0'+mo%10))
	return string(b)
}

// asciiLower lower-cases the ASCII letters of s, the key of geo.SameKey.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
