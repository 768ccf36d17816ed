// Package export writes records in the formats analysts exchange: GeoJSON,
// GeoPackage, CSV and KML. Every format carries the same properties with
// the same types, and says what produced it (filters, time, counts,
// licence and attribution) in the place that format keeps such things.
//
// Records are read from a Source one at a time, from one snapshot, and
// written as they come: memory does not grow with the export. A GeoPackage
// is a SQLite database and is written to a temporary file first, then
// copied out.
package export

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"nexus/geo"
)

// Format is an export format, named by its file extension.
type Format string

// The formats.
const (
	GeoJSON    Format = "geojson"
	GeoPackage Format = "gpkg"
	CSV        Format = "csv"
	KML        Format = "kml"
)

// Formats lists every format.
var Formats = []Format{GeoJSON, GeoPackage, CSV, KML}

// ParseFormat reads a format name (its extension, or its media type).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "geojson", "json", "application/geo+json", "application/json":
		return GeoJSON, nil
	case "gpkg", "geopackage", "application/geopackage+sqlite3":
		return GeoPackage, nil
	case "csv", "text/csv":
		return CSV, nil
	case "kml", "application/vnd.google-earth.kml+xml":
		return KML, nil
	}
	return "", geo.Errorf(geo.EMALFORMED, "format must be geojson, gpkg, csv or kml, got %q", s)
}

// MediaType is the Content-Type of the format.
func (f Format) MediaType() string {
	switch f {
	case GeoPackage:
		return "application/geopackage+sqlite3"
	case CSV:
		return "text/csv; charset=utf-8"
	case KML:
		return "application/vnd.google-earth.kml+xml"
	}
	return "application/geo+json"
}

// Collections says which collections the format carries, given those
// asked for (none: the default). GeoJSON and GeoPackage carry every
// collection (links, which have no geometry, with a null geometry in
// GeoJSON and as a plain table in a GeoPackage). KML carries incidents and
// routes: a placemark needs a place. A CSV holds one collection per file,
// incidents by default.
func (f Format) Collections(asked []geo.Collection) ([]geo.Collection, error) {
	if len(asked) == 0 {
		switch f {
		case CSV:
			return []geo.Collection{geo.Incidents}, nil
		case KML:
			return []geo.Collection{geo.Incidents, geo.Routes}, nil
		}
		return geo.Collections, nil
	}
	switch f {
	case KML:
		if slices.Contains(asked, geo.Links) {
			return nil, geo.Errorf(geo.EMALFORMED, "KML holds incidents and routes: links have no place to put a placemark; export them as GeoJSON, GeoPackage or CSV")
		}
	case CSV:
		if len(asked) > 1 {
			return nil, geo.Errorf(geo.EMALFORMED, "a CSV file holds one collection: ask for collections=incidents, routes or links")
		}
	}
	return asked, nil
}

// Licence and attribution stated in every export. Records come from the
// sources each one cites; their terms are those of the sources.
const (
	Licence     = "Each record's terms are those of the sources it cites (property sources)."
	Attribution = "Compiled with Nexus from the sources cited in each record."
)

// Provenance says what produced an export.
type Provenance struct {
	Generator   string                   `json:"generator"`
	Time        time.Time                `json:"time"`    // when the export was made
	Filters     map[string]string        `json:"filters"` // the query, as given: parameter → value
	Counts      map[geo.Collection]int64 `json:"counts"`  // records per collection, from the same snapshot as the records
	Licence     string                   `json:"licence"`
	Attribution string                   `json:"attribution"`
}

// Source is where an export reads records from; *store.DB satisfies it.
type Source interface {
	Scan(ctx context.Context, cols []geo.Collection, f geo.Filter,
		counted func(counts map[geo.Collection]int64) error,
		each func(c geo.Collection, feature []byte) error) error
}

// Request is one export.
type Request struct {
	Format      Format
	Collections []geo.Collection // as given to Format.Collections
	Filter      geo.Filter
	Filters     map[string]string // the filter as the user wrote it, for the provenance
	Time        time.Time         // the time of the export; zero means now
	// Started is called once the counts are known, before the first byte
	// is written: an HTTP handler sets its headers there. May be nil.
	Started func(p Provenance) error
}

// Write exports the records the request selects to w and returns the
// provenance it wrote.
func Write(ctx context.Context, w io.Writer, src Source, req Request) (Provenance, error) {
	p := Provenance{
		Generator:   "Nexus",
		Time:        req.Time,
		Filters:     req.Filters,
		Licence:     Licence,
		Attribution: Attribution,
	}
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	p.Time = p.Time.UTC().Truncate(time.Second)
	if p.Filters == nil {
		p.Filters = map[string]string{}
	}
	var enc encoder
	switch req.Format {
	case GeoJSON:
		enc = newGeoJSON(w)
	case CSV:
		enc = newCSV(w)
	case KML:
		enc = newKML(w)
	case GeoPackage:
		g, err := newGPKG(ctx, w)
		if err != nil {
			return p, err
		}
		defer g.close()
		enc = g
	default:
		return p, geo.Errorf(geo.EMALFORMED, "unknown format %q", req.Format)
	}
	cols := req.Collections
	err := src.Scan(ctx, cols, req.Filter,
		func(counts map[geo.Collection]int64) error {
			p.Counts = counts
			if req.Started != nil {
				if err := req.Started(p); err != nil {
					return err
				}
			}
			return enc.begin(cols, p)
		},
		func(c geo.Collection, feature []byte) error {
			r, err := geo.DecodeFeature(c, feature)
			if err != nil {
				return fmt.Errorf("stored %s feature: %w", c, err)
			}
			return enc.record(r)
		})
	if err != nil {
		return p, err
	}
	return p, enc.end()
}

// encoder writes one format.
type encoder interface {
	// begin starts the output; the counts are known.
	begin(cols []geo.Collection, p Provenance) error
	// record writes one record; records come collection by collection.
	record(r geo.Record) error
	// end finishes the output.
	end() error
}

// describe is the provenance as lines of text, for formats whose
// metadata is prose (KML's description, the GeoPackage's description).
func describe(p Provenance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Exported by %s at %s.\n", p.Generator, p.Time.Format(time.RFC3339))
	keys := make([]string, 0, len(p.Filters))
	for k := range p.Filters {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		b.WriteString("Filters: none (every record).\n")
	} else {
		b.WriteString("Filters:")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, p.Filters[k])
		}
		b.WriteString(".\n")
	}
	b.WriteString("Records:")
	for _, c := range geo.Collections {
		if n, ok := p.Counts[c]; ok {
			fmt.Fprintf(&b, " %d %s", n, c)
		}
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, "Licence: %s\nAttribution: %s\n", p.Licence, p.Attribution)
	return b.String()
}
