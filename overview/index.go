// Package overview is an in-memory index of the incidents for the map's
// overview: clusters of a view and counts under the filters, at a cost that
// follows what is drawn rather than what is stored.
//
// The index holds, for every incident, its point, type, date span, country
// and actors, but not its text. It is built from one scan of the store and
// kept current by following the change log, the way the live hub does, so
// it works the same whichever store is underneath. Before each answer it
// catches up with the log, so an answer reflects every write committed
// before the request.
//
// Points sit in a tree of grid cells in degrees: level L cuts the world
// into cells of 360/2^L degrees, and a cell of level L splits into the
// four of level L+1 that it holds. Every cell of the tree keeps its count,
// and the sums of longitude and latitude, by incident type; a cell splits
// once it holds more than a few dozen points (down to MaxDepth), and only
// the cells that have not split list their points. A view without a date
// filter adds up whole cells that lie inside one of its grid cells and
// inside its box, and looks into the points only along the edges, so its
// cost follows the cells drawn and a type filter costs nothing.
// A date filter reads the points of the months it covers, found through
// buckets of points by month; a filter by actor or country reads the points
// of the box.
//
// The text is not kept here: the store answers which incidents a text
// matches, as the set of their keys (an integer the store gives each
// record, such as SQLite's rowid), read once per text and then kept
// current with each change applied, from the change's own text. A text
// filter then tests a bit per point.
package overview

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// MaxDepth is the finest level of the tree: its cells (about 2 m) never
// split, however many points they hold.
const MaxDepth = 24

// splitAt is how many points a cell lists before it splits.
var splitAt = 48

// MaxLevel is the finest grid a view may ask for.
const MaxLevel = 32

// maxTypes bounds the number of incident types the cells count apart.
const maxTypes = 16

var (
	nTypes    = len(geo.IncidentTypes)
	typeIndex = func() map[string]uint8 {
		if len(geo.IncidentTypes) > maxTypes {
			panic("overview: more incident types than maxTypes")
		}
		m := map[string]uint8{}
		for i, t := range geo.IncidentTypes {
			m[t] = uint8(i)
		}
		return m
	}()
)

// agg is what a cell counts of its points, by type.
type agg struct {
	n      [maxTypes]int32
	sx, sy [maxTypes]float64
}

func (a *agg) add(t uint8, x, y float64, sign int32) {
	a.n[t] += sign
	a.sx[t] += float64(sign) * x
	a.sy[t] += float64(sign) * y
}

func (a *agg) empty() bool {
	for _, n := range a.n {
		if n != 0 {
			return false
		}
	}
	return true
}

// run is a list of points kept column by column, so that a scan reads
// memory in order rather than jumping about the points of the index.
type run struct {
	slots    []int32
	xs, ys   []float64
	t0s, t1s []int64
	typs     []uint8
	cntry    []int32 // country, -1 for none
	actor    []int32 // first actor, -1 for none
}

func (r *run) len() int { return len(r.slots) }

// push appends the point in slot and returns its position.
func (r *run) push(slot int32, q *point) int32 {
	r.slots = append(r.slots, slot)
	r.xs = append(r.xs, q.x)
	r.ys = append(r.ys, q.y)
	r.t0s = append(r.t0s, q.t0)
	r.t1s = append(r.t1s, q.t1)
	r.typs = append(r.typs, q.typ)
	r.cntry = append(r.cntry, q.country)
	r.actor = append(r.actor, q.actor)
	return int32(len(r.slots) - 1)
}

// del removes the point at position i, moving the last one there; it
// returns the slot of the point moved, or -1.
func (r *run) del(i int32) int32 {
	last := int32(len(r.slots) - 1)
	moved := int32(-1)
	if i != last {
		r.slots[i], r.xs[i], r.ys[i] = r.slots[last], r.xs[last], r.ys[last]
		r.t0s[i], r.t1s[i], r.typs[i] = r.t0s[last], r.t1s[last], r.typs[last]
		r.cntry[i], r.actor[i] = r.cntry[last], r.actor[last]
		moved = r.slots[i]
	}
	r.slots, r.xs, r.ys = r.slots[:last], r.xs[:last], r.ys[:last]
	r.t0s, r.t1s, r.typs = r.t0s[:last], r.t1s[:last], r.typs[:last]
	r.cntry, r.actor = r.cntry[:last], r.actor[:last]
	return moved
}

