package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"nexus/geo"
)

// FuzzQueryString sends any query string to the endpoints that read
// filters, through the real server: nothing a client writes is a 5xx; a
// refusal is a problem+json of its status; a query string that does not
// parse, or names a single-valued filter twice, is a 400 (never an answer
// that drops the filter); an answer is JSON.
func FuzzQueryString(f *testing.F) {
	for _, s := range []string{
		"bbox=-80,0,-70,10", "q=zzzz;", "bbox=0,0,1,1;", "q=%zz", "q=a&q=b", "bbox=1,1,2,2&bbox=3,3,4,4",
		"datetime=2018&datetime=2019", "type=attack&type=plot", "type=attack,,plot", "limit=5&limit=6", "limit=1e3",
		"near=-74,4.6,50&near=-74,4.6,51", "near_route=abc&km=5&km=6", "filter=title%3D'a'&filter-lang=cql2-text",
		"filter=title%3D'a'&filter=title%3D'b'", "by=country&by=type", "cursor=1&cursor=2", "&&&", "=", "a=%", "%", "q=%2",
		"country=CO;country=MX", "q=" + strings.Repeat("lorem+", 40), "zoom=3&bbox=-180,-90,180,90", "f=json&f=html",
		"datetime=../..", "bbox=-180,-90,180,90&zoom=30", "collections=incidents&collections=routes",
	} {
		f.Add(s)
	}
	e := newEnv(f)
	e.create(geo.Incidents, validIncident)
	e.create(geo.Routes, validRoute)
	paths := []string{"/api/collections/incidents/items", "/api/collections/routes/items", "/api/stats", "/api/view", "/api/export.geojson", "/api/collections/incidents/items/x/history"}
	single := []string{"bbox", "datetime", "q", "near", "near_route", "km", "limit", "cursor", "filter", "by"}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.ContainsAny(raw, "#\x00 \r\n\t") || len(raw) > 4000 {
			return // not a query string an HTTP client can send
		}
		q, perr := url.ParseQuery(raw)
		twice := ""
		for _, k := range single {
			if len(q[k]) > 1 {
				twice = k
			}
		}
		for _, p := range paths {
			req, err := http.NewRequest("GET", e.URL+p+"?"+raw, nil)
			if err != nil {
				return
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s?%s: %v", p, raw, err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode >= 500 {
				t.Fatalf("%s?%s: %d %s", p, raw, res.StatusCode, body)
			}
			if res.StatusCode >= 400 {
				var pr problem
				if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(body, &pr) != nil || pr.Status != res.StatusCode || pr.Detail == "" {
					t.Fatalf("%s?%s: %d %s %s", p, raw, res.StatusCode, ct, body)
				}
			} else if !json.Valid(body) {
				t.Fatalf("%s?%s: %d, not JSON: %.300s", p, raw, res.StatusCode, body)
			}
			if perr != nil && res.StatusCode != 400 {
				t.Fatalf("%s?%s: a query string that does not parse (%v) answered %d", p, raw, perr, res.StatusCode)
			}
			if twice != "" && res.StatusCode == 200 && strings.Contains(p, "/items") && twice != "by" {
				t.Fatalf("%s?%s: %s given twice answered 200", p, raw, twice)
			}
		}
	})
}
