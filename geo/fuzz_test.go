package geo

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

// FuzzDecodeFeature feeds DecodeFeature anything. It must never panic; a
// refusal is EMALFORMED or EINVALID; a record that decodes and validates
// comes back equal, to the bit, after EncodeFeature and DecodeFeature, and
// its boxes cover its geometry.
func FuzzDecodeFeature(f *testing.F) {
	f.Add([]byte(incident(nil)), false)
	f.Add([]byte(incident(props{"killed": nil, "version": 2, "created": "2024-01-02T03:04:05.5+01:00"})), false)
	f.Add([]byte(incidentAt(`{"type":"Point","coordinates":[5e-324,89.99999999999999]}`)), false)
	f.Add([]byte(route(nil)), true)
	f.Add([]byte(routeAlong(`{"type":"LineString","coordinates":[[121.5,25.0],[179.5,30.0],[-150,35],[-105.3,19.9]]}`, props{"waypoints": absent, "countries": []string{"TW", "MX"}})), true)
	f.Add([]byte(routeAlong(`{"type":"MultiLineString","coordinates":[[[-10,0],[100,5],[170,10],[-170,20]],[[1,1],[2,2]]]}`, props{"waypoints": absent})), true)
	f.Add([]byte(`{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[-0,1e-7]},"properties":null}`), false)
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[null,1]},"properties":{}}`), false)
	f.Add([]byte(incident(props{"created": "2024-01-02T03:04:05+00:00", "updated": "0000-01-01T00:00:00+00:01"})), false)
	f.Add([]byte(incident(props{"title": "\xff\u00e9 <b>&amp;</b>", "KILLED": 0, "Sources": []map[string]string{{"URL": "http://a"}}})), false)
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"\ud800 `+"\xff"+`","type":"attack","date":"1994"}}`), false)
	f.Add([]byte(`{"type":"Feature",`), false)
	f.Add([]byte(`[{"type":"Feature"}]`), true)
	f.Add([]byte("\x00\xff garbage"), true)
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[1,2]]},"properties":{"name":"x","commodity":"arms"}} {}`), true)

	f.Fuzz(func(t *testing.T, data []byte, isRoute bool) {
		c := Incidents
		if isRoute {
			c = Routes
		}
		r, err := DecodeFeature(c, data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeFeature returned a %T, not an *Error: %v", err, err)
			}
			if e.Code != EMALFORMED && e.Code != EINVALID {
				t.Fatalf("DecodeFeature error code %q: %v", e.Code, err)
			}
			return
		}
		if r.Collection() != c {
			t.Fatalf("decoded a %s record for %s", r.Collection(), c)
		}
		k := r.Keys() // must not panic, even on an invalid record
		if err := r.Validate(); err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("Validate error code %q: %v", ErrorCode(err), err)
			}
			return
		}
		if p, ok := uncovered(k.Boxes, r.Geometry()); ok {
			t.Fatalf("the geometry passes through %v, outside its boxes %v", p, k.Boxes)
		}
		if len(k.Boxes) > 2 {
			t.Fatalf("%d boxes, the store keeps at most 2", len(k.Boxes))
		}
		if k.Span.Start >= k.Span.End {
			t.Fatalf("the span %v of a valid record is empty", k.Span)
		}

		b, err := EncodeFeature(r)
		if err != nil {
			t.Fatalf("EncodeFeature of a valid record: %v", err)
		}
		back, err := DecodeFeature(c, b)
		if err != nil {
			t.Fatalf("DecodeFeature(EncodeFeature(r)): %v\n%s", err, b)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("the encoded record is no longer valid: %v\n%s", err, b)
		}
		if !sameRecord(r, back) {
			t.Fatalf("round trip changed the record\nbefore %#v\nafter  %#v\n%s", r, back, b)
		}
		sameBits(t, r.Geometry(), back.Geometry())
	})
}

// sameRecord is reflect.DeepEqual, except that created and updated need
// only be the same instant: "+00:00" may read back as UTC rather than Local.
func sameRecord(a, b Record) bool {
	ma, mb := *a.Base(), *b.Base()
	if !ma.Created.Equal(mb.Created) || !ma.Updated.Equal(mb.Updated) {
		return false
	}
	switch a := a.(type) {
	case *Incident:
		b, ok := b.(*Incident)
		if !ok {
			return false
		}
		x, y := *a, *b
		x.Meta, y.Meta = Meta{ID: ma.ID, Version: ma.Version}, Meta{ID: mb.ID, Version: mb.Version}
		return reflect.DeepEqual(x, y)
	case *Route:
		b, ok := b.(*Route)
		if !ok {
			return false
		}
		x, y := *a, *b
		x.Meta, y.Meta = Meta{ID: ma.ID, Version: ma.Version}, Meta{ID: mb.ID, Version: mb.Version}
		return reflect.DeepEqual(x, y)
	}
	return false
}

// FuzzParseInterval: no panic; a parsed interval is never empty.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"", "1994", "1994-07", "1994-07-18", "1994-07-31T23:59:59Z", "../1994-06",
		"1994-07-18/..", "1992-03-17/1992-03-18", "1995/1994", "../..", "/", "2024-02-29", "0000/9999-12-31T23:59:59.999999999-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		span, err := ParseInterval(s)
		if err != nil {
			return
		}
		if span.Start >= span.End {
			t.Fatalf("ParseInterval(%q) = %v: Start is not before End", s, span)
		}
	})
}

// FuzzParseBBox: no panic; a parsed box lies in the world and its bounds
// never wrap.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"-80,-5,-60,15", "170,-10,-170,10", "-180,-90,180,90", "1,2,3", "NaN,0,1,1", "0,0,1e400,1", " 1 , 2 , 3 , 4 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox(s)
		if err != nil {
			return
		}
		for _, v := range []float64{b.W, b.S, b.E, b.N} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("ParseBBox(%q) = %+v: not finite", s, b)
			}
		}
		if b.W < -180 || b.W > 180 || b.E < -180 || b.E > 180 || b.S < -90 || b.N > 90 || b.S > b.N {
			t.Fatalf("ParseBBox(%q) = %+v: out of range", s, b)
		}
		for _, x := range b.Bounds() {
			if x.Min[0] > x.Max[0] || x.Min[1] > x.Max[1] {
				t.Fatalf("ParseBBox(%q).Bounds() = %v: a bound wraps", s, b.Bounds())
			}
		}
	})
}
