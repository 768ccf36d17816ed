package watch

import (
	"math/rand"
	"testing"

	"github.com/paulmach/orb"
)

func randomBound(r *rand.Rand) orb.Bound {
	// Sizes from metres to thousands of kilometres.
	size := []float64{0.001, 0.05, 1, 10, 60}[r.Intn(5)] * r.Float64()
	x, y := r.Float64()*(360-size)-180, r.Float64()*(180-size)-90
	return orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + size, y + size}}
}

// The grid finds every box a query meets (it may find a few more: the
// exact test comes after), and forgets removed boxes.
func TestIndexFindsWhatMeetsTheQuery(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	ix := newIndex()
	boxes := make([]orb.Bound, 3000)
	for i := range boxes {
		boxes[i] = randomBound(r)
		ix.insert(int32(i), []orb.Bound{boxes[i]})
	}
	removed := map[int32]bool{}
	for i := 0; i < len(boxes); i += 3 {
		ix.remove(int32(i), []orb.Bound{boxes[i]})
		removed[int32(i)] = true
	}
	var candidates, meets int
	for q := 0; q < 2000; q++ {
		var query orb.Bound
		if q%2 == 0 {
			p := orb.Point{r.Float64()*360 - 180, r.Float64()*180 - 90}
			query = orb.Bound{Min: p, Max: p}
		} else {
			query = randomBound(r)
		}
		found := map[int32]bool{}
		ix.query(query, func(s int32) {
			if removed[s] {
				t.Fatalf("removed slot %d found", s)
			}
			found[s] = true
		})
		for i, b := range boxes {
			if !removed[int32(i)] && b.Intersects(query) {
				if q%2 == 0 {
					meets++
				}
				if !found[int32(i)] {
					t.Fatalf("box %v meets %v but was not found", b, query)
				}
			}
		}
		if q%2 == 0 {
			candidates += len(found)
		}
	}
	// A point's candidates are the boxes of its cells: a few times those
	// that really hold it, never a large part of all the boxes.
	t.Logf("%d candidates for %d boxes that hold the points", candidates, meets)
	if candidates > 4*meets {
		t.Fatalf("%d candidates for %d boxes that hold the points: the grid does not narrow", candidates, meets)
	}
}
