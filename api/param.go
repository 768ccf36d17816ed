package api

import (
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"nexus/geo"
)

// Query parameters are parsed here, apart from the handlers, by small
// functions whose errors are EMALFORMED with a message naming the parameter
// and what it should look like.

// Paging limits of items, in features.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// CRS84 is the only coordinate reference system: WGS84 longitude, latitude.
const CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

// Parameter sets each endpoint understands; anything else is refused (OGC
// API – Features recommends 400 for unknown parameters, so a typo never
// silently returns everything).
var (
	filterParams = append([]string{"bbox-crs", "filter", "filter-lang", "filter-crs"}, geo.FilterParams...)
	itemsParams  = append([]string{"limit", "cursor", "f", "crs"}, filterParams...)
	exportParams = append([]string{"collections", "f"}, filterParams...)
	statsParams  = append([]string{"by", "collection", "f"}, filterParams...)
	viewParams   = append([]string{"zoom", "f"}, filterParams...)
)

// checkParams refuses parameters outside the allowed set, and formats
// other than JSON: f=json and f=geojson are accepted because GIS clients
// send them.
func checkParams(q url.Values, allowed []string) error {
	var unknown []string
	for k := range q {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := slices.Clone(allowed)
		sort.Strings(known)
		return errorf(geo.EMALFORMED, "unknown query parameter %q; this endpoint knows %s", unknown[0], strings.Join(known, ", "))
	}
	if f, ok := q["f"]; ok {
		for _, v := range f {
			switch strings.ToLower(v) {
			case "json", "geojson", "application/json", "application/geo+json":
			default:
				return errorf(geo.EMALFORMED, "f must be json or geojson, got %q", v)
			}
		}
	}
	for _, name := range []string{"crs", "bbox-crs"} {
		for _, v := range q[name] {
			if v != CRS84 {
				return errorf(geo.EMALFORMED, "%s must be %s (WGS84 longitude, latitude), got %q", name, CRS84, v)
			}
		}
	}
	return nil
}

// parseFilter reads the filter parameters shared by items, export, stats
// and view: those of geo.ParseFilterQuery (the rules the websocket
// applies too) and a CQL2 filter expression.
func parseFilter(q url.Values) (geo.Filter, error) {
	f, err := geo.ParseFilterQuery(q)
	if err != nil {
		return f, err
	}
	f.CQL, err = parseCQL(q)
	return f, err
}

// parseCQL reads filter, filter-lang and filter-crs (OGC API – Features
// Part 3): an expression in CQL2 text or the older cql-text, naming
// properties of incidents or routes. Handlers that serve one collection
// check it against that collection's queryables.
func parseCQL(q url.Values) (geo.Expr, error) {
	text, err := single(q, "filter")
	if err != nil || (text == "" && !q.Has("filter")) {
		return nil, err
	}
	lang, err := single(q, "filter-lang")
	if err != nil {
		return nil, err
	}
	crs, err := single(q, "filter-crs")
	if err != nil {
		return nil, err
	}
	if crs != "" && crs != CRS84 {
		return nil, errorf(geo.EMALFORMED, "filter-crs must be %s (WGS84 longitude, latitude), got %q", CRS84, clip(crs))
	}
	e, err := geo.ParseCQL(text, lang)
	if err != nil {
		return nil, err
	}
	if err := geo.CheckCQL(e, geo.Collections); err != nil {
		return nil, err
	}
	return e, nil
}

// single returns the one value of a parameter (geo.QueryValue).
func single(q url.Values, name string) (string, error) { return geo.QueryValue(q, name) }

// list returns the comma-separated values of a parameter (geo.QueryList).
func list(q url.Values, name string) []string { return geo.QueryList(q, name) }

// clip shortens user text quoted back in a message (geo.Clip).
func clip(s string) string { return geo.Clip(s) }

// parseLimit reads limit: default DefaultLimit; above MaxLimit it is
// clamped to MaxLimit, as OGC API – Features allows.
func parseLimit(q url.Values) (int, error) {
	return parseLimitOf(q, DefaultLimit, MaxLimit)
}

// parseLimitOf reads limit with its default and maximum.
func parseLimitOf(q url.Values, def, most int) (int, error) {
	s, err := single(q, "limit")
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(s), "-") {
			return most, nil
		}
		return 0, errorf(geo.EMALFORMED, "limit must be a whole number from 1 to %d, got %q", most, clip(s))
	}
	if n < 1 {
		return 0, errorf(geo.EMALFORMED, "limit must be a whole number from 1 to %d, got %d", most, n)
	}
	return int(min(n, int64(most))), nil
}

