package main

// Helpers of the browser tests: the real server (Main) over a temporary
// database, Debian's Chromium driven through chromedp, and a tab that
// records what the page did wrong (console errors, requests that left the
// server, dialogs) while the tests look at the map through its hooks
// (window.nexus, body[data-*]; see static/js/main.js).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"nexus/internal/pgtest"
)

// chromiumPath is Debian's Chromium, installed by `make deps`.
const chromiumPath = "/usr/bin/chromium"

// pollInterval is how often a wait re-evaluates its condition in the page.
const pollInterval = 50 * time.Millisecond

// waitLong bounds a wait for the page: the first render, a live change.
const waitLong = 30 * time.Second

// adminLink finds the admin token in the link Main prints on a first start.
var adminLink = regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`)

// testServer is the real program serving one database.
type testServer struct {
	*Main
	token  string // the admin token printed on the first start, or ""
	stderr *syncBuffer
	once   sync.Once
	err    error
}

// startServer runs Main on addr ("127.0.0.1:0" for any port) over dbPath,
// and closes it when the test ends (or earlier, by close).
func startServer(tb testing.TB, dbPath, addr string) *testServer {
	tb.Helper()
	var out, errOut syncBuffer
	m := NewMain(&out, &errOut)
	if err := m.ParseFlags([]string{"-addr", addr, "-db", dbPath}); err != nil {
		tb.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		tb.Fatalf("start server on %s: %v\n%s", addr, err, errOut.String())
	}
	s := &testServer{Main: m, stderr: &errOut}
	if link := adminLink.FindStringSubmatch(out.String()); link != nil {
		s.token = link[1]
	}
	tb.Cleanup(func() {
		if err := s.close(); err != nil {
			tb.Errorf("close server: %v", err)
		}
		if tb.Failed() {
			tb.Logf("server log (last lines):\n%s", lastLines(errOut.String(), 30))
		}
	})
	return s
}

// close stops the server once; later calls return the first result.
func (s *testServer) close() error {
	s.once.Do(func() { s.err = s.Main.Close() })
	return s.err
}

// addr is host:port of the server, to start another one on the same port.
func (s *testServer) addr() string {
	return strings.TrimPrefix(s.URL, "http://")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// call sends a request to the API with the admin token and returns the
// status and body. body may be nil, a string or a value to encode.
func (s *testServer) call(tb testing.TB, method, path string, body any) (int, []byte) {
	tb.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/geo+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// createIncident posts an incident at lon, lat with props and returns its id.
func (s *testServer) createIncident(tb testing.TB, lon, lat float64, props map[string]any) string {
	tb.Helper()
	status, body := s.call(tb, "POST", "/api/collections/incidents/items", map[string]any{
		"type":       "Feature",
		"geometry":   map[string]any{"type": "Point", "coordinates": []float64{lon, lat}},
		"properties": props,
	})
	if status != http.StatusCreated {
		tb.Fatalf("POST incident: %d %s", status, body)
	}
	var f struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &f); err != nil || f.ID == "" {
		tb.Fatalf("POST incident: no id in %s (%v)", body, err)
	}
	return f.ID
}

// items returns the ids and numberMatched of a collection's items for a
// query string (without limit).
func (s *testServer) items(tb testing.TB, collection, query string) ([]string, int) {
	tb.Helper()
	path := "/api/collections/" + collection + "/items?limit=10000"
	if query != "" {
		path += "&" + query
	}
	status, body := s.call(tb, "GET", path, nil)
	if status != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, status, body)
	}
	var fc struct {
		NumberMatched int `json:"numberMatched"`
		Features      []struct {
			ID string `json:"id"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &fc); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	ids := make([]string, len(fc.Features))
	for i, f := range fc.Features {
		ids[i] = f.ID
	}
	if len(ids) != fc.NumberMatched {
		tb.Fatalf("GET %s: %d features of %d matched; page the answer", path, len(ids), fc.NumberMatched)
	}
	return ids, fc.NumberMatched
}

