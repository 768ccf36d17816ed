package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"nexus/geo"
)

func TestFilterParameter(t *testing.T) {
	e := newEnv(t)
	e.create(geo.Incidents, validIncident)
	e.create(geo.Incidents, formulaIncident)
	e.create(geo.Routes, validRoute)
	items := func(c, filter, lang string) []feature {
		q := url.Values{"filter": {filter}}
		if lang != "" {
			q.Set("filter-lang", lang)
		}
		var fc featureCollection
		e.get("/api/collections/"+c+"/items?"+q.Encode(), "").want(t, http.StatusOK).json(t, &fc)
		return fc.Features
	}
	if got := items("incidents", "killed > 10 AND country = 'CO'", "cql2-text"); len(got) != 1 || got[0].Properties["external_id"] != "test:formula" {
		t.Errorf("killed > 10 AND country = 'CO' gave %v", got)
	}
	if got := items("incidents", "actors = 'ISIS' OR title ILIKE '%bogota%'", "cql-text"); len(got) != 1 || got[0].Properties["type"] != "plot" {
		t.Errorf("actors = 'ISIS' OR title ILIKE gave %v", got)
	}
	if got := items("routes", "S_INTERSECTS(geometry, BBOX(-20, 10, -10, 20))", ""); len(got) != 1 {
		t.Errorf("S_INTERSECTS on routes gave %d", len(got))
	}
	e.create(geo.Links, validLink)
	if got := items("links", "relation = 'financing' AND T_INTERSECTS(date_from, INTERVAL('2012', '..'))", ""); len(got) != 1 {
		t.Errorf("a filter on links gave %d", len(got))
	}
	// The export and stats take the same filter.
	var fc featureCollection
	e.get("/api/export.geojson?filter="+url.QueryEscape("commodity = 'cocaine' OR type = 'plot'"), "").want(t, http.StatusOK).json(t, &fc)
	if len(fc.Features) != 2 {
		t.Errorf("export with a filter gave %d features, want the plot and the route", len(fc.Features))
	}

	for _, c := range []struct{ path, want string }{
		{"/api/collections/incidents/items?filter=" + url.QueryEscape("killed >"), "expected a value"},
		{"/api/collections/incidents/items?filter=" + url.QueryEscape("colour = 'red'"), "not a queryable"},
		{"/api/collections/incidents/items?filter=" + url.QueryEscape("commodity = 'arms'"), "not a queryable"},
		{"/api/collections/incidents/items?filter=" + url.QueryEscape("killed = 'many'"), "compared with a number"},
		{"/api/collections/incidents/items?filter=x&filter-lang=cql2-json", "filter-lang"},
		{"/api/collections/incidents/items?filter=" + url.QueryEscape("killed > 1") + "&filter-crs=EPSG:3857", "filter-crs"},
		{"/api/export.geojson?filter=" + url.QueryEscape("S_INTERSECTS(geometry, POINT(1 95))"), "latitude"},
	} {
		p := e.get(c.path, "").problem(t, http.StatusBadRequest)
		if !strings.Contains(p.Detail, c.want) {
			t.Errorf("%s: detail %q, want it to say %q", c.path, p.Detail, c.want)
		}
	}
}

func TestQueryables(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		Schema     string                    `json:"$schema"`
		Type       string                    `json:"type"`
		Properties map[string]map[string]any `json:"properties"`
		Queryables []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"queryables"`
	}
	e.get("/api/collections/incidents/queryables", "").want(t, http.StatusOK).json(t, &doc)
	if doc.Type != "object" || doc.Schema == "" || doc.Properties["killed"]["type"] != "integer" || doc.Properties["type"]["enum"] == nil {
		t.Errorf("the JSON Schema form is wrong: %+v", doc)
	}
	ids := map[string]string{}
	for _, q := range doc.Queryables {
		ids[q.ID] = q.Type
	}
	if ids["type"] != "string" || ids["killed"] != "integer" || ids["geometry"] != "geometry" || len(ids) != len(doc.Properties) {
		t.Errorf("the older list is wrong: %v", ids)
	}
	var info collectionInfo
	e.get("/api/collections/routes", "").want(t, http.StatusOK).json(t, &info)
	found := false
	for _, l := range info.Links {
		found = found || (l.Rel == "http://www.opengis.net/def/rel/ogc/1.0/queryables" && strings.HasSuffix(l.Href, "/api/collections/routes/queryables"))
	}
	if !found {
		t.Errorf("the collection does not link its queryables: %v", info.Links)
	}
	var links struct {
		Properties map[string]map[string]any `json:"properties"`
	}
	e.get("/api/collections/links/queryables", "").want(t, http.StatusOK).json(t, &links)
	if links.Properties["relation"]["enum"] == nil || links.Properties["geometry"] != nil {
		t.Errorf("links' queryables: %v", links.Properties)
	}
	e.get("/api/collections/places/queryables", "").problem(t, http.StatusNotFound)
}

type collectionInfo struct {
	Links []struct {
		Href string `json:"href"`
		Rel  string `json:"rel"`
	} `json:"links"`
}

func TestFilterInStatsAndView(t *testing.T) {
	e := newEnv(t)
	e.create(geo.Incidents, validIncident)
	e.create(geo.Incidents, formulaIncident)
	var stats struct {
		Counts []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"counts"`
	}
	r := e.get("/api/stats?by=type&filter="+url.QueryEscape("killed > 10"), "").want(t, http.StatusOK)
	r.json(t, &stats)
	if len(stats.Counts) != 1 || stats.Counts[0].Key != "attack" || stats.Counts[0].Count != 1 {
		t.Errorf("stats under killed > 10: %s", r.body)
	}
	var fc featureCollection
	e.get("/api/view?bbox=-180,-90,180,90&zoom=3&filter="+url.QueryEscape("killed > 10"), "").want(t, http.StatusOK).json(t, &fc)
	if len(fc.Features) != 1 {
		t.Errorf("view under killed > 10 holds %d features", len(fc.Features))
	}
}