// node is one grid cell of the tree: its counts, and its four children
// once it has split (a cell of level 0 has two), or else its points.
type node struct {
	agg
	kids  [4]*node
	split bool
	run
}

// kid is the index in kids of the child of level l+1 at (cx, cy).
func kid(cx, cy uint64) int { return int(cy&1)<<1 | int(cx&1) }

// bucket holds the points whose span starts in month m0 and ends in the
// month before m1 (months counted from year 0); its bounds say what spans
// its points can have.
type bucket struct {
	lo0, hi0 int64 // every t0 is in [lo0, hi0)
	lo1, hi1 int64 // every t1 is in (lo1, hi1]
	run
}

type bucketKey struct{ m0, m1 int32 }

// point is one incident as the index knows it.
type point struct {
	x, y    float64
	t0, t1  int64
	node    *node // the unsplit cell that lists it
	pos     int32 // position in the node's run
	bkt     bucketKey
	bktPos  int32 // position in the bucket's pts
	typ     uint8
	live    bool
	country int32 // interned, -1 for none
	actor   int32 // first actor, interned, -1 for none
	seq     int64 // the change-log seq of the change that put it; 0 for the load
}

// strtab interns strings: country codes and actor names.
type strtab struct {
	names []string
	ids   map[string]int32
}

func (t *strtab) id(s string) int32 {
	if id, ok := t.ids[s]; ok {
		return id
	}
	if t.ids == nil {
		t.ids = map[string]int32{}
	}
	id := int32(len(t.names))
	t.names = append(t.names, s)
	t.ids[s] = id
	return id
}

// matching returns the ids of the interned strings equal to any of want
// by the rule of geo.Filter (geo.SameKey).
func (t *strtab) matching(want []string) map[int32]bool {
	out := map[int32]bool{}
	for id, name := range t.names {
		for _, w := range want {
			if geo.SameKey(w, name) {
				out[int32(id)] = true
				break
			}
		}
	}
	return out
}

// points is the data of the index, without locking or the log.
type points struct {
	pts   []point
	names []string // the id of each slot
	// The store's key of each slot (0: not known): given by the load,
	// learned for a point written later when a text is first asked for.
	keys []int64
	// ascending says the loaded points' keys grow with their slots, as
	// the load gives them: a text's keys are then merged with them in
	// one pass.
	ascending bool
	changed   map[int32]struct{} // the slots of points written after the load
	free      []int32
	ids       map[string]int32
	extra     map[int32][]int32 // actors after the first, by slot
	// Every point counted by country and by actor (as stats counts
	// them), by interned id: the statistics of the whole index.
	byCountry, byActor []int64
	root               *node
	bulk               bool // points are put outside the tree, until build
	bkts               map[bucketKey]*bucket
	cntry              strtab
	actors             strtab
	sens               map[int32]orb.Point // the exact points of the sensitive incidents, by slot
	loadSeq            int64               // the change-log seq of the load
}

func newPoints() *points {
	return &points{ids: map[string]int32{}, extra: map[int32][]int32{}, bkts: map[bucketKey]*bucket{}, root: &node{}, sens: map[int32]orb.Point{}, changed: map[int32]struct{}{}}
}

// Len is the number of points.
func (p *points) Len() int { return len(p.ids) }

// cols and rows are the grid's size at a level.
func cols(level int) uint64 { return uint64(1) << level }
func rows(level int) uint64 {
	if level == 0 {
		return 1
	}
	return uint64(1) << (level - 1)
}

