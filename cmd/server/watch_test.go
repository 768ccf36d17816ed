package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/geo"
	"nexus/store"
	"nexus/watch"
)

// watchServer is the real program with two users: an editor who writes
// incidents and a viewer who owns watch areas.
type watchServer struct {
	*Main
	editor, viewer string
	stderr         *syncBuffer
}

// startWatchServer runs the program over dbPath without sample data, with
// webhooks to loopback allowed and short retry waits.
// With tokens (editor, viewer) it reuses those of an earlier start.
func startWatchServer(t *testing.T, dbPath string, tokens ...string) *watchServer {
	t.Helper()
	var out, errOut syncBuffer
	m := NewMain(&out, &errOut)
	if err := m.ParseFlags([]string{"-addr", "127.0.0.1:0", "-db", dbPath, "-seed=false", "-private-webhooks"}); err != nil {
		t.Fatal(err)
	}
	m.Deliver = watch.DeliverOptions{Backoff: 20 * time.Millisecond, PollInterval: 20 * time.Millisecond, Timeout: time.Hour}
	// Subscribers read their frames when the test looks at them, which
	// on a busy machine may be after more than the default queue.
	m.LiveQueue = 1 << 14
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("start: %v\n%s", err, errOut.String())
	}
	s := &watchServer{Main: m, stderr: &errOut}
	if len(tokens) == 2 {
		s.editor, s.viewer = tokens[0], tokens[1]
	} else {
		s.editor = s.token(t, "editor", geo.RoleEditor)
		s.viewer = s.token(t, "alice", geo.RoleViewer)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (last lines):\n%s", lastLines(errOut.String(), 40))
		}
	})
	return s
}

// token creates a token of name with the role.
func (s *watchServer) token(t *testing.T, name, role string) string {
	tok, err := s.db.CreateToken(context.Background(), name, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request with the token and returns status, body and headers.
func do(t *testing.T, base, token, method, path string, body any, header ...string) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		enc, _ := json.Marshal(b)
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/geo+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// createWatch posts a watch as the viewer and returns its id and secret.
func (s *watchServer) createWatch(t *testing.T, geometry string, props string) (id, secret string) {
	t.Helper()
	st, b, _ := do(t, s.URL, s.viewer, "POST", "/api/watches", `{"type":"Feature","geometry":`+geometry+`,"properties":`+props+`}`)
	if st != 201 {
		t.Fatalf("create watch: %d %s", st, b)
	}
	var f struct {
		ID     string `json:"id"`
		Secret string `json:"webhook_secret"`
	}
	json.Unmarshal(b, &f)
	return f.ID, f.Secret
}

// incident creates an incident as the editor and returns its id.
func (s *watchServer) incident(t *testing.T, lon, lat float64, typ string) string {
	t.Helper()
	st, b, _ := do(t, s.URL, s.editor, "POST", "/api/collections/incidents/items",
		fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":"Test","type":%q,"date":"2024-05"}}`, lon, lat, typ))
	if st != 201 {
		t.Fatalf("create incident: %d %s", st, b)
	}
	var f struct{ ID string }
	json.Unmarshal(b, &f)
	return f.ID
}

func (s *watchServer) patch(t *testing.T, id, body string) {
	t.Helper()
	st, b, _ := do(t, s.URL, s.editor, "PATCH", "/api/collections/incidents/items/"+id, body, "Content-Type", "application/merge-patch+json")
	if st != 200 {
		t.Fatalf("patch: %d %s", st, b)
	}
}

// lastSeq is the change-log seq of the newest change of a record.
func (s *watchServer) lastSeq(t *testing.T, id string) int64 {
	t.Helper()
	h, err := s.db.History(context.Background(), "incidents", id, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h.Changes[0].Seq
}

// alertFrame is an alert as the websocket sends it.
type alertFrame struct {
	Type       string          `json:"type"`
	Seq        int64           `json:"seq"`
	Watch      string          `json:"watch"`
	Name       string          `json:"name"`
	Event      string          `json:"event"`
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Feature    json.RawMessage `json:"feature"`
}

// dialLive opens the websocket with a token and reads its hello.
func dialLive(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/api/live?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var hello map[string]any
	if err := c.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		t.Fatalf("hello: %v %v", hello, err)
	}
	return c
}

// nextAlert reads frames until an alert comes.
func nextAlert(t *testing.T, c *websocket.Conn) alertFrame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for an alert: %v", err)
		}
		var a alertFrame
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if a.Type == "alert" {
			return a
		}
	}
}

