package geocode

import "math"

// nearest returns the place nearest to a point, among those ok allows (all
// when ok is nil), and its distance in kilometres; -1 when none is allowed.
//
// The places are stored as an implicit k-d tree over their unit vectors
// (the median of each range is its node, its split axis in the flags), so
// the search needs no extra memory and is right across the antimeridian and
// at the poles.
func (g *Gazetteer) nearest(lon, lat float64, ok func(i int) bool) (int, float64) {
	v := unitVec(lon, lat)
	s := kdSearch{g: g, q: [3]float64{float64(v[0]), float64(v[1]), float64(v[2])}, ok: ok, best: -1, bestD: math.Inf(1)}
	s.search(0, len(g.placeVec), 0, [3]float64{})
	if s.best < 0 {
		return -1, 0
	}
	chord := math.Sqrt(s.bestD)
	return s.best, 2 * earthRadiusKm * math.Asin(math.Min(1, chord/2))
}

type kdSearch struct {
	g     *Gazetteer
	q     [3]float64
	ok    func(int) bool
	best  int
	bestD float64 // squared chord
}

// leafScan is the size of a range that is scanned rather than split.
const leafScan = 8

// search looks for the nearest allowed place in [lo, hi), whose region is
// at squared distance at least rd from the query; off holds, per axis, the
// distance from the query to that region's bounding plane on that axis
// (Arya and Mount's incremental distance).
func (s *kdSearch) search(lo, hi int, rd float64, off [3]float64) {
	for hi-lo > leafScan {
		mid := (lo + hi) / 2
		s.visit(mid)
		axis := s.g.placeFlags[mid] >> 2 & 3
		diff := s.q[axis] - float64(s.g.placeVec[mid][axis])
		// Search the near side first, the far side only if it can hold
		// something nearer; loop on the far side instead of recursing.
		nearLo, nearHi, farLo, farHi := lo, mid, mid+1, hi
		if diff >= 0 {
			nearLo, nearHi, farLo, farHi = mid+1, hi, lo, mid
		}
		s.search(nearLo, nearHi, rd, off)
		rd += diff*diff - off[axis]*off[axis]
		if rd >= s.bestD {
			return
		}
		off[axis] = diff
		lo, hi = farLo, farHi
	}
	for i := lo; i < hi; i++ {
		s.visit(i)
	}
}

func (s *kdSearch) visit(i int) {
	p := &s.g.placeVec[i]
	dx, dy, dz := s.q[0]-float64(p[0]), s.q[1]-float64(p[1]), s.q[2]-float64(p[2])
	if d := dx*dx + dy*dy + dz*dz; d < s.bestD && (s.ok == nil || s.ok(i)) {
		s.best, s.bestD = i, d
	}
}
