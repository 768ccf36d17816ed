package api_test

import (
	"net/http"
	"strings"
	"testing"

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
