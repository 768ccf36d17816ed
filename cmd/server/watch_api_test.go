package main

import (
	"encoding/json"
	"nexus/geo"
	"path/filepath"
	"strings"
	"testing"
)

// problemOf checks that an answer is problem+json with the status.
func isProblem(t *testing.T, what string, status int, body []byte, h map[string][]string, want int) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if status != want || json.Unmarshal(body, &p) != nil || p.Status != want || p.Detail == "" ||
		!strings.HasPrefix(strings.Join(h["Content-Type"], ""), "application/problem+json") {
		t.Fatalf("%s: %d %s, want a %d problem", what, status, body, want)
	}
}

func TestWatchAPI(t *testing.T) {
	s := startWatchServer(t, filepath.Join(t.TempDir(), "nexus.db"))
	defer s.Close()
	bob := s.token(t, "bob", geo.RoleViewer)
	admin := s.token(t, "root", geo.RoleAdmin)
	circle := `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0537,4.6668]},"properties":{"name":"Zona Rosa","radius_km":5}}`

	st, b, h := do(t, s.URL, "", "POST", "/api/watches", circle)
	isProblem(t, "anonymous create", st, b, h, 401)
	st, b, h = do(t, s.URL, s.viewer, "POST", "/api/watches", `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74,4]},"properties":{"name":"","radius_km":9000}}`)
	isProblem(t, "invalid watch", st, b, h, 422)
	if !strings.Contains(string(b), `"field":"name"`) || !strings.Contains(string(b), `"field":"radius_km"`) {
		t.Fatalf("the problem does not name the fields: %s", b)
	}
	st, b, h = do(t, s.URL, s.viewer, "POST", "/api/watches", `{"type":"Feature",`)
	isProblem(t, "malformed watch", st, b, h, 400)
	st, b, h = do(t, s.URL, s.viewer, "POST", "/api/watches", circle, "Content-Type", "text/plain")
	isProblem(t, "wrong media type", st, b, h, 415)

	st, b, h = do(t, s.URL, s.viewer, "POST", "/api/watches", circle)
	if st != 201 || h.Get("ETag") != `"1"` || !strings.Contains(h.Get("Location"), "/api/watches/") {
		t.Fatalf("create: %d %s %v", st, b, h)
	}
	var w struct {
		ID         string         `json:"id"`
		Properties map[string]any `json:"properties"`
	}
	json.Unmarshal(b, &w)
	if w.Properties["owner"] != "alice" {
		t.Fatalf("owner %v, want the token's name", w.Properties["owner"])
	}
	path := "/api/watches/" + w.ID

	// Only the owner and admins see it.
	st, b, h = do(t, s.URL, bob, "GET", path, nil)
	isProblem(t, "another user's watch", st, b, h, 404)
	if st, b, _ = do(t, s.URL, bob, "GET", "/api/watches", nil); st != 200 || strings.Contains(string(b), w.ID) {
		t.Fatalf("another user's list shows the watch: %d %s", st, b)
	}
	st, b, h = do(t, s.URL, bob, "DELETE", path, nil)
	isProblem(t, "another user's delete", st, b, h, 404)
	if st, b, _ = do(t, s.URL, admin, "GET", path, nil); st != 200 {
		t.Fatalf("admin read: %d %s", st, b)
	}
	if st, b, _ = do(t, s.URL, admin, "GET", "/api/watches", nil); st != 200 || !strings.Contains(string(b), w.ID) {
		t.Fatalf("admin list: %d %s", st, b)
	}

	// ETag and If-Match, PATCH, history.
	st, b, h = do(t, s.URL, s.viewer, "PUT", path, strings.Replace(circle, "Zona Rosa", "Zona T", 1), "If-Match", `"7"`)
	isProblem(t, "stale If-Match", st, b, h, 412)
	st, b, h = do(t, s.URL, s.viewer, "PATCH", path, `{"properties":{"name":"Zona T"}}`, "Content-Type", "application/merge-patch+json", "If-Match", `"1"`)
	if st != 200 || h.Get("ETag") != `"2"` || !strings.Contains(string(b), `"name":"Zona T"`) || !strings.Contains(string(b), `"radius_km":5`) {
		t.Fatalf("patch: %d %s", st, b)
	}
	st, b, h = do(t, s.URL, s.viewer, "PATCH", path, `{"properties":{"radius_km":0}}`, "Content-Type", "application/merge-patch+json")
	isProblem(t, "patch breaking a rule", st, b, h, 422)
	if st, b, _ = do(t, s.URL, s.viewer, "GET", path, nil); st != 200 || !strings.Contains(string(b), `"radius_km":5`) {
		t.Fatalf("a refused patch changed the watch: %s", b)
	}

	// A webhook set by PUT shows its secret once.
	st, b, _ = do(t, s.URL, s.viewer, "PUT", path, strings.Replace(circle, `"radius_km":5`, `"radius_km":5,"webhook":"http://127.0.0.1:9/hook"`, 1), "If-Match", `"2"`)
	if st != 200 || !strings.Contains(string(b), `"webhook_secret":"whsec_`) {
		t.Fatalf("put with webhook: %d %s", st, b)
	}
	if st, b, _ = do(t, s.URL, s.viewer, "PATCH", path, `{"properties":{"name":"Zona Rosa again"}}`, "Content-Type", "application/merge-patch+json"); st != 200 || strings.Contains(string(b), "webhook_secret") {
		t.Fatalf("a patch that keeps the webhook shows a secret: %d %s", st, b)
	}

	if st, b, _ = do(t, s.URL, s.viewer, "DELETE", path, nil, "If-Match", `"4"`); st != 204 {
		t.Fatalf("delete: %d %s", st, b)
	}
	st, b, h = do(t, s.URL, s.viewer, "GET", path, nil)
	isProblem(t, "deleted watch", st, b, h, 404)
	var hist struct {
		History []struct {
			Op      string `json:"op"`
			Version int    `json:"version"`
		} `json:"history"`
	}
	st, b, _ = do(t, s.URL, s.viewer, "GET", path+"/history", nil)
	if st != 200 || json.Unmarshal(b, &hist) != nil || len(hist.History) != 5 || hist.History[0].Op != "delete" || hist.History[4].Op != "create" {
		t.Fatalf("history: %d %s", st, b)
	}
	st, b, h = do(t, s.URL, bob, "GET", path+"/history", nil)
	isProblem(t, "another user's history", st, b, h, 404)
	st, b, h = do(t, s.URL, s.viewer, "GET", "/api/watches/nope/alerts?limit=x", nil)
	isProblem(t, "alerts of no watch", st, b, h, 404)
}

// Without -private-webhooks, a webhook must be https to a public address.
func TestWebhookPolicy(t *testing.T) {
	m, _ := startMain(t, filepath.Join(t.TempDir(), "nexus.db"), "-seed=false")
	defer m.Close()
	tok, err := m.db.CreateToken(t.Context(), "carol", geo.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://example.org/hook", "https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://localhost:8443/hook", "https://[::1]/hook"} {
		st, b, h := do(t, m.URL, tok, "POST", "/api/watches", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"webhook":"`+u+`"}}`)
		isProblem(t, u, st, b, h, 422)
	}
	if st, b, _ := do(t, m.URL, tok, "POST", "/api/watches", `{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"name":"x","radius_km":1,"webhook":"https://hooks.example.org/nexus"}}`); st != 201 {
		t.Fatalf("a public https webhook: %d %s", st, b)
	}
}
