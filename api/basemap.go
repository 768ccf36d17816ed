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

	"nexus/geo"
	"nexus/geocode"
	"nexus/store"
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
func (s *Server) basemapGeoJSON(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
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