const zonaRosa = `{"type":"Point","coordinates":[-74.0537,4.6668]}`

func TestWatchAlertsEnterInsideLeave(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	wid, _ := s.createWatch(t, zonaRosa, `{"name":"Zona Rosa","radius_km":5,"filter":{"type":["attack","plot","arrest"]}}`)
	ws := dialLive(t, s.URL, s.viewer)
	// The view is far away (Madrid): alerts come whatever the view.
	if err := ws.WriteJSON(map[string]any{"type": "subscribe", "bbox": []float64{-4, 40, -3, 41}}); err != nil {
		t.Fatal(err)
	}
	other := dialLive(t, s.URL, s.editor) // another user's connection gets none

	// Outside the circle, and inside but of another type: no alert.
	s.incident(t, -75.5636, 6.2518, "attack")
	s.incident(t, -74.0540, 4.6670, "seizure")

	expect := func(event, id string) {
		t.Helper()
		a := nextAlert(t, ws)
		if a.Event != event || a.ID != id || a.Watch != wid || a.Collection != "incidents" || a.Name != "Zona Rosa" {
			t.Fatalf("alert %+v, want %s of %s in %s", a, event, id, wid)
		}
		if want := s.lastSeq(t, id); a.Seq != want {
			t.Fatalf("alert seq %d, want the change's %d", a.Seq, want)
		}
		if !bytes.Contains(a.Feature, []byte(`"id":"`+id+`"`)) {
			t.Fatalf("alert without the record: %s", a.Feature)
		}
	}
	id := s.incident(t, -74.0530, 4.6660, "plot")
	expect("enter", id)
	s.patch(t, id, `{"properties":{"title":"Plot against the embassy"}}`)
	expect("inside", id)
	s.patch(t, id, `{"geometry":{"type":"Point","coordinates":[-75.5636,6.2518]}}`)
	expect("leave", id)
	s.patch(t, id, `{"geometry":{"type":"Point","coordinates":[-74.0550,4.6650]}}`)
	expect("enter", id)
	s.patch(t, id, `{"properties":{"type":"seizure"}}`) // no longer matches the filter
	expect("leave", id)
	s.patch(t, id, `{"properties":{"type":"arrest"}}`)
	expect("enter", id)
	if st, b, _ := do(t, s.URL, s.editor, "DELETE", "/api/collections/incidents/items/"+id, nil); st != 204 {
		t.Fatalf("delete: %d %s", st, b)
	}
	expect("leave", id)

	// The other user's connection got no alert: the next frame it reads
	// is the change that follows.
	last := s.incident(t, 10, 10, "attack")
	other.WriteJSON(map[string]any{"type": "subscribe", "since": s.lastSeq(t, last) - 1})
	other.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var f map[string]any
		if err := other.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		if f["type"] == "alert" {
			t.Fatalf("another user got an alert: %v", f)
		}
		if f["type"] == "change" && f["id"] == last {
			break
		}
	}

	// The list: newest first, all unread; mark one, then all, read.
	var list struct {
		Alerts []struct {
			Seq   int64  `json:"seq"`
			Event string `json:"event"`
			Read  bool   `json:"read"`
		} `json:"alerts"`
		Unread int64 `json:"unread"`
	}
	st, b, _ := do(t, s.URL, s.viewer, "GET", "/api/watches/"+wid+"/alerts", nil)
	if st != 200 || json.Unmarshal(b, &list) != nil {
		t.Fatalf("alerts: %d %s", st, b)
	}
	var events []string
	for i, a := range list.Alerts {
		events = append(events, a.Event)
		if i > 0 && a.Seq >= list.Alerts[i-1].Seq {
			t.Fatalf("alerts not newest first: %s", b)
		}
	}
	if got := strings.Join(events, ","); got != "leave,enter,leave,enter,leave,inside,enter" || list.Unread != 7 {
		t.Fatalf("alerts %s, unread %d", got, list.Unread)
	}
	st, b, _ = do(t, s.URL, s.viewer, "POST", "/api/watches/"+wid+"/alerts/read", fmt.Sprintf(`{"seq":[%d]}`, list.Alerts[0].Seq), "Content-Type", "application/json")
	if st != 200 || !strings.Contains(string(b), `"unread":6`) {
		t.Fatalf("mark one read: %d %s", st, b)
	}
	st, b, _ = do(t, s.URL, s.viewer, "GET", "/api/watches/"+wid+"/alerts?unread=true&limit=2", nil)
	if st != 200 || json.Unmarshal(b, &list) != nil || len(list.Alerts) != 2 || !strings.Contains(string(b), `"rel":"next"`) {
		t.Fatalf("unread page: %d %s", st, b)
	}
	st, b, _ = do(t, s.URL, s.viewer, "POST", "/api/watches/"+wid+"/alerts/read", nil)
	if st != 200 || !strings.Contains(string(b), `"marked":6`) || !strings.Contains(string(b), `"unread":0`) {
		t.Fatalf("mark all read: %d %s", st, b)
	}
}

