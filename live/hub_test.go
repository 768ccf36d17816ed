package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
	"nexus/store"
)

// env is a real server on loopback with the hub mounted at /api/live over
// a real database file.
type env struct {
	t    testing.TB
	ring int // changes the hub keeps in memory; 0: the default
	db   *store.DB
	hub  *Hub
	srv  *httptest.Server
	ctx  context.Context
	stop context.CancelFunc
}

func newEnv(t testing.TB, opt Options) *env {
	t.Helper()
	e := openEnv(t)
	e.start(opt, nil)
	return e
}

// openEnv opens a new database for a hub that is not started yet.
func openEnv(t testing.TB) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &env{t: t, db: db}
}

// newResolvingEnv runs a hub that resolves subscriptions with its
// database as the server's does: aliases, also as they change, and the
// line of near_route.
func newResolvingEnv(t testing.TB) *env {
	t.Helper()
	e := openEnv(t)
	e.start(Options{Resolve: e.db.Resolve, Aliases: e.db.Aliases}, nil)
	return e
}

// start runs a hub over e.db behind a new server; wrap may adjust the
// listener before the server starts.
func (e *env) start(opt Options, wrap func(net.Listener) net.Listener) {
	e.t.Helper()
	if opt.PollInterval == 0 {
		opt.PollInterval = 20 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(e.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.hub = NewHub(e.db, opt)
	if e.ring > 0 {
		e.hub.recent.buf = make([]cached, e.ring)
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.hub.Run(e.ctx) }()
	mux := http.NewServeMux()
	mux.Handle("/api/live", e.hub)
	e.srv = httptest.NewUnstartedServer(mux)
	if wrap != nil {
		e.srv.Listener = wrap(e.srv.Listener)
	}
	e.srv.Start()
	hub, srv, stop := e.hub, e.srv, e.stop
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			e.t.Error(err)
		}
		stop()
		if err := <-ran; err != nil {
			e.t.Error(err)
		}
		srv.Close()
	})
}

func (e *env) url() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/live" }

// conn is a test client.
type conn struct {
	t     testing.TB
	ws    *websocket.Conn
	hello int64
}

// msg is any server frame.
type msg = Frame

func (e *env) dial(d *websocket.Dialer, h http.Header) *conn {
	e.t.Helper()
	if d == nil {
		d = websocket.DefaultDialer
	}
	ws, resp, err := d.Dial(e.url(), h)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, resp)
	}
	c := &conn{t: e.t, ws: ws}
	e.t.Cleanup(func() { ws.Close() })
	m := c.read()
	if m.Type != "hello" {
		e.t.Fatalf("first frame %+v, want hello", m)
	}
	c.hello = m.Seq
	return c
}

func (c *conn) send(v string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *conn) subscribe(bbox string, since int64) {
	c.t.Helper()
	s := `{"type":"subscribe"`
	if bbox != "" {
		s += `,"bbox":[` + bbox + `]`
	}
	if since >= 0 {
		s += fmt.Sprintf(`,"since":%d`, since)
	}
	c.send(s + "}")
}

// sync waits until the server has handled every frame sent before: it
// sends a frame the server answers with an error and reads that answer. The
// server handles a connection's frames in order, so a subscribe sent before
// is in force once the answer arrives: every change frame after it follows
// the new view. There is no other acknowledgement of a subscribe; a client
// that changes its view may get changes of the old one until then.
func (c *conn) sync() {
	c.t.Helper()
	c.send(`{"type":"sync"}`)
	if m := c.read(); m.Type != "error" || !strings.Contains(m.Detail, "unknown type") {
		c.t.Fatalf("sync: got %+v, want the error answering it", m)
	}
}

// joined waits until a subscribe sent before, with nothing to replay, has
// joined the live stream, so that the hub queues every change from now
// on: the answer to a frame sent after a subscribe comes once the
// subscribe is done.
func (c *conn) joined() {
	c.t.Helper()
	c.sync()
}

func (c *conn) read() msg {
	c.t.Helper()
	m, err := c.tryRead()
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *conn) tryRead() (msg, error) {
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return msg{}, err
	}
	m, err := ParseFrame(data)
	if err != nil {
		return msg{}, fmt.Errorf("frame %s: %v", data, err)
	}
	return m, nil
}

// expect reads change frames and checks their ids in order.
func (c *conn) expect(ids ...string) []msg {
	c.t.Helper()
	var out []msg
	for _, id := range ids {
		m := c.read()
		if m.Type != "change" || m.ID != id {
			c.t.Fatalf("got %s %s seq %d, want change of %s", m.Type, m.ID, m.Seq, id)
		}
		out = append(out, m)
	}
	return out
}

