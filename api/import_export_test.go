package api_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"nexus/api"
	"nexus/geo"
	"nexus/ingest"
	"nexus/store"
)

func TestImport(t *testing.T) {
	e := newEnv(t)
	post := func(ctype, body string) resp {
		return e.do(req{method: "POST", path: "/api/import", token: e.editor, ctype: ctype, body: body})
	}
	collection := `{"type":"FeatureCollection","features":[` +
		strings.Replace(validIncident, `"tags"`, `"external_id":"test:1","tags"`, 1) + "," +
		strings.Replace(validIncident, `"tags"`, `"external_id":"test:2","tags"`, 1) + "," +
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"title":"No type","date":"2020"}}` + "]}"

	var rep ingest.Report
	post("application/geo+json", collection).want(t, http.StatusOK).json(t, &rep)
	if rep.Format != ingest.FormatGeoJSON || rep.Created != 2 || rep.RejectedCount != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Field == "" {
		t.Errorf("first import: %+v", rep)
	}
	// The same file again updates nothing and duplicates nothing.
	post("application/json", collection).want(t, http.StatusOK).json(t, &rep)
	if rep.Created != 0 || rep.Unchanged != 2 {
		t.Errorf("second import: %+v", rep)
	}
	n, _ := e.db.Count(context.Background(), geo.Incidents, geo.NewFilter())
	if n != 2 {
		t.Errorf("%d incidents stored, want 2", n)
	}
	changes, _ := e.db.Changes(context.Background(), 0, 100)
	for _, c := range changes {
		if c.Actor != "editor-token" {
			t.Errorf("change by %q, want the token's name", c.Actor)
		}
	}

	// Newline-delimited features.
	nd := strings.Replace(validIncident, `"tags"`, `"external_id":"test:3","tags"`, 1) + "\n" +
		strings.Replace(validIncident, `"tags"`, `"external_id":"test:1","summary2":"x","tags"`, 1) + "\n"
	post("application/x-ndjson", nd).want(t, http.StatusOK).json(t, &rep)
	if rep.Created != 1 || rep.RejectedCount != 1 {
		t.Errorf("ndjson import: %+v", rep)
	}

	// ACLED CSV.
	csv := "event_id_cnty,event_date,year,time_precision,event_type,sub_event_type,actor1,actor2,iso,country,admin1,location,latitude,longitude,geo_precision,source,notes,fatalities\n" +
		"COL9001,2020-03-14,2020,1,Battles,Armed clash,Military Forces of Colombia,ELN,170,Colombia,Nariño,Tumaco,1.7986,-78.8156,1,El Tiempo,A clash.,3\n"
	post("text/csv; charset=utf-8", csv).want(t, http.StatusOK).json(t, &rep)
	if rep.Format != ingest.FormatACLED || rep.Created != 1 {
		t.Errorf("ACLED import: %+v", rep)
	}

	post("text/plain", collection).problem(t, http.StatusUnsupportedMediaType)
	post("application/octet-stream", "\x00\x01 not a dataset").problem(t, http.StatusUnsupportedMediaType)
	post("application/geo+json", `{"type":"FeatureCollection","features":[`+validIncident+`,{"type":`).problem(t, http.StatusBadRequest)
	e.do(req{method: "POST", path: "/api/import", ctype: "application/geo+json", body: collection}).problem(t, http.StatusUnauthorized)
}

func TestExportHTTP(t *testing.T) {
	e := newEnv(t)
	loadSynth(t, e.db, 5, 120, 4)
	r := e.get("/api/export.geojson", "").want(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/geo+json" {
		t.Errorf("Content-Type %q", ct)
	}
	cd := r.header.Get("Content-Disposition")
	if !regexp.MustCompile(`^attachment; filename="nexus-export-\d{8}\.geojson"$`).MatchString(cd) || !strings.Contains(cd, time.Now().UTC().Format("20060102")) {
		t.Errorf("Content-Disposition %q", cd)
	}
	var fc featureCollection
	r.json(t, &fc)
	if fc.Type != "FeatureCollection" || len(fc.Features) != 124 {
		t.Errorf("%s with %d features, want 124", fc.Type, len(fc.Features))
	}
	for query, want := range map[string]int{
		"collections=routes":                4,
		"collections=incidents":             120,
		"collections=incidents,routes":      124,
		"collections=routes&commodity=arms": -1, // counted below
		"type=attack&collections=incidents": -1,
	} {
		var fc featureCollection
		e.get("/api/export.geojson?"+query, "").want(t, http.StatusOK).json(t, &fc)
		if want >= 0 && len(fc.Features) != want {
			t.Errorf("%s: %d features, want %d", query, len(fc.Features), want)
		}
		for _, f := range fc.Features {
			if strings.Contains(query, "type=attack") && f.Properties["type"] != "attack" {
				t.Errorf("%s: a %v", query, f.Properties["type"])
			}
			if strings.Contains(query, "commodity=arms") && f.Properties["commodity"] != "arms" {
				t.Errorf("%s: a %v", query, f.Properties["commodity"])
			}
		}
	}
	e.get("/api/export.geojson?collections=boats", "").problem(t, http.StatusBadRequest)
	e.get("/api/export.geojson?limit=5", "").problem(t, http.StatusBadRequest)
	h := e.do(req{method: "HEAD", path: "/api/export.geojson"}).want(t, http.StatusOK)
	if h.header.Get("Content-Disposition") == "" || len(h.body) != 0 {
		t.Errorf("HEAD: %v, %d bytes", h.header, len(h.body))
	}
}

// brokenStore fails one query with an error the client must not see.
type brokenStore struct{ *store.DB }

func (brokenStore) Stats(context.Context, geo.Collection, geo.Filter, string) ([]geo.Count, error) {
	return nil, errors.New("disk on fire at /var/lib/secret")
}

func TestInternalErrorsAndPanics(t *testing.T) {
	e := newEnv(t,
		func(c *api.Config) { c.Store = brokenStore{c.Store.(*store.DB)} }, withoutOverview,
		withLive(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	p := e.get("/api/stats?by=type", "").problem(t, http.StatusInternalServerError)
	if strings.Contains(p.Detail, "disk") || strings.Contains(p.Detail, "secret") {
		t.Errorf("the detail shows the internal error: %q", p.Detail)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Errorf("the internal error is not logged:\n%s", e.logs.String())
	}
	e.get("/api/live", "").problem(t, http.StatusInternalServerError)
	if !strings.Contains(e.logs.String(), "boom") {
		t.Errorf("the panic is not logged")
	}
	// The server lives on.
	e.get("/api/collections", "").want(t, http.StatusOK)
}
