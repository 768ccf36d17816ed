package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"nexus/geo"
)

// changesOf returns the change-log entries of one record, oldest first.
func (e *env) changesOf(id string) []geo.Change {
	e.t.Helper()
	all, err := e.db.Changes(context.Background(), 0, 100000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []geo.Change
	for _, c := range all {
		if c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// TestCRUD walks one incident through create, read, replace, patch and
// delete, checking the answers, the ETags, and that each write leaves
// exactly one change-log entry naming the token that made it.
func TestCRUD(t *testing.T) {
	e := newEnv(t)
	const actor = "editor-token"
	write := func(method, path, ctype, body string, header map[string]string) resp {
		return e.do(req{method: method, path: path, token: e.editor, ctype: ctype, body: body, header: header})
	}
	wantChanges := func(t *testing.T, id string, n int, op string) {
		t.Helper()
		cs := e.changesOf(id)
		if len(cs) != n {
			t.Fatalf("%d change-log entries, want %d", len(cs), n)
		}
		last := cs[len(cs)-1]
		if last.Op != op || last.Actor != actor || last.Version != int64(n) {
			t.Fatalf("last change %s v%d by %q, want %s v%d by %q", last.Op, last.Version, last.Actor, op, n, actor)
		}
	}

	// Create.
	r := write("POST", "/api/collections/incidents/items", "application/geo+json", validIncident, nil).want(t, http.StatusCreated)
	var created feature
	r.json(t, &created)
	loc := r.header.Get("Location")
	if created.ID == "" || loc != e.URL+"/api/collections/incidents/items/"+created.ID {
		t.Fatalf("Location %q for id %q", loc, created.ID)
	}
	if r.header.Get("ETag") != `"1"` || created.Properties["version"] != float64(1) {
		t.Fatalf("ETag %s, version %v; want 1", r.header.Get("ETag"), created.Properties["version"])
	}
	if r.header.Get("Content-Type") != "application/geo+json" {
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	}
	id := created.ID
	path := "/api/collections/incidents/items/" + id
	wantChanges(t, id, 1, geo.OpCreate)

	// Read: the same Feature, its ETag, and links.
	r = e.get(path, "").want(t, http.StatusOK)
	var got feature
	r.json(t, &got)
	if r.header.Get("ETag") != `"1"` || got.ID != id || got.Properties["title"] != "Plot against diplomats in Bogotá" {
		t.Fatalf("GET: ETag %s, %+v", r.header.Get("ETag"), got)
	}
	if p := got.Geometry.point(t); p != [2]float64{-74.0721, 4.711} {
		t.Errorf("point %v", p)
	}
	rels := map[string]bool{}
	for _, l := range got.Links {
		rels[l.Rel] = true
	}
	if !rels["self"] || !rels["collection"] {
		t.Errorf("links %v lack self or collection", got.Links)
	}
	e.do(req{path: path, header: map[string]string{"If-None-Match": `"1"`}}).want(t, http.StatusNotModified)

	// Replace, sending back what was read (links included) with a change.
	var doc map[string]any
	json.Unmarshal(r.body, &doc)
	doc["properties"].(map[string]any)["title"] = "Plot against diplomats, foiled"
	body, _ := json.Marshal(doc)
	r = write("PUT", path, "application/geo+json", string(body), map[string]string{"If-Match": `"1"`}).want(t, http.StatusOK)
	if r.header.Get("ETag") != `"2"` {
		t.Fatalf("PUT: ETag %s, want \"2\"", r.header.Get("ETag"))
	}
	wantChanges(t, id, 2, geo.OpUpdate)

	// A replace that changes nothing writes nothing.
	write("PUT", path, "application/json", string(body), nil).want(t, http.StatusOK)
	wantChanges(t, id, 2, geo.OpUpdate)

	// Merge patch: null removes a property, objects merge member by
	// member (the geometry keeps its type), arrays and values replace.
	r = write("PATCH", path, "application/merge-patch+json",
		`{"geometry":{"coordinates":[-74.08,4.6097100000000001]},"properties":{"place":null,"summary":"Foiled by the police.","actors":["ISIS","Local cell"],"sources":[{"title":"Second report"}]}}`, nil).want(t, http.StatusOK)
	var patched feature
	r.json(t, &patched)
	pp := patched.Properties
	if _, ok := pp["place"]; ok {
		t.Errorf("place is still there after a null patch: %v", pp["place"])
	}
	if pp["summary"] != "Foiled by the police." || pp["title"] != "Plot against diplomats, foiled" || pp["type"] != "plot" || pp["country"] != "CO" {
		t.Errorf("patched properties %v", pp)
	}
	if a, _ := json.Marshal(pp["actors"]); string(a) != `["ISIS","Local cell"]` {
		t.Errorf("actors %s", a)
	}
	if s, _ := json.Marshal(pp["sources"]); string(s) != `[{"title":"Second report"}]` {
		t.Errorf("sources %s", s)
	}
	if patched.Geometry.Type != "Point" || patched.Geometry.point(t) != [2]float64{-74.08, 4.60971} {
		t.Errorf("geometry %s %s", patched.Geometry.Type, patched.Geometry.Coordinates)
	}
	if r.header.Get("ETag") != `"3"` {
		t.Errorf("PATCH: ETag %s, want \"3\"", r.header.Get("ETag"))
	}
	wantChanges(t, id, 3, geo.OpUpdate)

	// A nested null: one member of a nested object goes, the rest stays.
	r = write("PATCH", path, "application/json", `{"properties":{"killed":2,"sources":[{"title":"Second report","url":"https://example.org/2"}]}}`, map[string]string{"If-Match": `"3"`}).want(t, http.StatusOK)
	wantChanges(t, id, 4, geo.OpUpdate)
	r = write("PATCH", path, "application/merge-patch+json", `{"properties":{"killed":null,"wounded":1}}`, nil).want(t, http.StatusOK)
	r.json(t, &patched)
	if patched.Properties["killed"] != nil || patched.Properties["wounded"] != float64(1) {
		t.Errorf("killed %v wounded %v", patched.Properties["killed"], patched.Properties["wounded"])
	}
	wantChanges(t, id, 5, geo.OpUpdate)

	// A stale If-Match changes nothing.
	write("PATCH", path, "application/merge-patch+json", `{"properties":{"title":"Lost update"}}`, map[string]string{"If-Match": `"4"`}).problem(t, http.StatusPreconditionFailed)
	write("PUT", path, "application/geo+json", validIncident, map[string]string{"If-Match": `"4"`}).problem(t, http.StatusPreconditionFailed)
	write("DELETE", path, "", "", map[string]string{"If-Match": `"4"`}).problem(t, http.StatusPreconditionFailed)
	wantChanges(t, id, 5, geo.OpUpdate)
	e.get(path, "").want(t, http.StatusOK).json(t, &got)
	if got.Properties["title"] != "Plot against diplomats, foiled" || got.Properties["version"] != float64(5) {
		t.Errorf("after refused writes: %v", got.Properties)
	}

	// A merge patch that breaks a rule is a 422, and changes nothing.
	p := write("PATCH", path, "application/merge-patch+json", `{"properties":{"type":"party"}}`, nil).problem(t, http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "type" {
		t.Errorf("errors %+v", p.Errors)
	}
	wantChanges(t, id, 5, geo.OpUpdate)

	// History: every version, newest first, who (for editors) and when,
	// before and after.
	var h struct {
		ID      string       `json:"id"`
		History []geo.Change `json:"history"`
	}
	e.get(path+"/history", "").want(t, http.StatusOK).json(t, &h)
	for _, c := range h.History {
		if c.Actor != "" {
			t.Errorf("an anonymous reader sees the token name %q", c.Actor)
		}
	}
	e.get(path+"/history", e.editor).want(t, http.StatusOK).json(t, &h)
	if len(h.History) != 5 || h.History[0].Version != 5 || h.History[4].Op != geo.OpCreate {
		t.Fatalf("history %+v", h.History)
	}
	for _, c := range h.History {
		if c.Actor != actor || c.Time.IsZero() || len(c.After) == 0 || (c.Op == geo.OpUpdate && len(c.Before) == 0) {
			t.Errorf("history entry %+v lacks who, when or the record", c)
		}
	}

	// Delete.
	write("DELETE", path, "", "", map[string]string{"If-Match": `"5"`}).want(t, http.StatusNoContent)
	wantChanges(t, id, 6, geo.OpDelete)
	e.get(path, "").problem(t, http.StatusNotFound)
	write("DELETE", path, "", "", nil).problem(t, http.StatusNotFound)
	e.get(path+"/history", "").problem(t, http.StatusNotFound)
	e.get(path+"/history", e.viewer).problem(t, http.StatusNotFound)
	e.get(path+"/history", e.editor).want(t, http.StatusOK).json(t, &h)
	if len(h.History) != 6 || h.History[0].Op != geo.OpDelete || h.History[0].Actor != actor {
		t.Errorf("history after delete: %+v", h.History[0])
	}
}

// TestRouteWrites checks writes on the other collection, and the 409 of a
// replace that takes another record's external_id.
func TestRouteWrites(t *testing.T) {
	e := newEnv(t)
	a := e.create(geo.Routes, strings.Replace(validRoute, `"active_from"`, `"external_id":"route:a","active_from"`, 1))
	b := e.create(geo.Routes, strings.Replace(validRoute, `"active_from"`, `"external_id":"route:b","active_from"`, 1))
	path := "/api/collections/routes/items/" + b.ID
	r := e.do(req{method: "PATCH", path: path, token: e.editor, ctype: "application/merge-patch+json", body: `{"properties":{"mode":"air","waypoints":["Medellín","Bissau","Paris"]}}`}).want(t, http.StatusOK)
	var f feature
	r.json(t, &f)
	if f.Properties["mode"] != "air" || f.Geometry.Type != "LineString" {
		t.Errorf("patched route %v", f.Properties)
	}
	p := e.do(req{method: "PATCH", path: path, token: e.editor, ctype: "application/merge-patch+json", body: `{"properties":{"external_id":"route:a"}}`}).problem(t, http.StatusConflict)
	if !strings.Contains(p.Detail, "route:a") {
		t.Errorf("detail %q", p.Detail)
	}
	// An incident id is not a route.
	e.get("/api/collections/incidents/items/"+a.ID, "").problem(t, http.StatusNotFound)
}
