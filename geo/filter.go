package geo

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// BBox is a bounding box west, south, east, north in degrees. West greater
// than east means the box crosses the antimeridian.
type BBox struct {
	W, S, E, N float64
}

// ParseBBox reads a box as the query parameter bbox writes it: "w,s,e,n",
// or the six numbers w,s,zmin,e,n,zmax of OGC API – Features, whose heights
// are ignored. Its errors are EMALFORMED with a message for the user.
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return BBox{}, Errorf(EMALFORMED, "bbox must be four numbers w,s,e,n; got %q", Clip(s))
	}
	v := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return BBox{}, Errorf(EMALFORMED, "bbox must be four numbers w,s,e,n; %q is not a finite number", Clip(p))
		}
		v[i] = f
	}
	return BBoxOf(v)
}

// BBoxOf makes a box of four numbers w,s,e,n (or six with heights, which
// are ignored), as a subscribe frame of the websocket gives them, and
// checks it. Its errors are EMALFORMED with a message for the user.
func BBoxOf(v []float64) (BBox, error) {
	switch len(v) {
	case 6:
		v = []float64{v[0], v[1], v[3], v[4]}
	case 4:
	default:
		return BBox{}, Errorf(EMALFORMED, "bbox must be four numbers w,s,e,n; got %d", len(v))
	}
	for _, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return BBox{}, Errorf(EMALFORMED, "bbox must be four numbers w,s,e,n; %v is not a finite number", f)
		}
	}
	b := BBox{W: v[0], S: v[1], E: v[2], N: v[3]}
	if err := b.Check(); err != nil {
		return b, Errorf(EMALFORMED, "%v (bbox is w,s,e,n in degrees)", err)
	}
	return b, nil
}

// ParseDatetime reads the datetime filter of OGC API – Features: an
// instant or an interval a/b, ../b, a/.., each end RFC 3339 or a partial
// date. "" selects all time. Its errors are EMALFORMED.
func ParseDatetime(s string) (Span, error) {
	if len(s) > 100 {
		return Span{}, Errorf(EMALFORMED, "datetime is too long to be an instant or an interval")
	}
	span, err := ParseInterval(s)
	if err != nil {
		return span, Errorf(EMALFORMED, "datetime must be an instant or an interval a/b, ../b, a/.. of RFC 3339 times or dates YYYY[-MM[-DD]]: %v", err)
	}
	return span, nil
}

// FilterParams are the names of the filter's query parameters, also the
// members of the filter of a websocket subscription.
var FilterParams = []string{"bbox", "datetime", "type", "actor", "country", "commodity", "q", "near", "near_route", "km"}

// ParseFilterQuery reads a filter from query parameters: bbox, datetime,
// type, actor, country, commodity, q, and the corridors near=lon,lat,km and
// near_route=ID&km=K. Lists are comma-separated or repeated. Its errors are
// EMALFORMED with a message for the user.
func ParseFilterQuery(q url.Values) (Filter, error) {
	f := NewFilter()
	s, err := QueryValue(q, "bbox")
	if err != nil {
		return f, err
	}
	if s != "" || q.Has("bbox") {
		b, err := ParseBBox(s)
		if err != nil {
			return f, err
		}
		f.BBox = &b
	}
	if s, err = QueryValue(q, "datetime"); err != nil {
		return f, err
	}
	if f.Span, err = ParseDatetime(s); err != nil {
		return f, err
	}
	f.Types, f.Commodities = QueryList(q, "type"), QueryList(q, "commodity")
	f.Actors, f.Countries = QueryList(q, "actor"), QueryList(q, "country")
	if f.Q, err = QueryValue(q, "q"); err != nil {
		return f, err
	}
	var near [3]string
	for i, name := range []string{"near", "near_route", "km"} {
		if near[i], err = QueryValue(q, name); err != nil {
			return f, err
		}
	}
	if f.Near, err = ParseNear(near[0], near[1], near[2]); err != nil {
		return f, err
	}
	return f, f.Clean()
}

