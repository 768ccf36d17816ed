package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/ingest"
	"nexus/store"
)

// hardMain is the real program on ":0" with its log kept, its admin token
// and settings a test chooses.
type hardMain struct {
	*Main
	log   *syncBuffer
	token string
}

func startHard(t *testing.T, dbPath string, set func(*Main), args ...string) *hardMain {
	t.Helper()
	var out syncBuffer
	logs := &syncBuffer{}
	m := NewMain(&out, logs)
	if err := m.ParseFlags(append([]string{"-addr", "127.0.0.1:0", "-db", dbPath, "-seed=false"}, args...)); err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(m)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	h := &hardMain{Main: m, log: logs}
	if link := regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`).FindStringSubmatch(out.String()); link != nil {
		h.token = link[1]
	}
	return h
}

// fillLarge writes n incidents with long summaries into a new database,
// so that an export of it is far larger than the sockets' buffers.
func fillLarge(t *testing.T, dbPath string, n int) {
	t.Helper()
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriter(pw)
		summary := strings.Repeat("lorem ipsum dolor sit amet ", 700)
		bw.WriteString(`{"type":"FeatureCollection","features":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				bw.WriteString(",")
			}
			fmt.Fprintf(bw, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"title":"Incident %d","type":"attack","date":"2020-01-02","summary":%q}}`,
				-80+float64(i%100)*0.1, 5+float64(i/100)*0.1, i, summary)
		}
		bw.WriteString("]}")
		bw.Flush()
		pw.Close()
	}()
	rep, err := ingest.Import(context.Background(), db, pr, ingest.Options{Actor: "test"})
	if err != nil || rep.Created != int64(n) {
		t.Fatalf("fill: %+v %v", rep, err)
	}
}

// rawRequest sends one HTTP/1.1 request on a new connection and returns
// the connection without reading anything.
func rawRequest(t *testing.T, base, method, path string, header map[string]string, body string) net.Conn {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, u.Host)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitLog waits until the server's log matches re at least n times.
func waitLog(t *testing.T, logs *syncBuffer, re string, n int) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(60 * time.Second)
	for len(rx.FindAllString(logs.String(), -1)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log has %d lines matching %s, want %d:\n%s", len(rx.FindAllString(logs.String(), -1)), re, n, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// getStatus is a GET that must be answered; the test's context bounds a
// server that never answers, so the failure is a message, not a hang.
func getStatus(t *testing.T, u string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// Eight exports whose clients stop reading must not freeze the reads of
// everyone else: exports beyond the limit are refused at once, those
// streaming are cut when they move nothing for -stream-idle, and items and
// /healthz answer all along.
func TestStalledExportsDoNotFreezeReads(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	fillLarge(t, dbPath, 1500) // about 28 MB of export
	m := startHard(t, dbPath, func(m *Main) { m.StreamIdle = time.Second })
	var conns []net.Conn
	for i := 0; i < 8; i++ {
		conns = append(conns, rawRequest(t, m.URL, "GET", "/api/export.geojson", nil, ""))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Four run (and stall), four are refused with 503.
	waitLog(t, m.log, `route="GET /api/export.geojson".*status=503`, 4)
	for i := 0; i < 5; i++ {
		if st, _, b := getStatus(t, m.URL+"/api/collections/incidents/items?limit=1"); st != 200 {
			t.Fatalf("items during stalled exports: %d %s", st, b)
		}
		if st, _, b := getStatus(t, m.URL+"/healthz"); st != 200 {
			t.Fatalf("healthz during stalled exports: %d %s", st, b)
		}
	}
	// The stalled ones are cut, logged as clients that left.
	waitLog(t, m.log, `route="GET /api/export.geojson".*status=499`, 4)
	if strings.Contains(m.log.String(), "level=ERROR") {
		t.Fatalf("stalled clients logged as server errors:\n%s", m.log.String())
	}
	// And exports run again.
	if st, _, b := getStatus(t, m.URL+"/api/export.geojson?bbox=-80,5,-79.9,5.05"); st != 200 || !json.Valid(b) {
		t.Fatalf("export after the stall: %d", st)
	}
}

// A kept-alive connection that sends no new request is closed after
// -idle-timeout.
func TestIdleConnectionsAreClosed(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), func(m *Main) { m.IdleTimeout = 200 * time.Millisecond })
	c := rawRequest(t, m.URL, "GET", "/healthz", nil, "")
	defer c.Close()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(60 * time.Second)) // a bound on the test, not on the server
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("an idle kept-alive connection stays open: %v", err)
	}
}

// An upload cut short by the client is a client that left (499 in the
// log), not a server error; one that stalls is answered 408.
func TestAbortedAndStalledUploads(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), func(m *Main) { m.StreamIdle = 300 * time.Millisecond })
	head := `{"type":"FeatureCollection","features":[` +
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"A","type":"attack","date":"2020"}},`
	hdr := map[string]string{"Authorization": "Bearer " + m.token, "Content-Type": "application/geo+json", "Content-Length": "10000000"}

	c := rawRequest(t, m.URL, "POST", "/api/import", hdr, head)
	time.Sleep(50 * time.Millisecond) // let the server start reading
	c.Close()
	waitLog(t, m.log, `route="POST /api/import".*status=499`, 1)
	if strings.Contains(m.log.String(), "status=500") {
		t.Fatalf("an aborted upload logged as a server error:\n%s", m.log.String())
	}

	c = rawRequest(t, m.URL, "POST", "/api/import", hdr, head)
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a stalled upload got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("stalled upload: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// Errors of /api/live before the upgrade are problems, as every other
// error of the API.
func TestLiveErrorsAreProblems(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil)
	for _, tc := range []struct {
		header map[string]string
		status int
	}{
		{nil, http.StatusBadRequest}, // not a websocket handshake
		{map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "http://evil.example"}, http.StatusForbidden},
	} {
		req, _ := http.NewRequest("GET", m.URL+"/api/live", nil)
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal(b, &p) != nil || p.Status != tc.status || p.Detail == "" {
			t.Errorf("live with %v: %d %s %s", tc.header, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}

// A mistyped -db is an error for the commands that read a database, and
// creates nothing.
func TestCommandsRefuseAMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nexsu.db")
	for _, args := range [][]string{
		{"backup", "-db", missing, filepath.Join(dir, "out.db")},
		{"export", "-db", missing, "-o", filepath.Join(dir, "out.geojson")},
		{"token", "create", "alice", "-role", "viewer", "-db", missing},
	} {
		var out syncBuffer
		err := Exec(context.Background(), args, strings.NewReader(""), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "no database at") {
			t.Errorf("%v: %v %s", args, err, out.String())
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%v created %s", args, missing)
		}
	}
}

// A PATCH without If-Match applies to the version it finds, however many
// writers race it: never 412.
func TestPatchWithoutIfMatchNever412(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil)
	do := func(method, path, ctype, body string) (int, []byte) {
		req, _ := http.NewRequest(method, m.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+m.token)
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	st, b := do("POST", "/api/collections/incidents/items", "application/geo+json",
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"A","type":"attack","date":"2020"}}`)
	var f struct {
		ID string `json:"id"`
	}
	if st != 201 || json.Unmarshal(b, &f) != nil {
		t.Fatalf("create: %d %s", st, b)
	}
	const writers = 8
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, b := do("PATCH", "/api/collections/incidents/items/"+f.ID, "application/merge-patch+json",
				fmt.Sprintf(`{"properties":{"title":"Writer %d"}}`, i))
			if st != 200 {
				t.Errorf("PATCH without If-Match: %d %s", st, b)
			}
		}()
	}
	wg.Wait()
	var got struct {
		Properties struct {
			Version int `json:"version"`
		} `json:"properties"`
	}
	st, _, b = getStatus(t, m.URL+"/api/collections/incidents/items/"+f.ID)
	if st != 200 || json.Unmarshal(b, &got) != nil || got.Properties.Version != 1+writers {
		t.Fatalf("after %d patches: %d %s", writers, st, b)
	}
}

// wsDial opens /api/live with a token (or none) and reads the hello.
func wsDial(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/live"
	if token != "" {
		u += "?token=" + token
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	var hello struct{ Type string }
	ws.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
		t.Fatalf("hello: %+v %v", hello, err)
	}
	return ws
}

// api is a request to the running server with the admin's token.
func (m *hardMain) api(t *testing.T, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, m.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+m.token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Revoking a token closes its websockets at once with 4001; the others
// stay open.
func TestRevokingATokenClosesItsWebsockets(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil)
	st, b := m.api(t, "POST", "/api/tokens", "application/json", `{"name":"analyst","role":"viewer"}`)
	var created struct{ Token string }
	if st != 201 || json.Unmarshal(b, &created) != nil {
		t.Fatalf("create token: %d %s", st, b)
	}
	revoked := wsDial(t, m.URL, created.Token)
	other := wsDial(t, m.URL, "")
	if st, b := m.api(t, "DELETE", "/api/tokens/analyst", "", ""); st != 204 {
		t.Fatalf("revoke: %d %s", st, b)
	}
	revoked.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		_, _, err := revoked.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Fatalf("the revoked token's websocket ended with %v, want close 4001", err)
		}
		break
	}
	// The other connection still works: it is answered.
	other.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping-me"}`))
	var m2 struct{ Type string }
	other.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := other.ReadJSON(&m2); err != nil || m2.Type != "error" {
		t.Fatalf("the other websocket: %+v %v", m2, err)
	}
	// And the token no longer opens one.
	u := "ws" + strings.TrimPrefix(m.URL, "http") + "/api/live?token=" + created.Token
	if _, resp, err := websocket.DefaultDialer.Dial(u, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("a revoked token opened a websocket: %v %v", err, resp)
	}
}

