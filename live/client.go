package live

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
	"nexus/limit"
)

// frame is one change frame, prepared once and shared by every recipient.
type frame struct {
	seq  int64
	data []byte // the frame's text, kept for its leave variant
	msg  *websocket.PreparedMessage

	leaveOnce sync.Once
	leaveMsg  *websocket.PreparedMessage // leaveFrame of data, prepared on first use
}

// newFrame prepares the frame of a change.
func newFrame(seq int64, data []byte) (*frame, error) {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, data)
	if err != nil {
		return nil, err
	}
	return &frame{seq: seq, data: data, msg: pm}, nil
}

// pick returns the message a verdict asks for: the frame itself, or its
// leave variant (prepared once, the first time a subscriber needs it).
func (f *frame) pick(v verdict) *websocket.PreparedMessage {
	if v != leave {
		return f.msg
	}
	f.leaveOnce.Do(func() {
		// Preparing only stores the bytes: it cannot fail on a text frame.
		f.leaveMsg, _ = websocket.NewPreparedMessage(websocket.TextMessage, leaveFrame(f.data))
	})
	return f.leaveMsg
}

// queued is a frame in a client's queue with the message picked for it.
type queued struct {
	seq int64
	msg *websocket.PreparedMessage
}

// client is one websocket connection: a reader goroutine that parses what
// the client sends, and a writer goroutine that alone writes to it.
//
// The writer waits on two channels only, the hub's frames and a kick that
// says "look at ctl": an idle connection is a few kilobytes of heap and two
// small stacks.
type client struct {
	h      *Hub
	conn   *websocket.Conn
	remote string // the client's address
	addr   string // its key in the hub's connection counts
	caller string // its key in the hub's subscribe budgets

	queue   chan queued                     // live frames from the hub; full means slow consumer
	owner   string                          // the user, for alerts; "" for none
	alerts  chan *websocket.PreparedMessage // alert frames; nil without owner
	kick    chan struct{}                   // capacity 1: ctl has news for the writer
	pending atomic.Bool                     // ctl has news; checked between frames
	mu      sync.Mutex
	ctl     control // guarded by mu

	// Guarded by h.mu.
	idx  int           // position in h.clients, -1 once removed
	live bool          // the hub queues matching frames
	sub  *subscription // the view while live

	sent    int64                      // writer only: the last seq sent, or hello's
	asked   atomic.Pointer[geo.Filter] // the latest view's filter as sent, to resolve again; written under mu
	applied *geo.Filter                // writer only: asked of the view in force
	joined  int64                      // writer only: where the replay of the view in force ended; later frames only

	editor bool             // may replay what was deleted since
	hidden map[string]int64 // writer only, during a replay: records deleted later, by the seq of the delete
}

// hides reports whether a replayed change carries content of a record
// deleted since, which only editors replay: readers get the delete.
func (c *client) hides(id string, seq int64, del bool) bool {
	if del || c.hidden == nil {
		return false
	}
	d, ok := c.hidden[id]
	return ok && d > seq
}

// control is what the reader and the hub ask of the writer.
type control struct {
	sub        *request // the latest subscribe not yet applied
	errs       [][]byte // error frames to send, answering frames sent before sub
	after      [][]byte // error frames answering frames sent after sub
	ping       bool     // a ping is due
	closing    bool     // close with closeCode and closeText
	closeCode  int
	closeText  string
	readerDone bool // the reader has ended: the connection is gone
}

// signal changes ctl and wakes the writer. It never blocks for long.
func (c *client) signal(f func(*control)) {
	c.mu.Lock()
	f(&c.ctl)
	c.mu.Unlock()
	c.pending.Store(true)
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// take returns ctl's news and clears them; closing and readerDone stay.
func (c *client) take() control {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending.Store(false)
	ct := c.ctl
	c.ctl.sub, c.ctl.errs, c.ctl.after, c.ctl.ping = nil, nil, nil, false
	return ct
}

// subPending reports whether a subscribe waits to be applied.
func (c *client) subPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ctl.sub != nil
}

// close asks the writer to close the connection with code and text; the
// first request wins.
func (c *client) close(code int, text string) {
	c.signal(func(ct *control) {
		if !ct.closing {
			ct.closing, ct.closeCode, ct.closeText = true, code, text
		}
	})
}