// cellSize is the side of a cell at the level, in degrees.
func cellSize(level int) float64 { return math.Ldexp(360, -level) }

// CellSize is the side of a grid cell of the level, in degrees.
func CellSize(level int) float64 { return cellSize(level) }

// cellX and cellY are the column and row of a coordinate at a level.
func cellX(x float64, level int) uint64 {
	v := math.Floor((x + 180) / 360 * float64(uint64(1)<<level))
	if v < 0 {
		return 0
	}
	if c := cols(level); v >= float64(c) {
		return c - 1
	}
	return uint64(v)
}

func cellY(y float64, level int) uint64 {
	v := math.Floor((y + 90) / 360 * float64(uint64(1)<<level))
	if v < 0 {
		return 0
	}
	if r := rows(level); v >= float64(r) {
		return r - 1
	}
	return uint64(v)
}

// cellBound is the extent of a cell in degrees.
func cellBound(gx, gy uint64, level int) orb.Bound {
	cs := cellSize(level)
	b := orb.Bound{
		Min: orb.Point{float64(gx)*cs - 180, float64(gy)*cs - 90},
		Max: orb.Point{float64(gx+1)*cs - 180, float64(gy+1)*cs - 90},
	}
	if gx == cols(level)-1 {
		b.Max[0] = 180
	}
	if gy == rows(level)-1 {
		b.Max[1] = 90
	}
	return b
}

// margin keeps the inside test of a cell conservative against rounding in
// cellX and cellY, in degrees.
const margin = 1e-9

// inside reports whether a cell lies within the bound, with the margin.
func inside(c, b orb.Bound) bool {
	return c.Min[0]-margin >= b.Min[0] && c.Max[0]+margin <= b.Max[0] &&
		c.Min[1]-margin >= b.Min[1] && c.Max[1]+margin <= b.Max[1]
}

func within(x, y float64, b orb.Bound) bool {
	return x >= b.Min[0] && x <= b.Max[0] && y >= b.Min[1] && y <= b.Max[1]
}

// month is the month of a Unix time, counted from year 0, and monthStart
// its first second.
func month(t int64) int32 {
	u := time.Unix(t, 0).UTC()
	return int32(u.Year()*12 + int(u.Month()) - 1)
}

func monthStart(m int32) int64 {
	y, mo := int(m)/12, int(m)%12
	if mo < 0 {
		y, mo = y-1, mo+12
	}
	return time.Date(y, time.Month(mo+1), 1, 0, 0, 0, 0, time.UTC).Unix()
}

// spanKey is the bucket of a span: the month of its start and the month
// after the one of its last second.
func spanKey(t0, t1 int64) bucketKey {
	return bucketKey{month(t0), month(t1-1) + 1}
}

// put adds or replaces the incident id at pt, whose store key is key (0
// when not known), and returns its slot. A sensitive incident's pt is its
// coarse point and k.Shape its exact one.
func (p *points) put(id string, key int64, pt orb.Point, k geo.Keys) int32 {
	if !p.bulk {
		p.remove(id)
	}
	typ, ok := typeIndex[k.Kind]
	if !ok {
		typ = typeIndex["other"]
	}
	var slot int32
	if n := len(p.free); n > 0 {
		slot, p.free = p.free[n-1], p.free[:n-1]
	} else {
		slot = int32(len(p.pts))
		p.pts = append(p.pts, point{})
		p.names = append(p.names, "")
		p.keys = append(p.keys, 0)
	}
	q := point{x: pt[0], y: pt[1], t0: k.Span.Start, t1: k.Span.End, typ: typ, live: true, country: -1, actor: -1}
	if len(k.Countries) > 0 {
		q.country = p.cntry.id(k.Countries[0])
	}
	if len(k.Actors) > 0 {
		q.actor = p.actors.id(k.Actors[0])
		if len(k.Actors) > 1 {
			more := make([]int32, 0, len(k.Actors)-1)
			for _, a := range k.Actors[1:] {
				more = append(more, p.actors.id(a))
			}
			p.extra[slot] = more
		}
	}
	p.tally(slot, &q, 1)
	q.bkt = spanKey(q.t0, q.t1)
	b := p.bkts[q.bkt]
	if b == nil {
		b = &bucket{
			lo0: monthStart(q.bkt.m0), hi0: monthStart(q.bkt.m0 + 1),
			lo1: monthStart(q.bkt.m1 - 1), hi1: monthStart(q.bkt.m1),
		}
		p.bkts[q.bkt] = b
	}
	q.bktPos = b.push(slot, &q)
	if exact, ok := k.Shape.(orb.Point); ok && exact != pt {
		p.sens[slot] = exact
	}
	p.pts[slot] = q
	p.names[slot] = id
	p.keys[slot] = key
	if !p.bulk {
		p.ids[id] = slot
		p.insert(slot)
	}
	return slot
}

