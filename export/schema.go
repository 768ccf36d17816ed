package export

import (
	"time"

	"nexus/geo"
)

// kind is the type of a column, the same in every format: a property has
// one JSON type in GeoJSON, one column type in a GeoPackage.
type kind int

const (
	text     kind = iota // string, null when empty
	integer              // whole number, null when unknown
	list                 // array of strings
	sources              // array of {title, url, publisher, published}
	datetime             // RFC 3339 instant set by the server
)

// column is one property of a collection and how to read it from a record.
type column struct {
	name string
	kind kind
	get  func(r geo.Record) any // string, *int64, int64, []string, []geo.Source or time.Time
}

func inc(r geo.Record) *geo.Incident { return r.(*geo.Incident) }
func rte(r geo.Record) *geo.Route    { return r.(*geo.Route) }
func lnk(r geo.Record) *geo.Link     { return r.(*geo.Link) }

func version(r geo.Record) any { return r.Base().Version }
func created(r geo.Record) any { return r.Base().Created }
func updated(r geo.Record) any { return r.Base().Updated }

// columns lists the properties of each collection in the order every
// format writes them. Every record of a collection has every column.
var columns = map[geo.Collection][]column{
	geo.Incidents: {
		{"title", text, func(r geo.Record) any { return inc(r).Title }},
		{"summary", text, func(r geo.Record) any { return inc(r).Summary }},
		{"type", text, func(r geo.Record) any { return inc(r).Type }},
		{"subtype", text, func(r geo.Record) any { return inc(r).Subtype }},
		{"date", text, func(r geo.Record) any { return inc(r).Date }},
		{"place", text, func(r geo.Record) any { return inc(r).Place }},
		{"country", text, func(r geo.Record) any { return inc(r).Country }},
		{"precision", text, func(r geo.Record) any { return inc(r).Precision }},
		{"actors", list, func(r geo.Record) any { return inc(r).Actors }},
		{"killed", integer, func(r geo.Record) any { return inc(r).Killed }},
		{"wounded", integer, func(r geo.Record) any { return inc(r).Wounded }},
		{"sources", sources, func(r geo.Record) any { return inc(r).Sources }},
		{"tags", list, func(r geo.Record) any { return inc(r).Tags }},
		{"external_id", text, func(r geo.Record) any { return inc(r).ExternalID }},
		{"version", integer, version},
		{"created", datetime, created},
		{"updated", datetime, updated},
	},
	geo.Routes: {
		{"name", text, func(r geo.Record) any { return rte(r).Name }},
		{"commodity", text, func(r geo.Record) any { return rte(r).Commodity }},
		{"mode", text, func(r geo.Record) any { return rte(r).Mode }},
		{"waypoints", list, func(r geo.Record) any { return rte(r).Waypoints }},
		{"actors", list, func(r geo.Record) any { return rte(r).Actors }},
		{"sources", sources, func(r geo.Record) any { return rte(r).Sources }},
		{"tags", list, func(r geo.Record) any { return rte(r).Tags }},
		{"external_id", text, func(r geo.Record) any { return rte(r).ExternalID }},
		{"summary", text, func(r geo.Record) any { return rte(r).Summary }},
		{"active_from", text, func(r geo.Record) any { return rte(r).ActiveFrom }},
		{"active_to", text, func(r geo.Record) any { return rte(r).ActiveTo }},
		{"confidence", text, func(r geo.Record) any { return rte(r).Confidence }},
		{"countries", list, func(r geo.Record) any { return rte(r).Countries }},
		{"version", integer, version},
		{"created", datetime, created},
		{"updated", datetime, updated},
	},
	geo.Links: {
		{"from", text, func(r geo.Record) any { return lnk(r).From }},
		{"to", text, func(r geo.Record) any { return lnk(r).To }},
		{"relation", text, func(r geo.Record) any { return lnk(r).Relation }},
		{"date_from", text, func(r geo.Record) any { return lnk(r).DateFrom }},
		{"date_to", text, func(r geo.Record) any { return lnk(r).DateTo }},
		{"confidence", text, func(r geo.Record) any { return lnk(r).Confidence }},
		{"summary", text, func(r geo.Record) any { return lnk(r).Summary }},
		{"sources", sources, func(r geo.Record) any { return lnk(r).Sources }},
		{"tags", list, func(r geo.Record) any { return lnk(r).Tags }},
		{"external_id", text, func(r geo.Record) any { return lnk(r).ExternalID }},
		{"version", integer, version},
		{"created", datetime, created},
		{"updated", datetime, updated},
	},
}

// timeFormat is how created and updated are written: RFC 3339 in UTC with
// milliseconds, the form a GeoPackage DATETIME column holds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// formatTime writes a server time; "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeFormat)
}

// intValue reads an integer column: ok is false when it is unknown.
func intValue(v any) (int64, bool) {
	switch n := v.(type) {
	case *int64:
		if n == nil {
			return 0, false
		}
		return *n, true
	case int64:
		return n, true
	}
	return 0, false
}
