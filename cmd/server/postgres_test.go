package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/data"
	"nexus/internal/pgtest"
	"nexus/live"
)

// TestServersOnPostgres runs two servers on one PostgreSQL database, as
// behind a load balancer. They start together: the sample data is loaded
// once and one of them prints the first admin token. A record written
// through A reaches a websocket subscriber on B. A token revoked through
// A stops working on both and its websockets on both close at once.
func TestServersOnPostgres(t *testing.T) {
	url := pgtest.DB(t)
	servers := make([]*Main, 2)
	outs := make([]*syncBuffer, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() {
			outs[i] = &syncBuffer{}
			m := NewMain(outs[i], io.Discard)
			if errs[i] = m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-db", url}); errs[i] != nil {
				return
			}
			if errs[i] = m.Run(context.Background()); errs[i] == nil {
				servers[i] = m
				t.Cleanup(func() { m.Close() })
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, b := servers[0], servers[1]
	linkRE := regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`)
	la, lb := linkRE.FindStringSubmatch(outs[0].String()), linkRE.FindStringSubmatch(outs[1].String())
	if (la == nil) == (lb == nil) {
		t.Fatalf("the first token was printed by %v and %v, want exactly one server:\n%s\n%s", la != nil, lb != nil, outs[0], outs[1])
	}
	admin := la
	if admin == nil {
		admin = lb
	}
	token := admin[1]

	f, err := data.Sample.Open("sample/incidents.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var sample struct{ Features []json.RawMessage }
	err = json.NewDecoder(f).Decode(&sample)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range servers {
		var items struct {
			NumberMatched int `json:"numberMatched"`
		}
		getJSON(t, m.URL+"/api/collections/incidents/items?limit=1", &items)
		if items.NumberMatched != len(sample.Features) {
			t.Fatalf("%d incidents, the sample has %d: seeded %s", items.NumberMatched, len(sample.Features), map[bool]string{true: "twice", false: "wrong"}[items.NumberMatched > len(sample.Features)])
		}
	}

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(b.URL, "http")+"/api/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	read := func() live.Frame {
		t.Helper()
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		fr, err := live.ParseFrame(data)
		if err != nil {
			t.Fatal(err)
		}
		return fr
	}
	hello := read()
	if hello.Type != "hello" {
		t.Fatalf("first frame %+v", hello)
	}
	ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"subscribe","since":%d}`, hello.Seq))
	post := func(m *Main, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", strings.NewReader(
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[-78.79,1.81]},"properties":{"title":"Seizure at Tumaco","type":"seizure","date":"2024-05"}}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var created struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&created)
		return resp.StatusCode, created.ID
	}
	status, id := post(a, token)
	if status != 201 {
		t.Fatalf("POST through A: %d", status)
	}
	if fr := read(); fr.Type != "change" || fr.ID != id {
		t.Fatalf("B's subscriber got %+v, want the record %s written through A", fr, id)
	}

	// A token revoked through A stops working on both servers, and its
	// websockets close at once on both, with 4001; so does a token
	// revoked by the token command, which no server sees.
	eve, err := a.db.CreateToken(context.Background(), "eve", "editor")
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := post(b, eve); status != 201 {
		t.Fatalf("a token made on A writes through B: %d", status)
	}
	if fr := read(); fr.Type != "change" {
		t.Fatalf("B's subscriber got %+v, want the record written through B", fr)
	}
	eveA, eveB := wsDial(t, a.URL, eve), wsDial(t, b.URL, eve)
	req, _ := http.NewRequest("DELETE", a.URL+"/api/tokens/eve", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("revoke through A: %d", resp.StatusCode)
	}
	wantRevoked(t, "eve's websocket on B, revoked through A", eveB)
	wantRevoked(t, "eve's websocket on A, revoked through A", eveA)
	for _, m := range servers {
		if status, _ := post(m, eve); status != 401 {
			t.Fatalf("a token revoked through A writes through %s: %d", m.URL, status)
		}
	}

	vic, err := b.db.CreateToken(context.Background(), "vic", "viewer")
	if err != nil {
		t.Fatal(err)
	}
	vicB := wsDial(t, b.URL, vic)
	var out strings.Builder
	if err := Exec(context.Background(), []string{"token", "-db", url, "revoke", "vic"}, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("token revoke: %v\n%s", err, out.String())
	}
	wantRevoked(t, "vic's websocket on B, revoked by the token command", vicB)

	// The anonymous subscriber on B is still served.
	status, id = post(a, token)
	if status != 201 {
		t.Fatalf("POST through A: %d", status)
	}
	if fr := read(); fr.Type != "change" || fr.ID != id {
		t.Fatalf("B's subscriber got %+v after the revocations, want the record %s", fr, id)
	}
}

