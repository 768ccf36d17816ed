package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
)

// TopoJSON

type topology struct {
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Objects struct {
		Countries struct {
			Geometries []struct {
				Type       string          `json:"type"`
				ID         string          `json:"id"`
				Properties map[string]any  `json:"properties"`
				Arcs       json.RawMessage `json:"arcs"`
			} `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
	Arcs [][][2]int64 `json:"arcs"`
	abs  [][][2]int64 // arcs with absolute quantized positions
}

func readTopology(path string) (*topology, error) {
	var t topology
	if err := readJSON(path, &t); err != nil {
		return nil, err
	}
	t.abs = make([][][2]int64, len(t.Arcs))
	for i, arc := range t.Arcs {
		var x, y int64
		a := make([][2]int64, len(arc))
		for j, p := range arc {
			x += p[0]
			y += p[1]
			a[j] = [2]int64{x, y}
		}
		t.abs[i] = a
	}
	return &t, nil
}

func (t *topology) lonlat(p [2]int64) [2]float64 {
	return [2]float64{
		float64(p[0])*t.Transform.Scale[0] + t.Transform.Translate[0],
		float64(p[1])*t.Transform.Scale[1] + t.Transform.Translate[1],
	}
}

// polygons returns the rings (as lists of arc references) of each polygon
// of a Polygon or MultiPolygon geometry.
func polygons(typ string, raw json.RawMessage) ([][][]int, error) {
	switch typ {
	case "Polygon":
		var p [][]int
		err := json.Unmarshal(raw, &p)
		return [][][]int{p}, err
	case "MultiPolygon":
		var m [][][]int
		err := json.Unmarshal(raw, &m)
		return m, err
	}
	return nil, fmt.Errorf("unexpected geometry %q", typ)
}

// ring resolves a ring of arc references into lon/lat positions.
func (t *topology) ring(refs []int) [][2]float64 {
	var r [][2]float64
	for _, ref := range refs {
		arc := t.abs[arcIndex(ref)]
		pts := make([][2]float64, len(arc))
		for j, p := range arc {
			pts[j] = t.lonlat(p)
		}
		if ref < 0 {
			slices.Reverse(pts)
		}
		if len(r) > 0 {
			pts = pts[1:]
		}
		r = append(r, pts...)
	}
	return r
}

func arcIndex(ref int) int {
	if ref < 0 {
		return ^ref
	}
	return ref
}

// The topology follows the sphere: an arc that crosses the antimeridian
// steps from 179.9° to -180° in one segment. On the plane, where package
// geocode tests points, that segment would run across the whole map, so
// arcs are cut where they cross it, and each country's cut ends are joined
// by segments along the ±180° meridians (down to the pole for a ring, like
// Antarctica's, that goes round it).

// polyline is a cut piece of an arc, in degrees, with the countries it
// bounds.
type polyline struct {
	pts       [][2]float64
	countries []int
}

// shapeSet is the admin-0 boundary as plane polylines, and an index of
// their segments by 1° band of latitude for point-in-polygon tests here.
type shapeSet struct {
	lines []polyline
	bands [180][]segment
	// rings of each feature, unwrapped across the antimeridian, for
	// representative points.
	rings []featureRings
}

type segment struct {
	a, b      [2]float64
	countries []int
}

type featureRings struct {
	country int
	rings   [][][2]float64 // exterior rings only
}

func (cs *countries) shapes(t *topology) (*shapeSet, error) {
	ss := &shapeSet{}
	uses := make([]map[int]int, len(t.Arcs))
	for _, g := range t.Objects.Countries.Geometries {
		name, _ := g.Properties["name"].(string)
		idx := -1
		if code, ok := neOverrides[name]; ok && g.ID == "" {
			if code != "" {
				idx = cs.byCode[code]
			} else {
				idx = len(cs.list)
				cs.list = append(cs.list, &country{name: name, parent: -1})
			}
		} else if i, ok := cs.byNum[g.ID]; ok {
			idx = i
		}
		if idx < 0 {
			return nil, fmt.Errorf("natural earth feature %q (id %q) has no country: add it to neOverrides", name, g.ID)
		}
		cs.list[idx].shape = true
		polys, err := polygons(g.Type, g.Arcs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fr := featureRings{country: idx}
		for _, p := range polys {
			for ri, refs := range p {
				for _, ref := range refs {
					a := arcIndex(ref)
					if uses[a] == nil {
						uses[a] = map[int]int{}
					}
					uses[a][idx]++
				}
				if ri == 0 {
					r, _ := unwrap(t.ring(refs))
					fr.rings = append(fr.rings, r)
				}
			}
		}
		ss.rings = append(ss.rings, fr)
	}
	// Cut the arcs, noting per country where its boundary meets the
	// antimeridian.
	crossings := map[int][]float64{}
	for a, u := range uses {
		var owners []int
		for c, n := range u {
			if n%2 == 1 {
				owners = append(owners, c)
			}
		}
		if len(owners) == 0 {
			continue
		}
		sort.Ints(owners)
		arc := t.abs[a]
		cur := [][2]float64{t.lonlat(arc[0])}
		for _, q := range arc[1:] {
			p, b := cur[len(cur)-1], t.lonlat(q)
			if math.Abs(b[0]-p[0]) <= 180 {
				cur = append(cur, b)
				continue
			}
			// Cross at the meridian on p's side, resume on b's.
			side := math.Copysign(180, p[0])
			bx := b[0] + 2*side
			y := b[1]
			if bx != p[0] {
				y = p[1] + (side-p[0])*(b[1]-p[1])/(bx-p[0])
			}
			if p[0] != side {
				cur = append(cur, [2]float64{side, y})
			}
			if len(cur) > 1 {
				ss.lines = append(ss.lines, polyline{pts: cur, countries: owners})
			}
			cur = [][2]float64{{-side, y}}
			if b[0] != -side {
				cur = append(cur, b)
			}
			for _, c := range owners {
				crossings[c] = append(crossings[c], y)
			}
		}
		if len(cur) > 1 {
			ss.lines = append(ss.lines, polyline{pts: cur, countries: owners})
		}
	}
	// Join the cut ends along both meridians: between consecutive
	// crossings the country lies against the meridian.
	for _, c := range slices.Sorted(maps.Keys(crossings)) {
		ys := crossings[c]
		sort.Float64s(ys)
		if len(ys)%2 == 1 {
			pole := -90.0
			if ys[len(ys)/2] > 0 {
				pole = 90
			}
			ys = append(ys, pole)
			sort.Float64s(ys)
		}
		for i := 0; i+1 < len(ys); i += 2 {
			for _, x := range []float64{-180, 180} {
				ss.lines = append(ss.lines, polyline{pts: [][2]float64{{x, ys[i]}, {x, ys[i+1]}}, countries: []int{c}})
			}
		}
	}
	sort.SliceStable(ss.lines, func(i, j int) bool { return ss.lines[i].pts[0][0] < ss.lines[j].pts[0][0] })
	for _, l := range ss.lines {
		for k := 1; k < len(l.pts); k++ {
			sg := segment{a: l.pts[k-1], b: l.pts[k], countries: l.countries}
			lo := int(math.Floor(min(sg.a[1], sg.b[1]) + 90))
			hi := int(math.Floor(max(sg.a[1], sg.b[1]) + 90))
			for j := max(lo, 0); j <= min(hi, 179); j++ {
				ss.bands[j] = append(ss.bands[j], sg)
			}
		}
	}
	return ss, nil
}

// unwrap makes a ring's longitudes continuous across the antimeridian; it
// returns the ring and how far it drifts in longitude once round (±360 for
// a ring round a pole).
func unwrap(r [][2]float64) ([][2]float64, float64) {
	out := make([][2]float64, len(r))
	shift := 0.0
	for i, p := range r {
		if i > 0 {
			d := p[0] + shift - out[i-1][0]
			if d > 180 {
				shift -= 360
			} else if d < -180 {
				shift += 360
			}
		}
		out[i] = [2]float64{p[0] + shift, p[1]}
	}
	return out, shift
}

// countryAt returns the country that holds a point by the even-odd rule
// over the plane polylines, or -1.
func (ss *shapeSet) countryAt(p [2]float64) int {
	j := min(max(int(math.Floor(p[1]+90)), 0), 179)
	in := map[int]bool{}
	for _, sg := range ss.bands[j] {
		if (sg.a[1] > p[1]) == (sg.b[1] > p[1]) {
			continue
		}
		if x := sg.a[0] + (p[1]-sg.a[1])*(sg.b[0]-sg.a[0])/(sg.b[1]-sg.a[1]); p[0] < x {
			for _, c := range sg.countries {
				in[c] = !in[c]
			}
		}
	}
	best := -1
	for c, yes := range in {
		if yes && (best < 0 || c < best) {
			best = c
		}
	}
	return best
}

// dependents finds, for every country code that has places but no Natural
// Earth polygon of its own (French Guiana, Svalbard, Bonaire…), the country
// whose polygon holds most of its places.
func (cs *countries) dependents(places []place, ss *shapeSet) {
	votes := map[int]map[int]int{}
	for i := range places {
		c := places[i].country
		if cs.list[c].shape {
			continue
		}
		if votes[c] == nil {
			votes[c] = map[int]int{}
		}
		votes[c][ss.countryAt([2]float64{places[i].lon, places[i].lat})]++
	}
	for c, v := range votes {
		best, n, total := -1, 0, 0
		for p, k := range v {
			total += k
			if p >= 0 && (k > n || k == n && p < best) {
				best, n = p, k
			}
		}
		if best >= 0 && 2*n > total {
			cs.list[c].parent = best
		}
	}
}

// points gives each country a representative point and a population: the
// centroid of its largest polygon when that falls inside it, else the place
// of that country nearest to the mean of its places.
func (cs *countries) points(places []place, ss *shapeSet) {
	bestArea := make([]float64, len(cs.list))
	for _, fr := range ss.rings {
		for _, r := range fr.rings {
			a, cx, cy := centroid(r)
			if a <= bestArea[fr.country] {
				continue
			}
			cx = math.Mod(cx+540, 360) - 180
			if ss.countryAt([2]float64{cx, cy}) == fr.country {
				bestArea[fr.country] = a
				c := cs.list[fr.country]
				c.hasPt, c.lon, c.lat = true, cx, cy
			}
		}
	}
	members := make([][]int, len(cs.list))
	for i := range places {
		c := places[i].country
		cs.list[c].pop += places[i].pop
		members[c] = append(members[c], i)
	}
	for ci, c := range cs.list {
		if c.hasPt || len(members[ci]) == 0 {
			continue
		}
		p := central(places, members[ci])
		c.hasPt, c.lon, c.lat = true, places[p].lon, places[p].lat
	}
}

// centroid returns the absolute area and the centroid of a ring in plain
// lon/lat (good enough to place a label).
func centroid(r [][2]float64) (area, cx, cy float64) {
	var a, x, y float64
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		f := r[j][0]*r[i][1] - r[i][0]*r[j][1]
		a += f
		x += (r[j][0] + r[i][0]) * f
		y += (r[j][1] + r[i][1]) * f
	}
	if a == 0 {
		return 0, r[0][0], r[0][1]
	}
	return math.Abs(a / 2), x / (3 * a), y / (3 * a)
}

func unit(lon, lat float64) [3]float64 {
	lo, la := lon*math.Pi/180, lat*math.Pi/180
	return [3]float64{math.Cos(la) * math.Cos(lo), math.Cos(la) * math.Sin(lo), math.Sin(la)}
}

// central returns the member place nearest to the mean of the members'
// positions on the sphere.
func central(places []place, members []int) int {
	var m [3]float64
	for _, i := range members {
		u := unit(places[i].lon, places[i].lat)
		m[0], m[1], m[2] = m[0]+u[0], m[1]+u[1], m[2]+u[2]
	}
	best, bd := members[0], math.Inf(1)
	for _, i := range members {
		u := unit(places[i].lon, places[i].lat)
		d := -(u[0]*m[0] + u[1]*m[1] + u[2]*m[2])
		if d < bd {
			best, bd = i, d
		}
	}
	return best
}