// parseCursor reads the opaque cursor of a next link; 0 is the start.
func parseCursor(q url.Values) (int64, error) {
	s, err := single(q, "cursor")
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errorf(geo.EMALFORMED, "cursor %q is not one this server gave in a next link", clip(s))
	}
	return n, nil
}

// parseCollections reads collections=incidents,routes,links (default all).
func parseCollections(q url.Values) ([]geo.Collection, error) {
	names := list(q, "collections")
	if len(names) == 0 {
		return geo.Collections, nil
	}
	var out []geo.Collection
	for _, n := range names {
		c, err := geo.ParseCollection(n)
		if err != nil {
			return nil, errorf(geo.EMALFORMED, "collections must list incidents, routes or links, got %q", clip(n))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// parseCollectionParam reads collection=incidents|routes|links (default incidents).
func parseCollectionParam(q url.Values) (geo.Collection, error) {
	s, err := single(q, "collection")
	if err != nil {
		return "", err
	}
	if s == "" {
		return geo.Incidents, nil
	}
	c, err := geo.ParseCollection(s)
	if err != nil {
		return "", errorf(geo.EMALFORMED, "collection must be incidents, routes or links, got %q", clip(s))
	}
	return c, nil
}

// parseBy reads by= of stats.
func parseBy(q url.Values) (string, error) {
	s, err := single(q, "by")
	if err != nil {
		return "", err
	}
	switch {
	case slices.Contains(geo.StatsBy, s):
		return s, nil
	case s == "":
		return "", errorf(geo.EMALFORMED, "by is required: one of %s", strings.Join(geo.StatsBy, ", "))
	}
	return "", errorf(geo.EMALFORMED, "by must be one of %s, got %q", strings.Join(geo.StatsBy, ", "), clip(s))
}

// parseZoom reads the map's zoom level, 0 (the world) to 30; Leaflet's
// fractional zooms are allowed.
func parseZoom(q url.Values) (float64, error) {
	s, err := single(q, "zoom")
	if err != nil || s == "" {
		return 0, err
	}
	z, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(z) || z < 0 || z > 30 {
		return 0, errorf(geo.EMALFORMED, "zoom must be a number from 0 to 30, got %q", clip(s))
	}
	return z, nil
}

// Geocoding limits.
const (
	DefaultGeocodeLimit = 10
	MaxGeocodeLimit     = 100
	MaxGeocodeQuery     = 200 // characters
)

// parseGeocode reads q and limit of /api/geocode.
func parseGeocode(q url.Values) (name string, limit int, err error) {
	if name, err = single(q, "q"); err != nil {
		return "", 0, err
	}
	if strings.TrimSpace(name) == "" {
		return "", 0, errorf(geo.EMALFORMED, "q is required: the name of a place")
	}
	if n := len([]rune(name)); n > MaxGeocodeQuery {
		return "", 0, errorf(geo.EMALFORMED, "q is %d characters long, at most %d allowed", n, MaxGeocodeQuery)
	}
	s, err := single(q, "limit")
	if err != nil {
		return "", 0, err
	}
	limit = DefaultGeocodeLimit
	if s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > MaxGeocodeLimit {
			return "", 0, errorf(geo.EMALFORMED, "limit must be a whole number from 1 to %d, got %q", MaxGeocodeLimit, clip(s))
		}
		limit = n
	}
	return name, limit, nil
}

// parseLonLat reads lon and lat of /api/reverse.
func parseLonLat(q url.Values) (lon, lat float64, err error) {
	read := func(name string, lo, hi float64) (float64, error) {
		s, err := single(q, name)
		if err != nil {
			return 0, err
		}
		if s == "" {
			return 0, errorf(geo.EMALFORMED, "%s is required: a number from %v to %v", name, lo, hi)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, errorf(geo.EMALFORMED, "%s must be a number from %v to %v, got %q", name, lo, hi, clip(s))
		}
		if v < lo || v > hi {
			return 0, errorf(geo.EMALFORMED, "%s %v is outside [%v, %v]", name, v, lo, hi)
		}
		return v, nil
	}
	if lon, err = read("lon", -180, 180); err != nil {
		return 0, 0, err
	}
	lat, err = read("lat", -90, 90)
	return lon, lat, err
}

// parseIfMatch reads If-Match: one strong entity tag "N" naming a
// version, or *; 0 means no precondition (or *, any version).
func parseIfMatch(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, errorf(geo.EMALFORMED, `If-Match must be one entity tag such as "3" (with the quotes), as the ETag header gave it; got %s`, clip(h))
	}
	n, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || n < 1 {
		return 0, errorf(geo.EMALFORMED, `If-Match must be one entity tag such as "3" (with the quotes), as the ETag header gave it; got %s`, clip(h))
	}
	return n, nil
}
