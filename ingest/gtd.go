package ingest

import (
	"fmt"
	"strings"
	"time"

	"nexus/geo"
)

// gtdIncident maps one row of the Global Terrorism Database (START, GTD
// Codebook) to an incident. Every GTD event is a terrorist attack; the
// attack type refines it.
func gtdIncident(im *importer, r row) (*geo.Incident, bool, *rowError) {
	inc := &geo.Incident{}
	id := r.get("eventid")
	if id == "" {
		return nil, false, bad("eventid", "is required")
	}
	inc.ExternalID = "gtd:" + id

	date, err := gtdDate(r)
	if err != nil {
		return nil, false, err
	}
	inc.Date = date

	city, prov, country := known(r.get("city")), known(r.get("provstate")), known(r.get("country_txt"))
	inc.Place = strings.Join(nonEmpty(city, prov), ", ")

	var geocoded bool
	if inc.Point, inc.Precision, geocoded, err = im.place(r, gtdPrecision, "specificity", country, city, prov); err != nil {
		return nil, false, err
	}

	attack := known(r.get("attacktype1_txt"))
	inc.Type = gtdType(attack)
	inc.Subtype = attack
	what := attack
	if what == "" {
		what = "Attack"
	}
	if where := firstOf(city, prov, country); where != "" {
		what += " in " + where
	}
	inc.Title = shorten(what, geo.MaxTitle)
	inc.Summary = r.get("summary")
	inc.Actors = nonEmpty(known(r.get("gname")), known(r.get("gname2")), known(r.get("gname3")))

	if inc.Killed, err = gtdCount("nkill", r.get("nkill")); err != nil {
		return nil, false, err
	}
	if inc.Wounded, err = gtdCount("nwound", r.get("nwound")); err != nil {
		return nil, false, err
	}
	for _, c := range nonEmpty(r.get("scite1"), r.get("scite2"), r.get("scite3")) {
		inc.Sources = append(inc.Sources, citation(c))
	}
	inc.Tags = nonEmpty(known(r.get("targtype1_txt")))
	// country stays empty: the store derives it from the point. GTD's
	// country_txt is a name in the GTD's own list, not an ISO code.
	return inc, geocoded, nil
}

// gtdDate builds the date from iyear, imonth and iday, where a month or day
// of 0 (or empty) means unknown: the date keeps the precision known.
func gtdDate(r row) (string, *rowError) {
	y, err := parseInt("iyear", r.get("iyear"))
	if err != nil {
		return "", err
	} else if y < 1 || y > 9999 {
		return "", bad("iyear", "%d is not a year", y)
	}
	var m, d int64
	if s := r.get("imonth"); s != "" {
		if m, err = parseInt("imonth", s); err != nil {
			return "", err
		} else if m < 0 || m > 12 {
			return "", bad("imonth", "%d is not a month (1-12, or 0 when unknown)", m)
		}
	}
	if s := r.get("iday"); s != "" {
		if d, err = parseInt("iday", s); err != nil {
			return "", err
		} else if d < 0 || d > 31 {
			return "", bad("iday", "%d is not a day (1-31, or 0 when unknown)", d)
		}
	}
	switch {
	case m == 0: // a day without its month says nothing more than the year
		return fmt.Sprintf("%04d", y), nil
	case d == 0:
		return fmt.Sprintf("%04d-%02d", y, m), nil
	}
	if t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC); t.Day() != int(d) {
		return "", bad("iday", "%04d-%02d has no day %d", y, m, d)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), nil
}

// gtdPrecision maps the GTD codebook's specificity (geographic
// specificity of the coordinates) to the precision of the point:
//
//	1  the event occurred in a city/village/town and the coordinates are
//	   for that place                                                → place
//	2  the event occurred in a city/village/town but no coordinates
//	   were found for it: they are the centroid of the smallest known
//	   subnational administrative region                             → admin
//	3  the event did not occur in a city/village/town: the centroid
//	   of the smallest known subnational administrative region       → admin
//	4  no second-order or smaller region could be identified: the
//	   centroid of the first-order administrative region             → admin
//	5  no first-order region could be identified: the centroid of
//	   the country                                                   → country
//
// 1 is "place", not "exact": the point is the town's, not the site of the
// attack. Empty says nothing: "unknown".
func gtdPrecision(s string) (string, *rowError) {
	if s == "" {
		return "unknown", nil
	}
	n, err := parseInt("specificity", s)
	if err != nil {
		return "", err
	}
	switch n {
	case 1:
		return "place", nil
	case 2, 3, 4:
		return "admin", nil
	case 5:
		return "country", nil
	}
	return "", bad("specificity", "%d is not a GTD specificity (1-5)", n)
}

// gtdType maps attacktype1_txt to an incident type. Hostage taking, be it a
// kidnapping or a barricade incident, is a kidnapping; every other attack
// type (bombing/explosion, armed or unarmed assault, facility or
// infrastructure attack, hijacking, unknown) is an attack.
func gtdType(attack string) string {
	a := strings.ToLower(attack)
	switch {
	case a == "assassination":
		return "assassination"
	case strings.HasPrefix(a, "hostage taking"):
		return "kidnapping"
	}
	return "attack"
}

// gtdCount reads nkill or nwound: empty, -9 and -99 are GTD's unknowns.
func gtdCount(field, s string) (*int64, *rowError) {
	if s == "-9" || s == "-99" || s == "-9.0" || s == "-99.0" {
		return nil, nil
	}
	return parseCount(field, s)
}

// firstOf returns the first non-empty string.
func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
