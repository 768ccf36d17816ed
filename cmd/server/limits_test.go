package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fromAddr is a client whose connections leave from the loopback address
// ip (any of 127.0.0.0/8 reaches a server on 127.0.0.1): another machine,
// as far as the server can tell.
type fromAddr struct {
	ip     string
	client *http.Client
	dialer *websocket.Dialer
}

func from(t *testing.T, ip string) *fromAddr {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 30 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &fromAddr{ip: ip, client: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		dialer: &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 30 * time.Second}}
}

// get sends a GET with the headers given as name, value pairs.
func (f *fromAddr) get(t *testing.T, u string, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), "GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s from %s: %v", u, f.ip, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// flood sends GETs until one is refused with 429, at most n, and returns
// the refusal; it fails the test when none is.
func (f *fromAddr) flood(t *testing.T, u string, n int, header ...string) (http.Header, []byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		st, h, b := f.get(t, u, header...)
		switch st {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			return h, b
		default:
			t.Fatalf("request %d from %s: %d %s", i+1, f.ip, st, b)
		}
	}
	t.Fatalf("%d requests from %s in a row, none refused", n, f.ip)
	return nil, nil
}

// checkRefusal checks a 429: problem+json saying so, and a Retry-After in
// whole seconds.
func checkRefusal(t *testing.T, h http.Header, b []byte) {
	t.Helper()
	var p struct {
		Status int
		Detail string
	}
	if ct := h.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(b, &p) != nil || p.Status != 429 || !strings.Contains(p.Detail, "try again") {
		t.Fatalf("refusal: %s %s", ct, b)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
}

// A flood of expensive reads from one address is refused with 429 and
// Retry-After while another address is served; a token has a budget of
// its own.
func TestRateLimitPerAddress(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil, "-read-rate", "1")
	stats := m.URL + "/api/stats?by=country"
	a, b := from(t, "127.0.0.1"), from(t, "127.0.0.2")
	h, body := a.flood(t, stats, 40)
	checkRefusal(t, h, body)
	if st, _, body := b.get(t, stats); st != 200 {
		t.Fatalf("another address was refused: %d %s", st, body)
	}
	if st, _, body := a.get(t, stats, "Authorization", "Bearer "+m.token); st != 200 {
		t.Fatalf("a token from the flooding address was refused: %d %s", st, body)
	}
	// Items are not counted: a GIS client pages a layer with them.
	for i := range 20 {
		if st, _, body := a.get(t, m.URL+"/api/collections/incidents/items?limit=1"); st != 200 {
			t.Fatalf("items %d from the flooding address: %d %s", i, st, body)
		}
	}
	if !strings.Contains(m.log.String(), "status=429") {
		t.Error("the refusals are not in the log")
	}
}

// Writes are counted per token.
func TestRateLimitWritesPerToken(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil, "-write-rate", "1")
	st, b := m.api(t, "POST", "/api/tokens", "application/json", `{"name":"script","role":"editor"}`)
	var created struct{ Token string }
	if st != 201 || json.Unmarshal(b, &created) != nil {
		t.Fatalf("create token: %d %s", st, b)
	}
	post := func(token string) *http.Response {
		req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", strings.NewReader(
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"Report","type":"other","date":"2020"}}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	refused := false
	for i := 0; i < 30 && !refused; i++ {
		resp := post(created.Token)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 201:
		case 429:
			checkRefusal(t, resp.Header, b)
			refused = true
		default:
			t.Fatalf("write %d: %d %s", i, resp.StatusCode, b)
		}
	}
	if !refused {
		t.Fatal("30 writes in a row, none refused")
	}
	resp := post(m.token)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("another token from the same address: %d", resp.StatusCode)
	}
}

