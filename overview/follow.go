package overview

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// Source is what the index needs of the store: one scan of the incidents,
// the change log that follows it, and the incidents a text matches.
//
// Each record has a key in the store: a positive integer, unique among
// the records, that a record keeps while it exists (SQLite's rowid,
// PostgreSQL's bigserial).
type Source interface {
	// EachIncident calls fn with every incident's id, key, point and keys
	// (the text may be left out) from one snapshot, and returns the
	// change-log seq of that snapshot. The point of a sensitive incident
	// is its coarse point (geo.Coarsened), and k.Shape its exact one.
	// Keys come in ascending order, which makes the index's text filter
	// cheaper to prepare (any order is correct).
	EachIncident(ctx context.Context, fn func(id string, key int64, p orb.Point, k geo.Keys) error) (int64, error)
	LastSeq(ctx context.Context) (int64, error)
	Changes(ctx context.Context, after int64, limit int) ([]geo.Change, error)
	OnCommit(func(seq int64))
	// TextKeys reads from one snapshot, and returns with the change-log
	// seq of that snapshot, the keys of the records whose text matches q
	// by the rules of geo.Filter.Q, in ascending order (keys of routes
	// may be among them), and the key of each of ids (0 for an id no
	// record has).
	TextKeys(ctx context.Context, q string, ids []string) (seq int64, match, keys []int64, err error)
}

// PollInterval is how often Run looks for changes written by other
// processes on the same database.
const PollInterval = 250 * time.Millisecond

// readBatch is how many changes are read from the log at a time.
const readBatch = 2000

// maxGridCells bounds the cells of one view, whatever level is asked for.
const maxGridCells = 1 << 16

// ErrNotLoaded is returned by the queries of an index that has not been
// loaded.
var ErrNotLoaded = errors.New("overview: the index is not loaded")

// Index is the overview of the incidents. Create it with New, fill it with
// Load, keep it current with Run; its queries are safe for concurrent use.
type Index struct {
	src Source
	log *slog.Logger

	wake chan struct{}

	pump   sync.Mutex   // one reader of the log at a time
	mu     sync.RWMutex // guards p and texts
	p      *points
	texts  map[string]*textSet // by the words of the text
	uses   atomic.Int64        // the clock of textSet.used
	seq    atomic.Int64        // last change applied
	known  atomic.Int64        // last change known to be committed
	loaded atomic.Bool
}

// New returns an empty index over the source; it registers for the
// source's commit notifications at once.
//
// A query answers from memory: it first applies the changes the source
// announced through OnCommit (every commit of this process), so that it
// sees every write that returned before it. Commits the source does not
// announce, by another process on the same database, are found by Run,
// which reads the log's last seq every PollInterval.
func New(src Source, logger *slog.Logger) *Index {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ix := &Index{src: src, log: logger, wake: make(chan struct{}, 1), p: newPoints(), texts: map[string]*textSet{}}
	src.OnCommit(func(seq int64) {
		ix.learn(seq)
		if seq > ix.seq.Load() {
			select {
			case ix.wake <- struct{}{}:
			default:
			}
		}
	})
	return ix
}

// loadBatch is how many incidents the scan hands over at a time.
const loadBatch = 4096

// scanned is a batch of incidents read by the scan, for the goroutine
// that puts them in the index: their keys' lists point into actors and
// countries, which the batch owns (the source may reuse its own).
type scanned struct {
	ids       []string
	keys      []int64
	pts       []orb.Point
	gkeys     []geo.Keys
	actors    []string
	countries []string
}

func (b *scanned) add(id string, key int64, pt orb.Point, k geo.Keys) {
	a := len(b.actors)
	b.actors = append(b.actors, k.Actors...)
	k.Actors = b.actors[a:len(b.actors):len(b.actors)]
	c := len(b.countries)
	b.countries = append(b.countries, k.Countries...)
	k.Countries = b.countries[c:len(b.countries):len(b.countries)]
	b.ids, b.keys, b.pts, b.gkeys = append(b.ids, id), append(b.keys, key), append(b.pts, pt), append(b.gkeys, k)
}

