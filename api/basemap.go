package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"

	tiles "nexus/basemap"
	"nexus/geo"
	"nexus/geocode"
)

// basemap holds the Natural Earth country shapes, gzip-compressed as the
// geocode package embeds them.
type basemap struct {
	gz   []byte
	etag string
}

func newBasemap(gz []byte) *basemap {
	if len(gz) == 0 {
		return nil
	}
	sum := sha256.Sum256(gz)
	return &basemap{gz: gz, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// basemapGeoJSON answers GET /api/basemap.geojson: the compressed bytes as
// they are to clients that accept gzip, decompressed for the others. It
// changes only with the binary, so it is cached for a week.
func (s *Server) basemapGeoJSON(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if s.basemap == nil {
		return errorf(geo.ENOTFOUND, "the basemap is not built into this binary: run data/reference/build.sh")
	}
	h := w.Header()
	h.Set("Content-Type", typeGeoJSON)
	h.Set("Cache-Control", "public, max-age=604800")
	h.Set("ETag", s.basemap.etag)
	h.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == s.basemap.etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if acceptsGzip(r) {
		h.Set("Content-Encoding", geocode.BasemapContentEncoding)
		h.Set("Content-Length", strconv.Itoa(len(s.basemap.gz)))
		w.Write(s.basemap.gz)
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(s.basemap.gz))
	if err != nil {
		return err
	}
	defer zr.Close()
	_, err = io.Copy(w, zr)
	if err != nil {
		s.log.Warn("basemap", "err", err)
	}
	return nil
}

// acceptsGzip reads Accept-Encoding, honouring q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		if q, ok := strings.CutPrefix(params, "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// tileCoords parses the z, x and y of a basemap tile path ({y} ends in
// ext) and checks them against the grid of zoom maxZoom.
func tileCoords(r *http.Request, ext string, maxZoom int) (z, x, y int, err error) {
	ys, ok := strings.CutSuffix(r.PathValue("y"), ext)
	if !ok {
		return 0, 0, 0, errorf(geo.ENOTFOUND, "this path is z/x/y%s", ext)
	}
	parse := func(name, s string, hi int) (int, error) {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > hi {
			return 0, errorf(geo.EMALFORMED, "tile %s %q is not an integer in 0..%d", name, s, hi)
		}
		return v, nil
	}
	if z, err = parse("z", r.PathValue("z"), maxZoom); err != nil {
		return
	}
	if x, err = parse("x", r.PathValue("x"), 1<<z-1); err != nil {
		return
	}
	y, err = parse("y", ys, 1<<z-1)
	return
}

// basemapTile answers GET /api/basemap/tiles/{z}/{x}/{y}.bin: land, coasts
// and borders of one tile, in the binary form package basemap describes
// (zooms 0, 2, 4 … basemap.MaxZoom). Tiles change only with the binary:
// cached for a week.
func (s *Server) basemapTile(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	set, err := tiles.Default()
	if err != nil {
		return errorf(eUnavailable, "the offline basemap is not available: %v", err)
	}
	z, x, y, err := tileCoords(r, ".bin", tiles.MaxZoom)
	if err != nil {
		return err
	}
	body, gz, ok := set.Tile(z, x, y)
	if !ok {
		return errorf(geo.ENOTFOUND, "basemap tiles exist at zooms 0 to %d in steps of %d, not %d", tiles.MaxZoom, tiles.ZoomStep, z)
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "public, max-age=604800")
	if !gz {
		_, err = w.Write(body)
		return err
	}
	h.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		_, err = w.Write(body)
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer zr.Close()
	_, err = io.Copy(w, zr)
	return err
}

// basemapLabels answers GET /api/basemap/labels/{z}/{x}/{y}.json: the places
// labelled at zoom z in that tile, best ranked first (see
// geocode.Gazetteer.Labels).
func (s *Server) basemapLabels(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if s.cfg.Geocoder == nil {
		return errorf(eUnavailable, "place labels are not available: this server was started without the gazetteer")
	}
	z, x, y, err := tileCoords(r, ".json", 22)
	if err != nil {
		return err
	}
	labels := s.cfg.Geocoder.Labels(z, x, y)
	if labels == nil {
		labels = []geocode.Label{}
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	return writeJSON(w, http.StatusOK, typeJSON, labels)
}
