package geo

import (
	"errors"
	"testing"

	"github.com/paulmach/orb"
)

// FuzzDecodeWatch: no panic; errors are *Error; a valid watch encodes and
// decodes to the same area, its parts never cross the antimeridian, and
// preparing it for containment tests works.
func FuzzDecodeWatch(f *testing.F) {
	for _, s := range []string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.05,4.67]},"properties":{"name":"Zona Rosa","radius_km":5,"filter":{"type":["plot"]}}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[170,-20],[-170,-20],[-170,-10],[170,-10],[170,-20]]]},"properties":{"name":"Fiji"}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]},"properties":{"name":"hole"}}`,
		`{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[-180,0],[-170,0],[-170,5],[-180,0]]],[[[179,1],[-179,1],[-179,2],[179,1]]]]},"properties":{"name":"m","webhook":"https://example.org/h"}}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,80],[120,80],[-120,80],[0,80]]]},"properties":{"name":"pole"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[179.99,89.9]},"properties":{"name":"x","radius_km":5000}}`,
		`{"type":"Feature","geometry":null,"properties":{"name":"x"}}`,
		`{"type":"Feature",`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodeWatch(data)
		if err == nil {
			err = w.Validate()
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *geo.Error", err)
			}
			return
		}
		b, err := EncodeWatch(w)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeWatch(b)
		if err != nil {
			t.Fatalf("stored form does not decode: %v\n%s", err, b)
		}
		if !orb.Equal(again.Area, w.Area) {
			t.Fatalf("round trip changed the area:\n%s", b)
		}
		a := NewArea(w)
		for _, bd := range a.Bounds() {
			if bd.Min[0] < -180 || bd.Max[0] > 180 || bd.Min[0] > bd.Max[0] {
				t.Fatalf("bound %v wraps or leaves the world", bd)
			}
		}
		a.ContainsPoint(orb.Point{0, 0})
	})
}