// Load builds the index from one scan of the source, then applies what
// the log gained meanwhile. The scan and the filling of the index run side
// by side: reading the store and building the index take about as long.
func (ix *Index) Load(ctx context.Context) error {
	p := newPoints()
	p.bulk = true
	full := make(chan *scanned, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			for i, id := range b.ids {
				p.put(id, b.keys[i], b.pts[i], b.gkeys[i])
			}
		}
	}()
	b := &scanned{}
	seq, err := ix.src.EachIncident(ctx, func(id string, key int64, pt orb.Point, k geo.Keys) error {
		b.add(id, key, pt, k)
		if len(b.ids) == loadBatch {
			full <- b
			b = &scanned{}
		}
		return nil
	})
	full <- b
	close(full)
	<-done
	if err != nil {
		return fmt.Errorf("overview: scan: %w", err)
	}
	p.build()
	p.loadSeq = seq
	ix.mu.Lock()
	ix.p = p
	ix.texts = map[string]*textSet{}
	ix.seq.Store(seq)
	ix.mu.Unlock()
	ix.loaded.Store(true)
	return ix.poll(ctx)
}

// Run follows the change log until ctx is done: at every commit
// notification, and every PollInterval for commits of other processes.
func (ix *Index) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-ix.wake:
			err = ix.catchUp(ctx)
		case <-t.C:
			err = ix.poll(ctx)
		}
		if err != nil && ctx.Err() == nil {
			ix.log.Error("follow change log", "err", err, "seq", ix.seq.Load())
		}
	}
}

// Answers reports whether the index answers the filter as the store would:
// it Handles the filter, and a box of a caller who sees sensitive
// incidents exactly (geo.Filter.Exact) finds them where they are. The
// index places them at their coarse point, for everyone: while it holds
// one, such a box is left to the store.
func (ix *Index) Answers(ctx context.Context, f geo.Filter) bool {
	if !Handles(f) {
		return false
	}
	if !f.Exact || f.BBox == nil {
		return true
	}
	if ix.catchUp(ctx) != nil {
		return false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.p.sens) == 0
}

// Seq is the last change-log seq the index has applied.
func (ix *Index) Seq() int64 { return ix.seq.Load() }

// Len is the number of incidents in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.p.Len()
}

// learn records that the log holds changes up to seq.
func (ix *Index) learn(seq int64) {
	for {
		k := ix.known.Load()
		if seq <= k || ix.known.CompareAndSwap(k, seq) {
			return
		}
	}
}

// poll reads the log's last seq, for commits no notification announced,
// and applies every change up to it.
func (ix *Index) poll(ctx context.Context) error {
	last, err := ix.src.LastSeq(ctx)
	if err != nil {
		return err
	}
	ix.learn(last)
	return ix.catchUp(ctx)
}

