// Package watch turns the change log into alerts: the Evaluator follows
// the log as the live hub does, finds the watch areas each change concerns
// through a spatial index, and stores an alert when a record enters a
// watch, changes inside it or leaves it, then pushes it to the owner's
// open maps; the Deliverer POSTs alerts to webhooks.
//
// Alerts derive from the log: the evaluator stores the alerts of a batch of
// changes and moves its cursor past them in one transaction, so a restart
// goes on from the first change whose alerts are not stored, and no alert
// is lost or stored twice. Nothing is pushed or delivered before it is
// stored.
package watch

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"nexus/geo"
)

// Store is what the evaluator needs of the database; *store.DB satisfies it.
type Store interface {
	LastSeq(ctx context.Context) (int64, error)
	Changes(ctx context.Context, after int64, limit int) ([]geo.Change, error)
	OnCommit(func(seq int64))
	AlertCursor(ctx context.Context) (int64, error)
	WatchesAfter(ctx context.Context, after int64) ([]geo.WatchState, int64, error)
	SaveAlerts(ctx context.Context, through int64, alerts []geo.Alert, deliveries []geo.Delivery) (bool, error)
}

// Pusher sends an alert frame to every open connection of a user; the
// live hub is one.
type Pusher interface {
	Alert(owner string, frame []byte)
}

// Options tune an evaluator; zero values take the defaults.
type Options struct {
	PollInterval time.Duration // how often to look for changes by other processes; default 250 ms
	Logger       *slog.Logger
	// Pushed, when set, is called after each alert is stored and pushed
	// (benchmarks measure commit-to-alert latency with it).
	Pushed func(a *geo.Alert)
	// Wake, when set, is called after alerts with webhook deliveries are
	// stored (the Deliverer's Wake).
	Wake func()
	// Resolve prepares each watch's filter as the HTTP API does (actor
	// aliases); nil leaves filters as written.
	Resolve func(ctx context.Context, f *geo.Filter) error
}

// readBatch is how many changes are evaluated, and their alerts stored, at
// a time.
const readBatch = 100

// Evaluator follows the change log and stores and pushes alerts.
type Evaluator struct {
	db     Store
	push   Pusher
	opt    Options
	logger *slog.Logger
	wake   chan struct{}

	// Owned by Run's goroutine.
	watches  []*compiled // by slot; nil: free
	free     []int32
	slots    map[string]int32 // watch id -> slot
	ix       *index
	watchSeq int64 // watches are current to this seq of their log
	mark     []uint32
	stamp    uint32

	cursor atomic.Int64 // last seq whose alerts are stored
}

// compiled is a watch prepared for evaluation.
type compiled struct {
	id, owner, name string
	since           int64
	area            *geo.Area
	filter          geo.Filter
	webhook         string
}

