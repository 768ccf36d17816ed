// Package geocode turns place names into points and points into countries,
// offline, from public reference data embedded in the binary:
//
//   - forward geocoding over a GeoNames gazetteer of every populated place of
//     500 people or more (and the seats of administrative divisions), with their
//     alternate names, plus first-level administrative areas and countries;
//   - reverse geocoding by point-in-polygon on the Natural Earth 1:10m admin-0
//     country shapes, with the 12-nautical-mile territorial sea, and the nearest
//     populated place.
//
// The data is built from registry packages by data/reference/build.sh into
// geocode/refdata/; see data/reference/README.md. Show [Attribution] wherever
// results are shown.
package geocode

import (
	"embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"nexus/geo"
)

// Attribution credits the reference data, as its licences ask.
const Attribution = "Place names © GeoNames (geonames.org), CC BY 4.0, filtered and re-encoded. " +
	"Country shapes: Natural Earth (naturalearthdata.com), public domain. " +
	"Country names: i18n-iso-countries (MIT)."

// ErrBadQuery is the error, wrapped with the reason, for input that cannot be
// looked up: an empty or too long name, a limit out of range, coordinates
// that are not finite numbers in range.
var ErrBadQuery = errors.New("geocode: bad query")

// Limits of the input, in characters and results.
const (
	MaxQueryLen = 200 // characters of a forward query
	MaxLimit    = 100 // results of one forward query
)

// TerritorialSeaKm is the breadth of the territorial sea: 12 nautical miles
// (UNCLOS art. 3), in kilometres. A point at sea this close to a coast gets
// that coast's country.
const TerritorialSeaKm = 12 * 1.852

// Precisions of a Place, as the Incident property precision names them.
const (
	PrecisionPlace   = "place"   // a city, town or village
	PrecisionAdmin   = "admin"   // a first-level administrative area
	PrecisionCountry = "country" // a whole country
)

// Place is a candidate of a forward lookup, or the nearest populated place of
// a reverse one.
type Place struct {
	Name       string     `json:"name"`              // as GeoNames spells it, with accents ("Bogotá")
	Admin1     string     `json:"admin1,omitempty"`  // first-level administrative area ("Nariño")
	Country    string     `json:"country,omitempty"` // ISO 3166-1 alpha-2, "" for a disputed area
	Point      [2]float64 `json:"point"`             // [lon, lat], WGS84 degrees
	Population int64      `json:"population"`        // people, 0 when unknown
	Precision  string     `json:"precision"`         // PrecisionPlace, PrecisionAdmin or PrecisionCountry
	// Kind tells what the candidate is: KindCapital, KindCity, KindTown,
	// KindVillage, KindNeighbourhood, KindDistrict, KindRegion or
	// KindCountry.
	Kind string `json:"kind"`
	// Fallback is set when a "place, context" query found no such place
	// in or near the context, and this candidate is the context itself:
	// it says so in a sentence.
	Fallback string `json:"fallback,omitempty"`
}

// Reverse is what a point is in.
type Reverse struct {
	// Country is the ISO 3166-1 alpha-2 code of the country the point is in,
	// or whose territorial sea it is in; "" on the high seas or in an area of
	// disputed sovereignty.
	Country string `json:"country"`
	// CountryName is the English name of Country, or the Natural Earth name
	// of a disputed area ("Spratly Is.").
	CountryName string `json:"country_name,omitempty"`
	// AtSea is true when the point is on no country's land: on the high seas,
	// or in a territorial sea (then Territorial is true too).
	AtSea bool `json:"at_sea"`
	// Territorial is true when Country was given by the nearest coast, the
	// point being at sea within TerritorialSeaKm of it.
	Territorial bool `json:"territorial"`
	// Nearest is the nearest populated place, and NearestKm its distance in
	// kilometres along the great circle.
	Nearest   *Place  `json:"nearest,omitempty"`
	NearestKm float64 `json:"nearest_km"`
}

//go:embed refdata
var refdata embed.FS

const (
	dataFile    = "refdata/geocode.bin.gz"
	basemapFile = "refdata/basemap.geojson.gz"
)

// BasemapContentEncoding is the encoding of the bytes BasemapGeoJSON returns;
// serve them with this Content-Encoding and Content-Type application/geo+json.
const BasemapContentEncoding = "gzip"

// BasemapGeoJSON returns the Natural Earth 1:50m country polygons as a
// gzip-compressed RFC 7946 FeatureCollection (properties iso_a2 and name),
// for drawing the offline basemap; nil when the reference data was not built.
func BasemapGeoJSON() []byte {
	b, err := refdata.ReadFile(basemapFile)
	if err != nil {
		return nil
	}
	return b
}

