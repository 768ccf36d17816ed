package api_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"nexus/api"
	"nexus/geo"
)

// A query string that cannot be parsed is refused whole: url.Values would
// drop the malformed pairs, and with them every filter, answering
// everything.
func TestMalformedQueryStringsAre400(t *testing.T) {
	e := newEnv(t)
	e.create(geo.Incidents, validIncident)
	many := make([]string, 10001)
	for i := range many {
		many[i] = "type=attack"
	}
	for _, path := range []string{"/api/collections/incidents/items", "/api/export.geojson", "/api/stats", "/api/view"} {
		for _, q := range []string{"q=zzzz;", "bbox=0,0,1,1;", "q=%zz", "bbox=%G0", "type=attack&;bbox=0,0,1,1", strings.Join(many, "&")} {
			p := e.get(path+"?"+q, "").problem(t, http.StatusBadRequest)
			if !strings.Contains(p.Detail, "query string") {
				t.Errorf("%s?%.40s: detail %q does not name the query string", path, q, p.Detail)
			}
		}
	}
	// A well-formed one with many parameters still answers.
	e.get("/api/collections/incidents/items?"+strings.Join(many[:100], "&"), "").want(t, http.StatusOK)
}

// The page carries a Content-Security-Policy that allows scripts only
// from this server; the API's JSON needs none.
func TestPageHasContentSecurityPolicy(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/index.html"} {
		csp := e.get(path, "").want(t, http.StatusOK).header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("%s: Content-Security-Policy %q lets inline scripts run", path, csp)
		}
	}
}

// The history of a large record with many versions comes a page at a
// time, bounded by count and by bytes, and the pages hold every version
// once; anonymous readers do not see who made them.
func TestHistoryIsPagedAndBounded(t *testing.T) {
	e := newEnv(t)
	var sources []string
	for i := 0; i < geo.MaxItems; i++ {
		sources = append(sources, fmt.Sprintf(`{"title":"Source %d %s","publisher":"%s"}`, i, strings.Repeat("<&>", 400), strings.Repeat("<b>", 400)))
	}
	big := strings.Replace(validIncident, `"sources":[{"title":"Report","url":"https://example.org/report"}]`, `"sources":[`+strings.Join(sources, ",")+`]`, 1)
	if len(big) < 450<<10 {
		t.Fatalf("the record is only %d bytes", len(big))
	}
	f := e.create(geo.Incidents, big)
	path := "/api/collections/incidents/items/" + f.ID
	// Text is stored as text: <, > and & are not six-byte escapes.
	if got := e.get(path, "").want(t, http.StatusOK); len(got.body) > len(big)+2048 {
		t.Fatalf("a %d-byte record comes back as %d bytes", len(big), len(got.body))
	}
	const patches = 12
	for i := 0; i < patches; i++ {
		e.do(req{method: "PATCH", path: path, token: e.editor, ctype: "application/merge-patch+json",
			body: fmt.Sprintf(`{"properties":{"title":"Version %d"}}`, i+2)}).want(t, http.StatusOK)
	}
	type page struct {
		NumberReturned int `json:"numberReturned"`
		History        []struct {
			Version int64  `json:"version"`
			Actor   string `json:"actor"`
		} `json:"history"`
		Links []api.Link `json:"links"`
	}
	seen := map[int64]bool{}
	next := path + "/history"
	pages := 0
	for next != "" {
		r := e.get(strings.TrimPrefix(next, e.URL), "").want(t, http.StatusOK)
		if len(r.body) > geo.MaxHistoryBytes+64<<10 {
			t.Fatalf("a page of history is %d bytes", len(r.body))
		}
		var p page
		r.json(t, &p)
		if p.NumberReturned != len(p.History) || len(p.History) == 0 || len(p.History) > api.DefaultHistoryLimit {
			t.Fatalf("page of %d entries, numberReturned %d", len(p.History), p.NumberReturned)
		}
		for _, h := range p.History {
			if seen[h.Version] || h.Actor != "" {
				t.Fatalf("version %d twice, or with its author %q, for an anonymous reader", h.Version, h.Actor)
			}
			seen[h.Version] = true
		}
		next = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				next = l.Href
			}
		}
		pages++
	}
	if len(seen) != patches+1 || pages < 2 {
		t.Fatalf("%d versions in %d pages, want %d in several", len(seen), pages, patches+1)
	}
	// limit is bounded as the items' is.
	e.get(path+"/history?limit=0", "").problem(t, http.StatusBadRequest)
	e.get(path+"/history?limit=1000000", "").want(t, http.StatusOK)
}

