package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/paulmach/orb/maptile"
)

// tileInfo downloads a tile and reads it with GDAL's MVT driver: the
// features of its layer, as GeoJSON.
func tileInfo(t *testing.T, e *env, c string, z, y, x uint32, query string) []feature {
	t.Helper()
	r := e.get(fmt.Sprintf("/api/collections/%s/tiles/WebMercatorQuad/%d/%d/%d%s", c, z, y, x, query), "").want(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/vnd.mapbox-vector-tile" {
		t.Fatalf("Content-Type %q", ct)
	}
	file := filepath.Join(t.TempDir(), "tile.mvt")
	if err := os.WriteFile(file, r.body, 0o644); err != nil {
		t.Fatal(err)
	}
	open := []string{"-oo", "CLIP=NO", "-oo", "X=" + strconv.Itoa(int(x)), "-oo", "Y=" + strconv.Itoa(int(y)), "-oo", "Z=" + strconv.Itoa(int(z))}
	info := gdal(t, "ogrinfo", append([]string{"-ro", "-so", "-al", file}, open...)...)
	out := gdal(t, "ogr2ogr", append([]string{"-f", "GeoJSON", "/vsistdout/", file, c}, open...)...)
	var fc featureCollection
	if err := json.Unmarshal([]byte(out), &fc); err != nil {
		t.Fatalf("GDAL read no GeoJSON from the tile: %v", err)
	}
	if m := featureCount.FindStringSubmatch(info); m == nil || m[1] != strconv.Itoa(len(fc.Features)) {
		t.Fatalf("ogrinfo counts %v features in the tile, ogr2ogr wrote %d:\n%s", m, len(fc.Features), info)
	}
	return fc.Features
}

// inTile counts what the items endpoint finds in a tile's box with the
// buffer the tiles carry.
func inTile(t *testing.T, e *env, c string, tile maptile.Tile, query string) int {
	t.Helper()
	b := tile.Bound(1.0 / 32)
	features, _ := e.pageAll(fmt.Sprintf("/api/collections/%s/items?limit=10000&bbox=%v,%v,%v,%v%s", c, max(b.Min[0], -180), max(b.Min[1], -90), min(b.Max[0], 180), min(b.Max[1], 90), query), "")
	return len(features)
}

func TestVectorTiles(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		t.Skip("GDAL not installed (apt-get install gdal-bin; make test does it)")
	}
	const incidents, routes = 3000, 20
	e := newEnv(t)
	loadSynth(t, e.db, 3, incidents, routes)

	t.Run("low zoom carries clusters with their count", func(t *testing.T) {
		features := tileInfo(t, e, "incidents", 0, 0, 0, "")
		var total int64
		for _, f := range features {
			n, ok := f.Properties["count"].(float64)
			if !ok {
				t.Fatalf("a feature of a zoom-0 tile is not a cluster: %v", f.Properties)
			}
			total += int64(n)
		}
		if total != incidents || len(features) >= incidents/4 {
			t.Errorf("%d clusters count %d incidents; want fewer clusters counting all %d", len(features), total, incidents)
		}
	})

	t.Run("a tile holds the incidents in its box, under the filters", func(t *testing.T) {
		tile := maptile.At(pointOf(-60, 10), 4)
		for _, query := range []string{"", "?type=attack,plot", "?filter=" + "killed%20%3E%205"} {
			features := tileInfo(t, e, "incidents", uint32(tile.Z), tile.Y, tile.X, query)
			amp := "&" + query[min(1, len(query)):]
			want := inTile(t, e, "incidents", tile, amp)
			if want == 0 || len(features) != want {
				t.Errorf("tile %v%s holds %d incidents; items in its box: %d", tile, query, len(features), want)
			}
			for _, f := range features {
				if f.Properties["id"] == nil || f.Properties["type"] == nil {
					t.Fatalf("an incident of the tile lacks id or type: %v", f.Properties)
				}
			}
		}
	})

	t.Run("routes", func(t *testing.T) {
		tile := maptile.At(pointOf(-60, 0), 2)
		features := tileInfo(t, e, "routes", uint32(tile.Z), tile.Y, tile.X, "")
		if want := inTile(t, e, "routes", tile, ""); want == 0 || len(features) != want {
			t.Errorf("tile %v holds %d routes; items in its box: %d", tile, len(features), want)
		}
	})

	for path, status := range map[string]int{
		"/api/collections/incidents/tiles/WebMercatorQuad/3/8/0":    http.StatusNotFound,
		"/api/collections/incidents/tiles/WorldCRS84Quad/0/0/0":     http.StatusNotFound,
		"/api/collections/links/tiles/WebMercatorQuad/0/0/0":        http.StatusNotFound,
		"/api/collections/incidents/tiles/WebMercatorQuad/x/0/0":    http.StatusNotFound,
		"/api/collections/incidents/tiles/WebMercatorQuad/23/0/0":   http.StatusNotFound,
		"/api/collections/incidents/tiles/WebMercatorQuad/0/0/0?t=": http.StatusBadRequest,
	} {
		e.get(path, "").problem(t, status)
	}
}
