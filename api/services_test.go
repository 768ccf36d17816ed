package api_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"nexus/api"
	"nexus/geo"
	"nexus/geocode"
)

func TestLandingConformanceOpenAPI(t *testing.T) {
	e := newEnv(t)
	var landing struct {
		Title string     `json:"title"`
		Links []api.Link `json:"links"`
	}
	e.get("/api", "").want(t, http.StatusOK).json(t, &landing)
	rels := map[string]api.Link{}
	for _, l := range landing.Links {
		rels[l.Rel] = l
		if !strings.HasPrefix(l.Href, e.URL+"/") {
			t.Errorf("link %s is not absolute: %s", l.Rel, l.Href)
		}
	}
	for _, rel := range []string{"self", "conformance", "data", "service-desc"} {
		if rels[rel].Href == "" {
			t.Errorf("landing page has no %s link", rel)
		}
	}

	var conf struct {
		ConformsTo []string `json:"conformsTo"`
	}
	e.get("/api/conformance", "").want(t, http.StatusOK).json(t, &conf)
	for _, want := range []string{
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
		"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
		"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
		"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
	} {
		if !strings.Contains(strings.Join(conf.ConformsTo, " "), want) {
			t.Errorf("conformance lacks %s", want)
		}
	}

	r := e.get(strings.TrimPrefix(rels["service-desc"].Href, e.URL), "").want(t, http.StatusOK)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/vnd.oai.openapi+json") {
		t.Errorf("OpenAPI Content-Type %q", r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title, Version string
		} `json:"info"`
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Parameters  []struct {
				Name, In string
				Required bool
				Schema   map[string]any
			} `json:"parameters"`
		} `json:"paths"`
	}
	r.json(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("openapi %q info %+v", doc.OpenAPI, doc.Info)
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			if ops[op.OperationID] || op.OperationID == "" {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, op.OperationID)
			}
			ops[op.OperationID] = true
			if len(op.Responses) == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
			for _, p := range op.Parameters {
				if p.Name == "" || p.Schema == nil || (p.In == "path" && !p.Required) {
					t.Errorf("%s %s: parameter %+v", method, path, p)
				}
				if p.In == "path" && !strings.Contains(path, "{"+p.Name+"}") {
					t.Errorf("%s %s: path parameter %s not in the path", method, path, p.Name)
				}
			}
		}
	}
	for _, op := range []string{"getFeatures", "getFeature", "createFeature", "replaceFeature", "updateFeature", "deleteFeature"} {
		if !ops[op] {
			t.Errorf("OpenAPI lacks %s", op)
		}
	}
}

func TestCollections(t *testing.T) {
	e := newEnv(t)
	type coll struct {
		ID       string   `json:"id"`
		ItemType string   `json:"itemType"`
		CRS      []string `json:"crs"`
		Extent   struct {
			Spatial struct {
				BBox [][]float64 `json:"bbox"`
			} `json:"spatial"`
			Temporal struct {
				Interval [][]*string `json:"interval"`
			} `json:"temporal"`
		} `json:"extent"`
		Links []api.Link `json:"links"`
	}
	var empty coll
	e.get("/api/collections/incidents", "").want(t, http.StatusOK).json(t, &empty)
	if len(empty.Extent.Spatial.BBox) != 1 || len(empty.Extent.Temporal.Interval) != 1 {
		t.Errorf("empty collection extent %+v", empty.Extent)
	}
	e.create(geo.Incidents, validIncident)
	e.create(geo.Incidents, strings.Replace(strings.Replace(validIncident, "-74.0721,4.711", "2.35,48.85", 1), `"2018-02"`, `"2019-07-14"`, 1))
	e.create(geo.Routes, validRoute)
	var all struct {
		Links       []api.Link `json:"links"`
		Collections []coll     `json:"collections"`
	}
	e.get("/api/collections", "").want(t, http.StatusOK).json(t, &all)
	if len(all.Collections) != 3 || all.Collections[0].ID != "incidents" || all.Collections[1].ID != "routes" || all.Collections[2].ID != "links" {
		t.Fatalf("collections %+v", all.Collections)
	}
	inc := all.Collections[0]
	if inc.ItemType != "feature" || len(inc.CRS) != 1 || inc.CRS[0] != api.CRS84 {
		t.Errorf("incidents: itemType %q crs %v", inc.ItemType, inc.CRS)
	}
	if b := inc.Extent.Spatial.BBox[0]; len(b) != 4 || b[0] != -74.0721 || b[1] != 4.711 || b[2] != 2.35 || b[3] != 48.85 {
		t.Errorf("incidents bbox %v", b)
	}
	if iv := inc.Extent.Temporal.Interval[0]; iv[0] == nil || *iv[0] != "2018-02-01T00:00:00Z" || iv[1] == nil || *iv[1] != "2019-07-15T00:00:00Z" {
		t.Errorf("incidents interval %v", iv)
	}
	items := ""
	for _, l := range inc.Links {
		if l.Rel == "items" {
			items = l.Href
		}
	}
	if items != e.URL+"/api/collections/incidents/items" {
		t.Errorf("items link %q", items)
	}
	if iv := all.Collections[1].Extent.Temporal.Interval[0]; iv[0] == nil || iv[1] != nil {
		t.Errorf("routes interval %v: active_from only, open end", iv)
	}
}