// Gazetteer answers forward and reverse lookups. It is immutable after Load
// and safe for concurrent use.
type Gazetteer struct {
	countries   []countryRec
	countryKeys map[string]uint16 // folded names and codes → country
	admins      []adminRec

	// Places, in the order of an implicit k-d tree over their unit vectors.
	placeNames string
	placeOff   []uint32 // name of place i is placeNames[placeOff[i]:placeOff[i+1]]
	placeCC    []uint16
	placeAdmin []uint16 // admin index + 1, 0 when unknown
	placeLon   []int32  // 1e-5 degrees
	placeLat   []int32  // 1e-5 degrees
	placePop   []uint32
	placeFlags []uint8 // flagCapital, flagSeat, k-d split axis << 2
	placeVec   [][3]float32

	// Name index: keys sorted, each with an entity (place, then admin area,
	// then country) and whether the key is an alternate name.
	keys   string
	keyOff []uint32
	keyRef []uint32

	shapes shapeIndex

	placeLabel []uint8     // the zoom from which the basemap labels it, 255 never
	labelIdx   *labelIndex // built on first use, under labelsMu

	// LoadTime is how long Load took, for the start-up log.
	LoadTime time.Duration
}

type countryRec struct {
	code, name string
	parent     int      // the country whose polygon holds this one, or -1
	deps       []uint16 // countries whose places lie in this one's polygon
	family     []uint16 // this country and its deps
	hasPoint   bool
	lon, lat   float64
	pop        int64
}

type adminRec struct {
	code, name string
	country    uint16
	lon, lat   float64
	pop        int64
	rankPop    int64
	forms      []string // folded name forms, for hints
	hint       string   // folded code suffix ("nj" of "US.NJ"), for hints
	level      uint8    // adminLevel1, adminLevel2 or adminRegion
	parent     int      // the first-level area of a second-level one, or -1
}

// Levels of an admin area.
const (
	adminLevel1 = 1 // first-level division
	adminLevel2 = 2 // second-level division: a district
	adminRegion = 3 // a well-known region, possibly across borders
)

const (
	flagCapital = 1 << iota // capital of a country
	flagSeat                // seat of a first- or second-level division

	flagSection = 1 << 4 // a section of a city (GeoNames PPLX); bits 2–3 hold the k-d axis
)

var (
	defaultOnce sync.Once
	defaultG    *Gazetteer
	defaultErr  error
)

// Default returns the Gazetteer of the embedded data, loading it on first use;
// every caller shares it.
func Default() (*Gazetteer, error) {
	defaultOnce.Do(func() { defaultG, defaultErr = Load() })
	return defaultG, defaultErr
}

// Load decodes the embedded reference data into a new Gazetteer. It takes a
// fraction of a second and some tens of megabytes; most programs want
// Default instead.
func Load() (*Gazetteer, error) {
	start := time.Now()
	raw, err := refdata.ReadFile(dataFile)
	if err != nil {
		return nil, errors.New("geocode: reference data not built: run data/reference/build.sh")
	}
	g, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("geocode: %s: %w", dataFile, err)
	}
	g.LoadTime = time.Since(start)
	return g, nil
}

func badQuery(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadQuery}, args...)...)
}

// Place is the best point for a place name with an optional country hint
// (a code or a name), and the precision it implies: what an importer needs
// to place a row that has a name but no coordinates.
func (g *Gazetteer) Place(name, country string) (lon, lat float64, precision string, ok bool) {
	q := name
	if country != "" {
		q += ", " + country
	}
	places, err := g.Forward(q, 1)
	if err != nil || len(places) == 0 {
		return 0, 0, "", false
	}
	return places[0].Point[0], places[0].Point[1], places[0].Precision, true
}