// browsers is the one headless Chromium the tests and benchmarks of the
// package share, started by the first that needs it and stopped by
// TestMain; each test works in tabs of its own (openTab), on a server of
// its own, so on an origin of its own.
var browsers struct {
	once    sync.Once
	ctx     context.Context
	stop    func()
	profile string
	err     error
}

// TestMain runs the tests, then stops the shared browser.
func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Close()
	if browsers.stop != nil {
		browsers.stop()
	}
	os.Exit(code)
}

// newBrowser returns the context of the shared headless Chromium, starting
// it with a fresh profile on the first call; openTab makes tabs in it.
func newBrowser(tb testing.TB) context.Context {
	tb.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		tb.Fatalf("install chromium (make deps): %v", err)
	}
	browsers.once.Do(func() {
		profile, err := os.MkdirTemp("", "nexus-chromium-")
		if err != nil {
			browsers.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromiumPath),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(1280, 800),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx)
		browsers.stop = func() {
			cancel()
			cancelAlloc() // waits for the browser to exit
			os.RemoveAll(profile)
		}
		// The first Do starts the browser; it must carry no deadline.
		if err := chromedp.Do(ctx); err != nil {
			browsers.err = fmt.Errorf("start %s: %w", chromiumPath, err)
			return
		}
		browsers.ctx = ctx
	})
	if browsers.err != nil {
		tb.Fatal(browsers.err)
	}
	return browsers.ctx
}

// tab is one page of the map and what it did.
type tab struct {
	tb   testing.TB
	ctx  context.Context
	base string // the server's URL: every request must start with it

	mu       sync.Mutex
	errors   []string // console errors, uncaught exceptions, error log entries
	foreign  []string // requests that left the server
	dialogs  []string // alert, confirm, prompt, beforeunload
	requests []string // every request URL, in order
}

// openTab makes a new tab that records errors, requests and dialogs, and
// answers any dialog so that the page does not block.
func openTab(tb testing.TB, browserCtx context.Context, base string) *tab {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	tb.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		tb.Fatal(err)
	}
	p := &tab{tb: tb, ctx: ctx, base: base}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				p.errors = append(p.errors, "console.error: "+argsText(ev.Args))
			}
		case *runtime.EventExceptionThrown:
			p.errors = append(p.errors, "exception: "+exceptionText(ev.ExceptionDetails))
		case *log.EventEntryAdded:
			if ev.Entry != nil && ev.Entry.Level == log.EntryLevelError {
				p.errors = append(p.errors, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			u := ev.Request.URL
			p.requests = append(p.requests, u)
			if !p.local(u) {
				p.foreign = append(p.foreign, u)
			}
		case *network.EventWebSocketCreated:
			if !p.local(ev.URL) {
				p.foreign = append(p.foreign, ev.URL)
			}
		case *page.EventJavascriptDialogOpening:
			p.dialogs = append(p.dialogs, fmt.Sprintf("%s: %q", ev.Type, ev.Message))
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// local reports whether a request URL stays on the test server.
func (p *tab) local(u string) bool {
	if strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "blob:") || strings.HasPrefix(u, "about:") {
		return true
	}
	ws := "ws://" + strings.TrimPrefix(p.base, "http://")
	return u == p.base || strings.HasPrefix(u, p.base+"/") || strings.HasPrefix(u, ws+"/")
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case len(a.Value) > 0:
			parts = append(parts, string(a.Value))
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, " ")
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "?"
	}
	text := d.Text
	if d.Exception != nil && d.Exception.Description != "" {
		text += " " + d.Exception.Description
	}
	return fmt.Sprintf("%s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
}

// seen returns copies of what the tab recorded.
func (p *tab) seen() (errors, foreign, dialogs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...), append([]string(nil), p.foreign...), append([]string(nil), p.dialogs...)
}

