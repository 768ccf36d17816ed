package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/geocode"
	"nexus/overview"
	"nexus/store"
)

// geocode answers GET /api/geocode?q=&limit=: candidate places, best first,
// as a JSON array of {name, admin1, country, point, population, precision}.
func (s *Server) geocode(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, []string{"q", "limit", "f"}); err != nil {
		return err
	}
	name, limit, err := parseGeocode(q)
	if err != nil {
		return err
	}
	if s.cfg.Geocoder == nil {
		return errorf(eUnavailable, "place search is not available: this server was started without the gazetteer")
	}
	places, err := s.cfg.Geocoder.Forward(name, limit)
	if err != nil {
		return geocodeError(err)
	}
	if places == nil {
		places = []geocode.Place{}
	}
	return writeJSON(w, http.StatusOK, typeJSON, places)
}

// reverse answers GET /api/reverse?lon=&lat=: the country (or territorial
// sea) a point is in, and the nearest populated place.
func (s *Server) reverse(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, []string{"lon", "lat", "f"}); err != nil {
		return err
	}
	lon, lat, err := parseLonLat(q)
	if err != nil {
		return err
	}
	if s.cfg.Geocoder == nil {
		return errorf(eUnavailable, "reverse geocoding is not available: this server was started without the gazetteer")
	}
	rev, err := s.cfg.Geocoder.Reverse(lon, lat)
	if err != nil {
		return geocodeError(err)
	}
	return writeJSON(w, http.StatusOK, typeJSON, rev)
}

// geocodeError turns the gazetteer's ErrBadQuery into EMALFORMED.
func geocodeError(err error) error {
	if errors.Is(err, geocode.ErrBadQuery) {
		msg := strings.TrimPrefix(err.Error(), geocode.ErrBadQuery.Error()+": ")
		return errorf(geo.EMALFORMED, "%s", msg)
	}
	return err
}

// stats answers GET /api/stats?by=: counts under the same filters as items.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, statsParams); err != nil {
		return err
	}
	by, err := parseBy(q)
	if err != nil {
		return err
	}
	c, err := parseCollectionParam(q)
	if err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	var counts []store.Count
	if ov := s.cfg.Overview; ov != nil && c == geo.Incidents && overview.Handles(f) {
		counts, err = overviewStats(r.Context(), ov, f, by)
	} else {
		counts, err = s.cfg.Store.Stats(r.Context(), c, f, by)
	}
	if err != nil {
		return err
	}
	if by == "actor" {
		a, err := s.cfg.Store.Aliases(r.Context())
		if err != nil {
			return err
		}
		counts = mergeActors(a, counts)
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"by": by, "collection": c, "counts": counts})
}

// MaxViewFeatures is the most features /api/view sends: incidents
// themselves up to this many, cluster points beyond.
const MaxViewFeatures = 5000

// view answers GET /api/view?bbox=&zoom=: the incidents in a map view.
// When no more than MaxViewFeatures match they come as they are
// ("clustered": false); otherwise as cluster points of a grid whose cell
// is about 64 pixels at the zoom ("clustered": true), each with its count
// and its count by type. Either way numberMatched is the number of
// incidents that match.
func (s *Server) view(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, viewParams); err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	zoom, err := parseZoom(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if ov := s.cfg.Overview; ov != nil && overview.Handles(f) {
		return s.overviewView(w, r, ov, f, zoom)
	}
	matched, err := s.cfg.Store.Count(ctx, geo.Incidents, f)
	if err != nil {
		return err
	}
	type head struct {
		Type           string  `json:"type"`
		Clustered      bool    `json:"clustered"`
		Cell           float64 `json:"cell,omitempty"`
		NumberMatched  int64   `json:"numberMatched"`
		NumberReturned int     `json:"numberReturned"`
	}
	var features [][]byte
	h := head{Type: "FeatureCollection", NumberMatched: matched}
	if matched <= MaxViewFeatures {
		page, err := s.cfg.Store.Query(ctx, geo.Incidents, f, 0, MaxViewFeatures)
		if err != nil {
			return err
		}
		features = page.Features
	} else {
		h.Clustered = true
		h.Cell = clusterCell(f.BBox, zoom)
		clusters, err := s.cfg.Store.Clusters(ctx, f, h.Cell)
		if err != nil {
			return err
		}
		if len(clusters) > MaxViewFeatures {
			// Cannot happen with the cell clusterCell chose; never send more.
			clusters = clusters[:MaxViewFeatures]
		}
		for _, c := range clusters {
			b, err := clusterFeature(c)
			if err != nil {
				return err
			}
			features = append(features, b)
		}
	}
	h.NumberReturned = len(features)
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.Write(hb[:len(hb)-1])
	buf.WriteString(`,"features":[`)
	for i, f := range features {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(f)
	}
	buf.WriteString("\n]}\n")
	w.Header().Set("Content-Type", typeGeoJSON)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
	return nil
}

// clusterCell is the grid cell in degrees for a zoom: a 256-pixel tile
// spans 360/2^zoom degrees, so a quarter of that is about 64 pixels. The
// cell grows until the box cannot hold more than MaxViewFeatures cells.
func clusterCell(b *geo.BBox, zoom float64) float64 {
	cell := 360 / math.Pow(2, zoom) / 4
	width, height := 360.0, 180.0
	if b != nil {
		width, height = b.E-b.W, b.N-b.S
		if width < 0 {
			width += 360
		}
	}
	for (math.Ceil(width/cell)+1)*(math.Ceil(height/cell)+1) > MaxViewFeatures {
		cell *= 2
	}
	return cell
}

func clusterFeature(c store.Cluster) ([]byte, error) {
	types, err := json.Marshal(c.Types)
	if err != nil {
		return nil, err
	}
	b := []byte(`{"type":"Feature","geometry":`)
	b = geo.AppendGeometry(b, orb.Point{c.Lon, c.Lat})
	b = append(b, `,"properties":{"cluster":true,"count":`...)
	b = strconv.AppendInt(b, c.Count, 10)
	b = append(b, `,"types":`...)
	b = append(b, types...)
	return append(b, "}}"...), nil
}

// config answers GET /api/config: what the map needs to know.
func (s *Server) config(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	var role any
	if p.Role != "" {
		role = p.Role
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"tiles":       s.cfg.Tiles,
		"private":     s.cfg.Private,
		"role":        role,
		"attribution": geocode.Attribution,
		"sample":      s.cfg.Sample,
	})
}

// vocabulary answers GET /api/vocabulary: the values of the enumerations
// of the data model and the dimensions of stats, from their one definition
// in geo, so that the map's forms, filters and legend offer what the
// server accepts.
func (s *Server) vocabulary(w http.ResponseWriter, _ *http.Request, _ store.Principal) error {
	w.Header().Set("Cache-Control", "no-cache")
	return writeJSON(w, http.StatusOK, typeJSON, map[string][]string{
		"type":       geo.IncidentTypes,
		"commodity":  geo.Commodities,
		"mode":       geo.Modes,
		"confidence": geo.Confidences,
		"precision":  geo.Precisions,
		"stats_by":   geo.StatsBy,
	})
}

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

// healthz answers 200 when the database answers, else 503.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Error("health check", "err", err)
		return errorf(eUnavailable, "the database does not answer")
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]string{"status": "ok"})
}
