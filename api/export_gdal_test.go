package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"nexus/api"
	"nexus/geo"
)

// An incident whose text cells would be formulas in a spreadsheet.
const formulaIncident = `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.07210000000001,4.711000000000001]},"properties":{"title":"=HYPERLINK(\"http://x\")","summary":"-5 killed, said @someone","type":"attack","date":"2019-01-17","country":"CO","precision":"exact","actors":["ELN","+plus"],"killed":22,"wounded":null,"tags":["car bomb"],"external_id":"test:formula"}}`

// A route of two lines.
const multiRoute = `{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[-80.1,8.9],[-79.5,9.4]],[[-70.25,18.5],[-60.125,14.75]]]},"properties":{"name":"Two legs","commodity":"arms","mode":"mixed","actors":["CJNG"],"active_from":"2020-03","active_to":"2021","confidence":"medium"}}`

// download saves a response body to a file in dir and returns its path
// and headers.
func download(t *testing.T, e *env, path, dir, name string) (string, http.Header) {
	t.Helper()
	r := e.get(path, "").want(t, http.StatusOK)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, r.body, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, r.header
}

// fieldTypes reads "name: Type (w.p)" lines of ogrinfo -so.
func fieldTypes(out string) map[string]string {
	types := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+): (\w+(?:\(\w+\))?) \(`).FindAllStringSubmatch(out, -1) {
		types[m[1]] = m[2]
	}
	return types
}

// scalar is a property value as text, for comparing what came back
// through GDAL with what the API serves: null and "" alike, numbers in
// their shortest form, lists joined with ";".
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = scalar(x)
		}
		return strings.Join(parts, ";")
	}
	return fmt.Sprint(v)
}

// sameRecords compares features read back through GDAL with the API's:
// the same ids, exactly the same coordinates, the same scalar properties,
// lists split on ";".
func sameRecords(t *testing.T, what string, got []feature, want []feature, props []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d features, the API has %d", what, len(got), len(want))
	}
	byID := map[string]feature{}
	for _, f := range got {
		id := scalar(f.Properties["id"])
		if id == "" {
			id = f.ID
		}
		byID[id] = f
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Fatalf("%s: id %s is missing", what, w.ID)
		}
		var gc, wc any
		json.Unmarshal(g.Geometry.Coordinates, &gc)
		json.Unmarshal(w.Geometry.Coordinates, &wc)
		if fmt.Sprint(gc) != fmt.Sprint(wc) {
			t.Errorf("%s: %s has coordinates %s, the API %s", what, w.ID, g.Geometry.Coordinates, w.Geometry.Coordinates)
		}
		for _, p := range props {
			if gv, wv := scalar(g.Properties[p]), scalar(w.Properties[p]); gv != wv {
				t.Errorf("%s: %s.%s is %q, the API says %q", what, w.ID, p, gv, wv)
			}
		}
	}
}

func readFC(t *testing.T, out string) []feature {
	t.Helper()
	var fc featureCollection
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatalf("GDAL wrote no GeoJSON: %v\n%.500s", err, out)
	}
	return fc.Features
}

var incidentScalars = []string{"title", "summary", "type", "date", "country", "precision", "killed", "wounded", "external_id", "version", "actors", "tags"}
var routeScalars = []string{"name", "commodity", "mode", "active_from", "active_to", "confidence", "external_id", "version", "actors", "waypoints"}

func TestExportFormatsGDAL(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		t.Skip("GDAL not installed (apt-get install gdal-bin; make test does it)")
	}
	const incidents, routes = 40, 4
	e := newEnv(t)
	loadSynth(t, e.db, 11, incidents, routes)
	e.create(geo.Incidents, formulaIncident)
	e.create(geo.Routes, multiRoute)
	link := e.create(geo.Links, validLink)
	dir := t.TempDir()
	apiIncidents, _ := e.pageAll("/api/collections/incidents/items?limit=1000", "")
	apiRoutes, _ := e.pageAll("/api/collections/routes/items?limit=1000", "")
	if len(apiIncidents) != incidents+1 || len(apiRoutes) != routes+1 {
		t.Fatalf("the API has %d incidents and %d routes", len(apiIncidents), len(apiRoutes))
	}

	t.Run("geojson field types are stable", func(t *testing.T) {
		all, _ := download(t, e, "/api/export.geojson", dir, "all.geojson")
		some, _ := download(t, e, "/api/export.geojson?type=attack,plot&commodity=arms", dir, "some.geojson")
		a := fieldTypes(gdal(t, "ogrinfo", "-ro", "-al", "-so", all))
		b := fieldTypes(gdal(t, "ogrinfo", "-ro", "-al", "-so", some))
		want := map[string]string{"collection": "String", "killed": "Integer", "actors": "StringList", "sources": "String(JSON)", "version": "Integer", "created": "DateTime", "title": "String"}
		for name, typ := range want {
			if a[name] != typ || b[name] != typ {
				t.Errorf("%s: ogrinfo says %q in the full export and %q in the filtered one, want %q", name, a[name], b[name], typ)
			}
		}
	})

	t.Run("geojson says each feature's collection and provenance", func(t *testing.T) {
		r := e.get("/api/export.geojson?type=attack", "").want(t, http.StatusOK)
		var fc struct {
			Type          string                   `json:"type"`
			NumberMatched int64                    `json:"numberMatched"`
			Counts        map[geo.Collection]int64 `json:"counts"`
			Filters       map[string]string        `json:"filters"`
			TimeStamp     string                   `json:"timeStamp"`
			Licence       string                   `json:"licence"`
			Attribution   string                   `json:"attribution"`
			Features      []struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"features"`
		}
		r.json(t, &fc)
		if fc.Filters["type"] != "attack" || fc.TimeStamp == "" || fc.Licence == "" || fc.Attribution == "" {
			t.Errorf("provenance: filters %v, timeStamp %q, licence %q, attribution %q", fc.Filters, fc.TimeStamp, fc.Licence, fc.Attribution)
		}
		if fc.Counts[geo.Incidents]+fc.Counts[geo.Routes] != int64(len(fc.Features)) || fc.NumberMatched != int64(len(fc.Features)) {
			t.Errorf("counts %v, numberMatched %d, for %d features", fc.Counts, fc.NumberMatched, len(fc.Features))
		}
		// Every property has one JSON type; arrays are never null.
		kinds := map[string]map[string]bool{}
		for _, f := range fc.Features {
			c := string(f.Properties["collection"])
			if c != `"incidents"` && c != `"routes"` {
				t.Fatalf("a feature says collection %s", c)
			}
			for k, v := range f.Properties {
				kind := "null"
				switch v[0] {
				case '"':
					kind = "string"
				case '[':
					kind = "array"
				case '{':
					kind = "object"
				case 't', 'f':
					kind = "boolean"
				case 'n':
				default:
					kind = "number"
				}
				key := c + "." + k
				if kinds[key] == nil {
					kinds[key] = map[string]bool{}
				}
				kinds[key][kind] = true
			}
		}
		for key, ks := range kinds {
			delete(ks, "null")
			if len(ks) > 1 {
				t.Errorf("property %s has JSON types %v", key, ks)
			}
		}
		for _, arr := range []string{`"incidents".actors`, `"incidents".sources`, `"incidents".tags`} {
			if ks := kinds[arr]; !ks["array"] || len(ks) != 1 {
				t.Errorf("%s: JSON types %v, want arrays only", arr, ks)
			}
		}
	})

	t.Run("geopackage has a typed table per collection, indexes and metadata", func(t *testing.T) {
		gpkg, _ := download(t, e, "/api/export.gpkg", dir, "all.gpkg")
		out := gdal(t, "ogrinfo", "-ro", gpkg)
		for _, want := range []string{"1: incidents (Point)", "2: routes (Multi Line String)", "3: links (None)"} {
			if !strings.Contains(out, want) {
				t.Errorf("ogrinfo lists no %q:\n%s", want, out)
			}
		}
		if !strings.Contains(out, fmt.Sprintf("COUNT_INCIDENTS=%d", incidents+1)) || !strings.Contains(out, "LICENCE=") || !strings.Contains(out, "EXPORTED=") {
			t.Errorf("the GeoPackage's metadata lacks the provenance:\n%s", out)
		}
		for _, layer := range []struct {
			name  string
			count int
		}{{"incidents", incidents + 1}, {"routes", routes + 1}, {"links", 1}} {
			info := gdal(t, "ogrinfo", "-ro", "-so", gpkg, layer.name)
			if m := featureCount.FindStringSubmatch(info); m == nil || m[1] != strconv.Itoa(layer.count) {
				t.Errorf("%s: want Feature Count: %d in:\n%s", layer.name, layer.count, info)
			}
			types := fieldTypes(info)
			want := map[string]string{"id": "String", "version": "Integer64", "created": "DateTime", "tags": "String(JSON)", "sources": "String(JSON)"}
			if layer.name == "incidents" {
				want["killed"], want["wounded"] = "Integer64", "Integer64"
			}
			for f, typ := range want {
				if types[f] != typ {
					t.Errorf("%s.%s is %q, want %q", layer.name, f, types[f], typ)
				}
			}
			if layer.name == "links" {
				continue // a plain table: no geometry, no index
			}
			idx := gdal(t, "ogrinfo", "-ro", gpkg, "-sql", fmt.Sprintf("SELECT HasSpatialIndex('%s', 'geom')", layer.name))
			if !regexp.MustCompile(`= 1\b`).MatchString(idx) {
				t.Errorf("%s has no spatial index:\n%s", layer.name, idx)
			}
		}
		back := readFC(t, gdal(t, "ogr2ogr", "-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "-lco", "SIGNIFICANT_FIGURES=17", "/vsistdout/", gpkg, "incidents"))
		// The GeoPackage keeps lists as JSON text, declared so: GDAL
		// writes them back as arrays.
		for _, f := range back {
			for _, p := range []string{"actors", "tags"} {
				if _, ok := f.Properties[p].([]any); !ok {
					t.Fatalf("GDAL did not read %s as JSON: %v", p, f.Properties[p])
				}
			}
		}
		sameRecords(t, "GeoPackage", back, apiIncidents, incidentScalars)
	})

	t.Run("csv comes back as the same records", func(t *testing.T) {
		csvFile, h := download(t, e, "/api/export.csv", dir, "incidents.csv")
		raw, _ := os.ReadFile(csvFile)
		if !strings.HasPrefix(string(raw), "\uFEFFid,") {
			t.Fatalf("the CSV starts %q: want a BOM, then the header", raw[:min(len(raw), 20)])
		}
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("Content-Type %q", ct)
		}
		var prov struct {
			Counts  map[geo.Collection]int64 `json:"counts"`
			Licence string                   `json:"licence"`
		}
		if err := json.Unmarshal([]byte(h.Get(api.ProvenanceHeader)), &prov); err != nil || prov.Counts[geo.Incidents] != incidents+1 || prov.Licence == "" {
			t.Errorf("%s header %q: want the counts and licence (%v)", api.ProvenanceHeader, h.Get(api.ProvenanceHeader), err)
		}
		open := []string{"-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat", "-oo", "KEEP_GEOM_COLUMNS=NO", "-oo", "EMPTY_STRING_AS_NULL=YES"}
		types := fieldTypes(gdal(t, "ogrinfo", append([]string{"-ro", "-al", "-so", "-oo", "AUTODETECT_TYPE=YES", csvFile}, open...)...))
		for f, typ := range map[string]string{"killed": "Integer", "version": "Integer", "title": "String", "summary": "String"} {
			if types[f] != typ {
				t.Errorf("CSV column %s reads as %q, want %q", f, types[f], typ)
			}
		}
		out := gdal(t, "ogr2ogr", append([]string{"-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "-lco", "SIGNIFICANT_FIGURES=17", "/vsistdout/", csvFile}, open...)...)
		back := readFC(t, out)
		for _, f := range back {
			if f.Properties["id"] == "test:formula" || f.Properties["external_id"] == "test:formula" {
				// The formula cells come out inert: a spreadsheet shows
				// them as text, GDAL reads them with the apostrophe.
				if f.Properties["title"] != `'=HYPERLINK("http://x")` || f.Properties["summary"] != "'-5 killed, said @someone" {
					t.Errorf("formula cells: title %q, summary %q", f.Properties["title"], f.Properties["summary"])
				}
				f.Properties["title"] = strings.TrimPrefix(f.Properties["title"].(string), "'")
				f.Properties["summary"] = strings.TrimPrefix(f.Properties["summary"].(string), "'")
			}
		}
		sameRecords(t, "CSV", back, apiIncidents, incidentScalars)
		if !strings.Contains(string(raw), `"'=HYPERLINK(""http://x"")"`) {
			t.Errorf("the CSV does not hold the inert cell '=HYPERLINK(...)")
		}
		if strings.Contains(string(raw), `,=HYPERLINK`) || strings.Contains(string(raw), `,"=HYPERLINK`) {
			t.Errorf("a cell starts with =HYPERLINK")
		}
	})

	t.Run("csv of routes has a WKT column", func(t *testing.T) {
		csvFile, _ := download(t, e, "/api/export.csv?collections=routes", dir, "routes.csv")
		out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "-lco", "SIGNIFICANT_FIGURES=17", "-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO", "-oo", "EMPTY_STRING_AS_NULL=YES", "/vsistdout/", csvFile)
		sameRecords(t, "CSV routes", readFC(t, out), apiRoutes, routeScalars)
		e.get("/api/export.csv?collections=incidents,routes", "").problem(t, http.StatusBadRequest)
	})

	t.Run("links are a plain CSV and no part of KML", func(t *testing.T) {
		csvFile, _ := download(t, e, "/api/export.csv?collections=links", dir, "links.csv")
		out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-oo", "EMPTY_STRING_AS_NULL=YES", "/vsistdout/", csvFile)
		sameRecords(t, "CSV links", readFC(t, out), []feature{link}, []string{"from", "to", "relation", "date_from", "confidence", "summary", "tags"})
		e.get("/api/export.kml?collections=links", "").problem(t, http.StatusBadRequest)
	})

	t.Run("kml comes back as the same records", func(t *testing.T) {
		kml, _ := download(t, e, "/api/export.kml", dir, "all.kml")
		raw, _ := os.ReadFile(kml)
		if !strings.Contains(string(raw), `<Style id="type-attack">`) || !strings.Contains(string(raw), `<Style id="commodity-cocaine">`) {
			t.Errorf("the KML has no styles per type and commodity")
		}
		if !regexp.MustCompile(`(?s)<Document>.*<description>Exported by Nexus.*Records: \d+ incidents \d+ routes`).Match(raw) {
			t.Errorf("the KML document's description does not say what produced it")
		}
		for _, layer := range []struct {
			name  string
			want  []feature
			props []string
		}{{"incidents", apiIncidents, incidentScalars}, {"routes", apiRoutes, routeScalars}} {
			out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "-lco", "SIGNIFICANT_FIGURES=17", "/vsistdout/", kml, layer.name)
			back := readFC(t, out)
			if layer.name == "routes" {
				// A route's name is its Placemark's name.
				for _, f := range back {
					f.Properties["name"] = f.Properties["Name"]
				}
			}
			sameRecords(t, "KML "+layer.name, back, layer.want, layer.props)
		}
	})
}
