package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"nexus/geo"
)

// gunzip decompresses a body, failing the test when it is not gzip.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("broken gzip: %v", err)
	}
	return out
}

func TestGzip(t *testing.T) {
	e := newEnv(t)
	loadSynth(t, e.db, 9, 300, 3)
	id := e.create(geo.Incidents, validIncident).ID
	gz := map[string]string{"Accept-Encoding": "gzip"}
	for _, path := range []string{
		"/api/collections/incidents/items?limit=200",
		"/api/collections/routes/items",
		"/api/view?zoom=2",
		"/api/stats?by=month",
		"/api/export.geojson",
		"/api/collections/incidents/items/" + id + "/history",
		"/api/collections",
	} {
		plain := e.do(req{path: path, header: map[string]string{"Accept-Encoding": "identity"}}).want(t, http.StatusOK)
		if ce := plain.header.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s without gzip: Content-Encoding %q", path, ce)
		}
		zipped := e.do(req{path: path, header: gz}).want(t, http.StatusOK)
		if zipped.header.Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q", path, zipped.header.Get("Content-Encoding"), zipped.header.Get("Vary"))
			continue
		}
		body := gunzip(t, zipped.body)
		if !json.Valid(body) {
			t.Errorf("%s: the decompressed body is not JSON: %.200s", path, body)
		}
		if len(plain.body) > 4000 && len(zipped.body)*3 > len(plain.body) {
			t.Errorf("%s: %d bytes gzipped of %d", path, len(zipped.body), len(plain.body))
		}
		if cl := zipped.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(zipped.body)) {
			t.Errorf("%s: Content-Length %s for %d bytes", path, cl, len(zipped.body))
		}
	}
	t.Run("a problem is JSON too", func(t *testing.T) {
		r := e.do(req{path: "/api/collections/incidents/items?limit=0&" + strings.Repeat("x", 1200) + "=1", header: gz}).want(t, http.StatusBadRequest)
		if r.header.Get("Content-Encoding") != "gzip" || !json.Valid(gunzip(t, r.body)) {
			t.Errorf("problem: Content-Encoding %q", r.header.Get("Content-Encoding"))
		}
	})
	t.Run("q=0 refuses gzip", func(t *testing.T) {
		r := e.do(req{path: "/api/view?zoom=2", header: map[string]string{"Accept-Encoding": "gzip;q=0, identity"}}).want(t, http.StatusOK)
		if r.header.Get("Content-Encoding") != "" || !json.Valid(r.body) {
			t.Errorf("Content-Encoding %q", r.header.Get("Content-Encoding"))
		}
	})
	t.Run("HEAD and 304 have no body", func(t *testing.T) {
		r := e.do(req{method: http.MethodHead, path: "/api/export.geojson", header: gz}).want(t, http.StatusOK)
		if len(r.body) != 0 || r.header.Get("Content-Encoding") != "" {
			t.Errorf("HEAD: %d bytes, Content-Encoding %q", len(r.body), r.header.Get("Content-Encoding"))
		}
		r = e.do(req{path: "/api/collections/incidents/items/" + id, header: map[string]string{"Accept-Encoding": "gzip", "If-None-Match": `"1"`}}).want(t, http.StatusNotModified)
		if len(r.body) != 0 || r.header.Get("Content-Encoding") != "" {
			t.Errorf("304: %d bytes, Content-Encoding %q", len(r.body), r.header.Get("Content-Encoding"))
		}
	})
	t.Run("the map's files are as they were", func(t *testing.T) {
		r := e.do(req{path: "/", header: gz}).want(t, http.StatusOK)
		if r.header.Get("Content-Encoding") != "" {
			t.Errorf("index.html: Content-Encoding %q", r.header.Get("Content-Encoding"))
		}
	})
}
