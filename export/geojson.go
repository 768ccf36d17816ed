package export

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"nexus/geo"
)

// geojsonEncoder writes one RFC 7946 FeatureCollection. Every feature
// carries every property of its collection, each with one JSON type:
// strings or null, integers or null, arrays (never null). The property
// "collection" says which collection the feature belongs to. The
// provenance is in top-level members, which RFC 7946 allows (foreign
// members) and GIS clients ignore.
type geojsonEncoder struct {
	w   *bufio.Writer
	n   int64
	buf []byte
}

func newGeoJSON(w io.Writer) *geojsonEncoder {
	return &geojsonEncoder{w: bufio.NewWriterSize(w, 64<<10)}
}

func (e *geojsonEncoder) begin(cols []geo.Collection, p Provenance) error {
	var total int64
	for _, n := range p.Counts {
		total += n
	}
	head := struct {
		Type          string                   `json:"type"`
		Generator     string                   `json:"generator"`
		TimeStamp     string                   `json:"timeStamp"`
		NumberMatched int64                    `json:"numberMatched"`
		Counts        map[geo.Collection]int64 `json:"counts"`
		Filters       map[string]string        `json:"filters"`
		Licence       string                   `json:"licence"`
		Attribution   string                   `json:"attribution"`
	}{"FeatureCollection", p.Generator, p.Time.Format(time.RFC3339), total, p.Counts, p.Filters, p.Licence, p.Attribution}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	e.w.Write(b[:len(b)-1])
	_, err = e.w.WriteString(`,"features":[`)
	return err
}

func (e *geojsonEncoder) record(r geo.Record) error {
	if e.n > 0 {
		e.w.WriteByte(',')
	}
	e.w.WriteByte('\n')
	e.n++
	b, err := appendFeature(e.buf[:0], r)
	e.buf = b
	if err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

func (e *geojsonEncoder) end() error {
	if _, err := e.w.WriteString("\n]}\n"); err != nil {
		return err
	}
	return e.w.Flush()
}

// appendFeature appends the stable form of a record as a GeoJSON Feature.
func appendFeature(b []byte, r geo.Record) ([]byte, error) {
	c := r.Collection()
	b = append(b, `{"type":"Feature","id":`...)
	b = appendJSONString(b, r.Base().ID)
	b = append(b, `,"geometry":`...)
	b = geo.AppendGeometry(b, r.Geometry())
	b = append(b, `,"properties":{"collection":`...)
	b = appendJSONString(b, string(c))
	for _, col := range columns[c] {
		b = append(b, ',')
		b = appendJSONString(b, col.name)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, col.kind, col.get(r)); err != nil {
			return b, err
		}
	}
	return append(b, "}}"...), nil
}

// appendValue appends one property value in the JSON type of its kind.
func appendValue(b []byte, k kind, v any) ([]byte, error) {
	switch k {
	case text:
		if s := v.(string); s != "" {
			return appendJSONString(b, s), nil
		}
		return append(b, "null"...), nil
	case integer:
		if n, ok := intValue(v); ok {
			return appendInt(b, n), nil
		}
		return append(b, "null"...), nil
	case datetime:
		if s := formatTime(v.(time.Time)); s != "" {
			return appendJSONString(b, s), nil
		}
		return append(b, "null"...), nil
	case list:
		b = append(b, '[')
		for i, s := range v.([]string) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']'), nil
	case sources:
		s := v.([]geo.Source)
		if s == nil {
			s = []geo.Source{}
		}
		j, err := json.Marshal(s)
		return append(b, j...), err
	}
	return append(b, "null"...), nil
}

func appendJSONString(b []byte, s string) []byte {
	j, _ := json.Marshal(s)
	return append(b, j...)
}

func appendInt(b []byte, n int64) []byte {
	j, _ := json.Marshal(n)
	return append(b, j...)
}
