package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// Limits of a watch area.
const (
	MinRadiusKM = 0.01 // smallest circle, in kilometres
	MaxRadiusKM = 5000 // largest circle, in kilometres
)

// Alert events: how a change relates a record to a watch area.
const (
	EventEnter  = "enter"  // the record was not inside and now is
	EventInside = "inside" // the record was inside and changed, still inside
	EventLeave  = "leave"  // the record was inside and no longer is (moved, changed or deleted)
)

// FilterSpec is a filter written as an object, as in a websocket
// subscription and in a watch area: the names of the query parameters
// of the items API, lists where the API takes comma-separated values.
type FilterSpec struct {
	Type      []string `json:"type,omitempty"`
	Actor     []string `json:"actor,omitempty"`
	Country   []string `json:"country,omitempty"`
	Commodity []string `json:"commodity,omitempty"`
	Q         string   `json:"q,omitempty"`
	Datetime  string   `json:"datetime,omitempty"`
	Near      string   `json:"near,omitempty"`       // "lon,lat,km"
	NearRoute string   `json:"near_route,omitempty"` // a route's id, with Km
	Km        *float64 `json:"km,omitempty"`
}

// Filter checks the spec and returns the filter it describes, by the
// rules of ParseFilterQuery. Values that can never match (an unknown type
// or commodity) are errors, so a typo is not a silent empty selection.
// Its errors are EINVALID, their messages starting "filter: ".
func (s FilterSpec) Filter() (Filter, error) {
	f := NewFilter()
	f.Types, f.Actors, f.Countries, f.Commodities, f.Q = s.Type, s.Actor, s.Country, s.Commodity, s.Q
	var err error
	if f.Span, err = ParseDatetime(s.Datetime); err != nil {
		return f, Errorf(EINVALID, "filter: %s", ErrorMessage(err))
	}
	km := ""
	if s.Km != nil {
		km = strconv.FormatFloat(*s.Km, 'g', -1, 64)
	}
	if f.Near, err = ParseNear(s.Near, s.NearRoute, km); err != nil {
		return f, Errorf(EINVALID, "filter: %s", ErrorMessage(err))
	}
	if err := f.Clean(); err != nil {
		return f, Errorf(EINVALID, "filter: %s", ErrorMessage(err))
	}
	return f, nil
}

// Watch is a standing question: an area (a circle around a point, or a
// polygon) and a filter, owned by one user, whose owner is alerted when a
// change brings a matching record into the area, changes it there, or
// takes it out.
type Watch struct {
	// Area is a Point (the centre of a circle of RadiusKM), a Polygon or a
	// MultiPolygon. A polygon that crosses the antimeridian is kept split
	// in two at it (RFC 7946, 3.1.9).
	Area     orb.Geometry `json:"-"`
	Name     string       `json:"name"`
	RadiusKM float64      `json:"radius_km,omitempty"`
	Filter   *FilterSpec  `json:"filter,omitempty"`
	Webhook  string       `json:"webhook,omitempty"`
	Owner    string       `json:"owner,omitempty"` // set by the server: the token's name
	Meta
}

// watchIn is what a client may send as a watch's properties: what a GET
// returns can be sent back.
type watchIn struct {
	Name     string          `json:"name"`
	RadiusKM *float64        `json:"radius_km"`
	Filter   json.RawMessage `json:"filter"`
	Webhook  string          `json:"webhook"`
	Owner    string          `json:"owner"`
	Meta
}

// DecodeWatch reads a watch area from a GeoJSON Feature, strictly as
// DecodeFeature reads records. A polygon across the antimeridian is split.
// The watch is not validated beyond its geometry: call Validate.
func DecodeWatch(data []byte) (*Watch, error) {
	var f featureIn
	if err := strictUnmarshal(data, &f); err != nil {
		return nil, jsonError(err, "")
	}
	if f.Type != "Feature" {
		return nil, &Error{Code: EINVALID, Message: "invalid watch", Fields: []FieldError{{Field: "type", Message: fmt.Sprintf("must be \"Feature\", got %q", f.Type)}}}
	}
	g, fe := decodeArea(f.Geometry)
	if fe != nil {
		return nil, &Error{Code: EINVALID, Message: "invalid geometry", Fields: []FieldError{*fe}}
	}
	props := bytes.TrimSpace(f.Properties)
	if len(props) == 0 || bytes.Equal(props, []byte("null")) {
		props = []byte("{}")
	}
	var in watchIn
	if err := strictUnmarshal(props, &in); err != nil {
		return nil, jsonError(err, "properties.")
	}
	w := &Watch{Area: g, Name: in.Name, Webhook: in.Webhook, Meta: in.Meta}
	if fb := bytes.TrimSpace(in.Filter); len(fb) > 0 && !bytes.Equal(fb, []byte("null")) {
		w.Filter = &FilterSpec{}
		if err := strictUnmarshal(fb, w.Filter); err != nil {
			return nil, jsonError(err, "properties.filter.")
		}
	}
	if in.RadiusKM != nil {
		w.RadiusKM = *in.RadiusKM
		if _, ok := g.(orb.Point); !ok {
			return nil, &Error{Code: EINVALID, Message: "invalid watch", Fields: []FieldError{{Field: "radius_km", Message: "applies to a Point (a circle) only; a polygon is its own area"}}}
		}
	}
	var id string
	if len(f.ID) > 0 && json.Unmarshal(f.ID, &id) == nil {
		w.ID = id
	}
	return w, nil
}