// catchUp applies every change after the index's seq up to the last one
// known to be committed. It reads nothing when the index is current.
func (ix *Index) catchUp(ctx context.Context) error {
	last := ix.known.Load()
	if last <= ix.seq.Load() {
		return nil
	}
	ix.pump.Lock()
	defer ix.pump.Unlock()
	for ix.seq.Load() < last {
		batch, err := ix.src.Changes(ctx, ix.seq.Load(), readBatch)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		type upd struct {
			id  string
			pt  orb.Point
			k   geo.Keys
			seq int64
			del bool
		}
		ups := make([]upd, 0, len(batch))
		for i := range batch {
			c := &batch[i]
			if c.Collection != geo.Incidents {
				continue
			}
			if c.Op == geo.OpDelete || len(c.After) == 0 {
				ups = append(ups, upd{id: c.ID, del: true})
				continue
			}
			r, err := geo.DecodeFeature(geo.Incidents, c.After)
			if err != nil {
				ix.log.Error("skip undecodable change", "seq", c.Seq, "err", err)
				continue
			}
			// The index places a sensitive incident at its coarse point,
			// as EachIncident does; its keys' Shape is the exact one.
			in, _ := geo.Coarsened(r).(*geo.Incident)
			if in == nil {
				continue
			}
			ups = append(ups, upd{id: c.ID, pt: in.Point, k: r.Keys(), seq: c.Seq})
		}
		ix.mu.Lock()
		for _, u := range ups {
			if u.del {
				if slot, ok := ix.p.ids[u.id]; ok {
					ix.p.remove(u.id)
					for _, ts := range ix.texts {
						ts.bits = setBit(ts.bits, slot, false)
					}
				}
				continue
			}
			if slot, ok := ix.p.ids[u.id]; ok {
				for _, ts := range ix.texts {
					ts.bits = setBit(ts.bits, slot, false)
				}
			}
			slot := ix.p.put(u.id, 0, u.pt, u.k)
			ix.p.pts[slot].seq = u.seq
			ix.p.changed[slot] = struct{}{}
			if len(ix.texts) > 0 {
				// Every text asked for follows the change, from its text.
				folded := geo.Fold(u.k.Text)
				for _, ts := range ix.texts {
					ts.bits = setBit(ts.bits, slot, geo.HasWords(folded, ts.words))
				}
			}
		}
		ix.seq.Store(batch[len(batch)-1].Seq)
		ix.mu.Unlock()
	}
	return nil
}