func TestWatchAcrossAntimeridian(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	wid, _ := s.createWatch(t, `{"type":"Polygon","coordinates":[[[170,-20],[-170,-20],[-170,-10],[170,-10],[170,-20]]]}`, `{"name":"Fiji waters"}`)
	st, b, _ := do(t, s.URL, s.viewer, "GET", "/api/watches/"+wid, nil)
	if st != 200 || !strings.Contains(string(b), `"type":"MultiPolygon"`) {
		t.Fatalf("the stored watch is not split: %d %s", st, b)
	}
	ws := dialLive(t, s.URL, s.viewer)
	s.incident(t, 0, -15, "seizure") // the other side of the globe: none
	east := s.incident(t, 178.4, -18.1, "seizure")
	if a := nextAlert(t, ws); a.ID != east || a.Event != "enter" {
		t.Fatalf("alert %+v, want enter of %s", a, east)
	}
	s.incident(t, 160, -15, "seizure") // west of the area: none
	west := s.incident(t, -175.2, -15, "seizure")
	if a := nextAlert(t, ws); a.ID != west || a.Event != "enter" {
		t.Fatalf("alert %+v, want enter of %s", a, west)
	}
}

func TestWatchPolygonWithHole(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	// Guinea-Bissau's waters without the Bijagós islands' inner square.
	s.createWatch(t, `{"type":"Polygon","coordinates":[
		[[-17.5,10.5],[-14.5,10.5],[-14.5,12.5],[-17.5,12.5],[-17.5,10.5]],
		[[-16.5,11],[-15.5,11],[-15.5,11.8],[-16.5,11.8],[-16.5,11]]]}`, `{"name":"Bissau","filter":{"type":["seizure"]}}`)
	ws := dialLive(t, s.URL, s.viewer)
	s.incident(t, -16, 11.4, "seizure") // in the hole: none
	in := s.incident(t, -17, 11.4, "seizure")
	if a := nextAlert(t, ws); a.ID != in || a.Event != "enter" {
		t.Fatalf("alert %+v, want enter of %s", a, in)
	}
	s.patch(t, in, `{"geometry":{"type":"Point","coordinates":[-16,11.4]}}`) // into the hole
	if a := nextAlert(t, ws); a.ID != in || a.Event != "leave" {
		t.Fatalf("alert %+v, want leave of %s", a, in)
	}
}

