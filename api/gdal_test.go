package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// GDAL is the "real GIS client" of the acceptance criteria: QGIS reads OGC
// API – Features through the same driver (OAPIF). The tests run the GDAL
// command-line tools against a real server.

// gdal runs a GDAL tool and returns its standard output; it skips the test
// when GDAL is not installed (make test installs it).
func gdal(t testing.TB, tool string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install gdal-bin; make test does it)", tool)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(),
		"GDAL_HTTP_TIMEOUT=30",
		"GDAL_HTTP_MAX_RETRY=0",
		"GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR",
		"CPL_VSIL_CURL_USE_HEAD=NO",
		"GDAL_HTTP_USERAGENT=nexus-test",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %.2000s\nstderr: %.2000s", tool, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "ERROR") {
		t.Fatalf("%s %s reported errors:\n%.2000s", tool, strings.Join(args, " "), s)
	}
	return stdout.String()
}

var featureCount = regexp.MustCompile(`Feature Count: (\d+)`)

func TestGDAL(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		t.Skip("GDAL not installed (apt-get install gdal-bin; make test does it)")
	}
	const incidents, routes = 250, 5
	e := newEnv(t)
	loadSynth(t, e.db, 7, incidents, routes)
	oapif := "OAPIF:" + e.URL + "/api"

	t.Run("lists both collections", func(t *testing.T) {
		out := gdal(t, "ogrinfo", "-ro", "-so", oapif)
		for _, want := range []string{"incidents", "routes"} {
			if !regexp.MustCompile(`(?m)^\d+: ` + want + `\b`).MatchString(out) {
				t.Errorf("ogrinfo does not list %s:\n%s", want, out)
			}
		}
	})

	t.Run("counts every incident", func(t *testing.T) {
		out := gdal(t, "ogrinfo", "-ro", "-al", "-so", oapif, "incidents")
		m := featureCount.FindStringSubmatch(out)
		if m == nil || m[1] != strconv.Itoa(incidents) {
			t.Errorf("want Feature Count: %d in:\n%s", incidents, out)
		}
	})

	t.Run("reads every incident through pages", func(t *testing.T) {
		// GDAL pages with limit and follows next links: every id once.
		out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "/vsistdout/", oapif, "incidents")
		ids := gdalIDs(t, out)
		if len(ids) != incidents {
			t.Fatalf("GDAL read %d incidents, want %d", len(ids), incidents)
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("GDAL read id %s twice", id)
			}
			seen[id] = true
		}
	})

	t.Run("reads every incident into a GeoPackage in pages of its default size", func(t *testing.T) {
		// A proxy in front of the server counts GDAL's pages; the links
		// the server writes follow the Host, so GDAL stays on the proxy.
		target, _ := url.Parse(e.URL)
		var pages atomic.Int64
		rp := httputil.NewSingleHostReverseProxy(target)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/items") {
				pages.Add(1)
			}
			rp.ServeHTTP(w, r)
		}))
		defer proxy.Close()
		gpkg := filepath.Join(t.TempDir(), "out.gpkg")
		gdal(t, "ogr2ogr", "-f", "GPKG", gpkg, "OAPIF:"+proxy.URL+"/api", "incidents")
		out := gdal(t, "ogrinfo", "-ro", "-al", "-so", gpkg)
		if m := featureCount.FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(incidents) {
			t.Fatalf("GeoPackage: want Feature Count: %d in:\n%s", incidents, out)
		}
		t.Logf("%d incidents in %d pages", incidents, pages.Load())
		if pages.Load() < incidents/100 {
			t.Errorf("GDAL read %d incidents in %d pages: it did not page", incidents, pages.Load())
		}
		ids := gdalIDs(t, gdal(t, "ogr2ogr", "-f", "GeoJSON", "/vsistdout/", gpkg))
		seen := map[string]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		if len(seen) != incidents {
			t.Errorf("the GeoPackage holds %d distinct ids, want %d", len(seen), incidents)
		}
	})

	t.Run("spatial filter matches bbox", func(t *testing.T) {
		w, s, east, n := -80.0, -5.0, -40.0, 15.0
		out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-spat", ftoa(w), ftoa(s), ftoa(east), ftoa(n), "/vsistdout/", oapif, "incidents")
		got := gdalIDs(t, out)
		features, _ := e.pageAll(fmt.Sprintf("/api/collections/incidents/items?bbox=%v,%v,%v,%v&limit=1000", w, s, east, n), "")
		var want []string
		for _, f := range features {
			want = append(want, f.ID)
		}
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ogr2ogr -spat gave %d features, bbox= gave %d; they must be the same", len(got), len(want))
		}
		out = gdal(t, "ogrinfo", "-ro", "-so", "-spat", ftoa(w), ftoa(s), ftoa(east), ftoa(n), oapif, "incidents")
		if m := featureCount.FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(len(want)) {
			t.Errorf("ogrinfo -spat: want Feature Count: %d in:\n%s", len(want), out)
		}
	})

	t.Run("export to GeoPackage keeps every coordinate", func(t *testing.T) {
		dir := t.TempDir()
		gpkg := filepath.Join(dir, "out.gpkg")
		gdal(t, "ogr2ogr", "-f", "GPKG", gpkg, "/vsicurl_streaming/"+e.URL+"/api/export.geojson?collections=incidents")
		out := gdal(t, "ogrinfo", "-ro", "-al", "-so", gpkg)
		if m := featureCount.FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(incidents) {
			t.Fatalf("GeoPackage: want Feature Count: %d in:\n%s", incidents, out)
		}
		back := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-lco", "COORDINATE_PRECISION=17", "-lco", "SIGNIFICANT_FIGURES=17", "/vsistdout/", gpkg)
		var fc struct {
			Features []struct {
				Geometry struct {
					Coordinates [2]float64 `json:"coordinates"`
				} `json:"geometry"`
				Properties struct {
					ExternalID string `json:"external_id"`
				} `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal([]byte(back), &fc); err != nil {
			t.Fatal(err)
		}
		want := map[string][2]float64{}
		for _, r := range synthRecords(t, 7, incidents, 0) {
			p := r.Geometry().(orb.Point)
			want[r.Keys().ExternalID] = [2]float64{p[0], p[1]}
		}
		if len(fc.Features) != incidents {
			t.Fatalf("read back %d features from the GeoPackage, want %d", len(fc.Features), incidents)
		}
		for _, f := range fc.Features {
			w, ok := want[f.Properties.ExternalID]
			if !ok {
				t.Fatalf("unknown external_id %q", f.Properties.ExternalID)
			}
			if f.Geometry.Coordinates != w {
				t.Fatalf("%s: GeoPackage has %v, stored %v: coordinates must come back exactly", f.Properties.ExternalID, f.Geometry.Coordinates, w)
			}
		}
	})
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// gdalIDs reads the ids of a GeoJSON FeatureCollection written by GDAL,
// where the API's id may be the feature id or a property "id".
func gdalIDs(t testing.TB, out string) []string {
	t.Helper()
	var fc struct {
		Features []struct {
			ID         any            `json:"id"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatalf("GDAL output is not GeoJSON: %v\n%.1000s", err, out)
	}
	ids := make([]string, 0, len(fc.Features))
	for _, f := range fc.Features {
		id, _ := f.Properties["id"].(string)
		if id == "" {
			id = fmt.Sprint(f.ID)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestGDALPushesWhereDown(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		t.Skip("GDAL not installed (apt-get install gdal-bin; make test does it)")
	}
	e := newEnv(t)
	loadSynth(t, e.db, 5, 300, 3)
	oapif := "OAPIF:" + e.URL + "/api"
	where := "type = 'seizure' AND killed > 0"
	out := gdal(t, "ogr2ogr", "-f", "GeoJSON", "-where", where, "/vsistdout/", oapif, "incidents")
	got := gdalIDs(t, out)
	features, _ := e.pageAll("/api/collections/incidents/items?type=seizure&filter=killed%20%3E%200&limit=1000", "")
	var want []string
	for _, f := range features {
		if f.Properties["type"] != "seizure" || f.Properties["killed"] == nil || f.Properties["killed"].(float64) <= 0 {
			t.Fatalf("the API's answer holds %s: %v", f.ID, f.Properties)
		}
		want = append(want, f.ID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(want) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ogr2ogr -where %q gave %d features; the API's type=seizure with killed > 0 gives %d", where, len(got), len(want))
	}
	// The filter reached the server: GDAL pushed it down as cql-text.
	logs := e.logs.String()
	pushed := regexp.MustCompile(`route="GET /api/collections/\{c\}/items".*filter="\(type = 'seizure'\) AND \(killed > 0\)"`)
	if !pushed.MatchString(logs) {
		t.Errorf("no items request in the server log carries the filter:\n%.3000s", logs)
	}
	out = gdal(t, "ogrinfo", "-ro", "-so", "-where", where, oapif, "incidents")
	if m := featureCount.FindStringSubmatch(out); m == nil || m[1] != strconv.Itoa(len(want)) {
		t.Errorf("ogrinfo -where: want Feature Count: %d in:\n%s", len(want), out)
	}
}