// TestCSVRoundTrip: a CSV export imported into an empty server gives the
// same incidents: points to the last bit, properties, lists, and the
// cells the export made inert restored.
func TestCSVRoundTrip(t *testing.T) {
	src := newEnv(t)
	loadSynth(t, src.db, 23, 50, 0)
	src.create(geo.Incidents, formulaIncident)
	src.create(geo.Incidents, validIncident)
	body := src.get("/api/export.csv", "").want(t, http.StatusOK).body
	dst := newEnv(t)
	r := dst.do(req{method: "POST", path: "/api/import", token: dst.editor, ctype: "text/csv", body: string(body)}).want(t, http.StatusOK)
	var rep struct {
		Format        string `json:"format"`
		Created       int64  `json:"created"`
		RejectedCount int64  `json:"rejected_count"`
	}
	r.json(t, &rep)
	if rep.Format != "csv" || rep.Created != 52 || rep.RejectedCount != 0 {
		t.Fatalf("import report %s", r.body)
	}
	want, _ := src.pageAll("/api/collections/incidents/items?limit=1000", "")
	got, _ := dst.pageAll("/api/collections/incidents/items?limit=1000", "")
	byKey := map[string]feature{}
	for _, f := range got {
		byKey[scalar(f.Properties["title"])+"|"+scalar(f.Properties["date"])] = f
	}
	for _, w := range want {
		g, ok := byKey[scalar(w.Properties["title"])+"|"+scalar(w.Properties["date"])]
		if !ok {
			t.Fatalf("%v did not come back", w.Properties["title"])
		}
		if string(g.Geometry.Coordinates) != string(w.Geometry.Coordinates) {
			t.Errorf("%v: point %s, exported %s", w.Properties["title"], g.Geometry.Coordinates, w.Geometry.Coordinates)
		}
		for _, p := range []string{"summary", "type", "subtype", "place", "country", "precision", "killed", "wounded", "external_id", "actors", "tags", "sources"} {
			gv, wv := fmt.Sprint(g.Properties[p]), fmt.Sprint(w.Properties[p])
			if gv != wv {
				t.Errorf("%v.%s is %s, exported %s", w.Properties["title"], p, gv, wv)
			}
		}
	}
}

// TestGeoPackageRoundTrip: a GeoPackage export imported into an empty
// server gives the same incidents, routes and links.
func TestGeoPackageRoundTrip(t *testing.T) {
	src := newEnv(t)
	loadSynth(t, src.db, 29, 30, 3)
	src.create(geo.Incidents, formulaIncident)
	src.create(geo.Routes, multiRoute)
	src.create(geo.Links, validLink)
	body := src.get("/api/export.gpkg", "").want(t, http.StatusOK).body
	dst := newEnv(t)
	r := dst.do(req{method: "POST", path: "/api/import", token: dst.editor, ctype: "application/octet-stream", body: string(body)}).want(t, http.StatusOK)
	var rep struct {
		Format        string `json:"format"`
		Created       int64  `json:"created"`
		RejectedCount int64  `json:"rejected_count"`
	}
	r.json(t, &rep)
	if rep.Format != "gpkg" || rep.Created != 31+4+1 || rep.RejectedCount != 0 {
		t.Fatalf("import report %s", r.body)
	}
	for c, props := range map[string][]string{
		"incidents": {"title", "summary", "type", "date", "country", "precision", "killed", "wounded", "external_id", "actors", "tags", "sources"},
		"routes":    {"name", "commodity", "mode", "active_from", "active_to", "confidence", "external_id", "actors", "waypoints", "sources"},
		"links":     {"from", "to", "relation", "date_from", "confidence", "summary", "sources", "tags"},
	} {
		want, _ := src.pageAll("/api/collections/"+c+"/items?limit=1000", "")
		got, _ := dst.pageAll("/api/collections/"+c+"/items?limit=1000", "")
		if len(got) != len(want) {
			t.Fatalf("%s: %d came back of %d", c, len(got), len(want))
		}
		key := func(f feature) string {
			return fmt.Sprint(f.Properties[props[0]], f.Properties[props[1]], f.Properties["external_id"])
		}
		byKey := map[string]feature{}
		for _, f := range got {
			byKey[key(f)] = f
		}
		for _, w := range want {
			g, ok := byKey[key(w)]
			if !ok {
				t.Fatalf("%s %s did not come back", c, key(w))
			}
			wc, gc := string(w.Geometry.Coordinates), string(g.Geometry.Coordinates)
			if w.Geometry.Type == "LineString" && g.Geometry.Type == "MultiLineString" {
				wc = "[" + wc + "]" // the GeoPackage's routes are MultiLineStrings
			}
			if gc != wc {
				t.Errorf("%s %s: geometry %s, exported %s", c, key(w), gc, wc)
			}
			for _, p := range props {
				if gv, wv := fmt.Sprint(g.Properties[p]), fmt.Sprint(w.Properties[p]); gv != wv {
					t.Errorf("%s %s.%s is %s, exported %s", c, key(w), p, gv, wv)
				}
			}
		}
	}
}
