package main

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// parseCountries reads a FeatureCollection of areas with a Polygon or
// MultiPolygon geometry and their country's alpha-3 code in the property
// A3 (geo-maps) or adm0_a3 (Natural Earth's admin-1 areas).
func parseCountries(raw []byte) ([]country, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				A3   string `json:"A3"`      // geo-maps
				Adm0 string `json:"adm0_a3"` // Natural Earth admin-1
			} `json:"properties"`
			Geometry struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		return nil, err
	}
	out := make([]country, 0, len(fc.Features))
	for _, f := range fc.Features {
		p := &numParser{b: f.Geometry.Coordinates}
		c := country{a3: f.Properties.A3}
		if c.a3 == "" {
			c.a3 = f.Properties.Adm0
		}
		switch f.Geometry.Type {
		case "Polygon":
			c.polys = [][][][2]float64{p.polygon()}
		case "MultiPolygon":
			p.open()
			for !p.close() {
				c.polys = append(c.polys, p.polygon())
			}
		default:
			return nil, fmt.Errorf("%s: geometry %q", c.a3, f.Geometry.Type)
		}
		if p.err != nil {
			return nil, fmt.Errorf("%s: %w", c.a3, p.err)
		}
		out = append(out, c)
	}
	if len(out) < 200 {
		return nil, fmt.Errorf("only %d countries", len(out))
	}
	return out, nil
}

// numParser reads nested arrays of numbers (a GeoJSON coordinates member).
type numParser struct {
	b   []byte
	i   int
	err error
}

func (p *numParser) skip() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t' || p.b[p.i] == ',') {
		p.i++
	}
}

func (p *numParser) open() {
	p.skip()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		p.fail("[")
		return
	}
	p.i++
}

// close consumes a ']' when one comes next.
func (p *numParser) close() bool {
	p.skip()
	if p.err != nil || p.i >= len(p.b) {
		p.fail("]")
		return true
	}
	if p.b[p.i] == ']' {
		p.i++
		return true
	}
	return false
}

func (p *numParser) fail(want string) {
	if p.err == nil {
		p.err = fmt.Errorf("coordinates: %s expected at byte %d", want, p.i)
	}
}

func (p *numParser) num() float64 {
	p.skip()
	j := p.i
	for j < len(p.b) && (p.b[j] == '-' || p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E' || p.b[j] == '+' || p.b[j] >= '0' && p.b[j] <= '9') {
		j++
	}
	v, err := strconv.ParseFloat(string(p.b[p.i:j]), 64)
	if err != nil {
		p.fail("number")
	}
	p.i = j
	return v
}

func (p *numParser) polygon() [][][2]float64 {
	var rings [][][2]float64
	p.open()
	for !p.close() {
		var r [][2]float64
		p.open()
		for !p.close() {
			p.open()
			x := p.num()
			y := p.num()
			for !p.close() {
				p.num() // a third ordinate, if any
			}
			r = append(r, [2]float64{x, y})
		}
		if len(r) >= 4 {
			rings = append(rings, r)
		}
	}
	return rings
}
