package geo

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// A quick reader of the Features that imports and the stores hand
// DecodeFeature by the hundred thousand: no reflection, no copies of
// members, one pass over the bytes. It takes only what it reads exactly as
// the strict path (encoding/json with unknown members refused) does, and
// gives up on anything else: a member named with other letter case, one
// named twice, an escape it does not decode, a null inside a list, invalid
// UTF-8, a number that does not fit, any rule of the geometry broken, any
// syntax error. DecodeFeature then reads the feature the strict way, which
// decides and names what is wrong. FuzzDecodeFeatureQuick holds the two
// paths to the same records.

// quickDepth bounds the nesting of the members the quick path skips.
const quickDepth = 64

// quickScan reads one JSON text. fail is sticky: once set, every read
// returns zero values, and the caller gives up.
type quickScan struct {
	b    []byte
	i    int
	fail bool
	buf  []byte // scratch for strings with escapes
}

// decodeFeatureQuick is DecodeFeature for the common shape; ok false
// means the strict path must decide.
func decodeFeatureQuick(c Collection, data []byte) (rec Record, ok bool) {
	s := quickScan{b: data}
	var (
		seen       uint8
		geometry   orb.Geometry
		hasGeom    bool
		id         string
		r          = NewRecord(c)
		typeIsFeat bool
	)
	s.object(func(key []byte) {
		var bit uint8
		switch string(key) {
		case "type":
			bit = 1
			typeIsFeat = string(s.rawString()) == "Feature"
		case "id":
			bit = 2
			if s.peek() == '"' {
				id = s.str()
			} else {
				s.skip(0)
			}
		case "bbox":
			bit = 4
			s.skip(0)
		case "geometry":
			bit = 8
			geometry, hasGeom = s.geometry(c)
		case "properties":
			bit = 16
			if s.peek() == 'n' {
				s.literal("null")
				return
			}
			switch r := r.(type) {
			case *Incident:
				s.incident(r)
			case *Route:
				s.route(r)
			case *Link:
				s.link(r)
			}
		default:
			s.fail = true
		}
		if seen&bit != 0 {
			s.fail = true
		}
		seen |= bit
	})
	if !s.end() || !typeIsFeat {
		return nil, false
	}
	if (c == Links) == hasGeom {
		return nil, false // a place without a geometry, or a link with one
	}
	m := r.Base()
	if m.Label != "" {
		if m.Label != string(c) {
			return nil, false
		}
		m.Label = ""
	}
	switch r := r.(type) {
	case *Incident:
		r.Point = geometry.(orb.Point)
	case *Route:
		r.Line = geometry
	}
	m.ID = id
	return r, true
}

// geometry reads the geometry member: a null, or a geometry of the
// collection that keeps every rule. has says it is not null.
func (s *quickScan) geometry(c Collection) (g orb.Geometry, has bool) {
	if s.peek() == 'n' {
		s.literal("null")
		return nil, false
	}
	var typ []byte
	from, to := -1, -1
	var seen uint8
	s.object(func(key []byte) {
		var bit uint8
		switch string(key) {
		case "type":
			bit = 1
			typ = s.rawString()
		case "coordinates":
			bit = 2
			s.ws()
			from = s.i
			s.skip(0)
			to = s.i
		default:
			s.fail = true
		}
		if seen&bit != 0 {
			s.fail = true
		}
		seen |= bit
	})
	if s.fail || from < 0 {
		s.fail = true
		return nil, true
	}
	// The coordinates are read once their type is known: the members may
	// come in any order.
	cs := quickScan{b: s.b[from:to]}
	switch {
	case c == Incidents && string(typ) == "Point":
		p := cs.position()
		if _, fe := CheckPoint(p, ""); fe != nil {
			cs.fail = true
		}
		g = p
	case c == Routes && string(typ) == "LineString":
		var ls orb.LineString
		cs.array(func() { ls = append(ls, cs.position()) })
		if !quickLine(ls, len(ls)) {
			cs.fail = true
		}
		g = ls
	case c == Routes && string(typ) == "MultiLineString":
		var mls orb.MultiLineString
		total := 0
		cs.array(func() {
			var ls orb.LineString
			cs.array(func() { ls = append(ls, cs.position()) })
			total += len(ls)
			mls = append(mls, ls)
		})
		if len(mls) == 0 {
			cs.fail = true
		}
		for _, ls := range mls {
			if !quickLine(ls, total) {
				cs.fail = true
			}
		}
		g = mls
	default:
		cs.fail = true
	}
	if !cs.end() {
		s.fail = true
	}
	return g, true
}

