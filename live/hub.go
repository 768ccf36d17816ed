// Package live is the websocket hub behind GET /api/live: it follows the
// change log and sends every change to the clients whose view it concerns.
//
// The change log is the only source. The hub learns that the log grew from
// the store's commit notification (at once) and by polling its last seq
// (for writes by other processes on the same file), then reads the new
// changes in order. Each change is decoded once, encoded once as a
// websocket.PreparedMessage, and the same prepared frame is queued for every
// matching subscriber. Because everything sent is read back from the
// committed log, nothing reaches a client before it is durable. The newest
// changes stay in memory, decoded and prepared, so that a client that
// resumes or changes its view shortly after replays them without touching
// the database; older ones are replayed from the log.
//
// Protocol (text frames, JSON):
//
//	server: {"type":"hello","seq":N}                      on connect
//	client: {"type":"subscribe","bbox":[w,s,e,n],"filter":{...},"since":S}
//	server: {"type":"change","seq":…,"op":"upsert"|"delete","collection":…,"id":…,"feature":{…}}
//	server: {"type":"change","matches":false,"seq":…,"op":"upsert",…}  the record leaves the view
//	server: {"type":"reset","seq":N}                      since cannot be served: reload
//	server: {"type":"alert","seq":…,"watch":…,"event":…,…}  to the watch's owner, whatever the view
//	server: {"type":"error","status":400,"detail":"…"}    a frame the server cannot use
//	server: {"type":"error","status":429,"detail":"…","retry_after":S}  a subscribe over a budget
//
// The filter of a subscribe has the names, values and rules of the query
// parameters of the HTTP API (geo decides what matches for both). A change
// concerns a view when the record after it matches, or the record before
// it does: an update that takes a record out of the view is sent with
// "matches":false, so that the client removes it rather than draw it.
//
// A client receives no changes until its first subscribe. A subscribe
// without since continues from the last seq the connection was sent (the
// hello seq at first), so nothing between hello and subscribe is missed.
// A subscribe with since replays from that seq; it also restarts the stream
// there when the client changes its view, so the client may see seqs again.
// Within one subscription seqs only grow: the replay from the log joins the
// live stream without a gap and without a duplicate. A connection's frames
// are handled in order, and a subscribe takes effect no later than the
// answer to any frame sent after it: once a client has the error frame
// answering such a frame, every change it gets follows the new view. Until
// then it may still get changes of the old one.
//
// A replay is bounded: a subscribe more than MaxReplay changes behind the
// newest gets reset, and the changes a caller has replayed from the log
// (not from memory) are counted against its Replays budget; past it the
// subscribe gets the error frame of status 429 and the view is unchanged.
//
// A client whose queue is full (SendQueue frames) is closed with 4008 "slow
// consumer"; it resumes with since. Ten malformed frames in a row close the
// connection with 1008; a frame over 1 MB closes it with 1009.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
	"nexus/limit"
)

// Log is what the hub needs of the store: the change log and its commit
// notification.
type Log interface {
	LastSeq(ctx context.Context) (int64, error)
	FirstSeq(ctx context.Context) (int64, error)
	Changes(ctx context.Context, after int64, limit int) ([]geo.Change, error)
	OnCommit(func(seq int64))
}

// deletedLog is a log that tells which records were deleted after a seq:
// a replay to a reader leaves out the content of records deleted since.
type deletedLog interface {
	DeletedAfter(ctx context.Context, after int64) (map[string]int64, error)
}

