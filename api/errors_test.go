package api_test

import (
	"net/http"
	"strings"
	"testing"

	"nexus/geo"
)

// TestErrorStatuses sends a request for every error status of the SPEC and
// checks the problem+json that comes back: status, title, a detail that
// says what is wrong, and for invalid records the fields.
func TestErrorStatuses(t *testing.T) {
	e := newEnv(t, withMaxFeature(2048))
	f := e.create(geo.Incidents, validIncident)
	item := "/api/collections/incidents/items/" + f.ID
	// Move the record to version 2, so that "1" is stale.
	e.do(req{method: "PATCH", path: item, token: e.editor, ctype: "application/merge-patch+json", body: `{"properties":{"title":"Plot, revised"}}`}).want(t, http.StatusOK)
	e.create(geo.Incidents, strings.Replace(validIncident, `"tags"`, `"external_id":"gtd:1","tags"`, 1))
	priv := newEnv(t, private)

	tests := []struct {
		name       string
		env        *env
		req        req
		status     int
		detail     string   // a part of the detail
		fields     []string // the fields errors[] must name, in order
		header     string   // a header that must be set…
		headerWant string   // …to a value containing this
	}{
		{name: "malformed JSON", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json", body: `{"type":"Feature",`},
			status: 400, detail: "malformed JSON"},
		{name: "empty body", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json"},
			status: 400, detail: "body is empty"},
		{name: "bad bbox", req: req{path: "/api/collections/incidents/items?bbox=1,2,3"},
			status: 400, detail: "bbox must be four numbers w,s,e,n"},
		{name: "bbox out of range", req: req{path: "/api/collections/incidents/items?bbox=-200,0,10,10"},
			status: 400, detail: "longitude -200 is outside"},
		{name: "bad datetime", req: req{path: "/api/collections/incidents/items?datetime=yesterday"},
			status: 400, detail: "datetime must be"},
		{name: "unknown parameter", req: req{path: "/api/collections/incidents/items?colour=red"},
			status: 400, detail: `unknown query parameter "colour"`},
		{name: "bad limit", req: req{path: "/api/collections/incidents/items?limit=0"},
			status: 400, detail: "limit must be a whole number from 1 to 10000"},
		{name: "bad type", req: req{path: "/api/export.geojson?type=party"},
			status: 400, detail: `type "party" is not one of`},
		{name: "malformed If-Match", req: req{method: "PUT", path: item, token: e.editor, ctype: "application/geo+json", body: validIncident, header: map[string]string{"If-Match": "2"}},
			status: 400, detail: "If-Match must be one entity tag"},
		{name: "no token to write", req: req{method: "POST", path: "/api/collections/incidents/items", ctype: "application/geo+json", body: validIncident},
			status: 401, detail: "needs a token", header: "WWW-Authenticate", headerWant: "Bearer"},
		{name: "bad token", req: req{path: "/api/collections", token: "nx_not-a-token"},
			status: 401, detail: "token is not valid", header: "WWW-Authenticate", headerWant: "Bearer"},
		{name: "not a bearer token", req: req{path: "/api/collections", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
			status: 401, detail: "Bearer TOKEN", header: "WWW-Authenticate", headerWant: "Bearer"},
		{name: "private server without token", env: priv, req: req{path: "/api/collections"},
			status: 401, detail: "private", header: "WWW-Authenticate", headerWant: "Bearer"},
		{name: "viewer writing", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.viewer, ctype: "application/geo+json", body: validIncident},
			status: 403, detail: "needs editor"},
		{name: "viewer importing", req: req{method: "POST", path: "/api/import", token: e.viewer, ctype: "application/geo+json", body: validIncident},
			status: 403, detail: "needs editor"},
		{name: "unknown id", req: req{path: "/api/collections/incidents/items/nothing-here"},
			status: 404, detail: `no incident with id "nothing-here"`},
		{name: "unknown collection", req: req{path: "/api/collections/boats/items"},
			status: 404, detail: `no collection "boats"`},
		{name: "unknown path", req: req{path: "/api/nothing"},
			status: 404, detail: "there is nothing at /api/nothing"},
		{name: "wrong method", req: req{method: "DELETE", path: "/api/collections/incidents/items", token: e.editor},
			status: 405, detail: "DELETE is not allowed", header: "Allow", headerWant: "POST"},
		{name: "duplicate external_id", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
			body: strings.Replace(validIncident, `"tags"`, `"external_id":"gtd:1","tags"`, 1)},
			status: 409, detail: `external_id "gtd:1"`},
		{name: "stale If-Match", req: req{method: "PUT", path: item, token: e.editor, ctype: "application/geo+json", body: validIncident, header: map[string]string{"If-Match": `"1"`}},
			status: 412, detail: "version 2, not 1"},
		{name: "stale If-Match on delete", req: req{method: "DELETE", path: item, token: e.editor, header: map[string]string{"If-Match": `"1"`}},
			status: 412, detail: "version 2, not 1"},
		{name: "body too large", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
			body: strings.Replace(validIncident, `"An ISIS cell planned an attack."`, `"`+strings.Repeat("x", 4000)+`"`, 1)},
			status: 413, detail: "larger than the limit of 2048 bytes"},
		{name: "wrong media type", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "text/plain", body: validIncident},
			status: 415, detail: "Content-Type must be one of"},
		{name: "no media type", req: req{method: "PUT", path: item, token: e.editor, body: validIncident},
			status: 415, detail: "got none"},
		{name: "patch that is not a merge patch", req: req{method: "PATCH", path: item, token: e.editor, ctype: "application/geo+json", body: `{}`},
			status: 415, detail: "application/merge-patch+json", header: "Accept-Patch", headerWant: "application/merge-patch+json"},
		{name: "rule-breaking feature", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
			body: `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74,4.7]},"properties":{"title":"","type":"party","date":"2018-13"}}`},
			status: 422, detail: "invalid record", fields: []string{"title", "type", "date"}},
		{name: "latitude out of range", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
			body: strings.Replace(validIncident, "4.711", "95", 1)},
			status: 422, detail: "invalid geometry", fields: []string{"geometry.coordinates"}},
		{name: "unknown property", req: req{method: "POST", path: "/api/collections/incidents/items", token: e.editor, ctype: "application/geo+json",
			body: strings.Replace(validIncident, `"tags"`, `"colour":"red","tags"`, 1)},
			status: 422, detail: "invalid feature", fields: []string{"properties.colour"}},
		{name: "point posted as a route", req: req{method: "POST", path: "/api/collections/routes/items", token: e.editor, ctype: "application/geo+json", body: validIncident},
			status: 422, detail: "invalid geometry", fields: []string{"geometry"}},
		{name: "id changed by a replace", req: req{method: "PUT", path: item, token: e.editor, ctype: "application/geo+json", body: strings.Replace(validIncident, `{"type":"Feature",`, `{"type":"Feature","id":"other",`, 1)},
			status: 422, detail: "invalid feature", fields: []string{"id"}},
		{name: "geocoding not available", req: req{path: "/api/geocode?q=Bogota"},
			status: 503, detail: "not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = e
			}
			r := env.do(tt.req)
			p := r.problem(t, tt.status)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tt.detail)
			}
			var fields []string
			for _, fe := range p.Errors {
				fields = append(fields, fe.Field)
				if fe.Message == "" {
					t.Errorf("field %s has no message", fe.Field)
				}
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("errors name %v, want %v (%+v)", fields, tt.fields, p.Errors)
			}
			if tt.header != "" && !strings.Contains(r.header.Get(tt.header), tt.headerWant) {
				t.Errorf("%s: %q, want it to contain %q", tt.header, r.header.Get(tt.header), tt.headerWant)
			}
		})
	}

	t.Run("a conflict changes nothing", func(t *testing.T) {
		var got feature
		e.get(item, "").want(t, http.StatusOK).json(t, &got)
		if got.Properties["title"] != "Plot, revised" || got.Properties["version"] != float64(2) {
			t.Errorf("after the refused writes the record is %v", got.Properties)
		}
	})
	t.Run("internal errors are not shown", func(t *testing.T) {
		if strings.Contains(e.logs.String(), "panic") {
			t.Errorf("a request panicked:\n%s", e.logs.String())
		}
	})
}
