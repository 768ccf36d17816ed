package geo

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Queryable is a property a filter expression may name.
type Queryable struct {
	Name string
	// Type is the JSON Schema type: "string", "integer", "boolean" (absent
	// is false), "array" (of strings: a comparison holds when it holds for
	// any item), "geometry" or "date" (a partial date; T_INTERSECTS tests
	// the record's span).
	Type   string
	Enum   []string
	Title  string
	Format string // JSON Schema format of strings: "date-time"
}

// Queryables lists the properties filters can use on a collection.
func Queryables(c Collection) []Queryable {
	common := []Queryable{
		{Name: "id", Type: "string", Title: "Identifier, chosen by the server"},
		{Name: "external_id", Type: "string", Title: "Identifier in the source dataset (gtd:…, acled:…)"},
		{Name: "summary", Type: "string", Title: "Summary"},
		{Name: "tags", Type: "array", Title: "Free labels (any of)"},
		{Name: "version", Type: "integer", Title: "Version, from 1"},
		{Name: "created", Type: "string", Format: "date-time", Title: "When it was first stored"},
		{Name: "updated", Type: "string", Format: "date-time", Title: "When it last changed"},
	}
	actors := Queryable{Name: "actors", Type: "array", Title: "Groups or people involved (any of)"}
	sensitive := Queryable{Name: "sensitive", Type: "boolean", Title: "Its place is shown to viewers only to the nearest ~10 km (editors set it)"}
	switch c {
	case Links:
		return append([]Queryable{
			{Name: "from", Type: "string", Title: "The actor the relation goes from"},
			{Name: "to", Type: "string", Title: "The actor the relation goes to"},
			{Name: "relation", Type: "string", Enum: Relations, Title: "What the relation is"},
			{Name: "date_from", Type: "date", Title: "Since (YYYY[-MM[-DD]]); T_INTERSECTS tests the whole span"},
			{Name: "date_to", Type: "date", Title: "Until (YYYY[-MM[-DD]]); T_INTERSECTS tests the whole span"},
			{Name: "confidence", Type: "string", Enum: Confidences, Title: "Confidence"},
		}, common...)
	case Routes:
		return append([]Queryable{
			{Name: "geometry", Type: "geometry", Title: "The route's line"}, actors,
			{Name: "name", Type: "string", Title: "Name"},
			{Name: "commodity", Type: "string", Enum: Commodities, Title: "What moves along it"},
			{Name: "mode", Type: "string", Enum: Modes, Title: "Mode of transport"},
			{Name: "confidence", Type: "string", Enum: Confidences, Title: "Confidence"},
			{Name: "waypoints", Type: "array", Title: "Waypoint names (any of)"},
			{Name: "countries", Type: "array", Title: "Countries it passes through, ISO alpha-2 (any of)"},
			{Name: "active_from", Type: "date", Title: "Active from (YYYY[-MM[-DD]]); T_INTERSECTS tests the whole active span"},
			{Name: "active_to", Type: "date", Title: "Active until (YYYY[-MM[-DD]]); T_INTERSECTS tests the whole active span"},
			sensitive,
		}, common...)
	}
	return append([]Queryable{
		{Name: "geometry", Type: "geometry", Title: "The incident's point"}, actors,
		{Name: "title", Type: "string", Title: "Title"},
		{Name: "type", Type: "string", Enum: IncidentTypes, Title: "Incident type"},
		{Name: "subtype", Type: "string", Title: "Subtype (e.g. the GTD attack type)"},
		{Name: "date", Type: "date", Title: "Date (YYYY[-MM[-DD]]); T_INTERSECTS tests the whole span it names"},
		{Name: "place", Type: "string", Title: "Place name"},
		{Name: "country", Type: "string", Title: "ISO 3166-1 alpha-2 country"},
		{Name: "precision", Type: "string", Enum: Precisions, Title: "How precise the point is"},
		{Name: "killed", Type: "integer", Title: "People killed (null when unknown)"},
		{Name: "wounded", Type: "integer", Title: "People wounded (null when unknown)"},
		sensitive,
	}, common...)
}

// QueryableOf returns the queryable of that name in the collection.
func QueryableOf(c Collection, name string) (Queryable, bool) {
	for _, q := range Queryables(c) {
		if q.Name == name {
			return q, true
		}
	}
	return Queryable{}, false
}