// readLoop reads client frames until the connection fails or closes. It
// answers what it cannot use with an error frame and passes subscriptions
// to the writer.
func (c *client) readLoop() {
	defer c.h.wg.Done()
	defer c.conn.Close()
	defer c.signal(func(ct *control) { ct.readerDone = true })
	pongWait := 2 * c.h.opt.PingInterval
	c.conn.SetReadLimit(maxFrame)
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	abuse := 0
	for {
		typ, r, err := c.conn.NextReader()
		if err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) && !errors.Is(err, websocket.ErrCloseSent) {
				c.h.logger.Debug("read", "remote", c.remote, "err", err)
			}
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(pongWait))
		data, err := io.ReadAll(io.LimitReader(r, softLimit+1))
		var req *request
		switch {
		case err != nil:
			return
		case typ != websocket.TextMessage:
			err = errors.New("binary frames are not understood; send JSON text frames")
		case len(data) > softLimit:
			err = errors.New("frame larger than 64 KB")
		default:
			req, err = parseOffStack(data)
			if err == nil {
				// Editors' views test sensitive records as they are
				// (a near_route corridor follows the route's exact path).
				req.filter.Exact = c.editor
			}
			if err == nil && c.h.opt.Resolve != nil {
				asked := unresolved(req.filter)
				req.asked = &asked
				if err = c.h.opt.Resolve(c.h.ctx, &req.filter); err != nil {
					err = errors.New(geo.ErrorMessage(err))
				}
			}
		}
		if err != nil {
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
			abuse++
			if abuse >= maxAbuse {
				c.close(websocket.ClosePolicyViolation, "too many malformed frames")
				continue
			}
			c.errorFrame(errorFrame(err.Error()))
			continue
		}
		abuse = 0
		if ok, retry := c.h.subscribes.Allow(c.caller); !ok {
			// The view stays as it was; the client may send it again
			// after retry_after.
			r := c.h.subscribes.Rate()
			c.errorFrame(limitedFrame(fmt.Sprintf("too many subscribes from this caller (the limit is %s a second, %d at once); the view is unchanged: send it again in %d s",
				strconv.FormatFloat(r.PerSecond, 'f', -1, 64), r.Burst, limit.RetryAfter(retry)), limit.RetryAfter(retry)))
			// Read nothing more until the budget allows another: a flood
			// waits in its own socket's buffers, not in our CPU.
			t := time.NewTimer(retry)
			select {
			case <-t.C:
			case <-c.h.ctx.Done():
				t.Stop()
				return
			}
			c.conn.SetReadDeadline(time.Now().Add(pongWait))
			continue
		}
		c.signal(func(ct *control) { // only the latest counts
			ct.errs, ct.after = append(ct.errs, ct.after...), nil
			ct.sub = req
			c.asked.Store(req.asked)
		})
	}
}

// errorFrame queues an error frame for the writer.
func (c *client) errorFrame(msg []byte) {
	c.signal(func(ct *control) {
		switch {
		case len(ct.errs)+len(ct.after) >= 4: // a client that floods us misses some
		case ct.sub != nil: // answered once that subscribe took effect
			ct.after = append(ct.after, msg)
		default:
			ct.errs = append(ct.errs, msg)
		}
	})
}

// parseOffStack parses a client frame on a short-lived goroutine:
// encoding/json's recursion would otherwise grow the reader's stack, which
// lives as long as the connection, from 4 to 8 KB, a third of what an idle
// connection costs.
func parseOffStack(data []byte) (req *request, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, err = parseRequest(data)
	}()
	<-done
	return req, err
}

// writeLoop is the only writer of the connection: hello, then frames from
// the hub, replays, error frames and pings, until the connection closes.
func (c *client) writeLoop() {
	defer c.h.wg.Done()
	defer c.conn.Close()
	defer c.h.remove(c)
	err := c.write(seqFrame("hello", c.sent))
	for err == nil {
		if c.pending.Load() {
			var stop bool
			if stop, err = c.serve(c.take()); stop {
				return
			}
			continue
		}
		select {
		case f := <-c.queue:
			if c.pending.Load() && c.subPending() {
				// A new view waits (the client's, or its own resolved
				// anew after an alias edit): it replays from c.sent, f
				// included, as that view sees it.
				continue
			}
			if f.seq > c.sent && f.seq > c.joined {
				c.conn.SetWriteDeadline(time.Now().Add(c.h.opt.WriteWait))
				if err = c.conn.WritePreparedMessage(f.msg); err == nil {
					c.sent = f.seq
				}
			}
		case m := <-c.alerts:
			c.conn.SetWriteDeadline(time.Now().Add(c.h.opt.WriteWait))
			err = c.conn.WritePreparedMessage(m)
		case <-c.kick:
		}
	}
	c.h.logger.Debug("write", "remote", c.remote, "err", err)
	if ct := c.take(); ct.closing {
		c.writeClose(ct)
	}
}

