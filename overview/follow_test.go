package overview

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
)

// lastSeqCounter is the store as the index's source, counting the reads of
// the log's last seq.
type lastSeqCounter struct {
	*store.DB
	n atomic.Int64
}

func (s *lastSeqCounter) LastSeq(ctx context.Context) (int64, error) {
	s.n.Add(1)
	return s.DB.LastSeq(ctx)
}

// A query answers from memory: it reads no log position, yet sees every
// write of this process that returned before it; a write by another
// process on the same file is found by Run's poll.
func TestQueriesSeeWritesWithoutReadingTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nexus.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(4, 2))
	src := &lastSeqCounter{DB: db}
	ix := New(src, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		t.Helper()
		n, err := ix.Count(ctx, geo.NewFilter())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := src.n.Load()
	var ids []string
	for i := range 20 {
		st, err := db.Create(ctx, "test", randomIncident(rng, ""))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, st.ID)
		if n := count(); n != int64(i+1) {
			t.Fatalf("after %d creates the index counts %d", i+1, n)
		}
	}
	for i, id := range ids[:5] {
		if err := db.Delete(ctx, "test", geo.Incidents, id, 0); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != int64(len(ids)-i-1) {
			t.Fatalf("after %d deletes the index counts %d, want %d", i+1, n, len(ids)-i-1)
		}
	}
	if _, err := db.ImportBatch(ctx, "test", []geo.Record{randomIncident(rng, "imp:1"), randomIncident(rng, "imp:2")}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 17 {
		t.Fatalf("after an import of two the index counts %d, want 17", n)
	}
	if got := src.n.Load() - before; got != 0 {
		t.Fatalf("%d queries read the log's last seq; a query answers from memory", got)
	}

	// Another process writes to the same file: Run's poll finds it.
	other, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Create(ctx, "other", randomIncident(rng, "")); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ix.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	// The bound only turns a hang into a failure; Run polls every 250 ms.
	for deadline := time.Now().Add(time.Minute); count() != 18; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after another process's create the index counts %d, want 18", count())
		}
	}
	if src.n.Load() == before {
		t.Fatal("Run found another process's write without reading the log")
	}
}

// A selected incident's Seq stays while it is unchanged, whatever else is
// written, and moves on when it changes: a copy read after the seq is
// current exactly while Select gives the same Seq.
func TestSelectSeqFollowsChanges(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(7, 1))
	loaded, err := db.Create(ctx, "test", randomIncident(rng, ""))
	if err != nil {
		t.Fatal(err)
	}
	ix := New(db, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	seqs := func() map[string]int64 {
		t.Helper()
		refs, ok, err := ix.Select(ctx, geo.NewFilter(), 100)
		if err != nil || !ok {
			t.Fatalf("select: ok %v, err %v", ok, err)
		}
		out := map[string]int64{}
		for _, r := range refs {
			out[r.ID] = r.Seq
		}
		return out
	}
	first := seqs()
	last, err := db.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first[loaded.ID] != last {
		t.Fatalf("a loaded incident has seq %d, want the load's %d", first[loaded.ID], last)
	}
	created, err := db.Create(ctx, "test", randomIncident(rng, ""))
	if err != nil {
		t.Fatal(err)
	}
	second := seqs()
	if second[loaded.ID] != first[loaded.ID] {
		t.Fatalf("another incident's create moved the seq of %s from %d to %d", loaded.ID, first[loaded.ID], second[loaded.ID])
	}
	if second[created.ID] <= last {
		t.Fatalf("a created incident has seq %d, not after the load's %d", second[created.ID], last)
	}
	in := randomIncident(rng, "")
	if _, _, err := db.Replace(ctx, "test", loaded.ID, 0, in); err != nil {
		t.Fatal(err)
	}
	third := seqs()
	if third[loaded.ID] <= second[created.ID] {
		t.Fatalf("after its update %s has seq %d, not after %d", loaded.ID, third[loaded.ID], second[created.ID])
	}
	if third[created.ID] != second[created.ID] {
		t.Fatalf("an update of another moved the seq of %s", created.ID)
	}
}

// The matches of a text stay exact when they are first read while another
// goroutine writes: the index holds its log while it asks the store, and
// the changes after the store's snapshot update them. Once the writes
// stop, every text counts what the store counts.
func TestTextFollowsConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	db, ix := loadedRandom(t, rand.New(rand.NewPCG(9, 1)), 300, "c")
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go ix.Run(runCtx)
	done := make(chan error)
	go func() {
		wrng := rand.New(rand.NewPCG(9, 2))
		for i := range 120 {
			var err error
			switch wrng.IntN(3) {
			case 0:
				_, err = db.Create(ctx, "test", randomIncident(wrng, ""))
			case 1:
				_, err = db.ImportBatch(ctx, "test", []geo.Record{randomIncident(wrng, fmt.Sprintf("c:%d", wrng.IntN(300)))})
			default:
				err = db.Delete(ctx, "test", geo.Incidents, fmt.Sprintf("c:%d", i), 0)
				if geo.ErrorCode(err) == geo.ENOTFOUND {
					err = nil
				}
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Words and prefixes, each first asked at some point of the writes.
	var qs []string
	for _, w := range testWords {
		for n := 2; n <= len(w); n++ {
			qs = append(qs, w[:n])
		}
	}
	writing := true
	for i := 0; writing; i++ {
		f := geo.NewFilter()
		f.Q = qs[i%len(qs)]
		if _, err := ix.Count(ctx, f); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
	}
	for _, q := range qs {
		f := geo.NewFilter()
		f.Q = q
		got, err := ix.Count(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("q=%q: the index counts %d, the store %d", q, got, want)
		}
	}
}
