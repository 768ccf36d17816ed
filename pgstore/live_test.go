package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
	"nexus/internal/pgtest"
	"nexus/live"
	"nexus/pgstore"
	"nexus/store/storetest"
)

// server is one Nexus server's store and live hub on a shared database.
type server struct {
	db  *pgstore.DB
	url string // the hub's websocket URL
}

// startServer opens the database and serves a hub over it. The hub polls
// only once an hour: what reaches it from another server comes through
// LISTEN/NOTIFY.
func startServer(t *testing.T, dbURL string) *server {
	t.Helper()
	db := openURL(t, dbURL)
	hub := live.NewHub(db, live.Options{PollInterval: time.Hour, SendQueue: 1 << 15, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- hub.Run(ctx) }()
	mux := http.NewServeMux()
	mux.Handle("/api/live", hub)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(sctx)
		stop()
		if err := <-ran; err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return &server{db: db, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/live"}
}

// subscribe connects to the server's hub and subscribes to everything
// after since.
func (s *server) subscribe(t *testing.T, since int64) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(s.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if f := readFrame(t, ws); f.Type != "hello" {
		t.Fatalf("first frame %+v", f)
	}
	if err := ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"subscribe","since":%d}`, since)); err != nil {
		t.Fatal(err)
	}
	return ws
}

func readFrame(t *testing.T, ws *websocket.Conn) live.Frame {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	f, err := live.ParseFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLiveAcrossServers: two servers on one database. A write through A
// reaches a websocket subscriber on B; then 2 × 5 000 creates, through A
// and B at once, reach every subscriber on both exactly once, in seq order.
func TestLiveAcrossServers(t *testing.T) {
	url := pgtest.DB(t)
	a, b := startServer(t, url), startServer(t, url)
	ctx := context.Background()
	seq0, err := a.db.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onB := b.subscribe(t, seq0)
	created, err := a.db.Create(ctx, "alice", storetest.Decode(t, geo.Incidents, storetest.PlotFeature))
	if err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, onB); f.Type != "change" || f.ID != created.ID || f.Op != "upsert" {
		t.Fatalf("B's subscriber got %+v, want the create of %s through A", f, created.ID)
	}
	seq1, _ := a.db.LastSeq(ctx)

	const perServer, writersPerServer = 5000, 8
	subs := []*websocket.Conn{a.subscribe(t, seq1), b.subscribe(t, seq1)}
	type got struct {
		ids []string
		err error
	}
	results := make(chan got, len(subs))
	for _, ws := range subs {
		go func() {
			var g got
			last := seq1
			for len(g.ids) < 2*perServer {
				ws.SetReadDeadline(time.Now().Add(60 * time.Second))
				_, data, err := ws.ReadMessage()
				if err != nil {
					g.err = err
					break
				}
				f, err := live.ParseFrame(data)
				if err != nil || f.Type != "change" {
					g.err = fmt.Errorf("frame %s (%v)", data, err)
					break
				}
				if f.Seq <= last {
					g.err = fmt.Errorf("seq %d after %d", f.Seq, last)
					break
				}
				last = f.Seq
				g.ids = append(g.ids, f.ID)
			}
			results <- g
		}()
	}
	var mu sync.Mutex
	want := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*writersPerServer)
	for _, s := range []*server{a, b} {
		for w := range writersPerServer {
			wg.Go(func() {
				for i := range perServer / writersPerServer {
					r := storetest.Decode(t, geo.Incidents, storetest.PlotFeature)
					r.(*geo.Incident).Title = fmt.Sprintf("write %d of writer %d", i, w)
					st, err := s.db.Create(ctx, "writer", r)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					want[st.ID] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(want) != 2*perServer {
		t.Fatalf("%d records created", len(want))
	}
	for range subs {
		g := <-results
		if g.err != nil {
			t.Fatalf("a subscriber, after %d changes: %v", len(g.ids), g.err)
		}
		seen := map[string]bool{}
		for _, id := range g.ids {
			if seen[id] || !want[id] {
				t.Fatalf("a subscriber got %s twice or unasked", id)
			}
			seen[id] = true
		}
	}
	// Nothing more follows the 10 000: a subscriber sees each once.
	for _, ws := range subs {
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"sync"}`))
		if f := readFrame(t, ws); f.Type != "error" {
			t.Fatalf("after the 10 000 changes a subscriber got %+v", f)
		}
	}
}

// A token revoked through one server is heard by the others at once. A
// listener that lost its connection checks the tokens of its open
// connections again when it is back: a revocation it could not hear is
// not missed.
func TestRevocationsReachEveryServer(t *testing.T) {
	url := pgtest.DB(t)
	a, b := openURL(t, url), openURL(t, url)
	heard := make(chan string, 10)
	b.FollowTokens(func(name string) { heard <- name }, func() []string { return []string{"gone", "kept"} })
	next := func() string {
		t.Helper()
		select {
		case name := <-heard:
			return name
		case <-time.After(time.Minute):
			t.Fatal("no revocation heard")
			return ""
		}
	}
	ctx := context.Background()
	waitListening(t, a, 2)
	for _, name := range []string{"eve", "kept", "last"} {
		if _, err := a.CreateToken(ctx, name, "viewer"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RevokeToken(ctx, "eve"); err != nil {
		t.Fatal(err)
	}
	if name := next(); name != "eve" {
		t.Fatalf("heard %q, want eve", name)
	}
	storetest.WantCode(t, a.RevokeToken(ctx, "eve"), geo.ENOTFOUND)

	// Both servers' listeners lose their connections.
	if _, err := a.Pool().Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()", pgstore.ListenerName); err != nil {
		t.Fatal(err)
	}
	if name := next(); name != "gone" {
		t.Fatalf("after reconnecting heard %q, want gone, the open token that does not exist", name)
	}
	if err := a.RevokeToken(ctx, "last"); err != nil {
		t.Fatal(err)
	}
	if name := next(); name != "last" {
		t.Fatalf("heard %q, want last (kept is valid)", name)
	}
}

// waitListening waits until n servers of db's database listen: their
// listening connections have run more than LISTEN.
func waitListening(t *testing.T, db *pgstore.DB, n int) {
	t.Helper()
	for i := 0; ; i++ {
		var got int
		err := db.Pool().QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND query <> '' AND query NOT LIKE 'LISTEN%'", pgstore.ListenerName).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if i == 6000 {
			t.Fatalf("%d servers listen, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