func TestStats(t *testing.T) {
	e := newEnv(t)
	e.create(geo.Incidents, validIncident)
	e.create(geo.Incidents, validIncident)
	e.create(geo.Incidents, strings.Replace(validIncident, `"plot"`, `"attack"`, 1))
	e.create(geo.Routes, validRoute)
	var got struct {
		By, Collection string
		Counts         []struct {
			Key   string
			Count int64
		}
	}
	e.get("/api/stats?by=type", "").want(t, http.StatusOK).json(t, &got)
	if got.By != "type" || got.Collection != "incidents" || len(got.Counts) != 2 || got.Counts[0].Key != "plot" || got.Counts[0].Count != 2 {
		t.Errorf("stats by type: %+v", got)
	}
	e.get("/api/stats?by=type&type=attack", "").want(t, http.StatusOK).json(t, &got)
	if len(got.Counts) != 1 || got.Counts[0].Count != 1 {
		t.Errorf("stats under a filter: %+v", got)
	}
	e.get("/api/stats?by=type&collection=routes", "").want(t, http.StatusOK).json(t, &got)
	if got.Collection != "routes" || len(got.Counts) != 1 || got.Counts[0].Key != "cocaine" {
		t.Errorf("stats of routes: %+v", got)
	}
	e.get("/api/stats?by=month", "").want(t, http.StatusOK).json(t, &got)
	if len(got.Counts) != 1 || got.Counts[0].Key != "2018-02" || got.Counts[0].Count != 3 {
		t.Errorf("stats by month: %+v", got)
	}
	e.get("/api/stats", "").problem(t, http.StatusBadRequest)
	e.get("/api/stats?by=colour", "").problem(t, http.StatusBadRequest)
	e.get("/api/stats?by=type&collection=boats", "").problem(t, http.StatusBadRequest)
}