// alertSeqs returns every alert of the watch as record id -> seqs.
func alertSeqs(t *testing.T, base, token, wid string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	path := "/api/watches/" + wid + "/alerts?limit=1000"
	st, b, _ := do(t, base, token, "GET", path, nil)
	if st != 200 {
		t.Fatalf("alerts: %d %s", st, b)
	}
	var list struct {
		Alerts []struct {
			Seq int64  `json:"seq"`
			ID  string `json:"id"`
		} `json:"alerts"`
	}
	json.Unmarshal(b, &list)
	for _, a := range list.Alerts {
		out[a.ID] = append(out[a.ID], a.Seq)
	}
	return out
}

func TestAlertsExactlyOnceAcrossRestart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	s := startWatchServer(t, dbPath)
	wid, _ := s.createWatch(t, zonaRosa, `{"name":"Zona Rosa","radius_km":5}`)
	viewer, editor := s.viewer, s.editor

	var mu sync.Mutex
	var created []string
	record := func(id string) {
		mu.Lock()
		created = append(created, id)
		mu.Unlock()
	}
	// A stream of writes: the server stops in the middle of it.
	post := func(base string) (string, bool) {
		body := `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0537,4.667]},"properties":{"title":"Stream","type":"attack","date":"2024"}}`
		req, _ := http.NewRequest("POST", base+"/api/collections/incidents/items", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+editor)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", false
		}
		defer resp.Body.Close()
		var f struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&f)
		return f.ID, resp.StatusCode == 201
	}
	done, midway := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 1000; i++ {
			if i == 30 {
				close(midway)
			}
			id, ok := post(s.URL)
			if !ok {
				return // the server is going away
			}
			record(id)
		}
	}()
	<-midway
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-done

	// While no server runs, another process writes to the file.
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		id := s.offline(t, db)
		record(id)
	}
	db.Close()

	s2 := startWatchServer(t, dbPath, editor, viewer)
	defer s2.Close()
	for i := 0; i < 10; i++ {
		id, ok := post(s2.URL)
		if !ok {
			t.Fatal("write after restart failed")
		}
		record(id)
	}
	// Every incident inside gets exactly one alert, with its create's seq.
	deadline := time.Now().Add(30 * time.Second)
	var got map[string][]int64
	for {
		got = alertSeqs(t, s2.URL, viewer, wid)
		if len(got) >= len(created) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != len(created) {
		t.Fatalf("%d records with alerts, %d created", len(got), len(created))
	}
	for _, id := range created {
		seqs := got[id]
		if len(seqs) != 1 {
			t.Fatalf("record %s has %d alerts", id, len(seqs))
		}
		if want := s2.lastSeq(t, id); seqs[0] != want {
			t.Fatalf("record %s: alert seq %d, change seq %d", id, seqs[0], want)
		}
	}
	if cur, _ := s2.db.AlertCursor(context.Background()); cur < s2.lastSeq(t, created[len(created)-1]) {
		t.Fatalf("cursor %d behind the last change", cur)
	}
}

// offline creates an incident in the Zona Rosa directly in the database.
func (s *watchServer) offline(t *testing.T, db *store.DB) string {
	t.Helper()
	rec, err := geo.DecodeFeature(geo.Incidents, []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0537,4.667]},"properties":{"title":"Offline","type":"attack","date":"2024"}}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Create(context.Background(), "other-process", rec)
	if err != nil {
		t.Fatal(err)
	}
	return st.ID
}

// receiver is a webhook endpoint on loopback that answers with the
// statuses given, in turn (then 200), or never when hang is set.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []delivery
	arrived  chan delivery
	hang     chan struct{}
}

type delivery struct {
	body             []byte
	signature, idkey string
	status           int
}

func newReceiver(t *testing.T, hang bool, statuses ...int) *receiver {
	rc := &receiver{statuses: statuses, arrived: make(chan delivery, 100)}
	if hang {
		rc.hang = make(chan struct{})
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if rc.hang != nil {
			select {
			case <-rc.hang:
			case <-r.Context().Done():
			}
			return
		}
		rc.mu.Lock()
		status := 200
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		d := delivery{body: b, signature: r.Header.Get("X-Nexus-Signature"), idkey: r.Header.Get("Idempotency-Key"), status: status}
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		w.WriteHeader(status)
		rc.arrived <- d
	}))
	t.Cleanup(func() {
		if rc.hang != nil {
			close(rc.hang)
		}
		rc.Close()
	})
	return rc
}