// quickLine checks the rules of one line of a route: no more than
// MaxVertices positions in all, each in range, at least two distinct.
func quickLine(ls orb.LineString, total int) bool {
	if total > MaxVertices {
		return false
	}
	distinct := 0
	for i, p := range ls {
		if _, fe := CheckPoint(p, ""); fe != nil {
			return false
		}
		if i == 0 || p != ls[0] {
			distinct++
		}
	}
	return distinct >= 2
}

// position reads [lon, lat].
func (s *quickScan) position() orb.Point {
	var p orb.Point
	s.eat('[')
	p[0] = s.float()
	s.eat(',')
	p[1] = s.float()
	s.eat(']')
	return p
}

// incident reads the properties of an incident.
func (s *quickScan) incident(r *Incident) {
	var seen uint32
	s.object(func(key []byte) {
		var bit uint32
		switch string(key) {
		case "title":
			bit, r.Title = 1<<0, s.text(nil)
		case "summary":
			bit, r.Summary = 1<<1, s.text(nil)
		case "type":
			bit, r.Type = 1<<2, s.text(IncidentTypes)
		case "subtype":
			bit, r.Subtype = 1<<3, s.text(nil)
		case "date":
			bit, r.Date = 1<<4, s.text(nil)
		case "place":
			bit, r.Place = 1<<5, s.text(nil)
		case "country":
			bit, r.Country = 1<<6, s.text(nil)
		case "precision":
			bit, r.Precision = 1<<7, s.text(Precisions)
		case "actors":
			bit, r.Actors = 1<<8, s.texts()
		case "killed":
			bit, r.Killed = 1<<9, s.count()
		case "wounded":
			bit, r.Wounded = 1<<10, s.count()
		case "sources":
			bit, r.Sources = 1<<11, s.sources()
		case "tags":
			bit, r.Tags = 1<<12, s.texts()
		case "external_id":
			bit, r.ExternalID = 1<<13, s.text(nil)
		case "sensitive":
			bit, r.Sensitive = 1<<14, s.boolean()
		default:
			bit = s.meta(key, &r.Meta) << 15
		}
		if seen&bit != 0 {
			s.fail = true
		}
		seen |= bit
	})
}

// route reads the properties of a route.
func (s *quickScan) route(r *Route) {
	var seen uint32
	s.object(func(key []byte) {
		var bit uint32
		switch string(key) {
		case "name":
			bit, r.Name = 1<<0, s.text(nil)
		case "commodity":
			bit, r.Commodity = 1<<1, s.text(Commodities)
		case "mode":
			bit, r.Mode = 1<<2, s.text(Modes)
		case "waypoints":
			bit, r.Waypoints = 1<<3, s.texts()
		case "actors":
			bit, r.Actors = 1<<4, s.texts()
		case "sources":
			bit, r.Sources = 1<<5, s.sources()
		case "tags":
			bit, r.Tags = 1<<6, s.texts()
		case "external_id":
			bit, r.ExternalID = 1<<7, s.text(nil)
		case "summary":
			bit, r.Summary = 1<<8, s.text(nil)
		case "active_from":
			bit, r.ActiveFrom = 1<<9, s.text(nil)
		case "active_to":
			bit, r.ActiveTo = 1<<10, s.text(nil)
		case "confidence":
			bit, r.Confidence = 1<<11, s.text(Confidences)
		case "countries":
			bit, r.Countries = 1<<12, s.texts()
		case "precision":
			bit, r.Precision = 1<<13, s.text(Precisions)
		case "sensitive":
			bit, r.Sensitive = 1<<14, s.boolean()
		default:
			bit = s.meta(key, &r.Meta) << 15
		}
		if seen&bit != 0 {
			s.fail = true
		}
		seen |= bit
	})
}

// link reads the properties of a link.
func (s *quickScan) link(r *Link) {
	var seen uint32
	s.object(func(key []byte) {
		var bit uint32
		switch string(key) {
		case "from":
			bit, r.From = 1<<0, s.text(nil)
		case "to":
			bit, r.To = 1<<1, s.text(nil)
		case "relation":
			bit, r.Relation = 1<<2, s.text(Relations)
		case "date_from":
			bit, r.DateFrom = 1<<3, s.text(nil)
		case "date_to":
			bit, r.DateTo = 1<<4, s.text(nil)
		case "confidence":
			bit, r.Confidence = 1<<5, s.text(Confidences)
		case "summary":
			bit, r.Summary = 1<<6, s.text(nil)
		case "sources":
			bit, r.Sources = 1<<7, s.sources()
		case "tags":
			bit, r.Tags = 1<<8, s.texts()
		case "external_id":
			bit, r.ExternalID = 1<<9, s.text(nil)
		default:
			bit = s.meta(key, &r.Meta) << 15
		}
		if seen&bit != 0 {
			s.fail = true
		}
		seen |= bit
	})
}