// serve acts on ctl's news: closing first, then error frames, a ping,
// and a new subscription. stop says the writer is done.
func (c *client) serve(ct control) (stop bool, err error) {
	for {
		switch {
		case ct.closing:
			c.writeClose(ct)
			return true, nil
		case ct.readerDone:
			return true, nil
		}
		for _, m := range ct.errs {
			if err := c.write(m); err != nil {
				return false, err
			}
		}
		if ct.ping {
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opt.WriteWait)); err != nil {
				return false, err
			}
		}
		if ct.sub == nil {
			return false, nil
		}
		if err := c.subscribe(ct.sub); err != nil {
			return false, err
		}
		for _, m := range ct.after {
			if err := c.write(m); err != nil {
				return false, err
			}
		}
		if !c.pending.Load() {
			return false, nil
		}
		ct = c.take() // news during the replay: a newer view, a close…
	}
}

// write sends one text frame with the write deadline.
func (c *client) write(data []byte) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.h.opt.WriteWait))
	return c.conn.WriteMessage(websocket.TextMessage, data)
}

// writeClose sends the close frame asked for, then waits a moment for the
// peer's reply so that the peer reads every frame before the socket goes.
func (c *client) writeClose(ct control) {
	msg := websocket.FormatCloseMessage(ct.closeCode, ct.closeText)
	if c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.h.opt.WriteWait)) != nil {
		return
	}
	t := time.NewTimer(closeGrace)
	defer t.Stop()
	for !ct.readerDone {
		select {
		case <-c.kick:
			ct = c.take()
		case <-t.C:
			return
		}
	}
}

// subscribe switches the client to a new view: it leaves live delivery,
// drops what was queued for the old view, replays the log from since (or
// from the last seq sent) and joins live delivery again where the replay
// ends. It returns early, without error, when ctl has news meanwhile (a
// newer view, a close); the caller deals with them.
func (c *client) subscribe(req *request) error {
	h := c.h
	pos := c.sent
	if req.resume {
		pos = req.since
	}
	reset, err := c.outOfReach(pos, req.resume)
	if err != nil {
		return c.logFailed(err)
	}
	if !reset && !req.again {
		if ok, retry := c.allowReplay(pos); !ok {
			return c.refuse(req, retry)
		}
	}
	h.pause(c)
	for drained := false; !drained; {
		select {
		case <-c.queue:
		default:
			drained = true
		}
	}
	c.applied = req.asked
	sub := compile(req.filter)
	if reset {
		// The client reloads and goes on from here.
		pos = h.Seq()
		if err := c.write(seqFrame("reset", pos)); err != nil {
			return err
		}
	}
	c.sent = pos
	c.hidden = nil
	// A reader's replay hides what was deleted since pos. It runs to the
	// log's end (until), even where the hub has not fanned that out yet:
	// the hub's later frames up to there are not sent again, so none of
	// them carries a deleted record's content past the hiding.
	var until int64
	if dl, ok := h.log.(deletedLog); ok && !c.editor {
		last, err := h.log.LastSeq(h.ctx)
		if err != nil {
			return c.logFailed(err)
		}
		if pos < max(last, h.seq.Load()) {
			hidden, err := dl.DeletedAfter(h.ctx, pos)
			if err != nil {
				return c.logFailed(err)
			}
			c.hidden, until = hidden, last
		}
	}
	defer func() { c.hidden = nil }()
	var mem []cached
	for {
		var ok, joined bool
		var target int64
		if mem, target, ok, joined = h.catchUp(c, sub, pos, until, mem[:0]); joined {
			c.joined = pos
			return nil
		}
		if ok {
			// From memory: the frames the hub prepared.
			for _, x := range mem {
				pos = x.seq
				e, f := x.view(c.editor)
				if e == nil || f == nil {
					continue
				}
				v := sub.match(e)
				if v == skip || c.hides(e.id, x.seq, e.del) {
					continue
				}
				c.conn.SetWriteDeadline(time.Now().Add(c.h.opt.WriteWait))
				if err := c.conn.WritePreparedMessage(f.pick(v)); err != nil {
					return err
				}
				c.sent = x.seq
			}
			clear(mem) // let the frames go
		} else if err := c.replayLog(sub, &pos, target); err != nil {
			return err
		}
		if c.pending.Load() {
			// Errors and pings are sent on the way; a newer view or a
			// close ends the replay.
			ct, stop := c.takeMinor()
			if stop {
				return nil
			}
			for _, m := range ct.errs {
				if err := c.write(m); err != nil {
					return err
				}
			}
			if ct.ping {
				if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.opt.WriteWait)); err != nil {
					return err
				}
			}
		}
	}
}

