package geo

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Collection names one of the kinds of record.
type Collection string

// The collections of places: incidents and routes (links are in link.go).
const (
	Incidents Collection = "incidents"
	Routes    Collection = "routes"
)

// Collections lists every collection, in the order they are listed and exported.
var Collections = []Collection{Incidents, Routes, Links}

// ParseCollection returns the collection of that name, or ENOTFOUND.
func ParseCollection(s string) (Collection, error) {
	switch Collection(s) {
	case Incidents, Routes, Links:
		return Collection(s), nil
	}
	return "", Errorf(ENOTFOUND, "no collection %q; there are incidents, routes and links", s)
}

// Limits of the data model, in characters (runes) or items.
const (
	MaxTitle   = 200
	MaxSummary = 20000
	MaxText    = 2000 // any other string property
	MaxItems   = 200  // items in actors, tags, sources or waypoints beyond the vertex count
)

// Enumerations of the data model.
var (
	IncidentTypes = []string{"attack", "plot", "arrest", "seizure", "assassination", "kidnapping", "trafficking", "financing", "recruitment", "other"}
	Precisions    = []string{"exact", "place", "admin", "country", "unknown", PrecisionCoarse}
	Commodities   = []string{"cocaine", "heroin", "methamphetamine", "fentanyl", "cannabis", "arms", "cash", "people", "other"}
	Modes         = []string{"sea", "air", "land", "mixed"}
	Confidences   = []string{"low", "medium", "high"}
	StatsBy       = []string{"country", "type", "actor", "month", "period"} // the dimensions statistics count by
)

// Source says where a piece of information came from.
type Source struct {
	Title     string `json:"title"`
	URL       string `json:"url,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	Published string `json:"published,omitempty"`
}

// Meta holds what the server sets on every record.
type Meta struct {
	ID      string    `json:"-"`
	Version int64     `json:"version,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
	// Label is the "collection" property an export writes on every
	// feature. A Feature read back may carry it; DecodeFeature checks that
	// it names the record's collection and clears it, so it is never stored.
	Label string `json:"collection,omitempty"`
	// Source is, for a record an import read into a store that keeps it,
	// a hash of the bytes it was read from (one Feature, or a CSV row with
	// its header); 0 otherwise.
	// The store keeps it, so that importing the same bytes again is known
	// to change nothing before they are decoded. Never encoded.
	Source uint64 `json:"-"`
}

// Record is an incident, a route or a link.
type Record interface {
	// Collection says which kind of record this is.
	Collection() Collection
	// Base gives access to the server-set fields.
	Base() *Meta
	// Geometry is the record's point or line.
	Geometry() orb.Geometry
	// Validate checks every rule of the data model.
	Validate() error
	// Keys are the values the record is indexed and filtered by.
	Keys() Keys
	// Normalize fills derived fields: empty lists, the country from the point.
	Normalize(countryOf func(lon, lat float64) string)
}

// Keys are what a record is found by: the same values feed the database
// indexes and the in-memory match of live subscriptions.
type Keys struct {
	Kind       string       // incident type or route commodity
	Span       Span         // when it happened or was active
	Actors     []string     // as written
	Countries  []string     // ISO alpha-2, upper case
	Boxes      []orb.Bound  // one, or two across the antimeridian
	Shape      orb.Geometry // the point or line itself, nil for a link
	ExternalID string
	Text       string // what full-text search reads
}

// Incident is one event placed on the map.
type Incident struct {
	Point      orb.Point `json:"-"`
	Title      string    `json:"title"`
	Summary    string    `json:"summary,omitempty"`
	Type       string    `json:"type"`
	Subtype    string    `json:"subtype,omitempty"`
	Date       string    `json:"date"`
	Place      string    `json:"place,omitempty"`
	Country    string    `json:"country,omitempty"`
	Precision  string    `json:"precision,omitempty"`
	Actors     []string  `json:"actors"`
	Killed     *int64    `json:"killed"`
	Wounded    *int64    `json:"wounded"`
	Sources    []Source  `json:"sources"`
	Tags       []string  `json:"tags"`
	ExternalID string    `json:"external_id,omitempty"`
	Sensitive  bool      `json:"sensitive,omitempty"` // viewers see the point coarsened (Coarsen)
	Meta
}

// Route is a smuggling route, its vertices in the direction of travel.
type Route struct {
	Line       orb.Geometry `json:"-"` // LineString or MultiLineString
	Name       string       `json:"name"`
	Commodity  string       `json:"commodity"`
	Mode       string       `json:"mode,omitempty"`
	Waypoints  []string     `json:"waypoints"`
	Actors     []string     `json:"actors"`
	Sources    []Source     `json:"sources"`
	Tags       []string     `json:"tags"`
	ExternalID string       `json:"external_id,omitempty"`
	Summary    string       `json:"summary,omitempty"`
	ActiveFrom string       `json:"active_from,omitempty"`
	ActiveTo   string       `json:"active_to,omitempty"`
	Confidence string       `json:"confidence,omitempty"`
	Countries  []string     `json:"countries"` // set by the server: the countries its vertices lie in
	Precision  string       `json:"precision,omitempty"`
	Sensitive  bool         `json:"sensitive,omitempty"` // viewers see every vertex coarsened (Coarsen)
	Meta
}

