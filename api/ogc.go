package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"nexus/geo"
)

// Media types.
const (
	typeJSON     = "application/json"
	typeGeoJSON  = "application/geo+json"
	typeOpenAPI  = "application/vnd.oai.openapi+json;version=3.0"
	typeProblem  = "application/problem+json"
	typePatch    = "application/merge-patch+json"
	typeGeoJSONs = "application/geo+json-seq"
	typeSchema   = "application/schema+json"
)

// Conformance classes this API implements (OGC API – Features Part 1 and
// the create-replace-delete, update and ETag locking classes of Part 4).
var conformsTo = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
	"http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
	"http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
	"http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
	"http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
}

// Link is a web link of OGC API responses.
type Link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// baseURL is the scheme and host the client used to reach the server, for
// the absolute links GIS clients follow.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// marshal is json.Marshal without HTML escaping, so that links read
// "&limit=" rather than "\u0026limit=".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeFeatureCollection answers with a GeoJSON FeatureCollection: the
// members of head (a struct whose first member is "type"), then the
// features as the store encoded them, one per line. Every FeatureCollection
// the API builds in memory is written here.
func writeFeatureCollection(w http.ResponseWriter, head any, features [][]byte) error {
	hb, err := marshal(head)
	if err != nil {
		return err
	}
	size := len(hb) + 32
	for _, f := range features {
		size += len(f) + 2
	}
	buf := make([]byte, 0, size)
	buf = append(buf, hb[:len(hb)-1]...)
	buf = append(buf, `,"features":[`...)
	for i, f := range features {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = append(buf, f...)
	}
	buf = append(buf, "\n]}\n"...)
	w.Header().Set("Content-Type", typeGeoJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	w.Write(buf) // a client that went away is no error of ours
	return nil
}

// viewHead is the head of the FeatureCollection of /api/view.
type viewHead struct {
	Type           string  `json:"type"`
	Clustered      bool    `json:"clustered"`
	Cell           float64 `json:"cell,omitempty"` // degrees, when clustered
	NumberMatched  int64   `json:"numberMatched"`
	NumberReturned int     `json:"numberReturned"`
}

// writeJSON writes v as JSON with the media type and status.
func writeJSON(w http.ResponseWriter, status int, mediaType string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	base := baseURL(r) + "/api"
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"title":       "Nexus",
		"description": "Incidents of terrorism and organized crime, and the smuggling routes that connect them, as OGC API – Features.",
		"links": []Link{
			{Href: base, Rel: "self", Type: typeJSON, Title: "This document"},
			{Href: base + "/openapi.json", Rel: "service-desc", Type: typeOpenAPI, Title: "The API definition (OpenAPI 3.0)"},
			{Href: base + "/conformance", Rel: "conformance", Type: typeJSON, Title: "Conformance classes implemented by this server"},
			{Href: base + "/collections", Rel: "data", Type: typeJSON, Title: "The collections: incidents and routes"},
			{Href: base + "/export.geojson", Rel: "enclosure", Type: typeGeoJSON, Title: "Everything as one GeoJSON file"},
			{Href: baseURL(r) + "/", Rel: "alternate", Type: "text/html", Title: "The map"},
		},
	})
}

func (s *Server) conformance(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"conformsTo": conformsTo})
}

// collectionInfo describes one collection.
type collectionInfo struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	ItemType    string   `json:"itemType"`
	CRS         []string `json:"crs"`
	StorageCRS  string   `json:"storageCrs"`
	Extent      extent   `json:"extent"`
	Links       []Link   `json:"links"`
}

type extent struct {
	Spatial struct {
		BBox [][4]float64 `json:"bbox"`
		CRS  string       `json:"crs"`
	} `json:"spatial"`
	Temporal struct {
		Interval [][2]*string `json:"interval"`
		TRS      string       `json:"trs"`
	} `json:"temporal"`
}

var collectionText = map[geo.Collection][2]string{
	geo.Incidents: {"Incidents", "Terrorist and organized-crime incidents: attacks, plots, arrests, seizures and more, one Point each."},
	geo.Routes:    {"Routes", "Smuggling routes of drugs, arms, cash and people, LineStrings with vertices in the direction of travel."},
	geo.Links:     {"Links", "Relations between actors that a source states (financing, supply, alliance, hire, rivalry), without geometry."},
}

