package store

import (
	"context"
	"sync"
)

// writeGate orders the transactions that wait for the one write
// connection: first come, first served, except that urgent ones (the alert
// evaluator's, a few rows each) go before the others. Without it the
// connection pool hands the connection to a random waiter, and an alert
// could wait many turns behind a queue of writers.
type writeGate struct {
	mu     sync.Mutex
	busy   bool
	queues [2][]chan struct{} // urgent, then normal
}

// urgentKey marks a context whose write transaction goes first.
type urgentKey struct{}

func urgent(ctx context.Context) context.Context { return context.WithValue(ctx, urgentKey{}, true) }

// acquire waits for the turn of a transaction, or for ctx to end.
func (g *writeGate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	q := 1
	if ctx.Value(urgentKey{}) != nil {
		q = 0
	}
	ch := make(chan struct{})
	g.queues[q] = append(g.queues[q], ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		for i, c := range g.queues[q] {
			if c == ch {
				g.queues[q] = append(g.queues[q][:i], g.queues[q][i+1:]...)
				g.mu.Unlock()
				return ctx.Err()
			}
		}
		g.mu.Unlock()
		g.release() // the turn came meanwhile: pass it on
		return ctx.Err()
	}
}

// release hands the turn to the next waiter.
func (g *writeGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for q := range g.queues {
		if len(g.queues[q]) > 0 {
			ch := g.queues[q][0]
			g.queues[q] = g.queues[q][1:]
			close(ch)
			return
		}
	}
	g.busy = false
}