// QueryValue returns the one value of a query parameter, "" when absent;
// a parameter given twice is EMALFORMED because it has no obvious meaning.
func QueryValue(q url.Values, name string) (string, error) {
	v := q[name]
	switch len(v) {
	case 0:
		return "", nil
	case 1:
		return v[0], nil
	}
	return "", Errorf(EMALFORMED, "%s is given %d times; give it once", name, len(v))
}

// QueryList splits the comma-separated values of a query parameter (which
// may be repeated) into a list, trimming blanks and dropping empty items.
func QueryList(q url.Values, name string) []string {
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

// Clip shortens user text quoted back in a message.
func Clip(s string) string {
	const max = 60 // characters
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

// Check validates the ranges of a box.
func (b BBox) Check() error {
	for _, p := range []orb.Point{{b.W, b.S}, {b.E, b.N}} {
		if _, fe := CheckPoint(p, "bbox"); fe != nil {
			return fmt.Errorf("bbox: %s", fe.Message)
		}
	}
	if b.S > b.N {
		return fmt.Errorf("bbox south %v is north of north %v", b.S, b.N)
	}
	return nil
}

// Bounds returns the box as one or two plain bounds, split at the antimeridian.
func (b BBox) Bounds() []orb.Bound {
	if b.W <= b.E {
		return []orb.Bound{{Min: orb.Point{b.W, b.S}, Max: orb.Point{b.E, b.N}}}
	}
	return []orb.Bound{
		{Min: orb.Point{b.W, b.S}, Max: orb.Point{180, b.N}},
		{Min: orb.Point{-180, b.S}, Max: orb.Point{b.E, b.N}},
	}
}

// Filter selects records. Empty fields select everything. Type applies to
// incidents and Commodity to routes; the other fields to both.
type Filter struct {
	BBox        *BBox    `json:"bbox,omitempty"`
	Span        Span     `json:"-"`
	Types       []string `json:"type,omitempty"`
	Commodities []string `json:"commodity,omitempty"`
	Actors      []string `json:"actor,omitempty"`
	Countries   []string `json:"country,omitempty"`
	Q           string   `json:"q,omitempty"`
	Near        *Near    `json:"-"` // within a distance of a point or a route
	// CQL is a filter expression of OGC API – Features Part 3, compiled by
	// the store; nil selects everything. Live subscriptions do not take one.
	CQL Expr `json:"-"`
	// Aliases is the alias table the actors were resolved with
	// (ResolveActors): counts by actor group spellings under its
	// canonical names. nil: every name is its own.
	Aliases *Aliases `json:"-"`
	// Exact says the caller sees sensitive records as they are (editors,
	// admins): filters test their exact geometry, and they come out
	// exact. Otherwise both use the coarse geometry (Coarsened).
	Exact bool `json:"-"`
}

// NewFilter returns a filter that selects everything.
func NewFilter() Filter { return Filter{Span: All} }

// Clean puts the filter in the form every reader of it expects (q and
// list items trimmed, empty items dropped) and checks it.
func (f *Filter) Clean() error {
	for _, l := range []*[]string{&f.Types, &f.Commodities, &f.Actors, &f.Countries} {
		out := (*l)[:0:0]
		for _, v := range *l {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		*l = out
	}
	f.Q = strings.TrimSpace(f.Q)
	return f.Check()
}

// Check validates the filter's values: the box, the lengths, and the
// types, commodities and country codes, so that a typo is an error rather
// than a silently empty answer. Its errors are EMALFORMED.
func (f Filter) Check() error {
	if f.BBox != nil {
		if err := f.BBox.Check(); err != nil {
			return Errorf(EMALFORMED, "%v", err)
		}
	}
	if f.Near != nil {
		if err := f.Near.Check(); err != nil {
			return err
		}
	}
	if len(f.Q) > MaxText {
		return Errorf(EMALFORMED, "q is longer than %d characters", MaxText)
	}
	if n := len(Words(f.Q)); n > MaxWords {
		return Errorf(EMALFORMED, "q has %d different words; at most %d are allowed (a record matches when it holds them all)", n, MaxWords)
	}
	for _, l := range [][]string{f.Types, f.Commodities, f.Actors, f.Countries} {
		if len(l) > MaxItems {
			return Errorf(EMALFORMED, "a filter lists more than %d values", MaxItems)
		}
	}
	for _, t := range f.Types {
		if !slices.Contains(IncidentTypes, t) {
			return Errorf(EMALFORMED, "type %q is not one of %s", Clip(t), strings.Join(IncidentTypes, ", "))
		}
	}
	for _, c := range f.Commodities {
		if !slices.Contains(Commodities, c) {
			return Errorf(EMALFORMED, "commodity %q is not one of %s", Clip(c), strings.Join(Commodities, ", "))
		}
	}
	for _, c := range f.Countries {
		if !countryValue.MatchString(c) {
			return Errorf(EMALFORMED, "country must be ISO 3166-1 codes such as CO,MX or country names; got %q", Clip(c))
		}
	}
	return nil
}

// countryValue is what a country filter value may look like: a code or a
// name (letters, spaces and the punctuation of names), which the store
// resolves to a code.
var countryValue = regexp.MustCompile(`^[\p{L}\p{M}][\p{L}\p{M} .'’()-]{0,79}$`)

// Kinds returns the kind values that apply to the collection.
func (f Filter) Kinds(c Collection) []string {
	if c == Routes {
		return f.Commodities
	}
	return f.Types
}

// Match reports whether the record is selected. It is Matcher().Match on
// the record's keys.
func (f Filter) Match(r Record) bool {
	return f.MatchKeys(r.Collection(), r.Keys())
}

// MatchKeys is Match on keys already computed.
func (f Filter) MatchKeys(c Collection, k Keys) bool {
	return f.Matcher().Match(c, &k, Fold(k.Text))
}

// Matcher is a filter compiled to test many records in memory, by the
// rules the database applies to the same filter: boxes meet (edges count),
// time spans overlap, kinds, actors and countries are any-of and equal
// ignoring ASCII case (as SQLite's NOCASE), and full text needs every
// word of q to begin a word of the folded text. The cheap box test comes
// first, the words last.
type Matcher struct {
	bounds [2]orb.Bound // the box, split at the antimeridian
	nb     int          // bounds in use; 0: everywhere
	span   Span         // All: any time
	f      Filter       // for kinds, actors and countries
	words  []string     // folded, all required
}

// Matcher compiles the filter.
func (f Filter) Matcher() *Matcher {
	m := &Matcher{span: f.Span, f: f, words: Words(f.Q)}
	if f.BBox != nil {
		m.nb = copy(m.bounds[:], f.BBox.Bounds())
	}
	if m.span == (Span{}) {
		m.span = All
	}
	return m
}

// Match reports whether a record of collection c with keys k, whose text
// folded (Fold(k.Text)) is folded, is selected.
func (m *Matcher) Match(c Collection, k *Keys, folded string) bool {
	if m.nb > 0 && !IntersectsAny(k.Boxes, m.bounds[:m.nb]) {
		return false
	}
	if m.span != All && !k.Span.Overlaps(m.span) {
		return false
	}
	if kinds := m.f.Kinds(c); len(kinds) > 0 && !anyOf(kinds, k.Kind) {
		return false
	}
	if len(m.f.Actors) > 0 && !anyOf(m.f.Actors, k.Actors...) {
		return false
	}
	if len(m.f.Countries) > 0 && !anyOf(m.f.Countries, k.Countries...) {
		return false
	}
	if m.f.Near != nil && !m.f.Near.Contains(k.Shape) {
		return false
	}
	return HasWords(folded, m.words)
}

// IntersectsAny reports whether any box of a meets any box of b (edges count).
func IntersectsAny(a, b []orb.Bound) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Min[0] <= y.Max[0] && y.Min[0] <= x.Max[0] && x.Min[1] <= y.Max[1] && y.Min[1] <= x.Max[1] {
				return true
			}
		}
	}
	return false
}

// anyOf reports whether a wanted value equals a value the record has,
// ignoring ASCII case.
func anyOf(want []string, have ...string) bool {
	for _, w := range want {
		for _, h := range have {
			if SameKey(w, h) {
				return true
			}
		}
	}
	return false
}

// SameKey reports whether two key values (actors, countries) are the same
// for filters: equal ignoring the case of ASCII letters, as SQLite's NOCASE
// collation compares them.
func SameKey(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
