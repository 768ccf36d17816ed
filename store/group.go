package store

import (
	"context"
	"sync"

	"nexus/geo"
)

// Creates from many writers at once share transactions (group commit):
// while one transaction is being written, the creates that arrive wait,
// and the next transaction writes all of them, each in its own savepoint
// so that one refused record fails alone. A commit writes every changed
// page to the WAL; sixteen creates in one commit write the pages they
// share once.

// maxGroup is the most creates one transaction takes.
const maxGroup = 256

// createQueue holds the creates waiting for a transaction.
type createQueue struct {
	mu      sync.Mutex
	pending []*createReq
	busy    bool // a leader is writing; it hands over to the next waiter
}

// createReq is one create waiting for its transaction.
type createReq struct {
	actor string
	r     geo.Record
	out   geo.Stored
	err   error
	wake  chan bool // true: lead the next transaction; false: done
}

// create writes one prepared record, alone or with others.
func (db *DB) create(ctx context.Context, actor string, r geo.Record) (geo.Stored, error) {
	q := &db.creates
	req := &createReq{actor: actor, r: r, wake: make(chan bool, 1)}
	q.mu.Lock()
	q.pending = append(q.pending, req)
	lead := !q.busy
	q.busy = true
	q.mu.Unlock()
	if !lead && !<-req.wake {
		return req.out, req.err
	}
	// Lead: write what waits (this create among it), then hand over.
	q.mu.Lock()
	n := min(len(q.pending), maxGroup)
	group := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()
	db.writeGroup(context.WithoutCancel(ctx), group)
	q.mu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].wake <- true
	} else {
		q.busy = false
	}
	q.mu.Unlock()
	for _, g := range group {
		if g != req {
			g.wake <- false
		}
	}
	return req.out, req.err
}

// writeGroup writes the creates in one transaction, each in a savepoint.
func (db *DB) writeGroup(ctx context.Context, group []*createReq) {
	err := db.inTx(ctx, func(tx *writeTx) error {
		for _, g := range group {
			if _, err := tx.Tx.Exec("SAVEPOINT one_create"); err != nil {
				return err
			}
			seq, dict := tx.lastSeq, tx.pending
			if g.out, g.err = tx.create(g.actor, g.r); g.err != nil {
				g.err = translate(g.err)
				tx.lastSeq, tx.pending = seq, dict
				if _, err := tx.Tx.Exec("ROLLBACK TO one_create"); err != nil {
					if geo.ErrorCode(g.err) == geo.EFULL {
						// A full disk rolled the whole transaction back.
						return g.err
					}
					return err
				}
			}
			if _, err := tx.Tx.Exec("RELEASE one_create"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, g := range group {
			g.out, g.err = geo.Stored{}, err
		}
	}
}