// build makes the tree of every point at once, after a bulk load: it
// sorts the points into cells level by level and sums the counts from the
// unsplit cells up.
//
// The ids are mapped to their slots here, at once, rather than point by
// point during the load: the map is made at its size. Of two points of
// one id, the later stays.
func (p *points) build() {
	p.ids = make(map[string]int32, len(p.names)-len(p.free))
	for slot, id := range p.names {
		if id == "" {
			continue
		}
		if old, ok := p.ids[id]; ok {
			p.removeSlot(old)
		}
		p.ids[id] = int32(slot)
	}
	p.bulk = false
	slots := make([]int32, 0, len(p.ids))
	p.ascending = true
	var last int64
	for slot, id := range p.names {
		if id != "" {
			slots = append(slots, int32(slot))
			if k := p.keys[slot]; k <= last {
				p.ascending = false
			} else {
				last = k
			}
		}
	}
	gx := make([]uint32, len(p.pts))
	gy := make([]uint32, len(p.pts))
	for _, slot := range slots {
		q := &p.pts[slot]
		gx[slot], gy[slot] = uint32(cellX(q.x, MaxDepth)), uint32(cellY(q.y, MaxDepth))
	}
	p.root = &node{}
	p.grow(p.root, 0, slots, make([]int32, len(slots)), gx, gy)
}

// grow fills n, a cell of level l, with the points in slots: it lists
// them if they are few, or else sorts them into its children (through
// tmp, as long as slots) and adds up their counts.
func (p *points) grow(n *node, l int, slots, tmp []int32, gx, gy []uint32) {
	if len(slots) <= splitAt || l == MaxDepth {
		for _, slot := range slots {
			q := &p.pts[slot]
			n.add(q.typ, q.x, q.y, 1)
			q.node, q.pos = n, n.push(slot, q)
		}
		return
	}
	n.split = true
	s := MaxDepth - (l + 1)
	var cnt [5]int
	for _, slot := range slots {
		cnt[kid(uint64(gx[slot]>>s), uint64(gy[slot]>>s))+1]++
	}
	for k := 1; k < 5; k++ {
		cnt[k] += cnt[k-1]
	}
	at := cnt
	for _, slot := range slots {
		k := kid(uint64(gx[slot]>>s), uint64(gy[slot]>>s))
		tmp[at[k]] = slot
		at[k]++
	}
	copy(slots, tmp)
	// The children hold apart points and cells: large ones grow side by
	// side. Their counts are added in the same order either way.
	var wg sync.WaitGroup
	for k := range 4 {
		part := slots[cnt[k]:cnt[k+1]]
		if len(part) == 0 {
			continue
		}
		c := &node{}
		n.kids[k] = c
		if len(part) >= growApart {
			wg.Go(func() { p.grow(c, l+1, part, tmp[cnt[k]:cnt[k+1]], gx, gy) })
		} else {
			p.grow(c, l+1, part, tmp[cnt[k]:cnt[k+1]], gx, gy)
		}
	}
	wg.Wait()
	for _, c := range n.kids {
		if c == nil {
			continue
		}
		for t := range nTypes {
			n.n[t] += c.n[t]
			n.sx[t] += c.sx[t]
			n.sy[t] += c.sy[t]
		}
	}
}