// do runs actions with a deadline, failing the test on error.
func (p *tab) do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.tb.Fatalf("browser: %v\npage: %s", err, p.state())
	}
}

// open loads the map at path (e.g. "/#map=2/0/0") as a new document and
// waits for its first full render. It goes through about:blank, so that a
// path that differs from the current one only by its fragment loads anew.
func (p *tab) open(path string) {
	p.tb.Helper()
	p.do(waitLong, chromedp.Navigate("about:blank"), chromedp.Navigate(p.base+path))
	p.waitReady()
}

// waitReady waits for body[data-ready="1"] with nothing loading.
func (p *tab) waitReady() {
	p.tb.Helper()
	p.wait("first render", `document.body.dataset.ready === '1' && document.body.dataset.loading !== '1'`, waitLong)
}

// wait polls the JavaScript condition until it is truthy, or fails the
// test after timeout with the page's state.
func (p *tab) wait(what, cond string, timeout time.Duration) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	deadline := time.Now().Add(timeout)
	// A document that has just replaced the last one may not have its body
	// yet: the condition waits for it rather than fail on a null body.
	cond = "document.body !== null && (" + cond + ")"
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](cond,
			chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(time.Until(deadline))))
		// Right after a navigation, the browser may drop the document's
		// execution context while the poll looks it up; the poll then
		// starts again in the new document, within the same deadline.
		if err == nil || !strings.Contains(err.Error(), "Cannot find context with specified id") || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		p.tb.Fatalf("waiting for %s (%s): %v\npage: %s", what, cond, err, p.state())
	}
}

// state is a one-line summary of the page, for failure messages.
func (p *tab) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		url: location.href,
		body: Object.assign({}, document.body && document.body.dataset),
		live: document.getElementById('live-state') && document.getElementById('live-state').dataset.state,
		notice: (document.getElementById('notice') || {}).textContent,
		lastSeq: window.nexus && window.nexus.lastSeq,
	})`))
	if err != nil {
		s = "(unreadable: " + err.Error() + ")"
	}
	errs, foreign, dialogs := p.seen()
	return fmt.Sprintf("%s errors=%q foreign=%q dialogs=%q", s, errs, foreign, dialogs)
}

// eval evaluates a JavaScript expression (awaiting a promise) in the tab.
func eval[T any](p *tab, expr string) T {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitLong)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.tb.Fatalf("evaluate %s: %v\npage: %s", expr, err, p.state())
	}
	return v
}

// js quotes a Go string as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// viewQuery is the query string of the map's current view and filters, as
// the page asks the API for them (geo.js viewBbox, filters.js params).
func (p *tab) viewQuery() string {
	p.tb.Helper()
	return eval[string](p, `(async () => {
		const { viewBbox } = await import('/js/geo.js');
		const { qs } = await import('/js/api.js');
		return qs({ bbox: viewBbox(window.nexus.map).join(','), ...window.nexus.filters.incidentParams() });
	})()`)
}

// screenshot saves the viewport as a PNG.
func (p *tab) screenshot(path string) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitLong)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.tb.Fatalf("screenshot %s: %v", path, err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.tb.Fatal(err)
	}
}

// callTab sends a protocol command to the tab, with a deadline.
func callTab[P, R any](p *tab, cmd cdp.Command[P, R], params P) R {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitLong)
	defer cancel()
	r, err := chromedp.Call(ctx, cmd, params)
	if err != nil {
		p.tb.Fatalf("%s: %v", cmd.Method, err)
	}
	return r
}

// patch applies a JSON merge patch to a record and fails the test unless
// the server takes it.
func (s *testServer) patch(tb testing.TB, collection, id string, patch map[string]any) {
	tb.Helper()
	body, err := json.Marshal(patch)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest("PATCH", s.URL+"/api/collections/"+collection+"/items/"+id, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		out, _ := io.ReadAll(resp.Body)
		tb.Fatalf("PATCH %s/%s: %d %s", collection, id, resp.StatusCode, out)
	}
}