// expectClose reads until the connection closes and checks the code.
func (c *conn) expectClose(code int) {
	c.t.Helper()
	for {
		_, err := c.tryRead()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			c.t.Fatalf("connection ended with %v, want close code %d", err, code)
		}
		return
	}
}

func incident(t testing.TB, lon, lat float64, title string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":%q,"type":"attack","date":"2024-05-01","actors":["Test"]}}`,
		lon, lat, title))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) create(lon, lat float64, title string) geo.Stored {
	e.t.Helper()
	s, err := e.db.Create(context.Background(), "tester", incident(e.t, lon, lat, title))
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) move(id string, lon, lat float64) {
	e.t.Helper()
	if _, _, err := e.db.Replace(context.Background(), "tester", id, 0, incident(e.t, lon, lat, "moved "+id)); err != nil {
		e.t.Fatal(err)
	}
}

// Boxes used below: around Bogotá, around western Europe, and one across
// the antimeridian around Fiji.
const (
	boxBogota = "-80,0,-70,10"
	boxEurope = "-10,35,10,50"
	boxFiji   = "170,-30,-170,0"
)

func TestSubscribersSeeOnlyTheirBoxes(t *testing.T) {
	e := newEnv(t, Options{})
	a, b, f := e.dial(nil, nil), e.dial(nil, nil), e.dial(nil, nil)
	a.subscribe(boxBogota, -1)
	b.subscribe(boxEurope, -1)
	f.subscribe(boxFiji, -1)

	a1 := e.create(-74.05, 4.66, "a1")
	b1 := e.create(2.35, 48.85, "b1")
	f1 := e.create(178.4, -18.1, "f1")
	a2 := e.create(-75.5, 6.2, "a2")
	b2 := e.create(-3.7, 40.4, "b2")
	f2 := e.create(-175.2, -21.1, "f2 east of the antimeridian")
	e.create(0, -20, "nowhere")
	a3 := e.create(-74, 5, "a3")
	b3 := e.create(5, 45, "b3")
	f3 := e.create(179.9, -0.5, "f3")

	got := a.expect(a1.ID, a2.ID, a3.ID)
	b.expect(b1.ID, b2.ID, b3.ID)
	f.expect(f1.ID, f2.ID, f3.ID)

	m := got[0]
	if m.Op != "upsert" || m.Collection != "incidents" || m.Seq <= a.hello {
		t.Fatalf("frame %+v", m)
	}
	r, err := geo.DecodeFeature(geo.Incidents, m.Feature)
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Geometry(); fmt.Sprint(p) != "[-74.05 4.66]" || r.Base().ID != a1.ID || r.Base().Version != 1 {
		t.Fatalf("feature %s", m.Feature)
	}
	if e.hub.Clients() != 3 {
		t.Fatalf("Clients() = %d", e.hub.Clients())
	}
}

func TestMoveOutOfBoxIsDeliveredOnce(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	c.subscribe(boxBogota, -1)
	x := e.create(-74, 4, "x")
	c.expect(x.ID)

	e.move(x.ID, 2, 48) // out of the box: delivered so the map can remove it
	m := c.expect(x.ID)[0]
	r, err := geo.DecodeFeature(geo.Incidents, m.Feature)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Geometry()) != "[2 48]" || r.Base().Version != 2 {
		t.Fatalf("move frame %s", m.Feature)
	}

	e.move(x.ID, 3, 47) // outside before and after: not delivered
	marker := e.create(-73, 5, "marker")
	c.expect(marker.ID)
}

func TestDeleteIsDelivered(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	c.subscribe(boxBogota, -1)
	x := e.create(-74, 4, "x")
	c.expect(x.ID)
	if err := e.db.Delete(context.Background(), "tester", geo.Incidents, x.ID, 0); err != nil {
		t.Fatal(err)
	}
	m := c.read()
	if m.Type != "change" || m.Op != "delete" || m.ID != x.ID || m.Collection != "incidents" || m.Feature != nil {
		t.Fatalf("delete frame %+v", m)
	}
}

func TestNothingBeforeSubscribeThenEverythingAfterHello(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	before := e.create(-74, 4, "between hello and subscribe")
	c.subscribe("", -1)
	after := e.create(-74, 4, "after subscribe")
	c.expect(before.ID, after.ID)
}

func TestResumeWithSinceMissesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	c.subscribe(boxBogota, -1)
	first := e.create(-74, 4, "seen")
	last := c.expect(first.ID)[0].Seq
	c.ws.Close()

	var missed []string
	for i := range 5 {
		missed = append(missed, e.create(-74+float64(i)/10, 4, fmt.Sprint("missed ", i)).ID)
		e.create(20, 20, "elsewhere")
	}
	c = e.dial(nil, nil)
	c.subscribe(boxBogota, last)
	got := c.expect(missed...)
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seqs out of order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
	live := e.create(-74, 4, "live")
	c.expect(live.ID)
}