// read catches up with the commits known and runs f on the points under
// the read lock.
func (ix *Index) read(ctx context.Context, f func(p *points)) error {
	if !ix.loaded.Load() {
		return ErrNotLoaded
	}
	if err := ix.catchUp(ctx); err != nil {
		return err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	f(ix.p)
	return nil
}

// maxTexts is how many texts the index keeps the matches of; the one used
// longest ago goes first.
const maxTexts = 16

// textSet is the incidents a text matches: a bit per slot of the points.
// It holds for the index once the index has applied the change-log seq
// ready; every change the index applies after it was made updates it.
type textSet struct {
	words []string
	bits  []uint64
	ready int64
	used  atomic.Int64 // when it was last used, by the index's clock of uses
}

// readFiltered is read for a filter: it compiles the filter, its text
// included, and runs f on the points and the query under the read lock.
func (ix *Index) readFiltered(ctx context.Context, f geo.Filter, fn func(p *points, q *query)) error {
	if !ix.loaded.Load() {
		return ErrNotLoaded
	}
	words := geo.Words(f.Q)
	for try := 0; ; try++ {
		var ts *textSet
		if len(words) > 0 {
			var err error
			if ts, err = ix.textSet(ctx, words); err != nil {
				return err
			}
		}
		if err := ix.catchUp(ctx); err != nil {
			return err
		}
		ix.mu.RLock()
		if ts != nil && (ix.texts[strings.Join(words, " ")] != ts || ts.ready > ix.seq.Load()) {
			// Let go meanwhile, or not yet current: ask again.
			ix.mu.RUnlock()
			if try == 3 {
				return fmt.Errorf("overview: the matches of %q did not settle", f.Q)
			}
			continue
		}
		p := ix.p
		q := p.compile(f)
		if ts != nil {
			q.text = ts.bits
			if q.text == nil {
				q.text = []uint64{}
			}
		}
		fn(p, &q)
		ix.mu.RUnlock()
		return nil
	}
}

// textSet returns the set of the text of these words, asking the store
// for it the first time: the keys that match, and the keys of the points
// written since the load that the index does not know yet, from one
// snapshot. The log is not applied meanwhile (the pump is held): the set
// is made for the points as they are, and the changes after them, up to
// the snapshot's seq and beyond, update it as they are applied.
func (ix *Index) textSet(ctx context.Context, words []string) (*textSet, error) {
	key := strings.Join(words, " ")
	ix.mu.RLock()
	ts := ix.texts[key]
	ix.mu.RUnlock()
	if ts != nil {
		ts.used.Store(ix.uses.Add(1))
		return ts, nil
	}
	ix.pump.Lock()
	defer ix.pump.Unlock()
	ix.mu.RLock()
	ts = ix.texts[key]
	var ids []string
	var slots []int32
	if ts == nil {
		for slot := range ix.p.changed {
			if ix.p.keys[slot] == 0 {
				ids = append(ids, ix.p.names[slot])
				slots = append(slots, slot)
			}
		}
	}
	ix.mu.RUnlock()
	if ts != nil {
		ts.used.Store(ix.uses.Add(1))
		return ts, nil
	}
	seq, match, keys, err := ix.src.TextKeys(ctx, key, ids)
	if err != nil {
		return nil, fmt.Errorf("overview: text: %w", err)
	}
	if len(keys) != len(ids) {
		return nil, fmt.Errorf("overview: text: %d keys for %d ids", len(keys), len(ids))
	}
	if !slices.IsSorted(match) {
		slices.Sort(match)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, slot := range slots {
		ix.p.keys[slot] = keys[i]
	}
	ts = &textSet{words: words, bits: ix.p.textBits(match), ready: seq}
	ts.used.Store(ix.uses.Add(1))
	if len(ix.texts) >= maxTexts {
		var old string
		for k, t := range ix.texts {
			if old == "" || t.used.Load() < ix.texts[old].used.Load() {
				old = k
			}
		}
		delete(ix.texts, old)
	}
	ix.texts[key] = ts
	ix.learn(seq)
	return ts, nil
}

// View returns the clusters of the incidents matching the filter in cells
// of the grid level (see Level), and how many match in all.
func (ix *Index) View(ctx context.Context, f geo.Filter, level int) ([]Cluster, int64, error) {
	var out []Cluster
	var total int64
	err := ix.readFiltered(ctx, f, func(p *points, q *query) {
		level := min(max(level, 0), MaxLevel)
		for level > 0 && Cells(f.BBox, level) > maxGridCells {
			level--
		}
		g := newGrid(q.bounds, level)
		p.view(q, g)
		out, total = g.clusters()
	})
	return out, total, err
}

// Count returns how many incidents match the filter.
func (ix *Index) Count(ctx context.Context, f geo.Filter) (int64, error) {
	var n int64
	err := ix.readFiltered(ctx, f, func(p *points, q *query) {
		n = p.count(q)
	})
	return n, err
}

// Stats counts the incidents matching the filter by
// country, type, actor or month, as store.DB.Stats does: largest first,
// months in time order.
func (ix *Index) Stats(ctx context.Context, f geo.Filter, by string) ([]Count, error) {
	var out []Count
	err := ix.readFiltered(ctx, f, func(p *points, q *query) {
		out = p.stats(q, by)
	})
	return out, err
}

// Ref names an incident of the index and the version it holds: Seq is the
// change-log seq of the change that wrote that version, or of the load
// that read it. While the index holds the same Seq for the incident, the
// incident has not changed since a read of it made after that seq.
type Ref struct {
	ID  string
	Seq int64
}

// Select returns the incidents matching the filter, in
// no particular order; ok is false, and refs nil, when more than limit
// match.
func (ix *Index) Select(ctx context.Context, f geo.Filter, limit int) (refs []Ref, ok bool, err error) {
	err = ix.readFiltered(ctx, f, func(p *points, q *query) {
		ok = true
		p.each(q, func(r *run, i int) {
			if len(refs) == limit {
				ok = false
				return
			}
			slot := r.slots[i]
			seq := p.pts[slot].seq
			if seq == 0 {
				seq = p.loadSeq
			}
			refs = append(refs, Ref{p.names[slot], seq})
		})
	})
	if !ok {
		refs = nil
	}
	return refs, ok, err
}
