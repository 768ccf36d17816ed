package geo

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendIncident appends the properties of an incident as encoding/json
// writes them with HTML escaping off (EncodeFeature): its fields in their
// order, those of Meta last, the same omissions, escapes and time format.
// It reports false for a time encoding/json refuses, which the caller
// then has encoding/json refuse.
func appendIncident(b []byte, x *Incident) ([]byte, bool) {
	b = append(b, `{"title":`...)
	b = appendJSONString(b, x.Title, false)
	b = appendOmitEmpty(b, `,"summary":`, x.Summary)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, x.Type, false)
	b = appendOmitEmpty(b, `,"subtype":`, x.Subtype)
	b = append(b, `,"date":`...)
	b = appendJSONString(b, x.Date, false)
	b = appendOmitEmpty(b, `,"place":`, x.Place)
	b = appendOmitEmpty(b, `,"country":`, x.Country)
	b = appendOmitEmpty(b, `,"precision":`, x.Precision)
	b = append(b, `,"actors":`...)
	b = appendJSONStrings(b, x.Actors)
	b = append(b, `,"killed":`...)
	b = appendIntPointer(b, x.Killed)
	b = append(b, `,"wounded":`...)
	b = appendIntPointer(b, x.Wounded)
	b = append(b, `,"sources":`...)
	if x.Sources == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range x.Sources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"title":`...)
			b = appendJSONString(b, s.Title, false)
			b = appendOmitEmpty(b, `,"url":`, s.URL)
			b = appendOmitEmpty(b, `,"publisher":`, s.Publisher)
			b = appendOmitEmpty(b, `,"published":`, s.Published)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"tags":`...)
	b = appendJSONStrings(b, x.Tags)
	b = appendOmitEmpty(b, `,"external_id":`, x.ExternalID)
	if x.Sensitive {
		b = append(b, `,"sensitive":true`...)
	}
	m := &x.Meta
	if m.Version != 0 {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, m.Version, 10)
	}
	var ok bool
	if b, ok = appendTime(b, `,"created":`, m.Created); !ok {
		return nil, false
	}
	if b, ok = appendTime(b, `,"updated":`, m.Updated); !ok {
		return nil, false
	}
	b = appendOmitEmpty(b, `,"collection":`, m.Label)
	return append(b, '}'), true
}

// appendOmitEmpty appends the member name and s, unless s is empty.
func appendOmitEmpty(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s, false)
}

// appendJSONStrings appends a list of strings; nil is null.
func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s, false)
	}
	return append(b, ']')
}

func appendIntPointer(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

// appendTime appends the member name and t as time.Time's MarshalJSON
// writes it, unless t is zero (omitzero); it reports false for a time
// MarshalJSON refuses.
func appendTime(b []byte, name string, t time.Time) ([]byte, bool) {
	if t.IsZero() {
		return b, true
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, false
	}
	if _, off := t.Zone(); off <= -24*60*60 || off >= 24*60*60 {
		return nil, false
	}
	b = append(append(b, name...), '"')
	return append(t.AppendFormat(b, time.RFC3339Nano), '"'), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string as encoding/json writes it:
// invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped, and with html also
// <, > and &.
func appendJSONString(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