// meta reads a property every record has; it returns a bit of its own
// for each (1 to 8), and fails on an unknown one.
func (s *quickScan) meta(key []byte, m *Meta) uint32 {
	switch string(key) {
	case "version":
		if s.peek() == 'n' {
			s.literal("null")
		} else {
			m.Version = s.integer()
		}
		return 1
	case "created":
		s.instant(&m.Created)
		return 2
	case "updated":
		s.instant(&m.Updated)
		return 4
	case "collection":
		m.Label = s.text(nil)
		return 8
	}
	s.fail = true
	return 0
}

// instant reads a time as encoding/json does: by its UnmarshalJSON, with
// the value's bytes.
func (s *quickScan) instant(t *time.Time) {
	s.ws()
	from := s.i
	s.skip(0)
	if !s.fail && t.UnmarshalJSON(s.b[from:s.i]) != nil {
		s.fail = true
	}
}

// sources reads a list of sources; null is nil.
func (s *quickScan) sources() []Source {
	if s.peek() == 'n' {
		s.literal("null")
		return nil
	}
	list := []Source{}
	s.array(func() {
		var src Source
		var seen uint8
		s.object(func(key []byte) {
			var bit uint8
			switch string(key) {
			case "title":
				bit, src.Title = 1, s.text(nil)
			case "url":
				bit, src.URL = 2, s.text(nil)
			case "publisher":
				bit, src.Publisher = 4, s.text(nil)
			case "published":
				bit, src.Published = 8, s.text(nil)
			default:
				s.fail = true
			}
			if seen&bit != 0 {
				s.fail = true
			}
			seen |= bit
		})
		list = append(list, src)
	})
	return list
}

// texts reads a list of strings; null is nil, a null in it gives up.
func (s *quickScan) texts() []string {
	if s.peek() == 'n' {
		s.literal("null")
		return nil
	}
	list := []string{}
	s.array(func() { list = append(list, s.str()) })
	return list
}

// text reads a string or null (""). A value found in common is that
// string, not a copy.
func (s *quickScan) text(common []string) string {
	if s.peek() == 'n' {
		s.literal("null")
		return ""
	}
	if s.peek() != '"' {
		s.fail = true
		return ""
	}
	if common != nil {
		save := s.i
		if raw := s.rawString(); !s.fail {
			for _, c := range common {
				if string(raw) == c {
					return c
				}
			}
		}
		s.i, s.fail = save, false
	}
	return s.str()
}

// count reads an integer or null (nil).
func (s *quickScan) count() *int64 {
	if s.peek() == 'n' {
		s.literal("null")
		return nil
	}
	n := s.integer()
	return &n
}

// boolean reads true, false or null (false).
func (s *quickScan) boolean() bool {
	switch s.peek() {
	case 't':
		s.literal("true")
		return true
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		s.fail = true
	}
	return false
}

// integer reads a number that is an int64, as encoding/json reads one.
func (s *quickScan) integer() int64 {
	n, err := strconv.ParseInt(string(s.number()), 10, 64)
	if err != nil {
		s.fail = true
	}
	return n
}

// float reads a number that is a float64.
func (s *quickScan) float() float64 {
	f, err := strconv.ParseFloat(string(s.number()), 64)
	if err != nil {
		s.fail = true
	}
	return f
}

// number reads the bytes of a JSON number, checking its grammar.
func (s *quickScan) number() []byte {
	s.ws()
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		s.fail = true
		return nil
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			s.fail = true
			return nil
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			s.fail = true
			return nil
		}
	}
	n := b[s.i:i]
	s.i = i
	return n
}

// digits returns the index after the decimal digits from i on.
func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// rawString reads a string without escapes and returns its bytes as they
// are; an escape or a control character fails.
func (s *quickScan) rawString() []byte {
	if s.peek() != '"' {
		s.fail = true
		return nil
	}
	for i := s.i + 1; i < len(s.b); i++ {
		if !stringSpecial[s.b[i]] {
			continue
		}
		switch c := s.b[i]; {
		case c == '"':
			raw := s.b[s.i+1 : i]
			s.i = i + 1
			return raw
		case c == '\\' || c < 0x20:
			s.fail = true
			return nil
		}
	}
	s.fail = true
	return nil
}

// stringSpecial marks the bytes a string's reader stops at: the quote,
// the backslash, control characters, and the bytes of characters past
// ASCII.
var stringSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