// Options tune a hub; zero values take the defaults.
type Options struct {
	Origins      []string      // extra allowed Origin values (scheme://host[:port]); same-host origins are always allowed; "*" allows all
	PingInterval time.Duration // default 30 s; a peer silent for two intervals is dropped
	PollInterval time.Duration // how often to look for changes written by other processes; default 250 ms
	SendQueue    int           // frames queued per connection before it is a slow consumer; default 256
	WriteWait    time.Duration // longest a write to one client may take before the connection is dropped; default 10 s
	RecentBytes  int           // memory for the newest changes kept for replays, in bytes; default DefaultRecentBytes
	Logger       *slog.Logger
	// Resolve prepares each subscription's filter as the HTTP API does
	// (actor aliases, the path of near_route); nil leaves filters as sent.
	Resolve func(ctx context.Context, f *geo.Filter) error
	// Aliases returns the actor alias table Resolve reads; when it
	// changes, every subscription is resolved again, so that it follows
	// alias edits. nil: subscriptions keep the aliases they were resolved with.
	Aliases func(ctx context.Context) (*geo.Aliases, error)
	// Owner names the user a connection belongs to (the token's name),
	// "" for none: alerts go to every connection of their watch's owner.
	Owner func(r *http.Request) string
	// Editor says whether a connection's token may see what was deleted:
	// replays to others leave out the content of records deleted since.
	// nil treats every connection as a reader.
	Editor func(r *http.Request) bool
	// Remote names the client's address (behind a trusted proxy, the one
	// the proxy names); nil reads the peer's from r.RemoteAddr.
	Remote func(r *http.Request) string
	// MaxPerAddress bounds the connections open at once from one address
	// (an IPv6 /64); more are refused with 429. 0 is no bound.
	MaxPerAddress int
	// Subscribes is how often one caller (its token, or its address
	// without one) may subscribe. Past it a subscribe is answered with an
	// error frame of status 429 and retry_after (seconds), and the view
	// stays as it was. The zero Rate is no limit.
	Subscribes limit.Rate
	// MaxReplay bounds the changes one subscribe replays: a since (or,
	// without since, the last seq the connection was sent) more than
	// MaxReplay changes behind the newest is answered with reset, as a
	// since older than the log keeps, and the client reloads. 0 means
	// DefaultMaxReplay; negative is no bound.
	MaxReplay int
	// Replays is how many changes a second one caller may have replayed
	// from the log, besides those the hub still holds in memory (which
	// cost no reading). A subscribe that would replay more than its caller
	// has left is answered as one over Subscribes, and the view stays as
	// it was. The burst is at least MaxReplay. The zero Rate is no limit.
	Replays limit.Rate
}

// Defaults and fixed limits.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultPollInterval = 250 * time.Millisecond
	DefaultSendQueue    = 256
	DefaultRecentBytes  = 32 << 20
	DefaultMaxReplay    = 10_000
	DefaultWriteWait    = 10 * time.Second

	closeGrace  = 2 * time.Second // how long to wait for the peer's close reply
	readBatch   = 1000            // changes read from the log at a time
	replayChunk = 256             // changes copied from memory at a time
	maxAbuse    = 10              // malformed frames in a row before closing with 1008

	// Close codes besides the standard ones.
	CloseSlowConsumer = 4008
)

// Hub follows the change log and serves the websocket clients. Create it
// with NewHub, start Run, mount it as an http.Handler.
type Hub struct {
	log      Log
	opt      Options
	logger   *slog.Logger
	upgrader websocket.Upgrader
	origins  map[string]bool
	anyOrg   bool

	wake   chan struct{} // a commit happened
	ready  chan struct{} // closed when Run has read the starting seq
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // client goroutines

	seq atomic.Int64 // last seq fanned out; written under mu

	aliases *geo.Aliases // the alias table subscriptions were resolved with; Run's only

	mu      sync.Mutex
	clients []*client // index = client.idx
	recent  recent    // the newest changes, for replays
	closed  bool

	conns      *limit.Counts // connections per address
	subscribes *limit.Rates  // subscribes per caller
	replays    *limit.Rates  // changes replayed from the log per caller
}