// outOfReach reports whether a replay from pos cannot be served: it is
// more than MaxReplay changes behind the newest, or, for a since the
// client gave (resume), before what the log keeps or after its end.
func (c *client) outOfReach(pos int64, resume bool) (bool, error) {
	h := c.h
	if h.opt.MaxReplay >= 0 && h.Seq()-pos > int64(h.opt.MaxReplay) {
		return true, nil
	}
	if !resume {
		return false, nil
	}
	first, err := h.log.FirstSeq(h.ctx)
	if err != nil {
		return false, err
	}
	last, err := h.log.LastSeq(h.ctx)
	if err != nil {
		return false, err
	}
	last = max(last, h.Seq())
	return pos > last || (first > 0 && pos < first-1), nil
}

// allowReplay takes from the caller's replay budget the changes after pos
// that a replay would read from the log: those older than the hub keeps
// in memory.
func (c *client) allowReplay(pos int64) (ok bool, retry time.Duration) {
	h := c.h
	h.mu.Lock()
	n := h.recent.missing(pos, h.seq.Load())
	h.mu.Unlock()
	return h.replays.AllowN(c.caller, int(n))
}

// refuse answers a subscribe over the replay budget with an error frame of
// status 429; the view stays as it was.
func (c *client) refuse(req *request, retry time.Duration) error {
	c.mu.Lock()
	if c.asked.Load() == req.asked {
		c.asked.Store(c.applied)
	}
	c.mu.Unlock()
	r := c.h.replays.Rate()
	return c.write(limitedFrame(fmt.Sprintf("this view asks for more changes from the log than this caller may replay now (the limit is %s a second); the view is unchanged: send it again in %d s, or reload and subscribe without since",
		strconv.FormatFloat(r.PerSecond, 'f', -1, 64), limit.RetryAfter(retry)), limit.RetryAfter(retry)))
}

// replayLog sends the changes after *pos up to target that match, read from
// the log in one batch, and advances *pos.
func (c *client) replayLog(sub *subscription, pos *int64, target int64) error {
	h := c.h
	batch, err := h.log.Changes(h.ctx, *pos, readBatch)
	if err != nil {
		return c.logFailed(err)
	}
	if len(batch) == 0 {
		// The hub is ahead of what the log holds: cannot happen with one
		// log; go on from the hub's position rather than spin.
		h.logger.Error("log behind the hub", "seq", *pos, "hub", target)
		*pos = target
		return nil
	}
	for i := range batch {
		ch := &batch[i]
		if ch.Seq > target {
			break
		}
		*pos = ch.Seq
		if !c.editor {
			// Viewers see sensitive records coarsened.
			pub, err := ch.Public()
			if err != nil {
				h.logger.Error("coarsen change", "seq", ch.Seq, "err", err)
				continue
			}
			ch = &pub
		}
		e, err := decode(ch)
		if err != nil {
			h.logger.Error("skip undecodable change", "seq", ch.Seq, "err", err)
			continue
		}
		v := sub.match(e)
		if v == skip || c.hides(ch.ID, ch.Seq, e.del) {
			continue
		}
		data := changeFrame(ch)
		if v == leave {
			data = leaveFrame(data)
		}
		if err := c.write(data); err != nil {
			return err
		}
		c.sent = ch.Seq
	}
	return nil
}

// logFailed closes the connection with 1011 when the log cannot be read
// (or quietly when the hub is shutting down); the client resumes later.
func (c *client) logFailed(err error) error {
	if c.h.ctx.Err() == nil {
		c.h.logger.Error("replay change log", "remote", c.remote, "err", err)
		c.close(websocket.CloseInternalServerErr, "cannot read the change log")
	}
	return nil
}

// takeMinor takes ctl's error frames and ping, unless ctl holds something
// that ends a replay: a newer subscription, a close or the reader's end.
func (c *client) takeMinor() (ct control, stop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctl.sub != nil || c.ctl.closing || c.ctl.readerDone {
		return control{}, true
	}
	c.pending.Store(false)
	ct = c.ctl
	c.ctl.errs, c.ctl.ping = nil, false
	return ct, false
}