// growApart is the fewest points a cell holds for build to grow it beside
// its siblings, in a goroutine of its own.
var growApart = 1 << 16

// insert puts the point in slot into the tree: it adds it to the counts
// of every cell that holds it and lists it in the unsplit one, which
// splits if it grows too long.
func (p *points) insert(slot int32) {
	q := &p.pts[slot]
	gx, gy := cellX(q.x, MaxDepth), cellY(q.y, MaxDepth)
	n := p.root
	for l := 0; ; l++ {
		n.add(q.typ, q.x, q.y, 1)
		if !n.split {
			q.node, q.pos = n, n.push(slot, q)
			if n.len() > splitAt && l < MaxDepth {
				p.splitNode(n, l)
			}
			return
		}
		s := MaxDepth - (l + 1)
		k := kid(gx>>s, gy>>s)
		if n.kids[k] == nil {
			n.kids[k] = &node{}
		}
		n = n.kids[k]
	}
}

// splitNode moves the points of the unsplit cell n of level l into its
// children, splitting those in turn that hold too many.
func (p *points) splitNode(n *node, l int) {
	r := n.run
	n.run = run{}
	n.split = true
	s := MaxDepth - (l + 1)
	for _, slot := range r.slots {
		q := &p.pts[slot]
		k := kid(cellX(q.x, MaxDepth)>>s, cellY(q.y, MaxDepth)>>s)
		c := n.kids[k]
		if c == nil {
			c = &node{}
			n.kids[k] = c
		}
		c.add(q.typ, q.x, q.y, 1)
		q.node, q.pos = c, c.push(slot, q)
	}
	if l+1 < MaxDepth {
		for _, c := range n.kids {
			if c != nil && c.len() > splitAt {
				p.splitNode(c, l+1)
			}
		}
	}
}

// remove takes the incident id out; it is a no-op for an unknown id.
func (p *points) remove(id string) {
	slot, ok := p.ids[id]
	if !ok {
		return
	}
	delete(p.ids, id)
	p.removeSlot(slot)
}

// removeSlot takes the point in slot out of everything but the map of ids.
func (p *points) removeSlot(slot int32) {
	delete(p.sens, slot)
	q := &p.pts[slot]
	p.tally(slot, q, -1)
	delete(p.extra, slot)
	if !p.bulk {
		p.unlink(q)
	}
	b := p.bkts[q.bkt]
	if moved := b.del(q.bktPos); moved >= 0 {
		p.pts[moved].bktPos = q.bktPos
	}
	if b.len() == 0 {
		delete(p.bkts, q.bkt)
	}
	*q = point{}
	p.names[slot] = ""
	p.keys[slot] = 0
	delete(p.changed, slot)
	p.free = append(p.free, slot)
}

// tally adds sign to the counts of the point's country and actors.
func (p *points) tally(slot int32, q *point, sign int64) {
	if c := q.country; c >= 0 {
		p.byCountry = grown(p.byCountry, len(p.cntry.names))
		p.byCountry[c] += sign
	}
	if q.actor >= 0 {
		p.byActor = grown(p.byActor, len(p.actors.names))
		var seen [8]int32
		for _, a := range p.actorsOf(q.actor, p.extra[slot], seen[:0]) {
			p.byActor[a] += sign
		}
	}
}

// grown is s lengthened with zeros to at least n.
func grown(s []int64, n int) []int64 {
	if len(s) < n {
		s = append(s, make([]int64, n-len(s))...)
	}
	return s
}

// actorsOf appends to seen the actors a point counts for: its first, and
// those after it that are not the same name (geo.SameKey) as one before.
func (p *points) actorsOf(first int32, more []int32, seen []int32) []int32 {
	seen = append(seen, first)
	for _, a := range more {
		dup := false
		for _, b := range seen {
			if a == b || geo.SameKey(p.actors.names[a], p.actors.names[b]) {
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, a)
		}
	}
	return seen
}