// A token revoked by another process on the same database file, which
// sends the server no notification, and a token that expires while its
// websocket is open both close their websockets with 4001; the others stay
// open.
func TestTokensEndedElsewhereCloseTheirWebsockets(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	m := startHard(t, dbPath, nil)
	token := func(body string) string {
		t.Helper()
		st, b := m.api(t, "POST", "/api/tokens", "application/json", body)
		var created struct{ Token string }
		if st != 201 || json.Unmarshal(b, &created) != nil {
			t.Fatalf("create token %s: %d %s", body, st, b)
		}
		return created.Token
	}
	revoked := wsDial(t, m.URL, token(`{"name":"analyst","role":"viewer"}`))
	expiring := wsDial(t, m.URL, token(`{"name":"visitor","role":"viewer","expires_in":"3s"}`))
	kept := wsDial(t, m.URL, token(`{"name":"editor","role":"editor"}`))

	run(t, serverCmd(t, "token", "-db", dbPath, "revoke", "analyst"))
	wantRevoked(t, "the websocket of a token revoked by the token command", revoked)
	wantRevoked(t, "the websocket of a token that expired", expiring)

	kept.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping-me"}`))
	var reply struct{ Type string }
	kept.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := kept.ReadJSON(&reply); err != nil || reply.Type != "error" {
		t.Fatalf("the websocket of a valid token: %+v %v", reply, err)
	}
}