// TestResumeWhileWriting reconnects while another goroutine writes: the
// replay from the log and the live stream must join with no gap and no
// duplicate.
func TestResumeWhileWriting(t *testing.T) {
	for _, ring := range []int{0, 16} {
		t.Run(fmt.Sprint("ring=", ring), func(t *testing.T) { testResumeWhileWriting(t, ring) })
	}
}

// testResumeWhileWriting with a small ring replays from the log, then from
// memory, then joins live delivery.
func testResumeWhileWriting(t *testing.T, ring int) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, ring: ring}
	e.start(Options{}, nil)
	c := e.dial(nil, nil)
	c.subscribe("", -1)
	since := c.expect(e.create(-74, 4, "first").ID)[0].Seq
	c.ws.Close()
	const before, during = 50, 100
	for i := range before {
		e.create(float64(i%360-180), 0, "before")
	}
	written := make(chan error, 1)
	go func() {
		for i := range during {
			if _, err := e.db.Create(context.Background(), "w", incident(t, float64(i%360-180), 1, "during")); err != nil {
				written <- err
				return
			}
		}
		written <- nil
	}()
	c = e.dial(nil, nil)
	c.subscribe("", since)
	for want := since + 1; want <= since+before+during; want++ {
		m := c.read()
		if m.Type != "change" || m.Seq != want {
			t.Fatalf("got %s seq %d, want change seq %d", m.Type, m.Seq, want)
		}
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
}

// smallBuffers returns a dialer and a listener wrapper that shrink the
// socket buffers on both sides, so that a client that stops reading
// backs up into the server after a few frames.
func smallBuffers() (*websocket.Dialer, func(net.Listener) net.Listener) {
	d := *websocket.DefaultDialer
	nd := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return err
	}}
	d.NetDialContext = nd.DialContext
	return &d, func(l net.Listener) net.Listener { return smallSendListener{l} }
}

type smallSendListener struct{ net.Listener }

func (l smallSendListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

func TestSlowConsumerIsClosedOthersGetEverything(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db}
	dialer, wrap := smallBuffers()
	// The slow client reads nothing until every change is written: its
	// writer stays blocked on the full socket all that while, which on a
	// busy machine may be longer than the default write wait. The close
	// frame asserted below can only follow a write that did not time out.
	e.start(Options{SendQueue: 4, WriteWait: 10 * time.Minute}, wrap)

	slow := e.dial(dialer, nil)
	slow.subscribe("", -1)
	slow.joined()
	fast := e.dial(nil, nil)
	fast.subscribe("", -1)
	fast.joined()

	// Large frames fill the slow client's socket quickly. The writer waits
	// for the fast client to receive each change, so only the slow one
	// falls behind.
	summary := strings.Repeat("cocaine seizure at the port ", 700)
	const n = 20
	var seqs []int64
	for i := range n {
		r := incident(t, -74, 4, fmt.Sprint("large ", i))
		r.(*geo.Incident).Summary = summary
		s, err := db.Create(context.Background(), "tester", r)
		if err != nil {
			t.Fatal(err)
		}
		m := fast.read()
		if m.Type != "change" || m.ID != s.ID {
			t.Fatalf("fast client got %s %s, want change of %s", m.Type, m.ID, s.ID)
		}
		seqs = append(seqs, m.Seq)
	}
	for i := 1; i < n; i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("fast client seqs %v: not consecutive", seqs)
		}
	}
	// The slow client now reads what reached it, then the close frame.
	slow.expectClose(CloseSlowConsumer)
	if got := e.hub.Clients(); got != 1 {
		// The slow client's writer leaves once the close is done; the
		// count may lag by the close grace, so only log it.
		t.Logf("clients after slow close: %d", got)
	}
}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t, Options{Origins: []string{"https://analyst.example:8443"}})
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"https://analyst.example:8443", true},
		{"http://" + e.srv.Listener.Addr().String(), true}, // same host
		{"https://evil.example", false},
		{"https://analyst.example", false}, // port differs
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(e.url(), h)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			ws.Close()
			continue
		}
		if err == nil {
			ws.Close()
			t.Errorf("origin %q accepted", tc.origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v %v, want 403", tc.origin, err, resp)
		}
	}
}

