package api_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"strconv"
	"testing"

	"nexus/api"
	"nexus/geocode"
)

// tileAt is the tile of zoom z holding a point.
func tileAt(z int, lon, lat float64) (x, y int) {
	s := math.Sin(lat * math.Pi / 180)
	n := math.Exp2(float64(z))
	return int((lon + 180) / 360 * n), int((0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * n)
}

func tilePath(kind string, z, x, y int, ext string) string {
	return "/api/basemap/" + kind + "/" + strconv.Itoa(z) + "/" + strconv.Itoa(x) + "/" + strconv.Itoa(y) + ext
}

func TestBasemapTiles(t *testing.T) {
	e := newEnv(t)
	// Tumaco's coast at zoom 8: a tile with shapes, gzip-compressed, whose
	// body is the same decompressed for a client without gzip.
	x, y := tileAt(8, -78.79, 1.79)
	r := e.do(req{path: tilePath("tiles", 8, x, y, ".bin"), header: map[string]string{"Accept-Encoding": "gzip"}}).want(t, http.StatusOK)
	if r.header.Get("Content-Encoding") != "gzip" || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if len(plain) < 500 || plain[0] != 2 {
		t.Errorf("Tumaco's tile: kind %d, %d bytes", plain[0], len(plain))
	}
	r2 := e.do(req{path: tilePath("tiles", 8, x, y, ".bin"), header: map[string]string{"Accept-Encoding": "identity"}}).want(t, http.StatusOK)
	if !bytes.Equal(r2.body, plain) {
		t.Errorf("identity: %d bytes, want %d", len(r2.body), len(plain))
	}
	// The middle of the Atlantic is sea, the Amazon land.
	x, y = tileAt(8, -35, 20)
	if b := e.get(tilePath("tiles", 8, x, y, ".bin"), "").want(t, http.StatusOK).body; !bytes.Equal(b, []byte{0}) {
		t.Errorf("mid-Atlantic: %v", b)
	}
	x, y = tileAt(8, -62, -5)
	if b := e.get(tilePath("tiles", 8, x, y, ".bin"), "").want(t, http.StatusOK).body; !bytes.Equal(b, []byte{1}) {
		t.Errorf("Amazon: %v", b)
	}
	for _, bad := range []string{"/api/basemap/tiles/3/0/0.bin", "/api/basemap/tiles/2/0/0.json"} {
		e.get(bad, "").problem(t, http.StatusNotFound)
	}
	for _, bad := range []string{"/api/basemap/tiles/10/0/0.bin", "/api/basemap/tiles/2/4/0.bin", "/api/basemap/tiles/x/0/0.bin", "/api/basemap/tiles/2/0/-1.bin", "/api/basemap/tiles/99999999999999999999/0/0.bin"} {
		e.get(bad, "").problem(t, http.StatusBadRequest)
	}
}

func TestBasemapLabels(t *testing.T) {
	g, err := geocode.Default()
	if err != nil {
		t.Fatalf("gazetteer: %v", err)
	}
	e := newEnv(t, func(c *api.Config) { c.Geocoder = g; c.Private = true })
	// Open even on a private server: place names hold no data.
	x, y := tileAt(3, -74.08, 4.61)
	var labels []geocode.Label
	e.get(tilePath("labels", 3, x, y, ".json"), "").want(t, http.StatusOK).json(t, &labels)
	found := false
	for _, l := range labels {
		found = found || l.Name == "Bogotá" && l.Kind == geocode.KindCapital
	}
	if !found {
		t.Errorf("zoom 3 over Colombia: %+v", labels)
	}
	e.get("/api/basemap/labels/3/8/0.json", "").problem(t, http.StatusBadRequest)
	e.get("/api/basemap/labels/3/0/0.bin", "").problem(t, http.StatusNotFound)
}