func TestView(t *testing.T) {
	e := newEnv(t)
	loadSynth(t, e.db, 3, api.MaxViewFeatures+500, 0)
	type cluster struct {
		featureCollection
		Cell float64 `json:"cell"`
	}
	t.Run("few incidents come as they are", func(t *testing.T) {
		var fc cluster
		e.get("/api/view?bbox=-80,0,-70,10&zoom=6", "").want(t, http.StatusOK).json(t, &fc)
		if fc.Clustered || fc.NumberMatched == 0 || fc.NumberMatched > api.MaxViewFeatures || fc.NumberReturned != int(fc.NumberMatched) || fc.Features[0].ID == "" {
			t.Errorf("clustered %v numberMatched %d numberReturned %d", fc.Clustered, fc.NumberMatched, fc.NumberReturned)
		}
	})
	t.Run("many incidents come as clusters", func(t *testing.T) {
		for _, q := range []string{"zoom=2", "bbox=-180,-90,180,90&zoom=3", "bbox=-180,-90,180,90&zoom=18", "bbox=170,-90,160,90&zoom=30"} {
			var fc cluster
			e.get("/api/view?"+q, "").want(t, http.StatusOK).json(t, &fc)
			if !fc.Clustered || fc.NumberMatched != api.MaxViewFeatures+500 || len(fc.Features) > api.MaxViewFeatures || len(fc.Features) == 0 {
				t.Fatalf("%s: clustered %v numberMatched %d features %d", q, fc.Clustered, fc.NumberMatched, len(fc.Features))
			}
			var total float64
			for _, f := range fc.Features {
				if f.Properties["cluster"] != true || f.Geometry.Type != "Point" {
					t.Fatalf("%s: not a cluster point: %+v", q, f)
				}
				total += f.Properties["count"].(float64)
				var byType float64
				for _, n := range f.Properties["types"].(map[string]any) {
					byType += n.(float64)
				}
				if byType != f.Properties["count"].(float64) {
					t.Fatalf("%s: types %v do not add up to count %v", q, f.Properties["types"], f.Properties["count"])
				}
			}
			if total != float64(fc.NumberMatched) {
				t.Errorf("%s: clusters hold %v incidents, numberMatched %d", q, total, fc.NumberMatched)
			}
		}
	})
	t.Run("bad zoom", func(t *testing.T) {
		e.get("/api/view?zoom=-1", "").problem(t, http.StatusBadRequest)
		e.get("/api/view?zoom=abc", "").problem(t, http.StatusBadRequest)
	})
}

func TestConfigRoles(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.Tiles = "https://tile.example/{z}/{x}/{y}.png" })
	for token, want := range map[string]any{"": nil, e.viewer: "viewer", e.editor: "editor", e.admin: "admin"} {
		var cfg map[string]any
		e.get("/api/config", token).want(t, http.StatusOK).json(t, &cfg)
		if cfg["role"] != want || cfg["private"] != false || cfg["tiles"] != "https://tile.example/{z}/{x}/{y}.png" || cfg["attribution"] == "" {
			t.Errorf("token %q: config %v, want role %v", token, cfg, want)
		}
	}
}

func TestPrivate(t *testing.T) {
	live := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("live")) })
	e := newEnv(t, private, withLive(live))
	e.create(geo.Incidents, validIncident)
	// The map's shell and the health probe stay open.
	for _, p := range []string{"/", "/js/main.js", "/vendor/leaflet.js", "/healthz"} {
		e.get(p, "").want(t, http.StatusOK)
	}
	// The metrics tell how much data there is and who is busy: a token.
	e.get("/metrics", "").problem(t, http.StatusUnauthorized)
	e.get("/metrics", e.viewer).want(t, http.StatusOK)
	// Everything under /api needs a token, a viewer's is enough to read.
	for _, p := range []string{"/api", "/api/conformance", "/api/collections", "/api/collections/incidents/items", "/api/export.geojson", "/api/stats?by=type", "/api/config", "/api/view", "/api/live"} {
		e.get(p, "").problem(t, http.StatusUnauthorized)
		e.get(p, e.viewer).want(t, http.StatusOK)
	}
	// The websocket alone may carry its token in the address.
	e.get("/api/live?token="+e.viewer, "").want(t, http.StatusOK)
	e.get("/api/live?token=nope", "").problem(t, http.StatusUnauthorized)
	e.get("/api/collections?token="+e.viewer, "").problem(t, http.StatusUnauthorized)
	var cfg map[string]any
	e.get("/api/config", e.viewer).want(t, http.StatusOK).json(t, &cfg)
	if cfg["private"] != true || cfg["role"] != "viewer" {
		t.Errorf("config %v", cfg)
	}
	if strings.Contains(e.logs.String(), e.viewer) {
		t.Errorf("a token reached the log:\n%s", e.logs.String())
	}
}

