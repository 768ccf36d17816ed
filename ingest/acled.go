package ingest

import (
	"strings"
	"time"

	"nexus/geo"
)

// acledIncident maps one row of an ACLED export (ACLED Codebook) to an
// incident.
func acledIncident(im *importer, r row) (*geo.Incident, bool, *rowError) {
	inc := &geo.Incident{}
	id := r.get("event_id_cnty")
	if id == "" {
		return nil, false, bad("event_id_cnty", "is required")
	}
	inc.ExternalID = "acled:" + id

	date, err := acledDate(r.get("event_date"), r.get("time_precision"))
	if err != nil {
		return nil, false, err
	}
	inc.Date = date

	location, admin1, country := r.get("location"), r.get("admin1"), r.get("country")
	inc.Place = strings.Join(nonEmpty(location, admin1), ", ")

	var geocoded bool
	if inc.Point, inc.Precision, geocoded, err = im.place(r, acledPrecision, "geo_precision", country, location, admin1); err != nil {
		return nil, false, err
	}

	event, sub := r.get("event_type"), r.get("sub_event_type")
	inc.Type = acledType(event, sub)
	inc.Subtype = strings.Join(nonEmpty(event, sub), ": ")
	title := inc.Subtype
	if title == "" {
		title = "Event"
	}
	if where := firstOf(location, admin1, country); where != "" {
		title += " in " + where
	}
	inc.Title = shorten(title, geo.MaxTitle)
	inc.Summary = r.get("notes")

	var actors []string
	actors = append(actors, r.get("actor1"), r.get("actor2"))
	actors = append(actors, splitList(r.get("assoc_actor_1"))...)
	actors = append(actors, splitList(r.get("assoc_actor_2"))...)
	inc.Actors = nonEmpty(actors...)

	// ACLED writes 0 for events with no reported fatality; empty is unknown.
	if inc.Killed, err = parseCount("fatalities", r.get("fatalities")); err != nil {
		return nil, false, err
	}
	for _, s := range nonEmpty(splitList(r.get("source"))...) {
		inc.Sources = append(inc.Sources, geo.Source{Title: s})
	}
	inc.Tags = nonEmpty(append(splitList(r.get("tags")), r.get("civilian_targeting"))...)
	// country stays empty: the store derives it from the point. ACLED's
	// country is a name (for events at sea, a sea: "Gulf of Guinea"), and
	// its iso column a numeric code.
	return inc, geocoded, nil
}

// acledDateLayouts are the forms event_date takes: ISO from the API and
// recent exports, "14 March 2020" from older exports, "14-March-2020" and
// day-month-year numbers (the ACLED codebook's order) from spreadsheets.
var acledDateLayouts = []string{"2006-01-02", "2 January 2006", "2-January-2006", "2 Jan 2006", "2-Jan-2006", "2-1-2006", "2/1/2006"}

// acledDate reads event_date with time_precision. The ACLED codebook:
// 1 = the source gives the day; 2 = the source gives a week or weekend, and
// ACLED records a day within it; 3 = the source gives only the month, and
// ACLED records a day within it. Nexus has no week: a week would be
// overstated as a day, so 2 keeps the month of the recorded day, as 3 does.
// (A week that straddles two months then shows in the month of its
// recorded day.)
func acledDate(s, precision string) (string, *rowError) {
	var t time.Time
	var perr error
	iso := false // s is YYYY-MM-DD, as the date is written
	for k, l := range acledDateLayouts {
		if t, perr = time.Parse(l, s); perr == nil {
			iso = k == 0 && '0' <= s[0] && s[0] <= '9'
			break
		}
	}
	if perr != nil {
		return "", bad("event_date", "%q is not a date such as 2020-03-14 or 14 March 2020", s)
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return "", bad("event_date", "%q is not a date", s)
	}
	n := int64(1)
	if precision != "" {
		var err *rowError
		if n, err = parseInt("time_precision", precision); err != nil {
			return "", err
		}
	}
	switch {
	case n == 1 && iso:
		return s, nil
	case n == 1:
		return t.Format("2006-01-02"), nil
	case (n == 2 || n == 3) && iso:
		return s[:len("2006-01")], nil
	case n == 2 || n == 3:
		return t.Format("2006-01"), nil
	}
	return "", bad("time_precision", "%d is not an ACLED time precision (1-3)", n)
}

// acledPrecision maps geo_precision (ACLED codebook) to the precision of the
// point: 1 = the source names a town and the coordinates are the town's
// → place; 2 = the source says the event happened near a town or in a part
// of a region, and the coordinates are of that town or region → admin; 3 =
// only a larger region is named, and the coordinates are of a place
// standing for it, often its capital → admin. Empty is "unknown".
func acledPrecision(s string) (string, *rowError) {
	if s == "" {
		return "unknown", nil
	}
	n, err := parseInt("geo_precision", s)
	if err != nil {
		return "", err
	}
	switch n {
	case 1:
		return "place", nil
	case 2, 3:
		return "admin", nil
	}
	return "", bad("geo_precision", "%d is not an ACLED geo precision (1-3)", n)
}

// acledType maps event_type and sub_event_type to an incident type. The
// violent event types are attacks, an abduction a kidnapping; protests,
// riots and strategic developments are other events, arrests aside.
func acledType(event, sub string) string {
	switch strings.ToLower(event) {
	case "battles", "explosions/remote violence":
		return "attack"
	case "violence against civilians":
		if strings.EqualFold(sub, "Abduction/forced disappearance") {
			return "kidnapping"
		}
		return "attack"
	case "strategic developments":
		if strings.EqualFold(sub, "Arrests") {
			return "arrest"
		}
	}
	return "other"
}
