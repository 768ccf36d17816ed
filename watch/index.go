package watch

import (
	"math"

	"github.com/paulmach/orb"
)

// Levels of the grid: level k has cells 360/2^k degrees wide, from the
// whole world (0) down to about 600 m (maxLevel).
const maxLevel = 16

// index is a hierarchical grid of area boxes: each box is kept at the
// finest level whose cells are at least a quarter of its size, so it lies
// in at most 25 cells there and its cells cover little more than itself. A point is then looked up in one cell per
// level, whatever the number of areas: the cost of finding candidates does
// not grow with the number of watches, only with how many overlap the
// point.
type index struct {
	levels [maxLevel + 1]map[uint64][]int32 // cell key -> slots
	counts [maxLevel + 1]int                // entries per level, to skip empty levels
}

func newIndex() *index {
	ix := &index{}
	for k := range ix.levels {
		ix.levels[k] = map[uint64][]int32{}
	}
	return ix
}

func cellSize(k int) float64 { return 360 / float64(uint64(1)<<k) }

// spanCells is how many cells wide a box may be at its level.
const spanCells = 4

// levelOf is the finest level whose cells are no smaller than a
// spanCells-th of the box.
func levelOf(b orb.Bound) int {
	size := math.Max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1])
	k := 0
	for k < maxLevel && cellSize(k+1)*spanCells >= size {
		k++
	}
	return k
}

func cellOf(k int, x, y float64) (int64, int64) {
	s := cellSize(k)
	return int64(math.Floor((x + 180) / s)), int64(math.Floor((y + 90) / s))
}

func key(k int, cx, cy int64) uint64 {
	return uint64(k)<<58 | uint64(cx)<<29 | uint64(cy)
}

// cells calls f with the key of every cell of level k that the box meets.
func cells(k int, b orb.Bound, f func(uint64)) {
	x0, y0 := cellOf(k, b.Min[0], b.Min[1])
	x1, y1 := cellOf(k, b.Max[0], b.Max[1])
	for cx := x0; cx <= x1; cx++ {
		for cy := y0; cy <= y1; cy++ {
			f(key(k, cx, cy))
		}
	}
}

// insert adds the slot under each of its boxes.
func (ix *index) insert(slot int32, bounds []orb.Bound) {
	for _, b := range bounds {
		k := levelOf(b)
		cells(k, b, func(c uint64) {
			ix.levels[k][c] = append(ix.levels[k][c], slot)
			ix.counts[k]++
		})
	}
}

// remove takes the slot out from under each of its boxes.
func (ix *index) remove(slot int32, bounds []orb.Bound) {
	for _, b := range bounds {
		k := levelOf(b)
		cells(k, b, func(c uint64) {
			list := ix.levels[k][c]
			for i, s := range list {
				if s == slot {
					list[i] = list[len(list)-1]
					list = list[:len(list)-1]
					ix.counts[k]--
					break
				}
			}
			if len(list) == 0 {
				delete(ix.levels[k], c)
			} else {
				ix.levels[k][c] = list
			}
		})
	}
}

// maxCellsPerLevel bounds the cells a box query visits on one level;
// beyond it the level's cells are read instead.
const maxCellsPerLevel = 256

// query calls f with every slot whose box cells meet the box b (a point
// is a box without area). A slot may come more than once.
func (ix *index) query(b orb.Bound, f func(int32)) {
	for k := 0; k <= maxLevel; k++ {
		if ix.counts[k] == 0 {
			continue
		}
		level := ix.levels[k]
		x0, y0 := cellOf(k, b.Min[0], b.Min[1])
		x1, y1 := cellOf(k, b.Max[0], b.Max[1])
		if (x1-x0+1)*(y1-y0+1) > maxCellsPerLevel {
			for c, slots := range level {
				cx, cy := int64(c>>29&(1<<29-1)), int64(c&(1<<29-1))
				if cx >= x0 && cx <= x1 && cy >= y0 && cy <= y1 {
					for _, s := range slots {
						f(s)
					}
				}
			}
			continue
		}
		for cx := x0; cx <= x1; cx++ {
			for cy := y0; cy <= y1; cy++ {
				for _, s := range level[key(k, cx, cy)] {
					f(s)
				}
			}
		}
	}
}