// CheckCQL checks an expression against the queryables of the
// collections it will select from: every property must be known to one
// of them, and used as its type allows (a number compared with a number,
// geometry only in S_INTERSECTS, a date in T_INTERSECTS). A property
// unknown to one collection is null there.
func CheckCQL(e Expr, cols []Collection) error {
	var err error
	var walk func(Expr)
	known := func(p string) (Queryable, bool) {
		for _, c := range cols {
			if q, ok := QueryableOf(c, p); ok {
				return q, true
			}
		}
		if err == nil {
			var names []string
			for _, c := range cols {
				for _, q := range Queryables(c) {
					if !slices.Contains(names, q.Name) {
						names = append(names, q.Name)
					}
				}
			}
			err = Errorf(EMALFORMED, "filter: %q is not a queryable property; there are %s", p, strings.Join(names, ", "))
		}
		return Queryable{}, false
	}
	value := func(q Queryable, v Value) {
		want := byte('s')
		switch q.Type {
		case "integer":
			want = 'n'
		case "boolean":
			want = 'b'
		case "geometry":
			if err == nil {
				err = Errorf(EMALFORMED, "filter: %s is a geometry; test it with S_INTERSECTS", q.Name)
			}
			return
		}
		if v.Kind != want && err == nil {
			what := map[byte]string{'s': "a 'quoted string'", 'n': "a number", 'b': "TRUE or FALSE"}[want]
			err = Errorf(EMALFORMED, "filter: %s is compared with %s, not %s", q.Name, what, v.String())
		}
	}
	walk = func(e Expr) {
		switch e := e.(type) {
		case Logic:
			for _, a := range e.Args {
				walk(a)
			}
		case Not:
			walk(e.X)
		case Compare:
			if q, ok := known(e.Prop); ok {
				value(q, e.Value)
			}
		case In:
			if q, ok := known(e.Prop); ok {
				for _, v := range e.Values {
					value(q, v)
				}
			}
		case Between:
			if q, ok := known(e.Prop); ok {
				value(q, e.Low)
				value(q, e.High)
			}
		case Like:
			if q, ok := known(e.Prop); ok && (q.Type == "integer" || q.Type == "geometry") && err == nil {
				err = Errorf(EMALFORMED, "filter: LIKE applies to text, and %s is not text", q.Name)
			}
		case IsNull:
			known(e.Prop)
		case SIntersects:
			if q, ok := known(e.Prop); ok && q.Type != "geometry" && err == nil {
				err = Errorf(EMALFORMED, "filter: S_INTERSECTS takes the geometry property, not %s", q.Name)
			}
		case TIntersects:
			if q, ok := known(e.Prop); ok && q.Type != "date" && q.Format != "date-time" && err == nil {
				err = Errorf(EMALFORMED, "filter: T_INTERSECTS takes a date property (date, active_from, active_to, date_from, date_to), not %s", q.Name)
			}
		}
	}
	walk(e)
	return err
}

// MatchLike reports whether s matches a LIKE pattern: % any run of
// characters, _ one character, \ escapes the next one. With caseI, case
// and the accents of Latin letters are ignored.
func MatchLike(s, pattern string, caseI bool) bool {
	if caseI {
		s, pattern = FoldCase(s), FoldCase(pattern)
	}
	// Iterative matching with one backtrack point per %: linear in
	// practice, never exponential.
	type item struct {
		r       rune
		any     bool // %
		one     bool // _
		escaped bool
	}
	var pat []item
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch {
		case r == '\\' && i < len(pattern):
			r2, n2 := utf8.DecodeRuneInString(pattern[i:])
			i += n2
			pat = append(pat, item{r: r2, escaped: true})
		case r == '%':
			pat = append(pat, item{any: true})
		case r == '_':
			pat = append(pat, item{one: true})
		default:
			pat = append(pat, item{r: r})
		}
	}
	text := []rune(s)
	p, t := 0, 0
	star, mark := -1, 0
	for t < len(text) {
		switch {
		case p < len(pat) && !pat[p].any && (pat[p].one || pat[p].r == text[t]):
			p++
			t++
		case p < len(pat) && pat[p].any:
			star, mark = p, t
			p++
		case star >= 0:
			p = star + 1
			mark++
			t = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p].any {
		p++
	}
	return p == len(pat)
}

// Intersects reports whether a record's geometry (a point, a line or
// lines) meets a filter's geometry (a point, line or polygon, or several).
// Edges count: a point on a polygon's boundary intersects it.
func Intersects(a, b orb.Geometry) bool {
	if !a.Bound().Intersects(b.Bound()) {
		return false
	}
	var polys orb.MultiPolygon
	switch b := b.(type) {
	case orb.Polygon:
		polys = orb.MultiPolygon{b}
	case orb.MultiPolygon:
		polys = b
	case orb.Bound:
		polys = orb.MultiPolygon{b.ToPolygon()}
	}
	inside := false
	if polys != nil {
		EachVertex(a, func(p orb.Point) {
			if !inside && planar.MultiPolygonContains(polys, p) {
				inside = true
			}
		})
		if inside {
			return true
		}
	}
	as, bs := segmentsOf(a), segmentsOf(b)
	for _, s := range as {
		for _, t := range bs {
			if segmentsMeet(s[0], s[1], t[0], t[1]) {
				return true
			}
		}
	}
	return false
}

// segmentsOf lists the segments of a geometry; a point is a segment of
// length zero.
func segmentsOf(g orb.Geometry) [][2]orb.Point {
	var out [][2]orb.Point
	line := func(ps []orb.Point) {
		if len(ps) == 1 {
			out = append(out, [2]orb.Point{ps[0], ps[0]})
		}
		for i := 1; i < len(ps); i++ {
			out = append(out, [2]orb.Point{ps[i-1], ps[i]})
		}
	}
	eachRun(g, line)
	return out
}

// segmentsMeet reports whether segments pq and rs share a point.
func segmentsMeet(p, q, r, s orb.Point) bool {
	o1, o2 := orient(p, q, r), orient(p, q, s)
	o3, o4 := orient(r, s, p), orient(r, s, q)
	if o1 != o2 && o3 != o4 {
		return true
	}
	return (o1 == 0 && onSegment(p, r, q)) || (o2 == 0 && onSegment(p, s, q)) ||
		(o3 == 0 && onSegment(r, p, s)) || (o4 == 0 && onSegment(r, q, s))
}

func orient(a, b, c orb.Point) int {
	v := (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSegment: q lies within the box of pr (q collinear with them).
func onSegment(p, q, r orb.Point) bool {
	return min(p[0], r[0]) <= q[0] && q[0] <= max(p[0], r[0]) && min(p[1], r[1]) <= q[1] && q[1] <= max(p[1], r[1])
}