// TestChildImport is the second process of TestImportByAnotherProcess: it
// writes to the database file the parent serves.
func TestChildImport(t *testing.T) {
	path := os.Getenv("NEXUS_LIVE_CHILD_DB")
	if path == "" {
		t.Skip("runs as the child of TestImportByAnotherProcess")
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var recs []geo.Record
	for i := range 3 {
		recs = append(recs, incident(t, -74+float64(i)/10, 4.5, fmt.Sprint("imported ", i)))
	}
	if _, err := db.ImportBatch(context.Background(), "child", recs); err != nil {
		t.Fatal(err)
	}
}

func TestImportByAnotherProcess(t *testing.T) {
	e := newEnv(t, Options{PollInterval: 50 * time.Millisecond})
	c := e.dial(nil, nil)
	c.subscribe(boxBogota, -1)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildImport$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NEXUS_LIVE_CHILD_DB="+e.db.Path())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for i := range 3 {
		m := c.read()
		if m.Type != "change" || m.Seq != c.hello+int64(i)+1 || !strings.Contains(string(m.Feature), fmt.Sprint("imported ", i)) {
			t.Fatalf("frame %d: %+v", i, m)
		}
	}
}

func TestResetWhenSinceIsInTheFuture(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	c.subscribe(boxBogota, c.hello+100)
	m := c.read()
	if m.Type != "reset" || m.Seq != c.hello {
		t.Fatalf("got %+v, want reset at %d", m, c.hello)
	}
	// After a reset the client is subscribed from the reset seq on.
	x := e.create(-74, 4, "after reset")
	c.expect(x.ID)
}

func TestMalformedFramesGetErrors(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	for _, tc := range []struct{ frame, want string }{
		{`not json`, "not a JSON object"},
		{`{"type":"unsubscribe"}`, "unknown type"},
		{`{"bbox":[0,0,1,1]}`, "needs a type"},
		{`{"type":"subscribe","bbox":[1,2,3]}`, "four numbers"},
		{`{"type":"subscribe","bbox":[0,95,1,96]}`, "latitude"},
		{`{"type":"subscribe","bbox":[0,10,1,5]}`, "south"},
		{`{"type":"subscribe","since":-1}`, "since"},
		{`{"type":"subscribe","since":"x"}`, "since must be an integer"},
		{`{"type":"subscribe"}`, ""}, // valid: resets the count of malformed frames
		{`{"type":"subscribe","filter":{"typ":["attack"]}}`, "unknown member"},
		{`{"type":"subscribe","filter":{"type":["bombing"]}}`, "not one of"},
		{`{"type":"subscribe","filter":{"datetime":"yesterday"}}`, "datetime"},
		{`{"type":"subscribe"} {}`, "one JSON object"},
		{`{"type":"subscribe","q":"` + strings.Repeat("x", 70<<10) + `"}`, "64 KB"},
	} {
		c.send(tc.frame)
		if tc.want == "" {
			continue
		}
		m := c.read()
		if m.Type != "error" || !strings.Contains(m.Detail, tc.want) {
			t.Errorf("frame %.60s: got %+v, want error with %q", tc.frame, m, tc.want)
		}
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := c.read(); m.Type != "error" || !strings.Contains(m.Detail, "binary") {
		t.Errorf("binary frame: got %+v", m)
	}
	// The connection is still usable. The new view replaces the previous
	// subscribe (everything): wait until it is in force before writing, or
	// changes committed before the server reads it go out under the old view.
	c.send(`{"type":"subscribe","bbox":[-80,0,-70,10],"filter":{"type":["attack"],"actor":["test"],"q":"usable"}}`)
	c.sync()
	x := e.create(-74, 4, "still usable")
	e.create(-74, 4, "filtered out by q")
	y := e.create(-74, 4, "usable again")
	c.expect(x.ID, y.ID)
}

func TestRepeatedAbuseCloses1008(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	for range maxAbuse {
		c.send("garbage")
	}
	c.expectClose(websocket.ClosePolicyViolation)
}

func TestShutdownThenResumeOnNewHub(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.dial(nil, nil)
	c.subscribe("", -1)
	last := c.expect(e.create(-74, 4, "before shutdown").ID)[0].Seq

	// The client reads while the server shuts down, as a browser would,
	// so that it answers the close at once.
	closed := make(chan error, 1)
	go func() {
		for {
			_, _, err := c.ws.ReadMessage()
			if err != nil {
				closed <- err
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("connection ended with %v, want 1001", err)
	}
	if n := e.hub.Clients(); n != 0 {
		t.Fatalf("%d clients after shutdown", n)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(e.url(), nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v %v, want 503", err, resp)
	}

	x := e.create(-74, 4, "while down")
	y := e.create(-74, 4, "while down too")
	e.start(Options{}, nil) // a restarted server over the same file
	c = e.dial(nil, nil)
	if c.hello != last+2 {
		t.Fatalf("hello %d after %d", c.hello, last)
	}
	c.subscribe("", last)
	c.expect(x.ID, y.ID)
}