// Forward returns up to limit candidates for a place name, best first: exact
// matches of a name or alternate name before names that merely start with
// the query, then the most populous. Case, accents and punctuation do not
// matter ("bogota" finds Bogotá). Hints after commas narrow the search: a
// country ("Tumaco, CO", "Tumaco, Colombia"), an admin area ("Springfield,
// IL", "Tumaco, Nariño, Colombia"), or a place near which to look ("Zona
// Rosa, Bogotá", which gives Bogotá itself when nothing of that name is near).
// No match is an empty result, not an error.
func (g *Gazetteer) Forward(q string, limit int) ([]Place, error) {
	if strings.TrimSpace(q) == "" {
		return nil, badQuery("q is empty")
	}
	if n := utf8.RuneCountInString(q); n > MaxQueryLen {
		return nil, badQuery("q is %d characters long, at most %d allowed", n, MaxQueryLen)
	}
	if limit < 1 || limit > MaxLimit {
		return nil, badQuery("limit %d is out of range 1..%d", limit, MaxLimit)
	}
	parts := strings.Split(q, ",")
	name := geo.Fold(parts[0])
	if name == "" {
		return nil, badQuery("q %q has no letters or digits before its first comma", q)
	}
	var hints []string
	for _, p := range parts[1:] {
		if h := geo.Fold(p); h != "" {
			hints = append(hints, h)
		}
	}
	ms, ctx := g.resolve(name, hints, limit)
	out := g.places(ms)
	if ctx != "" && len(out) > 0 {
		out[0].Fallback = fmt.Sprintf("No place called %q was found in or near %s: this is %s itself.",
			strings.TrimSpace(parts[0]), out[0].Name, out[0].Name)
	}
	return out, nil
}

// resolve tries the readings of the hints in turn and returns the matches
// of the first that finds any; fellBack is the context hint when nothing
// of that name was found and the match is the context itself.
func (g *Gazetteer) resolve(name string, hints []string, limit int) (ms []match, fellBack string) {
	if len(hints) == 0 {
		return g.search(name, filter{}, limit), ""
	}
	last := hints[len(hints)-1]
	// The last hint is a country ("Tumaco, CO"), the one before it, if
	// any, an admin area ("Tumaco, Nariño, Colombia") or a place in it.
	if c, ok := g.countryKeys[last]; ok {
		f := filter{countries: g.withDeps(int(c))}
		if len(hints) > 1 {
			f.admin = hints[len(hints)-2]
		}
		if m := g.search(name, f, limit); len(m) > 0 {
			return m, ""
		}
		if f.admin != "" {
			if m, fb := g.near(name, f.admin, f.countries, limit); len(m) > 0 {
				return m, fb
			}
		}
	}
	// The last hint is an admin area, by name or code ("Springfield, IL").
	if m := g.search(name, filter{admin: last}, limit); len(m) > 0 {
		return m, ""
	}
	// The last hint is a place to look near.
	return g.near(name, last, nil, limit)
}

// near returns the matches of name within nearKm of the best match of
// context (in one of countries, when given), or that match itself when
// there are none ("Zona Rosa, Bogotá" gives at least Bogotá), with
// fellBack set to the context.
func (g *Gazetteer) near(name, context string, countries []uint16, limit int) (ms []match, fellBack string) {
	ctx := g.search(context, filter{countries: countries}, 1)
	if len(ctx) == 0 {
		return nil, ""
	}
	lon, lat := g.point(ctx[0].entity)
	if m := g.search(name, filter{near: true, lon: lon, lat: lat, countries: countries}, limit); len(m) > 0 {
		return m, ""
	}
	return ctx, context
}

// withDeps returns the country and the countries that depend on it (France
// with French Guiana, Guadeloupe…; French Guiana alone for French Guiana).
func (g *Gazetteer) withDeps(c int) []uint16 {
	return g.countries[c].family
}

// Reverse tells which country a point is in, or whose territorial sea, and
// the nearest populated place.
func (g *Gazetteer) Reverse(lon, lat float64) (Reverse, error) {
	if err := checkPoint(lon, lat); err != nil {
		return Reverse{}, err
	}
	c, territorial, onLand := g.country(lon, lat)
	var r Reverse
	if c >= 0 {
		r.Country, r.CountryName = g.countries[c].code, g.countries[c].name
	}
	r.AtSea, r.Territorial = !onLand, territorial
	if i, km := g.nearest(lon, lat, nil); i >= 0 {
		p := g.place(i)
		r.Nearest, r.NearestKm = &p, math.Round(km*1000)/1000
	}
	return r, nil
}

// CountryOf returns the ISO 3166-1 alpha-2 code of the country a point is in,
// or whose territorial sea it is in; "" at open sea, in a disputed area, or
// for coordinates out of range.
func (g *Gazetteer) CountryOf(lon, lat float64) string {
	if checkPoint(lon, lat) != nil {
		return ""
	}
	if c, _, _ := g.country(lon, lat); c >= 0 {
		return g.countries[c].code
	}
	return ""
}