// Admins list, create and revoke tokens; a revoked or expired token no
// longer opens anything; nobody else may manage them.
func TestTokenLifeCycle(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{"", e.viewer, e.editor} {
		st := http.StatusForbidden
		if tok == "" {
			st = http.StatusUnauthorized
		}
		e.get("/api/tokens", tok).problem(t, st)
		e.do(req{method: "POST", path: "/api/tokens", token: tok, ctype: "application/json", body: `{"name":"x","role":"admin"}`}).problem(t, st)
		e.do(req{method: "DELETE", path: "/api/tokens/admin-token", token: tok}).problem(t, st)
	}
	var created struct {
		Name, Role, Token string
		Expires           *string
	}
	e.do(req{method: "POST", path: "/api/tokens", token: e.admin, ctype: "application/json", body: `{"name":"field team","role":"editor","expires_in":"720h"}`}).
		want(t, http.StatusCreated).json(t, &created)
	if created.Token == "" || created.Role != "editor" || created.Expires == nil {
		t.Fatalf("created %+v", created)
	}
	e.do(req{method: "POST", path: "/api/tokens", token: e.admin, ctype: "application/json", body: `{"name":"field team","role":"viewer"}`}).problem(t, http.StatusConflict)
	e.do(req{method: "POST", path: "/api/tokens", token: e.admin, ctype: "application/json", body: `{"name":"y","role":"emperor"}`}).problem(t, http.StatusUnprocessableEntity)
	e.do(req{method: "POST", path: "/api/tokens", token: e.admin, ctype: "application/json", body: `{"name":"y","role":"viewer","expires":"2001-01-01T00:00:00Z"}`}).problem(t, http.StatusUnprocessableEntity)
	e.get("/api/config", created.Token).want(t, http.StatusOK)

	var list struct {
		Tokens []map[string]any `json:"tokens"`
	}
	r := e.get("/api/tokens", e.admin).want(t, http.StatusOK)
	r.json(t, &list)
	if len(list.Tokens) != 4 || strings.Contains(string(r.body), created.Token) || strings.Contains(string(r.body), "hash") {
		t.Fatalf("token list %s", r.body)
	}

	e.do(req{method: "DELETE", path: "/api/tokens/field%20team", token: e.admin}).want(t, http.StatusNoContent)
	e.get("/api/config", created.Token).problem(t, http.StatusUnauthorized)
	e.do(req{method: "DELETE", path: "/api/tokens/field%20team", token: e.admin}).problem(t, http.StatusNotFound)

	// An expired token is refused: the clock moves past its expiry.
	tok, err := e.db.CreateTokenUntil(t.Context(), "short", geo.RoleViewer, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.get("/api/config", tok).want(t, http.StatusOK)
	e.db.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	e.get("/api/config", tok).problem(t, http.StatusUnauthorized)
}

// Every request has a time budget: past it the answer is a 503 problem
// with Retry-After, not a hang and not a 500.
func TestRequestsHaveADeadline(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.RequestTimeout = time.Nanosecond })
	for _, path := range []string{"/api/collections/incidents/items", "/api/stats?by=type", "/api/view"} {
		r := e.get(path, "")
		r.problem(t, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", path)
		}
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		t.Errorf("a request out of time logged as a server error:\n%s", e.logs.String())
	}
}

// q is bounded in different words; a word repeated is one word.
func TestQueryWordsBounded(t *testing.T) {
	e := newEnv(t)
	e.create(geo.Incidents, validIncident)
	var fc featureCollection
	e.get("/api/collections/incidents/items?q="+strings.Repeat("isis+", 330), "").want(t, http.StatusOK).json(t, &fc)
	if len(fc.Features) != 1 {
		t.Fatalf("330 times one word found %d records", len(fc.Features))
	}
	var many []string
	for i := 0; i <= geo.MaxWords; i++ {
		many = append(many, fmt.Sprintf("w%d", i))
	}
	e.get("/api/collections/incidents/items?q="+strings.Join(many, "+"), "").problem(t, http.StatusBadRequest)
}