// unlink takes the point out of the tree: out of the counts of every cell
// that holds it and the list of its unsplit cell; cells left empty go.
func (p *points) unlink(q *point) {
	gx, gy := cellX(q.x, MaxDepth), cellY(q.y, MaxDepth)
	var path [MaxDepth + 1]*node
	n, l := p.root, 0
	for ; ; l++ {
		path[l] = n
		n.add(q.typ, q.x, q.y, -1)
		if !n.split {
			break
		}
		s := MaxDepth - (l + 1)
		n = n.kids[kid(gx>>s, gy>>s)]
	}
	if moved := n.del(q.pos); moved >= 0 {
		p.pts[moved].pos = q.pos
	}
	for ; l > 0 && path[l].empty(); l-- {
		s := MaxDepth - l
		path[l-1].kids[kid(gx>>s, gy>>s)] = nil
	}
}

// query is a filter compiled against the index's tables.
type query struct {
	aliases   *geo.Aliases // by-actor counts group spellings by it
	bounds    []orb.Bound  // nil: everywhere
	types     [maxTypes]bool
	allTypes  bool
	span      geo.Span
	dated     bool
	countries map[int32]bool // nil: any
	actors    map[int32]bool // nil: any
	text      []uint64       // the slots whose text matches, a bit each; nil: any text
}

// Handles reports whether the index answers for the filter: everything but
// corridors (near, near_route) and filter expressions, which the store
// answers.
func Handles(f geo.Filter) bool { return f.Near == nil && f.CQL == nil }

func (p *points) compile(f geo.Filter) query {
	q := query{span: f.Span, aliases: f.Aliases}
	if f.BBox != nil {
		q.bounds = f.BBox.Bounds()
	}
	if len(f.Types) == 0 {
		q.allTypes = true
		for i := range nTypes {
			q.types[i] = true
		}
	} else {
		for i, t := range geo.IncidentTypes {
			q.types[i] = slices.ContainsFunc(f.Types, func(w string) bool { return geo.SameKey(w, t) })
		}
	}
	q.dated = f.Span != (geo.Span{}) && f.Span != geo.All
	if len(f.Countries) > 0 {
		q.countries = p.cntry.matching(f.Countries)
	}
	if len(f.Actors) > 0 {
		q.actors = p.actors.matching(f.Actors)
	}
	return q
}

// inBox reports whether a point is in the query's box.
func (q *query) inBox(x, y float64) bool {
	if q.bounds == nil {
		return true
	}
	for _, b := range q.bounds {
		if within(x, y, b) {
			return true
		}
	}
	return false
}