func (s *Server) describe(r *http.Request, c geo.Collection) (collectionInfo, error) {
	e, err := s.cfg.Store.Extent(r.Context(), c)
	if err != nil {
		return collectionInfo{}, err
	}
	base := baseURL(r) + "/api/collections/" + string(c)
	info := collectionInfo{
		ID: string(c), Title: collectionText[c][0], Description: collectionText[c][1],
		ItemType: "feature", CRS: []string{CRS84}, StorageCRS: CRS84,
		Links: []Link{
			{Href: base, Rel: "self", Type: typeJSON, Title: "This collection"},
			{Href: base + "/items", Rel: "items", Type: typeGeoJSON, Title: collectionText[c][0] + " as GeoJSON"},
			{Href: base + "/queryables", Rel: "http://www.opengis.net/def/rel/ogc/1.0/queryables", Type: typeSchema, Title: "What a filter can name"},
			{Href: base + "/queryables", Rel: "queryables", Type: typeJSON, Title: "What a filter can name (the rel of earlier drafts)"},
			{Href: baseURL(r) + "/api/export.geojson?collections=" + string(c), Rel: "enclosure", Type: typeGeoJSON, Title: "All " + strings.ToLower(collectionText[c][0]) + " in one file"},
		},
	}
	b := [4]float64{-180, -90, 180, 90}
	if e.BBox != nil {
		b = [4]float64{e.BBox.W, e.BBox.S, e.BBox.E, e.BBox.N}
	}
	info.Extent.Spatial.BBox = [][4]float64{b}
	info.Extent.Spatial.CRS = CRS84
	var interval [2]*string
	if e.HasStart {
		t := time.Unix(e.Start, 0).UTC().Format(time.RFC3339)
		interval[0] = &t
	}
	if e.HasEnd {
		t := time.Unix(e.End, 0).UTC().Format(time.RFC3339)
		interval[1] = &t
	}
	info.Extent.Temporal.Interval = [][2]*string{interval}
	info.Extent.Temporal.TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
	return info, nil
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	var list []collectionInfo
	for _, c := range geo.Collections {
		info, err := s.describe(r, c)
		if err != nil {
			return err
		}
		list = append(list, info)
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"links":       []Link{{Href: baseURL(r) + "/api/collections", Rel: "self", Type: typeJSON, Title: "The collections"}},
		"collections": list,
	})
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	info, err := s.describe(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, typeJSON, info)
}

// queryables answers GET /api/collections/{c}/queryables: the properties
// a filter may name, as the JSON Schema of OGC API – Features Part 3, with
// the list {"queryables":[{"id":…}]} of its earlier drafts beside it, which
// GDAL 3.6 reads before it pushes a -where down as cql-text.
func (s *Server) queryables(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	if err := checkParams(r.URL.Query(), []string{"f"}); err != nil {
		return err
	}
	props := map[string]any{}
	var list []map[string]any
	for _, q := range geo.Queryables(c) {
		p := map[string]any{"title": q.Title}
		old := map[string]any{"id": q.Name, "title": q.Title, "type": q.Type}
		switch q.Type {
		case "geometry":
			format := "geometry-point"
			if c == geo.Routes {
				format = "geometry-any"
			}
			p["format"] = format
			p["x-ogc-role"] = "primary-geometry"
		case "array":
			p["type"] = "array"
			p["items"] = map[string]any{"type": "string"}
		case "date":
			p["type"] = "string"
			p["pattern"] = `^\d{4}(-\d{2}(-\d{2})?)?$`
			p["x-ogc-role"] = "primary-instant"
		default:
			p["type"] = q.Type
		}
		if q.Format != "" {
			p["format"] = q.Format
		}
		if len(q.Enum) > 0 {
			p["enum"] = q.Enum
			old["enum"] = q.Enum
		}
		props[q.Name] = p
		list = append(list, old)
	}
	base := baseURL(r) + "/api/collections/" + string(c)
	// JSON Schema's own media type when the client asks for it; plain
	// JSON otherwise, which is what GDAL 3.6 accepts.
	mediaType := typeJSON
	if strings.Contains(r.Header.Get("Accept"), typeSchema) {
		mediaType = typeSchema
	}
	return writeJSON(w, http.StatusOK, mediaType, map[string]any{
		"$schema":              "https://json-schema.org/draft/2019-09/schema",
		"$id":                  base + "/queryables",
		"type":                 "object",
		"title":                collectionText[c][0],
		"description":          "Properties a filter (filter-lang cql2-text or cql-text) may name. A list property matches when any of its items does.",
		"properties":           props,
		"additionalProperties": false,
		"queryables":           list,
		"links": []Link{
			{Href: base + "/queryables", Rel: "self", Type: typeSchema, Title: "This document"},
			{Href: base, Rel: "collection", Type: typeJSON, Title: "The collection"},
		},
	})
}