// What was deleted is for editors: a reader's replay from since carries
// the delete but not the content the record had; an editor's carries both.
func TestReplayOfDeletedContentIsForEditors(t *testing.T) {
	m := startHard(t, filepath.Join(t.TempDir(), "nexus.db"), nil)
	st, b := m.api(t, "POST", "/api/collections/incidents/items", "application/geo+json",
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"Informant met handler","type":"other","date":"2020"}}`)
	var f struct{ ID string }
	if st != 201 || json.Unmarshal(b, &f) != nil {
		t.Fatalf("create: %d %s", st, b)
	}
	m.api(t, "PATCH", "/api/collections/incidents/items/"+f.ID, "application/merge-patch+json", `{"properties":{"title":"Informant named"}}`)
	if st, b := m.api(t, "DELETE", "/api/collections/incidents/items/"+f.ID, "", ""); st != 204 {
		t.Fatalf("delete: %d %s", st, b)
	}
	st, b = m.api(t, "POST", "/api/collections/incidents/items", "application/geo+json",
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[3,4]},"properties":{"title":"Last","type":"other","date":"2020"}}`)
	var last struct{ ID string }
	if st != 201 || json.Unmarshal(b, &last) != nil {
		t.Fatalf("create: %d %s", st, b)
	}
	replay := func(token string) []string {
		ws := wsDial(t, m.URL, token)
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`))
		var got []string
		for {
			var fr struct {
				Type, Op, ID string
				Feature      json.RawMessage
			}
			ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			if err := ws.ReadJSON(&fr); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(fr.Feature), "Informant") && fr.ID != f.ID {
				t.Fatalf("content in a frame of another record: %+v", fr)
			}
			got = append(got, fr.Op+" "+map[bool]string{true: "deleted", false: "last"}[fr.ID == f.ID]+map[bool]string{true: " with content", false: ""}[strings.Contains(string(fr.Feature), "Informant")])
			if fr.ID == last.ID {
				return got
			}
		}
	}
	if got, want := fmt.Sprint(replay("")), "[delete deleted upsert last]"; got != want {
		t.Errorf("anonymous replay %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(replay(m.token)), "[upsert deleted with content upsert deleted with content delete deleted upsert last]"; got != want {
		t.Errorf("admin replay %s, want %s", got, want)
	}
	// The history of the deleted record: for editors only.
	if st, _, _ := getStatus(t, m.URL+"/api/collections/incidents/items/"+f.ID+"/history"); st != 404 {
		t.Errorf("anonymous history of a deleted record: %d", st)
	}
	if st, b := m.api(t, "GET", "/api/collections/incidents/items/"+f.ID+"/history", "", ""); st != 200 || !strings.Contains(string(b), "Informant named") {
		t.Errorf("admin history of a deleted record: %d %s", st, b)
	}
}

// server token list and revoke manage tokens from the command line.
func TestTokenListAndRevokeCommands(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	run := func(args ...string) (string, error) {
		var out syncBuffer
		err := Exec(context.Background(), append(args, "-db", dbPath), strings.NewReader(""), &out, &out)
		return out.String(), err
	}
	if _, err := run("token", "create", "alice", "-role", "editor", "-expires", "720h"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("token", "create", "bob", "-role", "viewer"); err != nil {
		t.Fatal(err)
	}
	out, err := run("token", "list")
	if err != nil || !regexp.MustCompile(`(?m)^alice\s+editor\s+\S+\s+20\d\d-`).MatchString(out) || !regexp.MustCompile(`(?m)^bob\s+viewer\s+\S+\s+never$`).MatchString(out) || strings.Contains(out, "nx_") {
		t.Fatalf("token list:\n%s %v", out, err)
	}
	if out, err := run("token", "revoke", "alice"); err != nil {
		t.Fatalf("revoke: %s %v", out, err)
	}
	if _, err := run("token", "revoke", "alice"); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	if out, _ := run("token", "list"); strings.Contains(out, "alice") {
		t.Fatalf("alice is still listed:\n%s", out)
	}
}