// keep reports whether the point at position i of a run passes every
// test but the box and the date.
func (p *points) keep(q *query, r *run, i int) bool {
	if !q.types[r.typs[i]] {
		return false
	}
	if q.text != nil && !hasBit(q.text, r.slots[i]) {
		return false
	}
	if q.countries == nil && q.actors == nil {
		return true
	}
	if c := r.cntry[i]; q.countries != nil && (c < 0 || !q.countries[c]) {
		return false
	}
	if q.actors != nil {
		a := r.actor[i]
		ok := a >= 0 && q.actors[a]
		if !ok && a >= 0 && len(p.extra) > 0 {
			for _, a := range p.extra[r.slots[i]] {
				if q.actors[a] {
					ok = true
					break
				}
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// each calls fn with every point that matches the query: the run that
// holds it and its position there.
func (p *points) each(q *query, fn func(r *run, i int)) {
	if q.dated {
		p.eachDated(q, fn)
		return
	}
	p.eachInBox(q, func(_ int, r *run, i int) {
		if p.keep(q, r, i) {
			fn(r, i)
		}
	})
}

// eachDated reads the points of the buckets that the query's span can
// match, testing the span only for those at its ends.
func (p *points) eachDated(q *query, fn func(r *run, i int)) {
	a, b := q.span.Start, q.span.End
	for _, bk := range p.bkts {
		if bk.lo0 >= b || bk.hi1 <= a {
			continue // every span ends before a or starts at b or later
		}
		sure := bk.hi0 <= b && bk.lo1 >= a
		r := &bk.run
		for i := range r.slots {
			if !sure && !(r.t0s[i] < b && a < r.t1s[i]) {
				continue
			}
			if q.inBox(r.xs[i], r.ys[i]) && p.keep(q, r, i) {
				fn(r, i)
			}
		}
	}
}

// eachInBox calls fn with every point in the query's box and the index of
// the part of the box it is in (a box across the antimeridian has two
// parts, which never share a point). It walks the cells of the tree that
// meet the box and tests only the points of those on its edges.
func (p *points) eachInBox(q *query, fn func(part int, r *run, i int)) {
	if q.bounds == nil {
		p.root.leaves(func(r *run) {
			for i := range r.slots {
				fn(0, r, i)
			}
		})
		return
	}
	for k, b := range q.bounds {
		var walk func(n *node, l int, gx, gy uint64)
		walk = func(n *node, l int, gx, gy uint64) {
			cb := cellBound(gx, gy, l)
			if !cb.Intersects(b) {
				return
			}
			if inside(cb, b) {
				n.leaves(func(r *run) {
					for i := range r.slots {
						fn(k, r, i)
					}
				})
				return
			}
			if !n.split {
				r := &n.run
				for i := range r.slots {
					if within(r.xs[i], r.ys[i], b) {
						fn(k, r, i)
					}
				}
				return
			}
			for j, c := range n.kids {
				if c != nil {
					walk(c, l+1, 2*gx+uint64(j&1), 2*gy+uint64(j>>1))
				}
			}
		}
		walk(p.root, 0, 0, 0)
	}
}

// leaves calls fn with the points of every unsplit cell under n.
func (n *node) leaves(fn func(r *run)) {
	if !n.split {
		if n.len() > 0 {
			fn(&n.run)
		}
		return
	}
	for _, c := range n.kids {
		if c != nil {
			c.leaves(fn)
		}
	}
}

// hasBit reports whether the bit of slot is set.
func hasBit(bits []uint64, slot int32) bool {
	w := int(slot >> 6)
	return w < len(bits) && bits[w]&(1<<(slot&63)) != 0
}

// setBit sets or clears the bit of slot, lengthening bits as needed.
func setBit(bits []uint64, slot int32, on bool) []uint64 {
	w := int(slot >> 6)
	if w >= len(bits) {
		if !on {
			return bits
		}
		bits = append(bits, make([]uint64, w+1-len(bits))...)
	}
	if on {
		bits[w] |= 1 << (slot & 63)
	} else {
		bits[w] &^= 1 << (slot & 63)
	}
	return bits
}

// textBits is the set of the slots whose key is among keys, the store's
// answer to a text, sorted: the loaded points are merged with the keys
// when their keys grow with their slots, and looked up otherwise.
func (p *points) textBits(keys []int64) []uint64 {
	bits := make([]uint64, (len(p.pts)+63)/64)
	in := func(k int64) bool {
		_, ok := slices.BinarySearch(keys, k)
		return ok
	}
	j := 0
	for slot, k := range p.keys {
		if k == 0 || p.names[slot] == "" {
			continue
		}
		if _, ok := p.changed[int32(slot)]; ok {
			if in(k) {
				bits[slot>>6] |= 1 << (slot & 63)
			}
			continue
		}
		var ok bool
		if p.ascending {
			for j < len(keys) && keys[j] < k {
				j++
			}
			ok = j < len(keys) && keys[j] == k
		} else {
			ok = in(k)
		}
		if ok {
			bits[slot>>6] |= 1 << (slot & 63)
		}
	}
	return bits
}