// wantRevoked reads ws until it closes, which must be with 4001.
func wantRevoked(t *testing.T, what string, ws *websocket.Conn) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != live.CloseRevoked {
			t.Fatalf("%s ended with %v, want close 4001", what, err)
		}
		return
	}
}

// TestCommandsOnPostgres: the token command works on a PostgreSQL URL;
// backup says to use pg_dump.
func TestCommandsOnPostgres(t *testing.T) {
	url := pgtest.DB(t)
	run := func(args ...string) (string, error) {
		var out, errOut strings.Builder
		err := Exec(context.Background(), args, strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	out, err := run("token", "-db", url, "-role", "viewer", "create", "vic")
	if err != nil || !strings.Contains(out, "nx_") {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	out, err = run("token", "-db", url, "list")
	if err != nil || !strings.Contains(out, "vic") {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	_, err = run("backup", "-db", url, t.TempDir()+"/copy.db")
	if err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup of a PostgreSQL database: %v, want a pointer to pg_dump", err)
	}
}

// TestPostgresRestart kills PostgreSQL, as a crash would, under two
// running servers while clients write through both: every server answers
// 503 problem+json while it is down (never another error), reconnects by
// itself once it is back, every write that was acknowledged is kept, and
// the live subscriber on each server goes on with every change committed,
// nothing lost or repeated.
func TestPostgresRestart(t *testing.T) {
	c, err := pgtest.StartDurable() // a cluster of its own: it is stopped
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url, err := c.NewDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	servers := make([]*Main, 2)
	var token string
	for i := range servers {
		var out syncBuffer
		m := NewMain(&out, io.Discard)
		m.Logger = slog.New(slog.DiscardHandler)
		if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-db", url, "-seed=false", "-write-rate", "0", "-read-rate", "0"}); err != nil {
			t.Fatal(err)
		}
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		servers[i] = m
		if link := regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`).FindStringSubmatch(out.String()); link != nil {
			token = link[1]
		}
	}
	if token == "" {
		t.Fatal("no token printed")
	}

	// A subscriber on each server records every change it is sent.
	type seen struct {
		mu   sync.Mutex
		ids  map[string]int64
		last int64
		err  error
	}
	subs := make([]*seen, len(servers))
	var readers sync.WaitGroup
	for i, m := range servers {
		ws := wsDial(t, m.URL, "")
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe"}`))
		r := &seen{ids: map[string]int64{}}
		subs[i] = r
		readers.Go(func() {
			for {
				ws.SetReadDeadline(time.Now().Add(5 * time.Minute))
				_, data, err := ws.ReadMessage()
				r.mu.Lock()
				if err == nil {
					var fr live.Frame
					if fr, err = live.ParseFrame(data); err == nil {
						switch {
						case fr.Type != "change":
							err = fmt.Errorf("frame %s", data)
						case fr.Seq <= r.last:
							err = fmt.Errorf("seq %d after %d", fr.Seq, r.last)
						case r.ids[fr.ID] != 0:
							err = fmt.Errorf("%s seen twice, at seq %d and %d", fr.ID, r.ids[fr.ID], fr.Seq)
						default:
							r.last, r.ids[fr.ID] = fr.Seq, fr.Seq
						}
					}
				}
				if err != nil && r.err == nil {
					r.err = fmt.Errorf("after %d changes: %w", len(r.ids), err)
				}
				r.mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}

	// Writers post through both servers until told to stop. Each answer
	// is 201 (kept) or 503 problem+json (PostgreSQL is away).
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		acked    = map[string]bool{}
		refused  int // 503s
		failure  error
		stop     = make(chan struct{})
		progress = make(chan struct{}, 1)
		writers  sync.WaitGroup
	)
	post := func(m *Main) (int, string, error) {
		req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", strings.NewReader(
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[-78.79,1.81]},"properties":{"title":"Seizure at Tumaco","type":"seizure","date":"2024-05"}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, "", err
		}
		switch {
		case resp.StatusCode == 201:
			var created struct{ ID string }
			if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
				return 0, "", fmt.Errorf("201 with %s", body)
			}
			return 201, created.ID, nil
		case resp.StatusCode == 503 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json"):
			return 503, "", nil
		}
		return 0, "", fmt.Errorf("POST %s: %d %s %s", m.URL, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, m := range servers {
		for range 2 {
			writers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, id, err := post(m)
					mu.Lock()
					switch {
					case err != nil:
						if failure == nil {
							failure = err
						}
					case status == 201:
						acked[id] = true
					default:
						refused++
					}
					mu.Unlock()
					select {
					case progress <- struct{}{}:
					default:
					}
					if err != nil {
						return
					}
					if status == 503 {
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
		}
	}
	// waitAcked waits until n writes more than now are acknowledged.
	waitAcked := func(n int) {
		t.Helper()
		mu.Lock()
		want := len(acked) + n
		mu.Unlock()
		for {
			<-progress
			mu.Lock()
			got, err := len(acked), failure
			mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if got >= want {
				return
			}
		}
	}
	waitAcked(100)

	if err := c.Stop("immediate"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := refused
	mu.Unlock()
	for _, m := range servers {
		for _, path := range []string{"/api/collections/incidents/items", "/api/view?bbox=-80,0,-70,5&zoom=6", "/healthz"} {
			resp, err := http.Get(m.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("GET %s while PostgreSQL is down: %d %s %s", m.URL+path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	}
	// The writers go on being refused while it is down.
	for {
		<-progress
		mu.Lock()
		n, err := refused, failure
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if n >= before+20 {
			break
		}
	}

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Each server's pool finds its connections dead and opens new ones.
	for _, m := range servers {
		for i := 0; ; i++ {
			resp, err := http.Get(m.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			if resp.StatusCode != 503 || i == 600 {
				t.Fatalf("%s after the restart: %d", m.URL, resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitAcked(100)
	close(stop)
	writers.Wait()
	if failure != nil {
		t.Fatal(failure)
	}

	// What is stored holds every acknowledged write (and perhaps some
	// whose answer was lost with the connection).
	var items struct {
		Features []struct{ ID string }
	}
	getJSON(t, servers[0].URL+"/api/collections/incidents/items?limit=10000", &items)
	stored := map[string]bool{}
	for _, f := range items.Features {
		stored[f.ID] = true
	}
	for id := range acked {
		if !stored[id] {
			t.Fatalf("%s was acknowledged (201) but is not stored after the restart", id)
		}
	}
	// Each subscriber is sent every stored record, once, in seq order.
	for i, r := range subs {
		for {
			r.mu.Lock()
			n, err := len(r.ids), r.err
			r.mu.Unlock()
			if err != nil {
				t.Fatalf("subscriber on server %d: %v", i, err)
			}
			if n >= len(stored) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		r.mu.Lock()
		for id := range r.ids {
			if !stored[id] {
				t.Fatalf("subscriber on server %d was sent %s, which is not stored", i, id)
			}
		}
		r.mu.Unlock()
	}
	t.Logf("%d writes acknowledged, %d stored, %d refused with 503", len(acked), len(stored), refused)
}

// TestConcurrentCreatesAcrossServers writes 2 × 5 000 records at once
// through two servers on one PostgreSQL database. A websocket subscriber
// on each server sees every one of the 10 000 exactly once, in seq order,
// although the sequence numbers of concurrent transactions commit out of
// order.
func TestConcurrentCreatesAcrossServers(t *testing.T) {
	const perServer, clients = 5000, 4
	url := pgtest.DB(t)
	servers := make([]*Main, 2)
	var token string
	for i := range servers {
		var out syncBuffer
		m := NewMain(&out, io.Discard)
		m.Logger = slog.New(slog.DiscardHandler) // 10 000 request lines cost more than they tell
		if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-db", url, "-seed=false", "-write-rate", "0"}); err != nil {
			t.Fatal(err)
		}
		// Every change must reach the subscribers, which read on a
		// machine as busy as the writers make it.
		m.LiveQueue = 2 * perServer
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		servers[i] = m
		if link := regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`).FindStringSubmatch(out.String()); link != nil {
			token = link[1]
		}
	}
	if token == "" {
		t.Fatal("no token printed")
	}

	type seen struct {
		ids  map[string]int64
		last int64
		err  error
	}
	results := make([]seen, len(servers))
	var subs sync.WaitGroup
	for i, m := range servers {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(m.URL, "http")+"/api/live", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.SetReadDeadline(time.Now().Add(5 * time.Minute))
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if hello, err := live.ParseFrame(data); err != nil || hello.Type != "hello" {
			t.Fatalf("first frame %s: %v", data, err)
		}
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe"}`))
		subs.Go(func() {
			r := &results[i]
			r.ids = make(map[string]int64, 2*perServer)
			for len(r.ids) < 2*perServer {
				_, data, err := ws.ReadMessage()
				if err != nil {
					r.err = fmt.Errorf("after %d changes: %w", len(r.ids), err)
					return
				}
				fr, err := live.ParseFrame(data)
				if err != nil {
					r.err = err
					return
				}
				if fr.Type != "change" {
					r.err = fmt.Errorf("after %d changes: frame %s", len(r.ids), data)
					return
				}
				if fr.Seq <= r.last {
					r.err = fmt.Errorf("seq %d after %d", fr.Seq, r.last)
					return
				}
				if prev, dup := r.ids[fr.ID]; dup {
					r.err = fmt.Errorf("%s seen twice, at seq %d and %d", fr.ID, prev, fr.Seq)
					return
				}
				r.last = fr.Seq
				r.ids[fr.ID] = fr.Seq
			}
		})
	}

	// One kept-alive connection per writer: no connection is opened per
	// request.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	body := []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-78.79,1.81]},"properties":{"title":"Seizure","type":"seizure","date":"2024-05"}}`)
	created := make(chan string, 2*perServer)
	var writers sync.WaitGroup
	var failed sync.Once
	var failure error
	for _, m := range servers {
		for c := range clients {
			writers.Go(func() {
				for n := c; n < perServer; n += clients {
					req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/geo+json")
					resp, err := client.Do(req)
					if err == nil && resp.StatusCode != 201 {
						err = fmt.Errorf("POST %s: %d", m.URL, resp.StatusCode)
					}
					if err != nil {
						failed.Do(func() { failure = err })
						return
					}
					var stored struct{ ID string }
					err = json.NewDecoder(resp.Body).Decode(&stored)
					io.Copy(io.Discard, resp.Body) // read to the end, so the connection is kept
					resp.Body.Close()
					if err != nil {
						failed.Do(func() { failure = err })
						return
					}
					created <- stored.ID
				}
			})
		}
	}
	writers.Wait()
	close(created)
	if failure != nil {
		t.Fatal(failure)
	}
	subs.Wait()
	ids := make(map[string]bool, 2*perServer)
	for id := range created {
		ids[id] = true
	}
	if len(ids) != 2*perServer {
		t.Fatalf("%d distinct records created, want %d", len(ids), 2*perServer)
	}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("subscriber on server %d: %v", i, r.err)
		}
		for id := range r.ids {
			if !ids[id] {
				t.Fatalf("subscriber on server %d saw %s, which no client created", i, id)
			}
		}
	}
}