func (rc *receiver) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-rc.arrived:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery arrived")
	}
	return delivery{}
}

func validSignature(secret string, d delivery) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(d.body)
	return hmac.Equal([]byte(d.signature), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
}

func TestWebhookRetriedUntilOneSignedDelivery(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	rc := newReceiver(t, false, 500, 503)
	wid, secret := s.createWatch(t, zonaRosa, `{"name":"Zona Rosa","radius_km":5,"webhook":"`+rc.URL+`/hook"}`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("no secret shown on create: %q", secret)
	}
	// The secret is shown once: a GET does not carry it.
	if _, b, _ := do(t, s.URL, s.viewer, "GET", "/api/watches/"+wid, nil); strings.Contains(string(b), secret) || strings.Contains(string(b), "webhook_secret") {
		t.Fatalf("GET shows the secret: %s", b)
	}
	id := s.incident(t, -74.0530, 4.6660, "plot")
	first, second, third := rc.next(t), rc.next(t), rc.next(t)
	if first.status != 500 || second.status != 503 || third.status != 200 {
		t.Fatalf("statuses %d %d %d", first.status, second.status, third.status)
	}
	for _, d := range []delivery{first, second, third} {
		if !bytes.Equal(d.body, third.body) || d.idkey != third.idkey {
			t.Fatalf("tries differ: %s %s / %s %s", d.body, d.idkey, third.body, third.idkey)
		}
	}
	if !validSignature(secret, third) {
		t.Fatalf("signature %q does not verify", third.signature)
	}
	if validSignature("whsec_wrong", third) {
		t.Fatal("any secret verifies")
	}
	var a alertFrame
	if err := json.Unmarshal(third.body, &a); err != nil || a.Type != "alert" || a.Event != "enter" || a.ID != id || a.Watch != wid {
		t.Fatalf("body %s", third.body)
	}
	if third.idkey != fmt.Sprintf("%s:%d", wid, a.Seq) {
		t.Fatalf("idempotency key %q", third.idkey)
	}
	// The delivery log says delivered after three tries, and nothing more
	// is sent.
	var log struct {
		Deliveries []struct {
			State    string `json:"state"`
			Attempts []struct {
				Status int `json:"status"`
			} `json:"attempts"`
		} `json:"deliveries"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, b, _ := do(t, s.URL, s.viewer, "GET", "/api/watches/"+wid+"/deliveries", nil)
		json.Unmarshal(b, &log)
		if len(log.Deliveries) == 1 && log.Deliveries[0].State == "delivered" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(log.Deliveries) != 1 || log.Deliveries[0].State != "delivered" || len(log.Deliveries[0].Attempts) != 3 || log.Deliveries[0].Attempts[2].Status != 200 {
		t.Fatalf("delivery log %+v", log)
	}
	rc.mu.Lock()
	n := len(rc.got)
	rc.mu.Unlock()
	if n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestDeadWebhookDoesNotDelayAnother(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	dead := newReceiver(t, true)
	live := newReceiver(t, false)
	s.createWatch(t, zonaRosa, `{"name":"dead","radius_km":5,"webhook":"`+dead.URL+`/"}`)
	wid, secret := s.createWatch(t, zonaRosa, `{"name":"live","radius_km":5,"webhook":"`+live.URL+`/"}`)
	// The dead receiver holds every try for an hour (the deliverer's
	// timeout here); the live one must get each alert all the same.
	for i := 0; i < 3; i++ {
		id := s.incident(t, -74.0530, 4.6660, "plot")
		d := live.next(t)
		var a alertFrame
		if err := json.Unmarshal(d.body, &a); err != nil || a.ID != id || a.Watch != wid || !validSignature(secret, d) {
			t.Fatalf("delivery %d: %s", i, d.body)
		}
	}
}