// NewHub returns a hub over the log. It registers for commit
// notifications at once; call Run to start following the log.
func NewHub(log Log, opt Options) *Hub {
	if opt.PingInterval <= 0 {
		opt.PingInterval = DefaultPingInterval
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = DefaultPollInterval
	}
	if opt.SendQueue <= 0 {
		opt.SendQueue = DefaultSendQueue
	}
	if opt.WriteWait <= 0 {
		opt.WriteWait = DefaultWriteWait
	}
	if opt.RecentBytes <= 0 {
		opt.RecentBytes = DefaultRecentBytes
	}
	if opt.MaxReplay == 0 {
		opt.MaxReplay = DefaultMaxReplay
	}
	if !opt.Replays.Off() && opt.Replays.Burst < opt.MaxReplay {
		opt.Replays.Burst = opt.MaxReplay
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	h := &Hub{
		log:     log,
		opt:     opt,
		logger:  opt.Logger.With("component", "live"),
		origins: map[string]bool{},
		wake:    make(chan struct{}, 1),
		ready:   make(chan struct{}),
		recent:  recent{max: opt.RecentBytes},

		conns:      &limit.Counts{Max: opt.MaxPerAddress},
		subscribes: limit.NewRates(opt.Subscribes),
		replays:    limit.NewRates(opt.Replays),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	for _, o := range opt.Origins {
		if o == "*" {
			h.anyOrg = true
		}
		h.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	// Small buffers and a shared pool keep an idle connection cheap: change
	// frames are prepared messages, written without a connection buffer.
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     h.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			detail := reason.Error()
			if status == http.StatusForbidden {
				detail = "websocket connections from the origin " + strconv.Quote(r.Header.Get("Origin")) + " are not allowed; the server lists the allowed ones in -origins"
			}
			problem(w, status, detail)
		},
	}
	log.OnCommit(func(seq int64) {
		if seq > h.seq.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	})
	return h
}

// checkOrigin allows requests without Origin (not from a browser), from
// the same host, and from the listed origins.
func (h *Hub) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || h.anyOrg {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return h.origins[strings.ToLower(origin)]
}

// Run follows the change log until ctx is done: at every commit
// notification and every PollInterval it reads the changes after the last
// one it sent and fans them out; every PingInterval it has every client
// pinged. It starts at the log's last seq: what was written before is
// served only to clients that ask with since. Call it once; it returns an
// error only when the log cannot be read at the start.
func (h *Hub) Run(ctx context.Context) error {
	last, err := h.log.LastSeq(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.seq.Store(last)
	h.mu.Unlock()
	if h.opt.Aliases != nil {
		if h.aliases, err = h.opt.Aliases(ctx); err != nil {
			return err
		}
	}
	close(h.ready)
	h.logger.Info("following the change log", "seq", last)

	poll := time.NewTicker(h.opt.PollInterval)
	defer poll.Stop()
	ping := time.NewTicker(h.opt.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ping.C:
			h.pingAll()
			continue
		case <-h.wake:
		case <-poll.C:
			last, err := h.log.LastSeq(ctx)
			if err != nil {
				if ctx.Err() == nil {
					h.logger.Error("poll change log", "err", err)
				}
				continue
			}
			if last <= h.seq.Load() {
				continue
			}
		}
		if err := h.pump(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("read change log", "err", err, "seq", h.seq.Load())
		}
	}
}

// followAliases resolves every subscription again when the alias table
// has changed since they were resolved; pump calls it before it fans out
// what it read, which is when the aliases matter. Each client then switches to its
// view resolved anew as it would to a new view of its own: it replays what
// it has not yet been sent, so that nothing matched by the new aliases is
// missed meanwhile.
func (h *Hub) followAliases(ctx context.Context) {
	if h.opt.Aliases == nil || h.opt.Resolve == nil {
		return
	}
	a, err := h.opt.Aliases(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.logger.Error("read aliases", "err", err)
		}
		return
	}
	if a == h.aliases {
		return
	}
	h.aliases = a
	h.mu.Lock()
	clients := slices.Clone(h.clients)
	h.mu.Unlock()
	for _, c := range clients {
		asked := c.asked.Load()
		if asked == nil {
			continue
		}
		req := &request{filter: unresolved(*asked), asked: asked, again: true}
		if err := h.opt.Resolve(ctx, &req.filter); err != nil {
			// The view no longer resolves (its route is gone): it stays as it was.
			h.logger.Debug("resolve again", "remote", c.remote, "err", err)
			continue
		}
		c.signal(func(ct *control) {
			// A newer view of the client's own comes first.
			if ct.sub == nil && c.asked.Load() == asked {
				ct.sub = req
			}
		})
	}
}

// pingAll asks every writer to ping its peer: one timer for all
// connections rather than one each.
func (h *Hub) pingAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		c.signal(func(ct *control) { ct.ping = true })
	}
}

