package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// The incidents a view sends are kept for the next views, yet every view
// sends each incident as it is now: after an update, a delete, and for a
// sensitive incident the coarse point to those who may not see it exactly.
func TestViewSendsCurrentVersions(t *testing.T) {
	e := newEnv(t)
	a := e.create("incidents", validIncident)
	b := e.create("incidents", strings.Replace(validIncident, "Plot against diplomats", "Second plot", 1))
	const view = "/api/view?bbox=-80,0,-70,10&zoom=8"
	titles := func(token string) map[string]string {
		t.Helper()
		var fc featureCollection
		e.get(view, token).want(t, http.StatusOK).json(t, &fc)
		if fc.Clustered {
			t.Fatalf("%d incidents came as clusters", fc.NumberMatched)
		}
		out := map[string]string{}
		for _, f := range fc.Features {
			out[f.ID] = f.Properties["title"].(string) + " " + string(f.Geometry.Coordinates)
		}
		return out
	}
	first := titles("")
	if len(first) != 2 || !strings.HasPrefix(first[a.ID], "Plot against diplomats") || !strings.HasPrefix(first[b.ID], "Second plot") {
		t.Fatalf("first view: %v", first)
	}
	if again := titles(""); again[a.ID] != first[a.ID] || again[b.ID] != first[b.ID] {
		t.Fatalf("a second view differs: %v, then %v", first, again)
	}

	// An update: the view sends the new version.
	updated := strings.Replace(validIncident, "Plot against diplomats", "Updated plot", 1)
	e.do(req{method: "PUT", path: "/api/collections/incidents/items/" + a.ID, token: e.editor, ctype: "application/geo+json", body: updated}).want(t, http.StatusOK)
	if got := titles(""); !strings.HasPrefix(got[a.ID], "Updated plot") || got[b.ID] != first[b.ID] {
		t.Fatalf("after the update of %s the view sends %v", a.ID, got)
	}

	// Made sensitive: the editor's view (read first) has the exact point,
	// everyone else's the coarse one.
	sensitive := strings.Replace(validIncident, `"tags":["diplomats"]`, `"tags":["diplomats"],"sensitive":true`, 1)
	e.do(req{method: "PUT", path: "/api/collections/incidents/items/" + b.ID, token: e.editor, ctype: "application/geo+json", body: sensitive}).want(t, http.StatusOK)
	exact, coarse := titles(e.editor)[b.ID], titles("")[b.ID]
	if !strings.HasSuffix(exact, "[-74.0721,4.711]") || coarse == exact || strings.Contains(coarse, "-74.0721") {
		t.Fatalf("a sensitive incident: the editor sees %q, an anonymous reader %q", exact, coarse)
	}

	// A delete: the view no longer sends it.
	e.do(req{method: "DELETE", path: "/api/collections/incidents/items/" + a.ID, token: e.editor}).want(t, http.StatusNoContent)
	if got := titles(""); len(got) != 1 || got[a.ID] != "" {
		t.Fatalf("after the delete of %s the view sends %v", a.ID, got)
	}
}