// Collection implements Record.
func (*Incident) Collection() Collection { return Incidents }

// Collection implements Record.
func (*Route) Collection() Collection { return Routes }

// Base implements Record.
func (i *Incident) Base() *Meta { return &i.Meta }

// Base implements Record.
func (r *Route) Base() *Meta { return &r.Meta }

// Geometry implements Record.
func (i *Incident) Geometry() orb.Geometry { return i.Point }

// Geometry implements Record.
func (r *Route) Geometry() orb.Geometry { return r.Line }

// isCountryCode reports whether s has the form of an ISO 3166-1 alpha-2
// code: two capital letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// Validate implements Record.
func (i *Incident) Validate() error {
	var v invalid
	if _, fe := CheckPoint(i.Point, "geometry.coordinates"); fe != nil {
		v.fields = append(v.fields, *fe)
	}
	checkString(&v, "title", i.Title, true, MaxTitle)
	checkString(&v, "summary", i.Summary, false, MaxSummary)
	checkEnum(&v, "type", i.Type, true, IncidentTypes)
	checkString(&v, "subtype", i.Subtype, false, MaxText)
	checkDate(&v, "date", i.Date, true)
	checkString(&v, "place", i.Place, false, MaxText)
	if i.Country != "" && !isCountryCode(i.Country) {
		v.add("country", "must be an ISO 3166-1 alpha-2 code such as CO, got %q", i.Country)
	}
	checkEnum(&v, "precision", i.Precision, false, Precisions)
	checkList(&v, "actors", i.Actors)
	checkCount(&v, "killed", i.Killed)
	checkCount(&v, "wounded", i.Wounded)
	checkSources(&v, i.Sources)
	checkList(&v, "tags", i.Tags)
	checkString(&v, "external_id", i.ExternalID, false, MaxTitle)
	return v.err()
}

// Validate implements Record.
func (r *Route) Validate() error {
	var v invalid
	checkLines(&v, r.Line)
	vertices := 0
	EachVertex(r.Line, func(orb.Point) { vertices++ })
	checkString(&v, "name", r.Name, true, MaxTitle)
	checkEnum(&v, "commodity", r.Commodity, true, Commodities)
	checkEnum(&v, "mode", r.Mode, false, Modes)
	if len(r.Waypoints) > 0 && len(r.Waypoints) != vertices {
		v.add("waypoints", "has %d names for %d vertices; give one per vertex or none", len(r.Waypoints), vertices)
	}
	for k, w := range r.Waypoints {
		if utf8.RuneCountInString(w) > MaxText {
			v.add(fmt.Sprintf("waypoints[%d]", k), "is longer than %d characters", MaxText)
		}
	}
	checkList(&v, "actors", r.Actors)
	checkSources(&v, r.Sources)
	checkList(&v, "tags", r.Tags)
	checkString(&v, "external_id", r.ExternalID, false, MaxTitle)
	checkString(&v, "summary", r.Summary, false, MaxSummary)
	checkDate(&v, "active_from", r.ActiveFrom, false)
	checkDate(&v, "active_to", r.ActiveTo, false)
	if r.ActiveFrom != "" && r.ActiveTo != "" {
		a, errA := ParseDate(r.ActiveFrom)
		b, errB := ParseDate(r.ActiveTo)
		if errA == nil && errB == nil && a.Start >= b.End {
			v.add("active_to", "%s is before active_from %s", r.ActiveTo, r.ActiveFrom)
		}
	}
	checkEnum(&v, "confidence", r.Confidence, false, Confidences)
	checkEnum(&v, "precision", r.Precision, false, Precisions)
	return v.err()
}

func checkString(v *invalid, field, s string, required bool, max int) {
	if problem := stringProblem(s, required, max); problem != "" {
		v.fields = append(v.fields, FieldError{Field: field, Message: problem})
	}
}

// stringProblem says which rule a string breaks, "" if none.
func stringProblem(s string, required bool, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case required && strings.TrimSpace(s) == "":
		return "is required"
	}
	if len(s) <= max {
		return "" // no more characters than bytes
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("is %d characters long, more than %d", n, max)
	}
	return ""
}

