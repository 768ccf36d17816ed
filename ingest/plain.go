package ingest

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// plainIncident maps a row of a plain CSV, one incident per row with lon
// and lat (or longitude and latitude) columns and the columns of the
// incident's properties (title, type, date, … as Nexus exports them):
// lists joined with ";", sources a JSON array or a citation. A text cell
// that an export made inert (a leading apostrophe before =, +, -, @, a tab
// or a carriage return) comes back as it was. A row without a point is
// placed from its place name when a geocoder is given.
func plainIncident(im *importer, r row) (*geo.Incident, bool, *rowError) {
	get := func(name string) string { return restore(r.get(name)) }
	inc := &geo.Incident{
		Title:      get("title"),
		Summary:    get("summary"),
		Type:       get("type"),
		Subtype:    get("subtype"),
		Date:       get("date"),
		Place:      get("place"),
		Country:    strings.ToUpper(get("country")),
		Precision:  get("precision"),
		ExternalID: get("external_id"),
		Actors:     nonEmpty(splitList(get("actors"))...),
		Tags:       nonEmpty(splitList(get("tags"))...),
	}
	var err *rowError
	if inc.Killed, err = parseCount("killed", r.get("killed")); err != nil {
		return nil, false, err
	}
	if inc.Wounded, err = parseCount("wounded", r.get("wounded")); err != nil {
		return nil, false, err
	}
	if s := r.get("sources"); strings.HasPrefix(s, "[") {
		if json.Unmarshal([]byte(s), &inc.Sources) != nil {
			return nil, false, bad("sources", "is not a JSON array of {title, url, publisher, published}")
		}
	} else if s != "" {
		inc.Sources = []geo.Source{citation(restore(s))}
	}
	lonCol, latCol := "lon", "lat"
	if _, ok := r.col[lonCol]; !ok {
		lonCol, latCol = "longitude", "latitude"
	}
	lon, lat := r.get(lonCol), r.get(latCol)
	if lon == "" || lat == "" {
		p, precision, err := im.locate(inc.Country, inc.Place)
		if err != nil {
			return nil, false, bad(latCol, "is empty, and %s", strings.TrimPrefix(err.reason, "is empty, and "))
		}
		inc.Point = p
		if inc.Precision == "" {
			inc.Precision = precision
		}
		return inc, true, nil
	}
	for i, c := range []struct{ field, s string }{{lonCol, lon}, {latCol, lat}} {
		v, perr := strconv.ParseFloat(c.s, 64)
		if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false, bad(c.field, "%q is not a number", c.s)
		}
		inc.Point[i] = v
	}
	if _, fe := geo.CheckPoint(orb.Point(inc.Point), lonCol+","+latCol); fe != nil {
		return nil, false, bad(fe.Field, "%s", fe.Message)
	}
	return inc, false, nil
}

// restore undoes what a CSV export does to a text cell that a spreadsheet
// would run as a formula: the apostrophe before =, +, -, @, tab or CR.
func restore(s string) string {
	if len(s) >= 2 && s[0] == '\'' {
		switch s[1] {
		case '=', '+', '-', '@', '\t', '\r':
			return s[1:]
		}
	}
	return s
}
