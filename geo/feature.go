package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// NewRecord returns an empty record of the collection.
func NewRecord(c Collection) Record {
	switch c {
	case Routes:
		return &Route{}
	case Links:
		return &Link{}
	}
	return &Incident{}
}

// CollectionOf tells which collection a GeoJSON geometry type belongs to:
// points are incidents, lines are routes.
func CollectionOf(geometryType string) (Collection, bool) {
	switch geometryType {
	case "Point":
		return Incidents, true
	case "LineString", "MultiLineString":
		return Routes, true
	}
	return "", false
}

// featureIn is a GeoJSON Feature as it arrives.
type featureIn struct {
	Type       string          `json:"type"`
	ID         json.RawMessage `json:"id"`
	BBox       json.RawMessage `json:"bbox"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties json.RawMessage `json:"properties"`
}

// DecodeFeature reads one GeoJSON Feature into a record of the collection.
// Decoding is strict: unknown members and properties are refused. A syntax
// error is EMALFORMED; anything that breaks a rule is EINVALID, naming the
// field. The record is not validated beyond its geometry: call Validate.
func DecodeFeature(c Collection, data []byte) (Record, error) {
	if r, ok := decodeFeatureQuick(c, data); ok {
		return r, nil
	}
	return decodeFeatureStrict(c, data)
}

// decodeFeatureStrict is DecodeFeature by encoding/json: the reference
// that the quick path must agree with, and the one that names errors.
func decodeFeatureStrict(c Collection, data []byte) (Record, error) {
	var f featureIn
	if err := strictUnmarshal(data, &f); err != nil {
		return nil, jsonError(err, "")
	}
	if f.Type != "Feature" {
		return nil, &Error{Code: EINVALID, Message: "invalid feature", Fields: []FieldError{{Field: "type", Message: fmt.Sprintf("must be \"Feature\", got %q", f.Type)}}}
	}
	allowed := []string{"Point"}
	if c == Routes {
		allowed = []string{"LineString", "MultiLineString"}
	}
	var g orb.Geometry
	if c == Links {
		if gj := bytes.TrimSpace(f.Geometry); len(gj) > 0 && !bytes.Equal(gj, []byte("null")) {
			return nil, &Error{Code: EINVALID, Message: "invalid geometry", Fields: []FieldError{{Field: "geometry", Message: "must be null: a link joins two actors and has no place"}}}
		}
	} else {
		var fe *FieldError
		if g, fe = decodeGeometry(f.Geometry, allowed...); fe != nil {
			return nil, &Error{Code: EINVALID, Message: "invalid geometry", Fields: []FieldError{*fe}}
		}
	}
	r := NewRecord(c)
	props := bytes.TrimSpace(f.Properties)
	if len(props) == 0 || bytes.Equal(props, []byte("null")) {
		props = []byte("{}")
	}
	if err := strictUnmarshal(props, r); err != nil {
		return nil, jsonError(err, "properties.")
	}
	if l := r.Base().Label; l != "" {
		if l != string(c) {
			return nil, &Error{Code: EINVALID, Message: "invalid feature", Fields: []FieldError{{Field: "properties.collection", Message: fmt.Sprintf("says %q, but a %s geometry belongs to %s", l, geometryName(g), c)}}}
		}
		r.Base().Label = ""
	}
	switch r := r.(type) {
	case *Incident:
		r.Point = g.(orb.Point)
	case *Route:
		r.Line = g
	}
	var id string
	if len(f.ID) > 0 && json.Unmarshal(f.ID, &id) == nil {
		r.Base().ID = id
	}
	return r, nil
}

// geometryName is the GeoJSON type name of a point or line.
func geometryName(g orb.Geometry) string {
	if g == nil {
		return "null"
	}
	return g.GeoJSONType()
}

// EncodeFeature writes the record as a GeoJSON Feature with its id and
// server-set properties. Coordinates come out as the same float64 values.
func EncodeFeature(r Record) ([]byte, error) {
	if x, ok := r.(*Incident); ok {
		b := make([]byte, 0, 512)
		b = append(b, `{"type":"Feature","id":`...)
		b = appendJSONString(b, x.ID, true)
		b = append(b, `,"geometry":`...)
		b = AppendGeometry(b, x.Geometry())
		b = append(b, `,"properties":`...)
		if b, ok = appendIncident(b, x); ok {
			return append(b, '}'), nil
		}
	}
	return encodeFeature(r)
}

// encodeFeature is EncodeFeature through encoding/json, for any record.
func encodeFeature(r Record) ([]byte, error) {
	g := AppendGeometry(nil, r.Geometry())
	// Text is stored as text: json.Marshal would write every <, > and &
	// as a six-byte escape, and a summary of them six times its size.
	// Escaping belongs where HTML is made, and the map makes none.
	var pb bytes.Buffer
	enc := json.NewEncoder(&pb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	p := bytes.TrimSuffix(pb.Bytes(), []byte("\n"))
	id, _ := json.Marshal(r.Base().ID)
	var b bytes.Buffer
	b.Grow(len(g) + len(p) + len(id) + 64)
	b.WriteString(`{"type":"Feature","id":`)
	b.Write(id)
	b.WriteString(`,"geometry":`)
	b.Write(g)
	b.WriteString(`,"properties":`)
	b.Write(p)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// AppendGeometry appends the GeoJSON form of a point, line or polygon to
// b (null for anything else). Numbers are written in their shortest form
// that reads back as the same float64.
func AppendGeometry(b []byte, g orb.Geometry) []byte {
	switch g := g.(type) {
	case orb.Point:
		b = append(b, `{"type":"Point","coordinates":`...)
		b = appendPosition(b, g)
	case orb.LineString:
		b = append(b, `{"type":"LineString","coordinates":`...)
		b = appendLine(b, g)
	case orb.MultiLineString:
		b = append(b, `{"type":"MultiLineString","coordinates":`...)
		b = appendEach(b, g, appendLine)
	case orb.Polygon:
		b = append(b, `{"type":"Polygon","coordinates":`...)
		b = appendPolygon(b, g)
	case orb.MultiPolygon:
		b = append(b, `{"type":"MultiPolygon","coordinates":`...)
		b = appendEach(b, g, appendPolygon)
	default:
		return append(b, "null"...)
	}
	return append(b, '}')
}

// appendEach appends a JSON array of the items, each written by appendOne.
func appendEach[T any](b []byte, items []T, appendOne func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOne(b, x)
	}
	return append(b, ']')
}

func appendPolygon(b []byte, p orb.Polygon) []byte {
	return appendEach(b, p, func(b []byte, r orb.Ring) []byte { return appendLine(b, orb.LineString(r)) })
}

func appendLine(b []byte, l orb.LineString) []byte { return appendEach(b, l, appendPosition) }

func appendPosition(b []byte, p orb.Point) []byte {
	b = append(b, '[')
	b = appendFloat(b, p[0])
	b = append(b, ',')
	b = appendFloat(b, p[1])
	return append(b, ']')
}

// appendFloat formats like encoding/json: shortest round-trip form.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

// strictUnmarshal decodes one JSON value, refusing unknown fields and
// trailing data.
func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// jsonError turns an encoding/json error into EMALFORMED (not JSON at all)
// or EINVALID (JSON of the wrong shape), naming the field where it can.
func jsonError(err error, prefix string) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Errorf(EMALFORMED, "malformed JSON: %v", err)
	case errors.As(err, &typ):
		field := prefix + typ.Field
		if typ.Field == "" {
			field = strings.TrimSuffix(prefix, ".")
			if field == "" {
				field = "feature"
			}
		}
		return &Error{Code: EINVALID, Message: "invalid feature", Fields: []FieldError{{Field: field, Message: fmt.Sprintf("must be %s, got a JSON %s", JSONTypeName(typ.Type), typ.Value)}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{Code: EINVALID, Message: "invalid feature", Fields: []FieldError{{Field: prefix + name, Message: "is not a member of this kind of record"}}}
	}
	return Errorf(EMALFORMED, "malformed JSON: %v", err)
}

// JSONTypeName names, for an error message, the kind of JSON value a Go
// type is read from: "a string", "an integer", "an array"…
func JSONTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}