// CountryName returns the English name of an ISO 3166-1 alpha-2 code ("CO" →
// "Colombia"), or "" for an unknown code.
func (g *Gazetteer) CountryName(code string) string {
	if len(code) != 2 {
		return ""
	}
	if c, ok := g.countryKeys[strings.ToLower(code)]; ok && strings.EqualFold(g.countries[c].code, code) {
		return g.countries[c].name
	}
	return ""
}

// CountryCode returns the ISO 3166-1 alpha-2 code of a country given by its
// code (alpha-2 or alpha-3, any case) or by a name in one of many languages,
// with or without accents ("Colombia", "colombia", "CO", "COL" → "CO";
// "Côte d'Ivoire", "Ivory Coast" → "CI"); "" when it knows no such country.
func (g *Gazetteer) CountryCode(nameOrCode string) string {
	if c, ok := g.countryKeys[geo.Fold(nameOrCode)]; ok {
		return g.countries[c].code
	}
	return ""
}

func checkPoint(lon, lat float64) error {
	switch {
	case math.IsNaN(lon) || math.IsInf(lon, 0):
		return badQuery("longitude %v is not a finite number", lon)
	case math.IsNaN(lat) || math.IsInf(lat, 0):
		return badQuery("latitude %v is not a finite number", lat)
	case lon < -180 || lon > 180:
		return badQuery("longitude %v is out of range -180..180", lon)
	case lat < -90 || lat > 90:
		return badQuery("latitude %v is out of range -90..90", lat)
	}
	return nil
}

// country returns the country of a point (or -1), whether it was given by
// the territorial sea, and whether the point is on land.
func (g *Gazetteer) country(lon, lat float64) (c int, territorial, onLand bool) {
	c = g.shapes.countryAt(lon, lat)
	onLand = c >= 0
	if c < 0 {
		var km float64
		c, km = g.shapes.nearestCoast(lon, lat, TerritorialSeaKm)
		if c < 0 || km > TerritorialSeaKm {
			return -1, false, false
		}
		territorial = true
	}
	if deps := g.countries[c].deps; len(deps) > 0 {
		// The polygon is the sovereign's (France); the nearest of its places
		// or its dependents' tells whether the point is in one of those
		// (French Guiana).
		set := g.withDeps(c)
		if i, _ := g.nearest(lon, lat, func(i int) bool { return has(set, g.placeCC[i]) }); i >= 0 {
			c = int(g.placeCC[i])
		}
	}
	return c, territorial, onLand
}

func has(set []uint16, c uint16) bool {
	for _, s := range set {
		if s == c {
			return true
		}
	}
	return false
}

// Distances on the sphere.
const earthRadiusKm = 6371.0088 // mean radius (IUGG)

func (g *Gazetteer) point(e int) (lon, lat float64) {
	p := g.entityPlace(e)
	return p.Point[0], p.Point[1]
}

// place returns place i as a Place.
func (g *Gazetteer) place(i int) Place {
	p := Place{
		Name:       g.placeNames[g.placeOff[i]:g.placeOff[i+1]],
		Country:    g.countries[g.placeCC[i]].code,
		Point:      [2]float64{float64(g.placeLon[i]) / 1e5, float64(g.placeLat[i]) / 1e5},
		Population: int64(g.placePop[i]),
		Precision:  PrecisionPlace,
		Kind:       g.placeKind(i),
	}
	if a := g.placeAdmin[i]; a > 0 {
		p.Admin1 = g.admins[a-1].name
	}
	return p
}

// entityPlace returns entity e of the name index (a place, an admin area or
// a country) as a Place.
func (g *Gazetteer) entityPlace(e int) Place {
	np, na := len(g.placePop), len(g.admins)
	switch {
	case e < np:
		return g.place(e)
	case e < np+na:
		a := &g.admins[e-np]
		p := Place{Name: a.name, Admin1: a.name, Country: g.countries[a.country].code,
			Point: [2]float64{a.lon, a.lat}, Population: a.pop, Precision: PrecisionAdmin, Kind: KindRegion}
		switch a.level {
		case adminLevel2:
			p.Kind, p.Admin1 = KindDistrict, ""
			if a.parent >= 0 {
				p.Admin1 = g.admins[a.parent].name
			}
		case adminRegion:
			p.Admin1 = ""
		}
		return p
	default:
		c := &g.countries[e-np-na]
		return Place{Name: c.name, Country: c.code, Point: [2]float64{c.lon, c.lat},
			Population: c.pop, Precision: PrecisionCountry, Kind: KindCountry}
	}
}

func (g *Gazetteer) places(ms []match) []Place {
	out := make([]Place, len(ms))
	for i, m := range ms {
		out[i] = g.entityPlace(m.entity)
	}
	return out
}