func TestOpenByDefault(t *testing.T) {
	e := newEnv(t)
	e.get("/api/collections/incidents/items", "").want(t, http.StatusOK)
	e.get("/api/live", "").problem(t, http.StatusNotFound) // no hub configured
}

func TestStaticFiles(t *testing.T) {
	e := newEnv(t)
	for path, ctype := range map[string]string{
		"/":                   "text/html; charset=utf-8",
		"/index.html":         "text/html; charset=utf-8",
		"/js/main.js":         "text/javascript; charset=utf-8",
		"/css/map.css":        "text/css; charset=utf-8",
		"/vendor/leaflet.css": "text/css; charset=utf-8",
	} {
		r := e.get(path, "").want(t, http.StatusOK)
		if r.header.Get("Content-Type") != ctype {
			t.Errorf("%s: Content-Type %q, want %q", path, r.header.Get("Content-Type"), ctype)
		}
		tag := r.header.Get("ETag")
		if tag == "" || r.header.Get("Cache-Control") == "" {
			t.Errorf("%s: no ETag or Cache-Control", path)
		}
		e.do(req{path: path, header: map[string]string{"If-None-Match": tag}}).want(t, http.StatusNotModified)
	}
	if cc := e.get("/vendor/leaflet.js", "").header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("vendor Cache-Control %q", cc)
	}
	if cc := e.get("/js/main.js", "").header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("app Cache-Control %q", cc)
	}
	e.get("/js/nothing.js", "").problem(t, http.StatusNotFound)
	e.get("/nothing", "").problem(t, http.StatusNotFound)
	e.get("/js/../../etc/passwd", "").want(t, http.StatusNotFound)

	bare := newEnv(t, withStatic(nil))
	r := bare.get("/", "")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "map is not built") {
		t.Errorf("without the map: %d %s", r.status, r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	e.get("/healthz", "").want(t, http.StatusOK)
	e.get("/api/collections", "").want(t, http.StatusOK)
	e.get("/api/collections/boats", "").want(t, http.StatusNotFound)
	r := e.get("/metrics", "").want(t, http.StatusOK)
	body := string(r.body)
	for _, want := range []string{
		`nexus_http_requests_total{code="200",route="GET /api/collections"} 1`,
		`nexus_http_requests_total{code="404",route="GET /api/collections/{c}"} 1`,
		`nexus_http_request_duration_seconds_bucket{route="GET /api/collections",le="+Inf"} 1`,
		`nexus_changelog_seq 0`,
		`nexus_database_size_bytes `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if regexp.MustCompile(`nexus_database_size_bytes 0\n`).MatchString(body) {
		t.Errorf("database size is 0")
	}
	// A closed database is unhealthy.
	e.db.Close()
	e.get("/healthz", "").problem(t, http.StatusServiceUnavailable)
}

func TestBasemap(t *testing.T) {
	if geocode.BasemapGeoJSON() == nil {
		t.Skip("reference data not built (data/reference/build.sh)")
	}
	e := newEnv(t)
	r := e.do(req{path: "/api/basemap.geojson", header: map[string]string{"Accept-Encoding": "gzip"}}).want(t, http.StatusOK)
	if r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Content-Type") != "application/geo+json" || !strings.Contains(r.header.Get("Cache-Control"), "max-age") {
		t.Errorf("headers %v", r.header)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var fc struct {
		Type     string
		Features []json.RawMessage
	}
	if err := json.Unmarshal(plain, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) < 100 {
		t.Errorf("basemap: %v, %s with %d features", err, fc.Type, len(fc.Features))
	}
	// Without gzip: the same bytes, decompressed by the server.
	r2 := e.do(req{path: "/api/basemap.geojson", header: map[string]string{"Accept-Encoding": "identity"}}).want(t, http.StatusOK)
	if r2.header.Get("Content-Encoding") != "" || string(r2.body) != string(plain) {
		t.Errorf("identity: Content-Encoding %q, %d bytes (want %d)", r2.header.Get("Content-Encoding"), len(r2.body), len(plain))
	}
}

func TestGeocodeEndpoints(t *testing.T) {
	g, err := geocode.Default()
	if err != nil {
		t.Skipf("gazetteer not available: %v", err)
	}
	e := newEnv(t, func(c *api.Config) { c.Geocoder = g })
	var places []geocode.Place
	e.get("/api/geocode?q=Bogota&limit=3", "").want(t, http.StatusOK).json(t, &places)
	if len(places) == 0 || places[0].Country != "CO" || len(places) > 3 {
		t.Errorf("Bogota: %+v", places)
	}
	var rev geocode.Reverse
	e.get("/api/reverse?lon=-74.07&lat=4.71", "").want(t, http.StatusOK).json(t, &rev)
	if rev.Country != "CO" || rev.AtSea || rev.Nearest == nil {
		t.Errorf("reverse: %+v", rev)
	}
	for _, bad := range []string{
		"/api/geocode", "/api/geocode?q=", "/api/geocode?q=" + strings.Repeat("a", 201), "/api/geocode?q=x&limit=0", "/api/geocode?q=x&limit=abc",
		"/api/reverse?lon=200&lat=0", "/api/reverse?lon=x&lat=0", "/api/reverse?lon=0", "/api/reverse?lon=NaN&lat=0",
	} {
		e.get(bad, "").problem(t, http.StatusBadRequest)
	}
}

// TestOverviewAnswersAsTheStore: the same views and statistics, answered
// from the overview index and by the store, agree on every count, before
// and after writes.
func TestOverviewAnswersAsTheStore(t *testing.T) {
	e := newEnv(t)
	loadSynth(t, e.db, 5, api.MaxViewFeatures+300, 0)
	sqlOnly := &env{t: t, db: e.db, srv: httptest.NewServer(api.New(api.Config{Store: e.db}))}
	sqlOnly.URL = sqlOnly.srv.URL
	defer sqlOnly.srv.Close()
	queries := []string{
		"/api/view?zoom=2",
		"/api/view?zoom=5&bbox=-90,-10,-60,15",
		"/api/view?zoom=5&bbox=-90,-10,-60,15&type=attack,plot&datetime=2000/2004-06",
		"/api/view?zoom=9&bbox=-75,0,-73,2",
		"/api/view?zoom=3&bbox=170,-60,-100,60",
		"/api/view?zoom=3&actor=ELN&country=co,mx",
		"/api/stats?by=type&bbox=-90,-10,-60,15",
		"/api/stats?by=month&type=arrest",
		"/api/stats?by=country&datetime=2010/..",
		"/api/stats?by=actor&bbox=-100,-40,-30,20&type=seizure",
	}
	compare := func(stage string) {
		for _, q := range queries {
			var ours, theirs map[string]any
			e.get(q, "").want(t, http.StatusOK).json(t, &ours)
			sqlOnly.get(q, "").want(t, http.StatusOK).json(t, &theirs)
			if strings.HasPrefix(q, "/api/stats") {
				if fmt.Sprint(ours["counts"]) != fmt.Sprint(theirs["counts"]) {
					t.Errorf("%s: %s: index %v, store %v", stage, q, ours["counts"], theirs["counts"])
				}
				continue
			}
			if ours["numberMatched"] != theirs["numberMatched"] || ours["clustered"] != theirs["clustered"] {
				t.Errorf("%s: %s: index matched %v clustered %v, store %v %v", stage, q, ours["numberMatched"], ours["clustered"], theirs["numberMatched"], theirs["clustered"])
			}
		}
	}
	compare("after the import")
	for i := range 20 {
		e.create(geo.Incidents, strings.Replace(validIncident, `"plot"`, []string{`"attack"`, `"arrest"`}[i%2], 1))
	}
	loadSynth(t, e.db, 6, 400, 0)
	compare("after more writes")
}
