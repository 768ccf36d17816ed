package pgstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"nexus/geo"
	"nexus/internal/pgtest"
)

func incident(t testing.TB, title string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(geo.Incidents, []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.05,4.66]},"properties":{"title":"`+title+`","type":"attack","date":"2020","actors":[],"killed":null}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func open(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLateCommitIsNotSkipped interleaves two write transactions: the first
// takes its seq and holds it uncommitted while the second tries to write.
// A follower reading "after seq" meanwhile must not see the second change
// before the first, or it would resume past the first and never see it.
// The second writer waits for the first's commit (it is seen waiting on
// the log's lock in pg_locks), and then the log reads in commit order.
func TestLateCommitIsNotSkipped(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	seq0, err := db.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan int64), make(chan struct{})
	var once sync.Once
	let := func() { once.Do(func() { close(release) }) }
	defer let() // a failing test lets the first writer finish
	first := make(chan error, 1)
	go func() {
		first <- db.inTx(ctx, func(tx *writeTx) error {
			if _, err := tx.create("first", incident(t, "first")); err != nil {
				return err
			}
			holding <- tx.lastSeq
			<-release
			return nil
		})
	}()
	s1 := <-holding
	second := make(chan error, 1)
	go func() {
		_, err := db.Create(ctx, "second", incident(t, "second"))
		second <- err
	}()
	// Wait until the second writer waits on the log's advisory lock.
	for {
		var waiting int
		if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-second:
			t.Fatalf("the second write ended (%v) while the first held its seq", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if got, err := db.Changes(ctx, seq0, 10); err != nil || len(got) != 0 {
		t.Fatalf("while the first change is uncommitted the log shows %d changes (%v)", len(got), err)
	}
	if last, _ := db.LastSeq(ctx); last != seq0 {
		t.Fatalf("last seq %d while the first change (seq %d) is uncommitted", last, s1)
	}
	let()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	got, err := db.Changes(ctx, seq0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("%d changes (%v), want 2", len(got), err)
	}
	if got[0].Seq != s1 || got[0].Actor != "first" || got[1].Actor != "second" || got[1].Seq <= s1 {
		t.Fatalf("log order: %d %s, %d %s", got[0].Seq, got[0].Actor, got[1].Seq, got[1].Actor)
	}
}

// TestFollowerSeesEveryCommit: writers on two servers (two pools on one
// database) commit side by side, some holding their transaction open a
// while after logging; followers read "after the last seq they saw" as
// fast as they can. Each follower sees every change once, in seq order.
func TestFollowerSeesEveryCommit(t *testing.T) {
	a := open(t)
	b, err := Open(context.Background(), a.url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	seq0, _ := a.LastSeq(ctx)
	const writers, each = 8, 40
	done := make(chan struct{})
	type seen struct {
		seqs []int64
		err  error
	}
	follow := func(db *DB, out chan<- seen) {
		var s seen
		pos := seq0
		for {
			// After every writer finished, read until the log is dry.
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			batch, err := db.Changes(ctx, pos, 50)
			if err != nil {
				s.err = err
				out <- s
				return
			}
			for _, c := range batch {
				s.seqs = append(s.seqs, c.Seq)
				pos = c.Seq
			}
			if finished && len(batch) == 0 {
				out <- s
				return
			}
		}
	}
	results := make(chan seen, 2)
	go follow(a, results)
	go follow(b, results)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		db := a
		if w%2 == 1 {
			db = b
		}
		wg.Go(func() {
			for i := range each {
				err := db.inTx(ctx, func(tx *writeTx) error {
					if _, err := tx.create(fmt.Sprint(w), incident(t, fmt.Sprintf("w%d-%d", w, i))); err != nil {
						return err
					}
					if i%4 == 0 {
						// Hold the logged seq a moment before committing.
						var one int
						return tx.QueryRow(ctx, "SELECT 1 FROM pg_sleep(0.002)").Scan(&one)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	close(done)
	all, err := a.Changes(ctx, seq0, writers*each+1)
	if err != nil || len(all) != writers*each {
		t.Fatalf("%d changes (%v), want %d", len(all), err, writers*each)
	}
	for range 2 {
		s := <-results
		if s.err != nil {
			t.Fatal(s.err)
		}
		if len(s.seqs) != len(all) {
			t.Fatalf("a follower saw %d changes of %d", len(s.seqs), len(all))
		}
		for i, c := range all {
			if s.seqs[i] != c.Seq {
				t.Fatalf("follower's change %d is seq %d, the log's is %d", i, s.seqs[i], c.Seq)
			}
		}
	}
}