// pump reads and fans out every change after the hub's seq.
func (h *Hub) pump(ctx context.Context) error {
	for {
		batch, err := h.log.Changes(ctx, h.seq.Load(), readBatch)
		if err != nil {
			return err
		}
		// An alias edit committed before these changes is seen now, and
		// the views it changes are resolved anew before they are fanned
		// out (a writer replays what it queued under its old view).
		if len(batch) > 0 {
			h.followAliases(ctx)
		}
		for i := range batch {
			h.fanout(&batch[i])
		}
		if len(batch) < readBatch {
			return nil
		}
	}
}

// fanout queues one change for every live subscriber it concerns. It never
// blocks: a subscriber whose queue is full is closed as a slow consumer.
func (h *Hub) fanout(ch *geo.Change) {
	x := cached{seq: ch.Seq}
	if e, err := decode(ch); err != nil {
		h.logger.Error("skip undecodable change", "seq", ch.Seq, "err", err)
	} else if f, err := newFrame(ch.Seq, changeFrame(ch)); err != nil {
		h.logger.Error("prepare frame", "seq", ch.Seq, "err", err)
	} else {
		x.e, x.f = e, f
		// The frame keeps its text, the prepared message a framed copy,
		// and a subscriber may ask for its leave variant.
		x.size = e.size() + 3*len(f.data)
	}
	if x.sensitive = geo.MaybeSensitive(ch.Before) || geo.MaybeSensitive(ch.After); x.sensitive {
		if pub, err := ch.Public(); err != nil {
			h.logger.Error("coarsen change", "seq", ch.Seq, "err", err)
		} else if e, err := decode(&pub); err == nil {
			if f, err := newFrame(pub.Seq, changeFrame(&pub)); err == nil {
				x.pe, x.pf = e, f
				x.size += e.size() + 3*len(f.data)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recent.add(x)
	if x.f != nil {
		for _, c := range h.clients {
			if !c.live {
				continue
			}
			e, f := x.view(c.editor)
			if f == nil {
				continue
			}
			v := c.sub.match(e)
			if v == skip {
				continue
			}
			select {
			case c.queue <- queued{f.seq, f.pick(v)}:
			default:
				c.live = false
				c.close(CloseSlowConsumer, "slow consumer")
				h.logger.Warn("slow consumer", "remote", c.remote, "seq", ch.Seq)
			}
		}
	}
	h.seq.Store(ch.Seq)
}

// ServeHTTP upgrades the request to a websocket and starts serving the
// client in the background; the connection lives until either side closes
// it or Shutdown. Requests from foreign origins get 403.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-h.ready:
	case <-r.Context().Done():
		return
	case <-time.After(10 * time.Second):
		problem(w, http.StatusServiceUnavailable, "live updates are starting; try again shortly")
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		problem(w, http.StatusServiceUnavailable, "the server is shutting down")
		return
	}
	remote := remoteOf(r)
	if h.opt.Remote != nil {
		remote = h.opt.Remote(r)
	}
	addr := limit.Address(remote)
	if !h.conns.Acquire(addr) {
		h.logger.Info("refuse websocket", "remote", remote, "err", "too many connections from this address")
		problem(w, http.StatusTooManyRequests, "too many live connections from this address (the limit is "+strconv.Itoa(h.opt.MaxPerAddress)+" at once); close some and try again")
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with the status already.
		h.conns.Release(addr)
		h.logger.Info("refuse websocket", "remote", remote, "origin", r.Header.Get("Origin"), "err", err)
		return
	}
	c := &client{
		h:      h,
		conn:   conn,
		remote: remote,
		addr:   addr,
		queue:  make(chan queued, h.opt.SendQueue),
		kick:   make(chan struct{}, 1),
	}
	if h.opt.Editor != nil {
		c.editor = h.opt.Editor(r)
	}
	if h.opt.Owner != nil {
		if c.owner = h.opt.Owner(r); c.owner != "" {
			c.alerts = make(chan *websocket.PreparedMessage, alertQueue)
		}
	}
	c.caller = limit.Caller(c.owner, remote)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.conns.Release(addr)
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	c.sent = h.seq.Load()
	c.idx = len(h.clients)
	h.clients = append(h.clients, c)
	h.wg.Add(2)
	h.mu.Unlock()
	go c.readLoop()
	go c.writeLoop()
}

// alertQueue is how many alert frames wait for one connection before it
// is a slow consumer.
const alertQueue = 64

// Alert sends an alert frame to every open connection of owner, whatever
// its view, subscribed or not. It never blocks: a connection whose alert
// queue is full is closed as a slow consumer.
func (h *Hub) Alert(owner string, data []byte) {
	if owner == "" {
		return
	}
	var pm *websocket.PreparedMessage
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		if c.owner != owner {
			continue
		}
		if pm == nil {
			var err error
			if pm, err = websocket.NewPreparedMessage(websocket.TextMessage, data); err != nil {
				h.logger.Error("prepare alert", "err", err)
				return
			}
		}
		select {
		case c.alerts <- pm:
		default:
			c.live = false
			c.close(CloseSlowConsumer, "slow consumer")
			h.logger.Warn("slow consumer", "remote", c.remote, "alerts", len(c.alerts))
		}
	}
}

