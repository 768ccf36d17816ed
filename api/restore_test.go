package api_test

import (
	"net/http"
	"strings"
	"testing"

	"nexus/geo"
)

// An editor restores an earlier version: the record becomes a new version
// with that version's content, and its history says which version it
// restored. If-Match guards it as it guards PUT.
func TestRestoreAVersion(t *testing.T) {
	e := newEnv(t)
	f := e.create(geo.Incidents, validIncident)
	base := "/api/collections/incidents/items/" + f.ID
	e.do(req{method: "PUT", path: base, token: e.editor, ctype: "application/geo+json",
		body: strings.Replace(strings.Replace(validIncident, "Plot against diplomats in Bogotá", "Renamed", 1), "-74.0721,4.711", "-75.5,6.25", 1)}).want(t, http.StatusOK)
	e.do(req{method: "PATCH", path: base, token: e.editor, ctype: "application/merge-patch+json",
		body: `{"properties":{"title":"Renamed again","tags":null}}`}).want(t, http.StatusOK)

	restore := func(query, token string, header map[string]string) resp {
		return e.do(req{method: "POST", path: base + "/restore" + query, token: token, header: header})
	}
	// Refusals first: nothing is written by any of them.
	restore("?version=1", "", nil).problem(t, http.StatusUnauthorized)
	restore("?version=1", e.viewer, nil).problem(t, http.StatusForbidden)
	restore("", e.editor, nil).problem(t, http.StatusBadRequest)
	restore("?version=x", e.editor, nil).problem(t, http.StatusBadRequest)
	restore("?version=0", e.editor, nil).problem(t, http.StatusBadRequest)
	restore("?version=1&version=2", e.editor, nil).problem(t, http.StatusBadRequest)
	restore("?version=1&limit=3", e.editor, nil).problem(t, http.StatusBadRequest)
	if p := restore("?version=9", e.editor, nil).problem(t, http.StatusNotFound); !strings.Contains(p.Detail, "no version 9") {
		t.Errorf("detail %q", p.Detail)
	}
	restore("?version=1", e.editor, map[string]string{"If-Match": `"2"`}).problem(t, http.StatusPreconditionFailed)
	e.do(req{method: "POST", path: "/api/collections/incidents/items/nosuchrecord0000/restore?version=1", token: e.editor}).problem(t, http.StatusNotFound)
	e.do(req{method: "GET", path: base + "/restore?version=1", token: e.editor}).problem(t, http.StatusMethodNotAllowed)
	var cur feature
	e.get(base, "").want(t, http.StatusOK).json(t, &cur)
	if cur.Properties["version"] != float64(3) {
		t.Fatalf("a refused restore wrote: version %v", cur.Properties["version"])
	}

	r := restore("?version=1", e.editor, map[string]string{"If-Match": `"3"`}).want(t, http.StatusOK)
	if r.header.Get("ETag") != `"4"` {
		t.Errorf("ETag %q, want \"4\"", r.header.Get("ETag"))
	}
	var got feature
	r.json(t, &got)
	p := got.Properties
	if p["version"] != float64(4) || p["title"] != "Plot against diplomats in Bogotá" || p["created"] != f.Properties["created"] {
		t.Errorf("restored: %v", p)
	}
	if pt := got.Geometry.point(t); pt != [2]float64{-74.0721, 4.711} {
		t.Errorf("restored point %v", pt)
	}
	if tags, _ := p["tags"].([]any); len(tags) != 1 || tags[0] != "diplomats" {
		t.Errorf("restored tags %v", p["tags"])
	}
	// The history says so.
	var h struct {
		History []struct {
			Op       string
			Version  int64
			Actor    string
			Restored int64
		}
	}
	e.get(base+"/history", e.editor).want(t, http.StatusOK).json(t, &h)
	if len(h.History) != 4 || h.History[0].Version != 4 || h.History[0].Restored != 1 || h.History[0].Op != "update" || h.History[0].Actor != "editor-token" {
		t.Fatalf("history %+v", h.History)
	}
	for _, c := range h.History[1:] {
		if c.Restored != 0 {
			t.Errorf("version %d says it restored %d", c.Version, c.Restored)
		}
	}
	// Restoring what the record already is writes nothing.
	again := restore("?version=1", e.editor, nil).want(t, http.StatusOK)
	if again.header.Get("ETag") != `"4"` {
		t.Errorf("a restore that changes nothing made version %s", again.header.Get("ETag"))
	}
	// Without If-Match it restores onto whatever is current.
	var v2 feature
	restore("?version=2", e.editor, nil).want(t, http.StatusOK).json(t, &v2)
	if v2.Properties["version"] != float64(5) || v2.Properties["title"] != "Renamed" {
		t.Errorf("restore of version 2: %v", v2.Properties)
	}
	// A deleted record is not restored here, and its deletion is no version to restore.
	e.do(req{method: "DELETE", path: base, token: e.editor}).want(t, http.StatusNoContent)
	if p := restore("?version=6", e.editor, nil).problem(t, http.StatusUnprocessableEntity); !strings.Contains(p.Detail, "deletion") {
		t.Errorf("restore of the deletion: %q", p.Detail)
	}
	if p := restore("?version=1", e.editor, nil).problem(t, http.StatusNotFound); !strings.Contains(p.Detail, "deleted") {
		t.Errorf("restore of a deleted record: %q", p.Detail)
	}
}
