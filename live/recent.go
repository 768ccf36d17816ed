package live

import "sort"

// recentChanges is how many of the newest changes the hub keeps decoded and
// prepared, in order, so that a client that resumes with since, changes its
// view, or comes back after a slow-consumer close replays them from memory
// (the same prepared frames, no decoding) rather than from the database.
// Their memory is bounded too (Options.RecentBytes): a few changes of large
// records take the place of many small ones.
const recentChanges = 4096

// cached is one change of the log as the hub fanned it out. e and f are nil
// for a change that could not be decoded: it keeps its place in the order.
type cached struct {
	seq  int64
	e    *entry
	f    *frame
	size int // bytes of memory it holds, about
	// A change of a sensitive record (either side) has a second entry
	// and frame for viewers, of its coarsened Features (geo.Change.Public);
	// nil when that could not be made: viewers then get nothing of it.
	sensitive bool
	pe        *entry
	pf        *frame
}

// view is the entry and frame of the change for a client: the exact one
// for editors, the coarse one of a sensitive record for anyone else.
func (x *cached) view(editor bool) (*entry, *frame) {
	if editor || !x.sensitive {
		return x.e, x.f
	}
	return x.pe, x.pf
}

// recent is a ring of the newest changes, oldest first. The hub appends
// under its mutex; readers copy out under the same mutex.
type recent struct {
	buf   []cached
	start int // index of the oldest
	n     int
	bytes int // the sum of the sizes held
	max   int // the most bytes held; 0 means DefaultRecentBytes
}

func (r *recent) add(c cached) {
	if r.buf == nil {
		r.buf = make([]cached, recentChanges)
	}
	if r.max <= 0 {
		r.max = DefaultRecentBytes
	}
	if c.size > r.max/4 {
		// Too large to keep: the ring starts again after it, and a replay
		// from before it reads the log.
		for r.n > 0 {
			r.drop()
		}
		return
	}
	for r.n > 0 && (r.n == len(r.buf) || r.bytes+c.size > r.max) {
		r.drop()
	}
	r.buf[(r.start+r.n)%len(r.buf)] = c
	r.n++
	r.bytes += c.size
}

// drop lets the oldest change go.
func (r *recent) drop() {
	old := r.at(0)
	r.bytes -= old.size
	*old = cached{}
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

func (r *recent) at(i int) *cached { return &r.buf[(r.start+i)%len(r.buf)] }

// after appends to out up to max changes with seq greater than pos, in
// order. ok is false when the ring does not reach back to pos: the changes
// right after pos must come from the log.
func (r *recent) after(pos int64, max int, out []cached) (_ []cached, ok bool) {
	if r.n == 0 || r.at(0).seq > pos+1 {
		return out, false
	}
	i := sort.Search(r.n, func(i int) bool { return r.at(i).seq > pos })
	for ; i < r.n && max > 0; i, max = i+1, max-1 {
		out = append(out, *r.at(i))
	}
	return out, true
}

// missing is how many of the changes after pos up to target the ring does
// not hold: those a replay from pos reads from the log.
func (r *recent) missing(pos, target int64) int64 {
	end := target
	if r.n > 0 {
		end = min(end, r.at(0).seq-1)
	}
	return max(0, end-pos)
}