// CloseRevoked closes the connections of a token that was revoked or
// expired.
const CloseRevoked = 4001

// Revoke closes every connection opened with the token of that name, at
// once, with 4001.
func (h *Hub) Revoke(name string) {
	if name == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		if c.owner == name {
			c.live = false
			c.close(CloseRevoked, "token revoked")
		}
	}
}

// CheckTokens asks valid, every interval until ctx ends, whether each
// token that holds open connections still authenticates, and closes the
// connections of those that do not, with 4001. It catches what no
// notification reports: a token revoked by another process on the same
// database file, or one that expired while connected. An error from valid
// (the database is down) keeps the connections.
func (h *Hub) CheckTokens(ctx context.Context, interval time.Duration, valid func(ctx context.Context, name string) (bool, error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, name := range h.Owners() {
			if ok, err := valid(ctx, name); err == nil && !ok {
				h.logger.Info("token no longer valid: closing its connections", "token", name)
				h.Revoke(name)
			}
		}
	}
}

// Owners returns the names of the tokens that hold open connections,
// each once.
func (h *Hub) Owners() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, c := range h.clients {
		if c.owner != "" && !seen[c.owner] {
			seen[c.owner] = true
			out = append(out, c.owner)
		}
	}
	return out
}

// problem answers a request that cannot become a websocket with an RFC
// 9457 problem, as every other error of the API.
func problem(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	switch status {
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "5")
	case http.StatusTooManyRequests:
		h.Set("Retry-After", "10")
	}
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// pause takes a client out of live delivery while it changes its view.
func (h *Hub) pause(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.live = false
}

// catchUp is one step of a client's replay from pos to the hub's seq, or
// to until when that is further (target). When pos has reached it the
// client joins live delivery with sub (joined). Otherwise mem holds,
// appended to out, up to replayChunk of the newest changes after pos, as
// the hub prepared them; ok is false when they are not in memory (no
// longer, or not yet) and must be read from the log.
func (h *Hub) catchUp(c *client, sub *subscription, pos, until int64, out []cached) (mem []cached, target int64, ok, joined bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	target = max(h.seq.Load(), until)
	if pos >= target {
		c.sub, c.live = sub, true
		return out, target, false, true
	}
	mem, ok = h.recent.after(pos, replayChunk, out)
	return mem, target, ok && len(mem) > len(out), false
}

// remove drops a client from the set.
func (h *Hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.idx < 0 {
		return
	}
	last := h.clients[len(h.clients)-1]
	h.clients[c.idx], last.idx = last, c.idx
	h.clients[len(h.clients)-1] = nil
	h.clients = h.clients[:len(h.clients)-1]
	c.idx, c.live = -1, false
	h.conns.Release(c.addr)
}

// remoteOf is the peer's address of a request, without the port.
func remoteOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Clients returns the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Seq returns the last seq fanned out.
func (h *Hub) Seq() int64 { return h.seq.Load() }

// Shutdown closes every connection with 1001 "server shutting down" and
// waits until their goroutines have ended, or ctx is done. The hub refuses
// new connections afterwards.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	for _, c := range h.clients {
		c.close(websocket.CloseGoingAway, "server shutting down")
	}
	h.mu.Unlock()
	h.cancel() // ends replays waiting on the log
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for _, c := range h.clients {
			c.conn.Close()
		}
		h.mu.Unlock()
		return errors.Join(errors.New("live: connections still open at shutdown"), ctx.Err())
	}
}
