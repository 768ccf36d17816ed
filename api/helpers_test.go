package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/paulmach/orb"

	"nexus/api"
	"nexus/geo"
	"nexus/overview"
	"nexus/store"
)

func pointOf(lon, lat float64) orb.Point { return orb.Point{lon, lat} }

// env is a real server on a real database in a temporary directory.
type env struct {
	t      testing.TB
	db     *store.DB
	srv    *httptest.Server
	URL    string
	admin  string // tokens by role
	editor string
	viewer string
	logs   *syncLog
}

type envOption func(*api.Config)

func private(c *api.Config) { c.Private = true }

func withStatic(files fs.FS) envOption { return func(c *api.Config) { c.Static = files } }

func withMaxFeature(n int64) envOption { return func(c *api.Config) { c.MaxFeature = n } }

func withLive(h http.Handler) envOption { return func(c *api.Config) { c.Live = h } }

// withoutOverview leaves views and statistics to the store.
func withoutOverview(c *api.Config) { c.Overview = nil }

// testMap is a stand-in for the map's files.
var testMap = fstest.MapFS{
	"index.html":         {Data: []byte("<!doctype html><title>Nexus</title>")},
	"js/main.js":         {Data: []byte("export const x = 1;\n")},
	"css/map.css":        {Data: []byte("body { margin: 0 }\n")},
	"vendor/leaflet.js":  {Data: []byte("/* leaflet */\n")},
	"vendor/leaflet.css": {Data: []byte("/* leaflet */\n")},
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, logs: &syncLog{}}
	ctx := context.Background()
	for _, role := range []string{geo.RoleAdmin, geo.RoleEditor, geo.RoleViewer} {
		tok, err := db.CreateToken(ctx, role+"-token", role)
		if err != nil {
			t.Fatal(err)
		}
		switch role {
		case geo.RoleAdmin:
			e.admin = tok
		case geo.RoleEditor:
			e.editor = tok
		case geo.RoleViewer:
			e.viewer = tok
		}
	}
	ix := overview.New(db, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Store: db, Overview: ix, Static: testMap, Logger: slog.New(slog.NewTextHandler(e.logs, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv = httptest.NewServer(api.New(cfg))
	e.URL = e.srv.URL
	t.Cleanup(func() {
		e.srv.Close()
		if err := db.Close(); err != nil && !strings.Contains(err.Error(), "closed") {
			t.Error(err)
		}
	})
	return e
}

// syncLog is the server's log, written by concurrent requests and read
// by the test.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// req is one request to the test server.
type req struct {
	method, path string
	token        string
	ctype        string
	body         string
	header       map[string]string
}

// resp is a response, read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(r req) resp {
	e.t.Helper()
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(method, e.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// get is a GET with a token.
func (e *env) get(path, token string) resp {
	e.t.Helper()
	return e.do(req{path: path, token: token})
}

// json decodes the body into v, failing the test when it is not JSON.
func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body is not JSON (%v): %.500s", err, r.body)
	}
}

// want fails unless the status is the one expected.
func (r resp) want(t testing.TB, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %.1000s", r.status, status, r.body)
	}
	return r
}

// problem is an RFC 9457 problem as this API writes it.
type problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail"`
	Errors []geo.FieldError `json:"errors"`
}

// problem checks that the response is a problem+json of the status and
// returns it.
func (r resp) problem(t testing.TB, status int) problem {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem
	r.json(t, &p)
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" || p.Type == "" {
		t.Fatalf("problem %+v: want status %d, title %q, a type and a detail", p, status, http.StatusText(status))
	}
	return p
}

// feature is a decoded GeoJSON Feature as the API returns it.
type feature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Geometry   geometry       `json:"geometry"`
	Properties map[string]any `json:"properties"`
	Links      []api.Link     `json:"links"`
}

type geometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

func (g geometry) point(t testing.TB) [2]float64 {
	t.Helper()
	var p [2]float64
	if err := json.Unmarshal(g.Coordinates, &p); err != nil {
		t.Fatalf("not a point: %s", g.Coordinates)
	}
	return p
}

// featureCollection is a decoded items page.
type featureCollection struct {
	Type           string     `json:"type"`
	NumberMatched  int64      `json:"numberMatched"`
	NumberReturned int        `json:"numberReturned"`
	TimeStamp      string     `json:"timeStamp"`
	Clustered      bool       `json:"clustered"`
	Links          []api.Link `json:"links"`
	Features       []feature  `json:"features"`
}

func (fc featureCollection) link(rel string) string {
	for _, l := range fc.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// An incident that obeys every rule.
const validIncident = `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0721,4.711]},"properties":{"title":"Plot against diplomats in Bogotá","summary":"An ISIS cell planned an attack.","type":"plot","date":"2018-02","place":"Zona Rosa, Bogotá","country":"CO","precision":"place","actors":["ISIS"],"killed":null,"wounded":null,"sources":[{"title":"Report","url":"https://example.org/report"}],"tags":["diplomats"]}}`

// A route that obeys every rule.
const validRoute = `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[-75.5,6.2],[-17.1,14.7],[2.35,48.85]]},"properties":{"name":"Atlantic cocaine route","commodity":"cocaine","mode":"sea","actors":["Clan del Golfo"],"active_from":"2015"}}`

// create posts a feature as the editor and returns it.
func (e *env) create(c geo.Collection, body string) feature {
	e.t.Helper()
	r := e.do(req{method: "POST", path: "/api/collections/" + string(c) + "/items", token: e.editor, ctype: "application/geo+json", body: body}).want(e.t, http.StatusCreated)
	var f feature
	r.json(e.t, &f)
	return f
}

// pageAll follows next links from path and returns every feature.
func (e *env) pageAll(path, token string) ([]feature, []featureCollection) {
	e.t.Helper()
	var all []feature
	var pages []featureCollection
	url := e.URL + path
	for url != "" && len(pages) < 10000 {
		if !strings.HasPrefix(url, e.URL) {
			e.t.Fatalf("next link %q leaves the server", url)
		}
		var fc featureCollection
		e.get(strings.TrimPrefix(url, e.URL), token).want(e.t, http.StatusOK).json(e.t, &fc)
		all = append(all, fc.Features...)
		pages = append(pages, fc)
		url = fc.link("next")
	}
	return all, pages
}