// Validate checks the rules of a watch area.
func (w *Watch) Validate() error {
	var v invalid
	checkString(&v, "name", w.Name, true, MaxTitle)
	switch w.Area.(type) {
	case orb.Point:
		if !(w.RadiusKM >= MinRadiusKM && w.RadiusKM <= MaxRadiusKM) {
			v.add("radius_km", "a circle needs radius_km from %v to %v; got %v", MinRadiusKM, MaxRadiusKM, w.RadiusKM)
		}
	case orb.Polygon, orb.MultiPolygon:
	default:
		v.add("geometry", "must be a Point with radius_km, a Polygon or a MultiPolygon")
	}
	if w.Filter != nil {
		if _, err := w.Filter.Filter(); err != nil {
			v.add("filter", "%s", strings.TrimPrefix(ErrorMessage(err), "filter"))
		}
	}
	if w.Webhook != "" {
		u, err := url.Parse(w.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w.Webhook) > MaxText || u.User != nil {
			v.add("webhook", "must be an absolute https URL without credentials")
		}
	}
	if err := v.err(); err != nil {
		err.(*Error).Message = "invalid watch"
		return err
	}
	return nil
}

// FilterOf returns the watch's filter, selecting everything when it has
// none. The watch must be valid.
func (w *Watch) FilterOf() Filter {
	if w.Filter == nil {
		return NewFilter()
	}
	f, _ := w.Filter.Filter()
	return f
}

// EncodeWatch writes the watch as a GeoJSON Feature.
func EncodeWatch(w *Watch) ([]byte, error) {
	p, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	id, _ := json.Marshal(w.ID)
	b := make([]byte, 0, len(p)+len(id)+256)
	b = append(b, `{"type":"Feature","id":`...)
	b = append(b, id...)
	b = append(b, `,"geometry":`...)
	b = AppendGeometry(b, w.Area)
	b = append(b, `,"properties":`...)
	b = append(b, p...)
	return append(b, '}'), nil
}

// decodeArea reads the geometry of a watch: a Point, a Polygon or a
// MultiPolygon, checking the coordinate rules and that every ring is
// closed with at least four positions. Polygons across the antimeridian
// come back split.
func decodeArea(raw json.RawMessage) (orb.Geometry, *FieldError) {
	bad := func(field, format string, args ...any) (orb.Geometry, *FieldError) {
		return nil, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return bad("geometry", "is required: a Point with radius_km, a Polygon or a MultiPolygon")
	}
	var g geometryJSON
	if err := strictUnmarshal(raw, &g); err != nil {
		return bad("geometry", "is not a GeoJSON geometry: %v", err)
	}
	if bytes.Contains(g.Coordinates, []byte("null")) {
		return bad("geometry", "coordinates must be finite numbers, not null")
	}
	switch g.Type {
	case "Point":
		return decodeGeometry(raw, "Point")
	case "Polygon":
		var c [][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return bad("geometry", "Polygon coordinates must be an array of rings of [lon, lat] positions")
		}
		p, fe := polygon(c, "geometry.coordinates", countPositions(c))
		if fe != nil {
			return nil, fe
		}
		return splitAntimeridian(orb.MultiPolygon{p}, "geometry.coordinates")
	case "MultiPolygon":
		var c [][][][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return bad("geometry", "MultiPolygon coordinates must be an array of polygons")
		}
		if len(c) == 0 {
			return bad("geometry", "a MultiPolygon needs at least one polygon")
		}
		total := 0
		for _, p := range c {
			total += countPositions(p)
		}
		mp := make(orb.MultiPolygon, len(c))
		for i, pc := range c {
			p, fe := polygon(pc, fmt.Sprintf("geometry.coordinates[%d]", i), total)
			if fe != nil {
				return nil, fe
			}
			mp[i] = p
		}
		return splitAntimeridian(mp, "geometry.coordinates")
	}
	return bad("geometry", "type %q is not allowed for a watch; use Point (with radius_km), Polygon or MultiPolygon", g.Type)
}

func countPositions(p [][][]float64) int {
	n := 0
	for _, r := range p {
		n += len(r)
	}
	return n
}

