package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
)

// TestSubscriberDuringImport: a subscriber connected while records are
// imported in bulk, re-imported with changes and some deleted ends with
// exactly the records a fresh load shows.
func TestSubscriberDuringImport(t *testing.T) {
	e := newEnv(t, Options{})
	e.subscriberDuringImport(3000, 500)
}

// BenchmarkSubscriberDuringImport200k: the same with 200 000 records in
// import batches; reports how long the subscriber took to catch up after
// the last commit.
func BenchmarkSubscriberDuringImport200k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newEnv(b, Options{Logger: slog.New(slog.DiscardHandler)})
		lag, reconnects := e.subscriberDuringImport(200000, geo.ImportBatchSize)
		b.Logf("a subscriber during an import of 200 000 records (then re-imported with 20 000 changed, 4 000 deleted) ends with the state of a fresh load: caught up %.2f s after the last commit, %d reconnects",
			lag.Seconds(), reconnects)
		b.ReportMetric(lag.Seconds(), "catch-up-s")
	}
}

// subscriberDuringImport imports n synthetic incidents in batches of
// batch, imports them again with every tenth changed, deletes every
// fiftieth, while one subscriber of the whole world follows the live
// feed (resuming with since whenever it is dropped). It checks that the
// subscriber's view equals a fresh load and returns how long after the
// last commit the subscriber caught up, and how often it reconnected.
func (e *env) subscriberDuringImport(n, batch int) (lag time.Duration, reconnects int) {
	t := e.t
	ctx := context.Background()
	c := e.dial(nil, nil)
	c.subscribe("", c.hello)
	first := c.hello

	done := make(chan error, 1)
	var lastCommit time.Time
	go func() {
		done <- func() error {
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			recs := make([]geo.Record, n)
			for i := range recs {
				r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil,
					`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":"Imported %d","type":"attack","date":"2024-05-01","actors":["Test"],"external_id":"live:%d"}}`,
					-120+rng.Float64()*140, -40+rng.Float64()*95, i, i))
				if err != nil {
					return err
				}
				recs[i] = r
			}
			var ids []string
			for pass := range 2 {
				for start := 0; start < n; start += batch {
					part := recs[start:min(start+batch, n)]
					if pass == 1 {
						for i := range part {
							if (start+i)%10 == 0 {
								part[i].(*geo.Incident).Title = fmt.Sprintf("Imported %d, corrected", start+i)
							}
						}
					}
					for _, r := range part {
						*r.Base() = geo.Meta{}
					}
					res, err := e.db.ImportBatch(ctx, "import", part)
					if err != nil {
						return err
					}
					for _, r := range res {
						if pass == 0 {
							ids = append(ids, r.ID)
						}
					}
				}
			}
			for i := 0; i < n; i += 50 {
				if err := e.db.Delete(ctx, "editor", geo.Incidents, ids[i], 0); err != nil {
					return err
				}
			}
			lastCommit = time.Now()
			return nil
		}()
	}()

	// The subscriber's view: id → Feature, from the frames alone.
	view := map[string][]byte{}
	last := c.hello
	written := false
	stalled := 0
	var target int64
	for !written || last < target {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			written = true
			var err2 error
			if target, err2 = e.db.LastSeq(ctx); err2 != nil {
				t.Fatal(err2)
			}
			continue
		default:
		}
		m, err := c.tryRead()
		if err != nil {
			var ce *websocket.CloseError
			var ne interface{ Timeout() bool }
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				// Nothing for a while on a busy machine: resume on a new
				// connection, but not forever without progress.
				// Only once the writer is done can the feed be late.
				if written {
					stalled++
				}
				if stalled > 5 {
					t.Fatalf("no frame for a minute at seq %d (target %d)", last, target)
				}
				c.ws.Close()
			case !errors.As(err, &ce):
				t.Fatalf("read: %v", err)
			}
			// Dropped (a slow consumer, most likely): resume as the map does.
			reconnects++
			c = e.dial(nil, nil)
			c.subscribe("", last)
			continue
		}
		stalled = 0
		switch m.Type {
		case "change":
			if m.Seq != last+1 {
				t.Fatalf("seq %d follows %d", m.Seq, last)
			}
			last = m.Seq
			if m.Op == "delete" {
				delete(view, m.ID)
			} else {
				view[m.ID] = bytes.Clone(m.Feature)
			}
		case "reset":
			t.Fatalf("reset at seq %d: the log keeps everything", m.Seq)
		}
	}
	lag = time.Since(lastCommit)

	fresh := map[string][]byte{}
	if err := e.db.Each(ctx, geo.Incidents, geo.NewFilter(), func(f []byte) error {
		r, err := geo.DecodeFeature(geo.Incidents, f)
		if err != nil {
			return err
		}
		fresh[r.Base().ID] = bytes.Clone(f)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := n - (n+49)/50; len(fresh) != want {
		t.Fatalf("a fresh load holds %d records, want %d", len(fresh), want)
	}
	if want := int64(n + (n+9)/10 + (n+49)/50); last-first != want {
		t.Fatalf("the subscriber saw %d changes, want %d", last-first, want)
	}
	if len(view) != len(fresh) {
		t.Fatalf("the subscriber holds %d records, a fresh load %d", len(view), len(fresh))
	}
	for id, f := range fresh {
		if !bytes.Equal(view[id], f) {
			t.Fatalf("record %s: subscriber has %.120s, a fresh load %.120s", id, view[id], f)
		}
	}
	t.Logf("%d records, %d changes: the subscriber caught up %v after the last commit, %d reconnects", len(fresh), last-first, lag, reconnects)
	return lag, reconnects
}