// str reads a string. It gives up on invalid UTF-8 and on escaped
// surrogates, which encoding/json replaces by U+FFFD or pairs.
func (s *quickScan) str() string {
	if s.peek() != '"' {
		s.fail = true
		return ""
	}
	start := s.i + 1
	ascii := true
	for i := start; i < len(s.b); i++ {
		if !stringSpecial[s.b[i]] {
			continue
		}
		switch c := s.b[i]; {
		case c == '"':
			raw := s.b[start:i]
			if !ascii && !utf8.Valid(raw) {
				s.fail = true
				return ""
			}
			s.i = i + 1
			return string(raw)
		case c == '\\':
			return s.unescape(start, i)
		case c < 0x20:
			s.fail = true
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	s.fail = true
	return ""
}

// unescape reads the rest of a string that has an escape at i.
func (s *quickScan) unescape(start, i int) string {
	buf := append(s.buf[:0], s.b[start:i]...)
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			s.buf = buf
			if !utf8.Valid(buf) {
				s.fail = true
				return ""
			}
			s.i = i + 1
			return string(buf)
		case c < 0x20:
			s.fail = true
			return ""
		case c != '\\':
			buf = append(buf, c)
			i++
			continue
		}
		if i+1 >= len(s.b) {
			s.fail = true
			return ""
		}
		switch e := s.b[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := hex4(s.b[i+2:])
			if !ok || (0xD800 <= r && r < 0xE000) {
				s.fail = true
				return ""
			}
			buf = utf8.AppendRune(buf, r)
			i += 4
		default:
			s.fail = true
			return ""
		}
		i += 2
	}
	s.fail = true
	return ""
}

// hex4 reads four hexadecimal digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// skip reads any JSON value, checking its syntax, and keeps nothing.
func (s *quickScan) skip(depth int) {
	if depth > quickDepth {
		s.fail = true
		return
	}
	switch s.peek() {
	case '{':
		s.i++
		if s.peek() == '}' {
			s.i++
			return
		}
		for !s.fail {
			s.skipString()
			s.eat(':')
			s.skip(depth + 1)
			if s.peek() == '}' {
				s.i++
				return
			}
			s.eat(',')
		}
	case '[':
		s.i++
		if s.peek() == ']' {
			s.i++
			return
		}
		for !s.fail {
			s.skip(depth + 1)
			if s.peek() == ']' {
				s.i++
				return
			}
			s.eat(',')
		}
	case '"':
		s.skipString()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		s.number()
	}
}

// skipString reads a string, checking its escapes; its bytes need not be
// UTF-8, as in encoding/json.
func (s *quickScan) skipString() {
	if s.peek() != '"' {
		s.fail = true
		return
	}
	for i := s.i + 1; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			s.i = i + 1
			return
		case c < 0x20:
			s.fail = true
			return
		case c == '\\':
			if i+1 >= len(s.b) {
				s.fail = true
				return
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(s.b[i+2:]); !ok {
					s.fail = true
					return
				}
				i += 5
			default:
				s.fail = true
				return
			}
		}
	}
	s.fail = true
}

// object reads an object, calling member with each key (which has no
// escape) with the scanner at its value.
func (s *quickScan) object(member func(key []byte)) {
	s.eat('{')
	if s.fail {
		return
	}
	if s.peek() == '}' {
		s.i++
		return
	}
	for !s.fail {
		key := s.rawString()
		s.eat(':')
		if s.fail {
			return
		}
		member(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail = true
		}
	}
}

// array reads an array, calling elem with the scanner at each element.
func (s *quickScan) array(elem func()) {
	s.eat('[')
	if s.fail {
		return
	}
	if s.peek() == ']' {
		s.i++
		return
	}
	for !s.fail {
		if s.peek() == 'n' {
			s.fail = true // a null element: encoding/json keeps a zero value
			return
		}
		elem()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail = true
		}
	}
}

// literal reads true, false or null.
func (s *quickScan) literal(word string) {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return
	}
	s.fail = true
}

// eat reads the byte c, after blank space.
func (s *quickScan) eat(c byte) {
	if s.peek() == c {
		s.i++
		return
	}
	s.fail = true
}

// peek returns the next byte after blank space, 0 at the end or after a
// failure.
func (s *quickScan) peek() byte {
	s.ws()
	if s.i < len(s.b) && !s.fail {
		return s.b[s.i]
	}
	return 0
}

// end reports whether all went well and nothing but blank space is left.
func (s *quickScan) end() bool {
	s.ws()
	return !s.fail && s.i == len(s.b)
}

// ws skips blank space.
func (s *quickScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}