// polygon checks the rings of one polygon: the first is the outer
// boundary, the others holes; each closed, with four positions or more.
func polygon(c [][][]float64, field string, total int) (orb.Polygon, *FieldError) {
	if total > MaxVertices {
		return nil, &FieldError{Field: "geometry", Message: fmt.Sprintf("has %d positions, more than the limit of %d", total, MaxVertices)}
	}
	if len(c) == 0 {
		return nil, &FieldError{Field: field, Message: "a Polygon needs at least its outer ring"}
	}
	p := make(orb.Polygon, len(c))
	for i, rc := range c {
		rf := fmt.Sprintf("%s[%d]", field, i)
		if len(rc) < 4 {
			return nil, &FieldError{Field: rf, Message: fmt.Sprintf("a ring needs at least 4 positions (the last repeating the first); got %d", len(rc))}
		}
		r := make(orb.Ring, len(rc))
		for k, pos := range rc {
			pt, fe := position(pos, fmt.Sprintf("%s[%d]", rf, k))
			if fe != nil {
				return nil, fe
			}
			r[k] = pt
		}
		if r[0] != r[len(r)-1] {
			return nil, &FieldError{Field: rf, Message: "a ring must be closed: its last position must repeat the first"}
		}
		if ringArea(r) == 0 {
			return nil, &FieldError{Field: rf, Message: "a ring must enclose an area"}
		}
		p[i] = r
	}
	return p, nil
}

// ringArea is twice the signed planar area of a ring, in square degrees.
func ringArea(r orb.Ring) float64 {
	a := 0.0
	for i := 1; i < len(r); i++ {
		a += r[i-1][0]*r[i][1] - r[i][0]*r[i-1][1]
	}
	return a
}

// splitAntimeridian cuts every polygon that crosses the antimeridian in
// two, as RFC 7946 (3.1.9) asks: a ring crosses it when one of its edges
// spans more than 180° of longitude, which is read as the short way across
// 180°. Polygons that do not cross are kept as they are, to the bit. It
// returns a Polygon when there is one part, a MultiPolygon otherwise.
func splitAntimeridian(mp orb.MultiPolygon, field string) (orb.Geometry, *FieldError) {
	var out orb.MultiPolygon
	for i, p := range mp {
		if !crossesAntimeridian(p) {
			out = append(out, p)
			continue
		}
		// Unwrap every ring to continuous longitudes around the outer
		// ring's first position.
		u := make(orb.Polygon, len(p))
		ref := p[0][0][0]
		for k, r := range p {
			ur := make(orb.Ring, len(r))
			prev := ref
			for j, pt := range r {
				pt[0] = unwrap(prev, pt[0])
				ur[j] = pt
				prev = pt[0]
			}
			if ur[0] != ur[len(ur)-1] {
				return nil, &FieldError{Field: fmt.Sprintf("%s[%d][%d]", field, i, k), Message: "a ring that goes once around the globe (around a pole) is not supported; draw the area without enclosing a pole"}
			}
			u[k] = ur
		}
		// Cut at +180 or -180, whichever the unwrapped polygon spans.
		cut := 180.0
		if b := u.Bound(); b.Min[0] < -180 {
			cut = -180
		}
		west := clipPolygon(u, cut, true)
		east := clipPolygon(u, cut, false)
		shift := -360.0
		if cut < 0 {
			west, east = east, west
			shift = 360
		}
		// west lies at or west of the cut in place; east lies beyond it
		// and is brought back into [-180, 180].
		for _, r := range east {
			for j := range r {
				r[j][0] += shift
			}
		}
		for _, part := range []orb.Polygon{west, east} {
			if len(part) > 0 {
				out = append(out, part)
			}
		}
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// crossesAntimeridian reports whether an edge of a ring of p spans more
// than 180° of longitude.
func crossesAntimeridian(p orb.Polygon) bool {
	for _, r := range p {
		for i := 1; i < len(r); i++ {
			if d := r[i][0] - r[i-1][0]; d > 180 || d < -180 {
				return true
			}
		}
	}
	return false
}

// clipPolygon keeps the part of p on one side of the meridian x = cut:
// below (x <= cut) or above. Rings left without area are dropped; without
// its outer ring, the part is empty.
func clipPolygon(p orb.Polygon, cut float64, below bool) orb.Polygon {
	var out orb.Polygon
	for k, r := range p {
		c := clipRing(r, cut, below)
		if len(c) < 4 || ringArea(c) == 0 {
			if k == 0 {
				return nil
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// clipRing is one step of Sutherland–Hodgman: the ring clipped by a
// half-plane bounded by the meridian x = cut.
func clipRing(r orb.Ring, cut float64, below bool) orb.Ring {
	in := func(p orb.Point) bool {
		if below {
			return p[0] <= cut
		}
		return p[0] >= cut
	}
	var out orb.Ring
	for i := 0; i < len(r)-1; i++ {
		a, b := r[i], r[i+1]
		ia, ib := in(a), in(b)
		if ia {
			out = append(out, a)
		}
		if ia != ib {
			t := (cut - a[0]) / (b[0] - a[0])
			out = append(out, orb.Point{cut, a[1] + t*(b[1]-a[1])})
		}
	}
	if len(out) > 0 && out[0] != out[len(out)-1] {
		out = append(out, out[0])
	}
	return out
}

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT

// PublicAddr reports whether an address is a public unicast address, one
// a webhook may reach on a server that does not allow private ones: not
// loopback, private, link-local, multicast, unspecified or shared.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}