// A full disk (here the database's page limit) answers 507 with what was
// kept, /healthz says not ready until a write succeeds again, and nothing
// already stored is harmed.
func TestDiskFull(t *testing.T) {
	e := newEnv(t)
	first := e.create(geo.Incidents, validIncident)
	ctx := t.Context()
	size, err := e.db.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Room for one batch of the import (Features are stored packed), not for
	// all of it.
	if err := e.db.LimitPages(ctx, size/4096+2000); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; i < 40000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%d.5,%d.5]},"properties":{"title":"Import %d %s","type":"attack","date":"2020"}}`, i%170, i%80, i, strings.Repeat("x", 20))
	}
	b.WriteString("]}")
	p := e.do(req{method: "POST", path: "/api/import", token: e.editor, ctype: "application/geo+json", body: b.String()}).problem(t, http.StatusInsufficientStorage)
	kept := regexp.MustCompile(`(\d+) records were created`).FindStringSubmatch(p.Detail)
	if kept == nil || kept[1] == "0" {
		t.Fatalf("507 without what was kept: %q", p.Detail)
	}
	var fc featureCollection
	e.get("/api/collections/incidents/items?limit=1", "").want(t, http.StatusOK).json(t, &fc)
	if n, _ := strconv.Atoi(kept[1]); fc.NumberMatched != int64(n)+1 {
		t.Fatalf("the report says %s were created; %d records are stored", kept[1], fc.NumberMatched)
	}
	if h := e.get("/healthz", "").problem(t, http.StatusServiceUnavailable); !strings.Contains(h.Detail, "writes fail") {
		t.Errorf("healthz detail %q", h.Detail)
	}
	// The disk stays full: a new record has no room either.
	if size, err = e.db.Size(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.db.LimitPages(ctx, size/4096); err != nil {
		t.Fatal(err)
	}
	e.do(req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
		body: strings.Replace(validIncident, `"summary":"An ISIS cell planned an attack."`, `"summary":"`+strings.Repeat("y", 19000)+`"`, 1)}).problem(t, http.StatusInsufficientStorage)
	h := e.get("/healthz", "").problem(t, http.StatusServiceUnavailable)
	if !strings.Contains(h.Detail, "writes fail") {
		t.Errorf("healthz detail %q", h.Detail)
	}
	e.get("/api/collections/incidents/items/"+first.ID, "").want(t, http.StatusOK)

	// Room again: the next write succeeds and the server is ready.
	if err := e.db.LimitPages(ctx, 1<<30); err != nil {
		t.Fatal(err)
	}
	e.create(geo.Incidents, validIncident)
	e.get("/healthz", "").want(t, http.StatusOK)
}

// An import refuses a feature over the size limit of one feature before it
// holds it whole, naming where it starts; what the report says was
// created is stored.
func TestImportFeatureSizeLimit(t *testing.T) {
	e := newEnv(t, withMaxFeature(64<<10))
	small := `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"Small","type":"attack","date":"2020"}}`
	huge := `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"Huge","type":"attack","date":"2020","summary":"` + strings.Repeat("z", 2<<20) + `"}}`
	for _, body := range []string{
		`{"type":"FeatureCollection","features":[` + small + ",\n" + small + ",\n" + huge + "]}",
		small + "\n" + small + "\n" + huge + "\n", // a sequence of features
	} {
		p := e.do(req{method: "POST", path: "/api/import", token: e.editor, ctype: "application/geo+json", body: body}).problem(t, http.StatusRequestEntityTooLarge)
		if !strings.Contains(p.Detail, "line 3") {
			t.Errorf("detail %q", p.Detail)
		}
	}
	var fc featureCollection
	e.get("/api/collections/incidents/items", "").want(t, http.StatusOK).json(t, &fc)
	for _, f := range fc.Features {
		if f.Properties["title"] == "Huge" {
			t.Fatal("the huge feature was stored")
		}
	}
}
