package geo

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/paulmach/orb"
)

// BBox is a bounding box west, south, east, north in degrees. West greater
// than east means the box crosses the antimeridian.
type BBox struct {
	W, S, E, N float64
}

// ParseBBox reads "w,s,e,n".
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return BBox{}, fmt.Errorf("bbox must be four numbers w,s,e,n; got %d", len(parts))
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return BBox{}, fmt.Errorf("bbox value %q is not a number", p)
		}
		v[i] = f
	}
	b := BBox{v[0], v[1], v[2], v[3]}
	return b, b.Check()
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
}

// NewFilter returns a filter that selects everything.
func NewFilter() Filter { return Filter{Span: All} }

// Check validates the filter's values.
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
	for _, l := range [][]string{f.Types, f.Commodities, f.Actors, f.Countries} {
		if len(l) > MaxItems {
			return Errorf(EMALFORMED, "a filter lists more than %d values", MaxItems)
		}
	}
	return nil
}

// Kinds returns the kind values that apply to the collection.
func (f Filter) Kinds(c Collection) []string {
	if c == Routes {
		return f.Commodities
	}
	return f.Types
}

// Match reports whether the record is selected. Full text is matched
// in memory by MatchText (every word begins a word of the text); the
// database uses its full-text index for the same question.
func (f Filter) Match(r Record) bool {
	return f.MatchKeys(r.Collection(), r.Keys())
}

// MatchKeys is Match on keys already computed.
func (f Filter) MatchKeys(c Collection, k Keys) bool {
	if f.BBox != nil && !IntersectsAny(k.Boxes, f.BBox.Bounds()) {
		return false
	}
	if f.Span != (Span{}) && f.Span != All && !k.Span.Overlaps(f.Span) {
		return false
	}
	if kinds := f.Kinds(c); len(kinds) > 0 && !anyOf(kinds, []string{k.Kind}) {
		return false
	}
	if len(f.Actors) > 0 && !anyOf(f.Actors, k.Actors) {
		return false
	}
	if len(f.Countries) > 0 && !anyOf(f.Countries, k.Countries) {
		return false
	}
	if f.Near != nil && !f.Near.Contains(k.Shape) {
		return false
	}
	if f.Q != "" && !MatchText(f.Q, k.Text) {
		return false
	}
	return true
}

// MatchText reports whether, for every word of the query q, the text has a
// word that begins with it, ignoring case and accents ("cocain" finds
// "Cocaine"): the rule of the database's full-text prefix query.
func MatchText(q, text string) bool {
	words := Words(text)
	for _, w := range Words(q) {
		found := false
		for _, t := range words {
			if strings.HasPrefix(t, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
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

func anyOf(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if strings.EqualFold(w, h) {
				return true
			}
		}
	}
	return false
}

// Words splits a full-text query into folded words.
func Words(q string) []string {
	return strings.FieldsFunc(Fold(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
}

// Fold lower-cases text and removes the accents of Latin letters, so that
// "Bogotá" and "bogota" compare equal.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var foldTable = func() map[rune]string {
	m := map[rune]string{}
	for base, accented := range map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ďđ", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥħ",
		"i": "ìíîïĩīĭįı", "j": "ĵ", "k": "ķ", "l": "ĺļľŀł", "n": "ñńņňŉ", "o": "òóôõöøōŏő",
		"r": "ŕŗř", "s": "śŝşš", "t": "ţťŧ", "u": "ùúûüũūŭůűų", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
		"ss": "ß", "ae": "æ", "oe": "œ",
	} {
		for _, r := range accented {
			m[r] = base
		}
	}
	return m
}()