// A subscribe flood gets error frames with status 429 and retry_after,
// and the connection stays open; a connection from another address
// subscribes as usual. Connections per address are bounded too.
func TestRateLimitSubscribes(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil, "-subscribe-rate", "1", "-max-live-per-address", "3")
	u := "ws" + strings.TrimPrefix(m.URL, "http") + "/api/live"
	dial := func(f *fromAddr) (*websocket.Conn, *http.Response, error) {
		ws, resp, err := f.dialer.Dial(u, nil)
		if err == nil {
			t.Cleanup(func() { ws.Close() })
			ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			var hello struct{ Type string }
			if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
				t.Fatalf("hello: %+v %v", hello, err)
			}
		}
		return ws, resp, err
	}
	a, b := from(t, "127.0.0.1"), from(t, "127.0.0.2")
	flooder, _, err := dial(a)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := flooder.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var fr struct {
			Type       string
			Status     int
			Detail     string
			RetryAfter *int `json:"retry_after"`
		}
		flooder.SetReadDeadline(time.Now().Add(60 * time.Second))
		if err := flooder.ReadJSON(&fr); err != nil {
			t.Fatalf("no 429 frame before %v", err)
		}
		if fr.Type != "error" {
			continue
		}
		if fr.Status != 429 || fr.RetryAfter == nil || *fr.RetryAfter < 1 || !strings.Contains(fr.Detail, "subscribe") {
			t.Fatalf("error frame: %+v", fr)
		}
		break
	}
	// The other address subscribes: the answer to a frame sent after its
	// subscribe is the only error it gets.
	other, _, err := dial(b)
	if err != nil {
		t.Fatal(err)
	}
	other.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe"}`))
	other.WriteMessage(websocket.TextMessage, []byte(`{"type":"nonsense"}`))
	var fr struct {
		Type   string
		Status int
	}
	other.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := other.ReadJSON(&fr); err != nil || fr.Type != "error" || fr.Status != 400 {
		t.Fatalf("the other address: %+v %v", fr, err)
	}

	// Three connections per address: the fourth from a is refused.
	var open []*websocket.Conn
	for range 2 {
		ws, resp, err := dial(a)
		if err != nil {
			t.Fatalf("connection under the bound refused: %v %v", err, resp)
		}
		open = append(open, ws)
	}
	_, resp, err := dial(a)
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("a fourth connection from one address: %v %v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	checkRefusal(t, resp.Header, body)
	if _, _, err := dial(b); err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	// Closing one makes room again.
	open[0].Close()
	for i := 0; ; i++ {
		_, resp, err := dial(a)
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != 429 || i == 600 {
			t.Fatalf("after a close: %v %v", err, resp)
		}
		time.Sleep(50 * time.Millisecond) // the server notices the close
	}
}

// Behind a trusted proxy the limit counts the client X-Forwarded-For
// names; from a peer that is not trusted the header is ignored.
func TestTrustedProxy(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil, "-read-rate", "1", "-trusted-proxy", "127.0.0.1/32,10.0.0.0/8")
	stats := m.URL + "/api/stats?by=country"
	proxy, stranger := from(t, "127.0.0.1"), from(t, "127.0.0.3")
	h, body := proxy.flood(t, stats, 40, "X-Forwarded-For", "203.0.113.5, 10.1.2.3")
	checkRefusal(t, h, body)
	if st, _, body := proxy.get(t, stats, "X-Forwarded-For", "203.0.113.6"); st != 200 {
		t.Fatalf("another client behind the proxy was refused: %d %s", st, body)
	}
	// A client cannot choose its address by writing the header itself: the
	// proxy appends the address it saw, and that one counts.
	if st, _, _ := proxy.get(t, stats, "X-Forwarded-For", "198.51.100.1, 203.0.113.5"); st != 429 {
		t.Fatalf("a spoofed first hop escaped the limit: %d", st)
	}
	if !strings.Contains(m.log.String(), "remote=203.0.113.5") {
		t.Error("the log does not name the client behind the proxy")
	}
	// From a peer that is not trusted, X-Forwarded-For counts for nothing.
	h, body = stranger.flood(t, stats, 40, "X-Forwarded-For", "192.0.2.1")
	checkRefusal(t, h, body)
	if st, _, _ := stranger.get(t, stats, "X-Forwarded-For", "192.0.2.2"); st != 429 {
		t.Fatalf("an untrusted peer escaped its limit with X-Forwarded-For: %d", st)
	}
	if strings.Contains(m.log.String(), "remote=192.0.2.") {
		t.Error("the log believed an untrusted X-Forwarded-For")
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"-trusted-proxy", "10.0.0.0/33"}); err == nil || !strings.Contains(err.Error(), "-trusted-proxy") {
		t.Fatalf("a bad prefix: %v", err)
	}
	if err := m.ParseFlags([]string{"-write-rate", "-1"}); err == nil {
		t.Fatal("a negative rate was taken")
	}
}