func checkEnum(v *invalid, field, s string, required bool, allowed []string) {
	if s == "" {
		if required {
			v.add(field, "is required: one of %s", strings.Join(allowed, ", "))
		}
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.add(field, "%q is not one of %s", s, strings.Join(allowed, ", "))
}

func checkDate(v *invalid, field, s string, required bool) {
	if s == "" {
		if required {
			v.add(field, "is required: YYYY, YYYY-MM or YYYY-MM-DD")
		}
		return
	}
	if _, _, _, ok := plainDateFields(s); ok {
		return
	}
	if _, err := ParseDate(s); err != nil {
		v.add(field, "%v", err)
	}
}

func checkList(v *invalid, field string, list []string) {
	if len(list) > MaxItems {
		v.add(field, "has %d items, more than %d", len(list), MaxItems)
		return
	}
	for k, s := range list {
		// The field is named only when it breaks a rule: most do not.
		if problem := stringProblem(s, true, MaxTitle); problem != "" {
			v.fields = append(v.fields, FieldError{Field: fmt.Sprintf("%s[%d]", field, k), Message: problem})
		}
	}
}

func checkCount(v *invalid, field string, n *int64) {
	if n != nil && *n < 0 {
		v.add(field, "must be 0 or more, or null when unknown; got %d", *n)
	}
}

func checkSources(v *invalid, sources []Source) {
	if len(sources) > MaxItems {
		v.add("sources", "has %d items, more than %d", len(sources), MaxItems)
		return
	}
	for k, s := range sources {
		// The field is named only when it breaks a rule: most do not.
		f := func(member string) string { return fmt.Sprintf("sources[%d]%s", k, member) }
		if strings.TrimSpace(s.Title) == "" && s.URL == "" {
			v.add(f(""), "needs a title or a url")
		}
		if problem := stringProblem(s.Title, false, MaxText); problem != "" {
			v.fields = append(v.fields, FieldError{Field: f(".title"), Message: problem})
		}
		if problem := stringProblem(s.Publisher, false, MaxText); problem != "" {
			v.fields = append(v.fields, FieldError{Field: f(".publisher"), Message: problem})
		}
		if s.URL != "" && !isHTTPURL(s.URL) {
			v.add(f(".url"), "must be an absolute http or https URL")
		}
		if s.Published != "" {
			if _, err := ParseInstant(s.Published); err != nil {
				v.add(f(".published"), "%v", err)
			}
		}
	}
}

// isHTTPURL reports whether s is an absolute http or https URL of at most
// MaxText bytes, as url.Parse reads it.
func isHTTPURL(s string) bool {
	if len(s) > MaxText {
		return false
	}
	if plainHTTPURL(s) {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// plainHTTPURL reports whether s is "http://" or "https://", a host name
// of letters, digits, dots and hyphens, and a path of unreserved
// characters and slashes: the form of most sources' URLs, which url.Parse
// reads as an http or https URL with that host, every time. false says
// nothing.
func plainHTTPURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	host := true
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-':
		case c == '/':
			if i == 0 {
				return false // no host
			}
			host = false
		case c == '_', c == '~':
			if host {
				return false
			}
		default:
			return false
		}
	}
	return rest != ""
}

// Keys implements Record.
func (i *Incident) Keys() Keys {
	span, _ := ParseDate(i.Date)
	k := Keys{
		Kind:       i.Type,
		Span:       span,
		Actors:     i.Actors,
		Boxes:      []orb.Bound{i.Point.Bound()},
		Shape:      i.Point,
		ExternalID: i.ExternalID,
		Text:       joinText(i.Title, i.Summary, i.Place, i.Subtype, strings.Join(i.Actors, " "), strings.Join(i.Tags, " ")),
	}
	if i.Country != "" {
		k.Countries = []string{i.Country}
	}
	return k
}

// Keys implements Record.
func (r *Route) Keys() Keys {
	span := All
	if s, err := ParseDate(r.ActiveFrom); err == nil {
		span.Start = s.Start
	}
	if s, err := ParseDate(r.ActiveTo); err == nil {
		span.End = s.End
	}
	return Keys{
		Kind:       r.Commodity,
		Span:       span,
		Actors:     r.Actors,
		Countries:  r.Countries,
		Boxes:      routeBoxes(r.Line),
		Shape:      r.Line,
		ExternalID: r.ExternalID,
		Text:       joinText(r.Name, r.Summary, strings.Join(r.Waypoints, " "), strings.Join(r.Actors, " "), strings.Join(r.Tags, " ")),
	}
}

func joinText(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Normalize implements Record: lists are never null, and a missing country
// is derived from the point when countryOf is given.
func (i *Incident) Normalize(countryOf func(lon, lat float64) string) {
	i.Actors, i.Sources, i.Tags = nonNil(i.Actors), nonNil(i.Sources), nonNil(i.Tags)
	if i.Country == "" && countryOf != nil {
		i.Country = countryOf(i.Point[0], i.Point[1])
	}
}

// Normalize implements Record: lists are never null, and the countries the
// route passes through are derived from its vertices when countryOf is given.
func (r *Route) Normalize(countryOf func(lon, lat float64) string) {
	r.Waypoints, r.Actors, r.Sources, r.Tags = nonNil(r.Waypoints), nonNil(r.Actors), nonNil(r.Sources), nonNil(r.Tags)
	if countryOf != nil {
		seen := map[string]bool{}
		r.Countries = r.Countries[:0]
		EachVertex(r.Line, func(p orb.Point) {
			if c := countryOf(p[0], p[1]); c != "" && !seen[c] {
				seen[c] = true
				r.Countries = append(r.Countries, c)
			}
		})
	}
	r.Countries = nonNil(r.Countries)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