// NewEvaluator returns an evaluator over the store; call Run.
func NewEvaluator(db Store, push Pusher, opt Options) *Evaluator {
	if opt.PollInterval <= 0 {
		opt.PollInterval = 250 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	e := &Evaluator{
		db: db, push: push, opt: opt,
		logger: opt.Logger.With("component", "watch"),
		wake:   make(chan struct{}, 1),
		slots:  map[string]int32{},
		ix:     newIndex(),
	}
	db.OnCommit(func(int64) {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	})
	return e
}

// Cursor returns the last change-log seq whose alerts are stored.
func (e *Evaluator) Cursor() int64 { return e.cursor.Load() }

// Watches returns how many watches are being evaluated.
func (e *Evaluator) Watches() int { return len(e.slots) }

// Run evaluates the change log until ctx is done, starting after the
// stored cursor.
func (e *Evaluator) Run(ctx context.Context) error {
	cur, err := e.db.AlertCursor(ctx)
	if err != nil {
		return err
	}
	e.cursor.Store(cur)
	if err := e.sync(ctx); err != nil {
		return err
	}
	e.logger.Info("evaluating the change log", "seq", cur, "watches", len(e.slots))
	poll := time.NewTicker(e.opt.PollInterval)
	defer poll.Stop()
	for {
		if err := e.pump(ctx); err != nil && ctx.Err() == nil {
			e.logger.Error("evaluate change log", "err", err, "seq", e.cursor.Load())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.wake:
		case <-poll.C:
		}
	}
}

// pump evaluates every change after the cursor, a batch at a time.
func (e *Evaluator) pump(ctx context.Context) error {
	for {
		batch, err := e.db.Changes(ctx, e.cursor.Load(), readBatch)
		if err != nil || len(batch) == 0 {
			return err
		}
		// The watches are read after the changes: a watch created before
		// a change was committed is known when the change is evaluated.
		if err := e.sync(ctx); err != nil {
			return err
		}
		var alerts []geo.Alert
		var deliveries []geo.Delivery
		var owners []string
		for i := range batch {
			alerts, deliveries, owners = e.evaluate(&batch[i], alerts, deliveries, owners)
		}
		through := batch[len(batch)-1].Seq
		saved, err := e.db.SaveAlerts(ctx, through, alerts, deliveries)
		if err != nil {
			return err
		}
		if !saved {
			// Another evaluator on the same file stored them: go on
			// from where it is.
			cur, err := e.db.AlertCursor(ctx)
			if err != nil {
				return err
			}
			e.cursor.Store(cur)
			continue
		}
		e.cursor.Store(through)
		for i := range alerts {
			e.push.Alert(owners[i], Frame(&alerts[i], e.nameOf(alerts[i].Watch)))
			if e.opt.Pushed != nil {
				e.opt.Pushed(&alerts[i])
			}
		}
		if len(deliveries) > 0 && e.opt.Wake != nil {
			e.opt.Wake()
		}
	}
}

func (e *Evaluator) nameOf(id string) string {
	if s, ok := e.slots[id]; ok {
		return e.watches[s].name
	}
	return ""
}

// sync brings the watches up to date with their log.
func (e *Evaluator) sync(ctx context.Context) error {
	states, last, err := e.db.WatchesAfter(ctx, e.watchSeq)
	if err != nil {
		return err
	}
	for _, s := range states {
		e.drop(s.ID)
		if s.Watch != nil {
			f := s.Watch.FilterOf()
			if e.opt.Resolve != nil {
				if err := e.opt.Resolve(ctx, &f); geo.ErrorCode(err) == geo.EINTERNAL {
					return err
				} else if err != nil {
					// A filter that cannot be resolved (a near_route
					// whose route was deleted) selects nothing.
					e.logger.Warn("watch filter selects nothing", "watch", s.ID, "err", err)
					continue
				}
			}
			e.add(s, f)
		}
	}
	e.watchSeq = last
	return nil
}

func (e *Evaluator) drop(id string) {
	slot, ok := e.slots[id]
	if !ok {
		return
	}
	e.ix.remove(slot, e.watches[slot].area.Bounds())
	e.watches[slot] = nil
	delete(e.slots, id)
	e.free = append(e.free, slot)
}

func (e *Evaluator) add(s geo.WatchState, f geo.Filter) {
	c := &compiled{
		id: s.ID, owner: s.Owner, name: s.Watch.Name, since: s.Since,
		area: geo.NewArea(s.Watch), filter: f, webhook: s.Watch.Webhook,
	}
	var slot int32
	if n := len(e.free); n > 0 {
		slot, e.free = e.free[n-1], e.free[:n-1]
		e.watches[slot] = c
	} else {
		slot = int32(len(e.watches))
		e.watches = append(e.watches, c)
		e.mark = append(e.mark, 0)
	}
	e.slots[s.ID] = slot
	e.ix.insert(slot, c.area.Bounds())
}

// state is one side of a change: the record and its keys.
type state struct {
	rec  geo.Record
	keys geo.Keys
}

// evaluate appends the alerts of one change, with the owner of each and
// the webhook deliveries.
//
// A sensitive record is evaluated, and alerts and webhooks carry it, as
// viewers see it (geo.Coarsened): an alert is stored once for an owner of
// any role, and a webhook leaves the server.
func (e *Evaluator) evaluate(ch *geo.Change, alerts []geo.Alert, deliveries []geo.Delivery, owners []string) ([]geo.Alert, []geo.Delivery, []string) {
	pub, err := ch.Public()
	if err != nil {
		e.logger.Error("skip undecodable change", "seq", ch.Seq, "err", err)
		return alerts, deliveries, owners
	}
	ch = &pub
	before, after, err := ch.Records()
	if err != nil {
		e.logger.Error("skip undecodable change", "seq", ch.Seq, "err", err)
		return alerts, deliveries, owners
	}
	var sides [2]*state
	for i, r := range []geo.Record{before, after} {
		if r != nil {
			sides[i] = &state{rec: r, keys: r.Keys()}
		}
	}
	// Candidates: the watches whose boxes meet either side's boxes, each
	// once (a stamp per slot).
	e.stamp++
	if e.stamp == 0 {
		clear(e.mark)
		e.stamp = 1
	}
	var cand []int32
	for _, s := range sides {
		if s == nil {
			continue
		}
		for _, b := range s.keys.Boxes {
			e.ix.query(b, func(slot int32) {
				if e.mark[slot] != e.stamp {
					e.mark[slot] = e.stamp
					cand = append(cand, slot)
				}
			})
		}
	}
	for _, slot := range cand {
		w := e.watches[slot]
		if ch.Seq <= w.since {
			continue
		}
		in := [2]bool{}
		for i, s := range sides {
			in[i] = s != nil && w.filter.MatchKeys(ch.Collection, s.keys) && w.area.Contains(s.rec.Geometry())
		}
		var event string
		feature := ch.After
		switch {
		case !in[0] && in[1]:
			event = geo.EventEnter
		case in[0] && in[1]:
			event = geo.EventInside
		case in[0] && !in[1]:
			event = geo.EventLeave
			if len(feature) == 0 {
				feature = ch.Before
			}
		default:
			continue
		}
		a := geo.Alert{Watch: w.id, Seq: ch.Seq, Event: event, Collection: ch.Collection, ID: ch.ID, Time: ch.Time, Feature: feature}
		alerts = append(alerts, a)
		owners = append(owners, w.owner)
		if w.webhook != "" {
			deliveries = append(deliveries, geo.Delivery{Watch: w.id, Seq: ch.Seq, URL: w.webhook, Body: Frame(&a, w.name)})
		}
	}
	return alerts, deliveries, owners
}

// Frame encodes an alert as the websocket sends it and a webhook receives
// it: {"type":"alert","seq":…,"watch":…,"name":…,"event":…,"collection":…,"id":…,"feature":{…}}.
func Frame(a *geo.Alert, name string) []byte {
	b := make([]byte, 0, len(a.Feature)+192)
	b = append(b, `{"type":"alert","seq":`...)
	b = strconv.AppendInt(b, a.Seq, 10)
	b = append(b, `,"watch":`...)
	b = appendJSONString(b, a.Watch)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"event":"`...)
	b = append(b, a.Event...)
	b = append(b, `","collection":"`...)
	b = append(b, a.Collection...)
	b = append(b, `","id":`...)
	b = appendJSONString(b, a.ID)
	b = append(b, `,"time":"`...)
	b = append(b, a.Time.UTC().Format(time.RFC3339Nano)...)
	b = append(b, '"')
	if len(a.Feature) > 0 {
		b = append(b, `,"feature":`...)
		b = append(b, a.Feature...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
