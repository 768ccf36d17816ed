package api

import (
	"math"
	"net/url"
	"regexp"
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
	filterParams = []string{"bbox", "bbox-crs", "datetime", "type", "actor", "country", "commodity", "q", "near", "near_route", "km", "filter", "filter-lang", "filter-crs"}
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

// single returns the one value of a parameter, "" when absent; a parameter
// given twice is an error because it has no obvious meaning.
func single(q url.Values, name string) (string, error) {
	v := q[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", errorf(geo.EMALFORMED, "%s is given %d times; give it once", name, len(v))
}

// list splits comma-separated values (and repeated parameters) into a
// list, trimming blanks and dropping empty items.
func list(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// countryParam is what a country filter value may look like: a code or a
// name (letters, spaces and the punctuation of names), resolved by the
// store (Resolve).
var countryParam = regexp.MustCompile(`^[\p{L}\p{M}][\p{L}\p{M} .'’()-]{0,79}$`)

// parseFilter reads the filter parameters shared by items, export, stats
// and view: bbox, datetime, type, actor, country, commodity, q, and the
// corridors near=lon,lat,km and near_route=ID&km=K.
func parseFilter(q url.Values) (geo.Filter, error) {
	f := geo.NewFilter()
	s, err := single(q, "bbox")
	if err != nil {
		return f, err
	}
	if s != "" || q.Has("bbox") {
		b, err := parseBBox(s)
		if err != nil {
			return f, err
		}
		f.BBox = &b
	}
	if s, err = single(q, "datetime"); err != nil {
		return f, err
	}
	if f.Span, err = parseDatetime(s); err != nil {
		return f, err
	}
	f.Types = list(q, "type")
	for _, t := range f.Types {
		if !slices.Contains(geo.IncidentTypes, t) {
			return f, errorf(geo.EMALFORMED, "type %q is not one of %s", t, strings.Join(geo.IncidentTypes, ", "))
		}
	}
	f.Commodities = list(q, "commodity")
	for _, c := range f.Commodities {
		if !slices.Contains(geo.Commodities, c) {
			return f, errorf(geo.EMALFORMED, "commodity %q is not one of %s", c, strings.Join(geo.Commodities, ", "))
		}
	}
	f.Actors = list(q, "actor")
	f.Countries = list(q, "country")
	for _, c := range f.Countries {
		if !countryParam.MatchString(c) {
			return f, errorf(geo.EMALFORMED, "country must be ISO 3166-1 codes such as CO,MX or country names; got %q", clip(c))
		}
	}
	if f.Q, err = single(q, "q"); err != nil {
		return f, err
	}
	f.Q = strings.TrimSpace(f.Q)
	var near [3]string
	for i, name := range []string{"near", "near_route", "km"} {
		if near[i], err = single(q, name); err != nil {
			return f, err
		}
	}
	if f.Near, err = geo.ParseNear(near[0], near[1], near[2]); err != nil {
		return f, err
	}
	if f.CQL, err = parseCQL(q); err != nil {
		return f, err
	}
	if err := f.Check(); err != nil {
		return f, errorf(geo.EMALFORMED, "%s", geo.ErrorMessage(err))
	}
	return f, nil
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

// parseBBox reads bbox=w,s,e,n (or the six numbers w,s,zmin,e,n,zmax of
// OGC API – Features, whose heights are ignored). West greater than east
// crosses the antimeridian.
func parseBBox(s string) (geo.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return geo.BBox{}, errorf(geo.EMALFORMED, "bbox must be four numbers w,s,e,n; got %q", clip(s))
	}
	v := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return geo.BBox{}, errorf(geo.EMALFORMED, "bbox must be four numbers w,s,e,n; %q is not a finite number", clip(p))
		}
		v[i] = f
	}
	if len(v) == 6 {
		v = []float64{v[0], v[1], v[3], v[4]}
	}
	b := geo.BBox{W: v[0], S: v[1], E: v[2], N: v[3]}
	if err := b.Check(); err != nil {
		return b, errorf(geo.EMALFORMED, "%v (bbox is w,s,e,n in degrees)", err)
	}
	return b, nil
}

// parseDatetime reads the OGC datetime parameter: an instant or an
// interval a/b, ../b, a/.., each end RFC 3339 or a partial date.
func parseDatetime(s string) (geo.Span, error) {
	if len(s) > 100 {
		return geo.Span{}, errorf(geo.EMALFORMED, "datetime is too long to be an instant or an interval")
	}
	span, err := geo.ParseInterval(s)
	if err != nil {
		return span, errorf(geo.EMALFORMED, "datetime must be an instant or an interval a/b, ../b, a/.. of RFC 3339 times or dates YYYY[-MM[-DD]]: %v", err)
	}
	return span, nil
}

// parseLimit reads limit: default DefaultLimit; above MaxLimit it is
// clamped to MaxLimit, as OGC API – Features allows.
func parseLimit(q url.Values) (int, error) {
	s, err := single(q, "limit")
	if err != nil || s == "" {
		return DefaultLimit, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(s), "-") {
			return MaxLimit, nil
		}
		return 0, errorf(geo.EMALFORMED, "limit must be a whole number from 1 to %d, got %q", MaxLimit, clip(s))
	}
	if n < 1 {
		return 0, errorf(geo.EMALFORMED, "limit must be a whole number from 1 to %d, got %d", MaxLimit, n)
	}
	return int(min(n, MaxLimit)), nil
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
	switch s {
	case "country", "type", "actor", "month":
		return s, nil
	case "":
		return "", errorf(geo.EMALFORMED, "by is required: country, type, actor or month")
	}
	return "", errorf(geo.EMALFORMED, "by must be country, type, actor or month, got %q", clip(s))
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

// clip shortens user text quoted back in a message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
