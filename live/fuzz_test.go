package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"nexus/store"
)

// FuzzClientFrame sends any frame to a real hub over a real websocket and
// checks the answer against the parser: a frame parseRequest takes is
// answered with nothing (it is a subscribe; a since the log cannot serve
// gets a reset), any other with exactly one
// error frame of status 400 whose detail is the parser's message. The
// connection never closes for anything but ten malformed frames in a row.
func FuzzClientFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe"}`,
		`{"type":"subscribe","bbox":[-80,0,-70,10],"since":0}`,
		`{"type":"subscribe","bbox":[170,-20,-170,-10]}`,
		`{"type":"subscribe","filter":{"type":["attack"],"actor":["ISIS"],"country":["CO"],"q":"bogota","datetime":"2018/2019"}}`,
		`{"type":"subscribe","filter":{"near":"-74,4.6,50"}}`,
		`{"type":"subscribe","filter":{"near_route":"abc","km":10}}`,
		`{"type":"subscribe","since":-1}`,
		`{"type":"subscribe","since":1e400}`,
		`{"type":"subscribe","bbox":[1,2,3]}`,
		`{"type":"subscribe","bbox":"1,2,3,4"}`,
		`{"type":"subscribe","filter":{"type":"attack"}}`,
		`{"type":"subscribe","filter":{"datetime":"2019/2018"}}`,
		`{"type":"subscribe","filter":null,"bbox":null}`,
		`{"type":"subscribe","extra":1}`,
		`{"type":"subscribe"}{"type":"subscribe"}`,
		`{"type":"subscribe","type":"other"}`,
		`{"type":"SUBSCRIBE"}`,
		`[1,2,3]`, `null`, `"subscribe"`, ``, `{`, "\xff\xfe", `{"type":"subscribe","filter":{"q":"` + strings.Repeat("lorem ", 40) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	db, err := store.Open(filepath.Join(f.TempDir(), "nexus.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	hub := NewHub(db, Options{Logger: slog.New(slog.DiscardHandler), PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hub.Run(ctx)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Shutdown(context.Background())
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	var ws *websocket.Conn
	malformed := 0 // in a row on ws, the probes included
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) > softLimit {
			return // answered by size alone; TestOversizedFrames covers it
		}
		if ws == nil || malformed >= maxAbuse-2 {
			if ws != nil {
				ws.Close()
			}
			var resp any
			ws, resp, err = websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				t.Fatalf("dial: %v %v", err, resp)
			}
			malformed = 0
			var hello Frame
			ws.SetReadDeadline(time.Now().Add(30 * time.Second))
			if err := ws.ReadJSON(&hello); err != nil || hello.Type != "hello" {
				t.Fatalf("hello: %+v %v", hello, err)
			}
		}
		_, perr := parseRequest(frame)
		// The frame, then a probe whose answer marks the end of the
		// frame's: the hub answers a connection's frames in order.
		if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"probe"}`)); err != nil {
			t.Fatal(err)
		}
		var errs []Frame
		for {
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("frame %q: the connection ended: %v", frame, err)
			}
			var fr Frame
			if err := json.Unmarshal(data, &fr); err != nil {
				t.Fatalf("frame %q: the server sent invalid JSON %q", frame, data)
			}
			if fr.Type == "reset" && perr == nil {
				continue // a since the empty log cannot serve
			}
			if fr.Type != "error" {
				t.Fatalf("frame %q: unexpected %s frame %q", frame, fr.Type, data)
			}
			if strings.Contains(fr.Detail, `"probe"`) {
				break
			}
			errs = append(errs, fr)
		}
		if perr == nil {
			malformed = 0
			if len(errs) > 0 {
				t.Fatalf("frame %q parses, but the hub answered %+v", frame, errs)
			}
		} else {
			malformed++
			var want string
			b, _ := json.Marshal(perr.Error())
			json.Unmarshal(b, &want) // as the frame carries it: invalid UTF-8 replaced
			if len(errs) != 1 || errs[0].Status != 400 || errs[0].Detail != want {
				t.Fatalf("frame %q: parser says %q, the hub answered %+v", frame, perr, errs)
			}
		}
		malformed++ // the probe
	})
}
