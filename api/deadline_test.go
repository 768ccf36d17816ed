package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nexus/geo"
	"nexus/overview"
	"nexus/store"
)

// A request that runs past its budget (here a handler that notices the
// end of its context only a while later, as a long query may) leaves its
// kept-alive connection usable: the next request on that connection is
// answered, not cancelled with it. With or without a body.
func TestAnOverrunLeavesItsConnectionUsable(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix := overview.New(db, nil)
	if err := ix.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: db, Overview: ix, RequestTimeout: 3 * time.Second}) // the next request has ample time
	linger := func(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		time.Sleep(writeGrace + 500*time.Millisecond) // past the connection's first read deadline
		return r.Context().Err()
	}
	s.handle("GET /api/linger", read, linger)
	s.handle("POST /api/linger", read, linger)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			var body io.Reader
			if method == "POST" {
				body = strings.NewReader(strings.Repeat("x", 300<<10))
			}
			req, _ := http.NewRequest(method, srv.URL+"/api/linger", body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("the overrun answered %d, want 503", resp.StatusCode)
			}
			var reused bool
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
			})
			req, _ = http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/collections/incidents/items?limit=1", nil)
			resp, err = client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !reused {
				t.Fatal("the second request did not go over the same connection")
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the next request on the connection answered %d %s, want 200", resp.StatusCode, b)
			}
		})
	}
}
