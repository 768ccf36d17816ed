package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Basemap

// basemapGeoJSON converts the 1:50m topology into an RFC 7946
// FeatureCollection (exterior rings counterclockwise, polygons cut at the
// antimeridian) with the properties iso_a2 and name, positions rounded to
// 0.001°.
func basemapGeoJSON(path string, cs *countries) ([]byte, error) {
	t, err := readTopology(path)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for gi, g := range t.Objects.Countries.Geometries {
		name, _ := g.Properties["name"].(string)
		code := ""
		if c, ok := neOverrides[name]; ok && g.ID == "" {
			code = c
		} else if i, ok := cs.byNum[g.ID]; ok {
			code = cs.list[i].code
		}
		polys, err := polygons(g.Type, g.Arcs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var planar [][][][2]float64
		for _, p := range polys {
			rings := make([][][2]float64, len(p))
			for ri, refs := range p {
				rings[ri] = t.ring(refs)
			}
			planar = append(planar, cutAntimeridian(rings)...)
		}
		if gi > 0 {
			b.WriteByte(',')
		}
		props, _ := json.Marshal(map[string]string{"iso_a2": code, "name": name})
		fmt.Fprintf(&b, `{"type":"Feature","properties":%s,"geometry":{"type":"MultiPolygon","coordinates":[`, props)
		for pi, p := range planar {
			if pi > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for ri, r := range p {
				if (ri == 0) != (signedArea(r) > 0) { // exterior CCW, holes CW
					slices.Reverse(r)
				}
				if ri > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('[')
				for k, q := range r {
					if k > 0 {
						b.WriteByte(',')
					}
					b.WriteByte('[')
					b.WriteString(strconv.FormatFloat(math.Round(q[0]*1000)/1000, 'f', -1, 64))
					b.WriteByte(',')
					b.WriteString(strconv.FormatFloat(math.Round(q[1]*1000)/1000, 'f', -1, 64))
					b.WriteByte(']')
				}
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
		b.WriteString(`]}}`)
	}
	b.WriteString("]}\n")
	if !json.Valid(b.Bytes()) {
		return nil, errors.New("basemap: invalid GeoJSON produced")
	}
	return b.Bytes(), nil
}

// cutAntimeridian turns a spherical polygon (rings in any order) into plane
// polygons within -180..180°: each ring is unwrapped, a ring round a pole is
// closed along it (a sliver round the pole itself is dropped), the largest
// ring becomes the exterior, and the result is clipped to each 360° window
// it reaches and shifted back.
func cutAntimeridian(rings [][][2]float64) [][][][2]float64 {
	var plane [][][2]float64
	for _, r := range rings {
		u, drift := unwrap(r)
		if drift != 0 {
			var mean float64
			for _, p := range u {
				mean += p[1]
			}
			pole := 90.0
			if mean < 0 {
				pole = -90
			}
			first, last := u[0], u[len(u)-1]
			u = append(u, [2]float64{last[0], pole}, [2]float64{first[0], pole}, first)
			if math.Abs(signedArea(u)) < 1 {
				continue // the pole's own sliver
			}
		}
		plane = append(plane, u)
	}
	if len(plane) == 0 {
		return nil
	}
	sort.SliceStable(plane, func(i, j int) bool { return math.Abs(signedArea(plane[i])) > math.Abs(signedArea(plane[j])) })
	ext := plane[0]
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range ext {
		lo, hi = min(lo, p[0]), max(hi, p[0])
	}
	if lo >= -180 && hi <= 180 {
		return [][][][2]float64{plane}
	}
	holes := plane[1:]
	for _, h := range holes {
		// Bring the hole beside the exterior.
		if shift := 360 * math.Round(((lo+hi)/2-h[0][0])/360); shift != 0 {
			for i := range h {
				h[i][0] += shift
			}
		}
	}
	var out [][][][2]float64
	for k := math.Floor((lo + 180) / 360); k*360-180 < hi; k++ {
		wlo, whi := k*360-180, k*360+180
		e := clipRing(ext, wlo, whi, -k*360)
		if e == nil {
			continue
		}
		poly := [][][2]float64{e}
		for _, h := range holes {
			if c := clipRing(h, wlo, whi, -k*360); c != nil {
				poly = append(poly, c)
			}
		}
		out = append(out, poly)
	}
	return out
}

// clipRing clips a ring to lo <= x <= hi (Sutherland–Hodgman), shifts it by
// shift in x and closes it; nil when nothing of area remains.
func clipRing(r [][2]float64, lo, hi, shift float64) [][2]float64 {
	half := func(r [][2]float64, in func(p [2]float64) bool, x float64) [][2]float64 {
		var out [][2]float64
		for i := range r {
			cur, prev := r[i], r[(i+len(r)-1)%len(r)]
			cross := func() [2]float64 {
				return [2]float64{x, prev[1] + (x-prev[0])*(cur[1]-prev[1])/(cur[0]-prev[0])}
			}
			switch {
			case in(cur) && !in(prev):
				out = append(out, cross(), cur)
			case in(cur):
				out = append(out, cur)
			case in(prev):
				out = append(out, cross())
			}
		}
		return out
	}
	r = half(r, func(p [2]float64) bool { return p[0] >= lo }, lo)
	r = half(r, func(p [2]float64) bool { return p[0] <= hi }, hi)
	if len(r) < 3 || math.Abs(signedArea(r)) < 1e-9 {
		return nil
	}
	out := make([][2]float64, 0, len(r)+1)
	for _, p := range r {
		out = append(out, [2]float64{p[0] + shift, p[1]})
	}
	if out[0] != out[len(out)-1] {
		out = append(out, out[0])
	}
	return out
}

// signedArea is the planar area of a ring, positive when counterclockwise.
func signedArea(r [][2]float64) float64 {
	var a float64
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a += r[j][0]*r[i][1] - r[i][0]*r[j][1]
	}
	return a / 2
}
