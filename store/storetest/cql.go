package storetest

import (
	"sort"
	"strings"
	"testing"

	"nexus/geo"
)

// cqlRecords are small on purpose: each case names the records it selects.
var cqlRecords = []string{
	`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.07,4.71]},"properties":{"title":"Car bomb in Bogotá","type":"attack","date":"2019-01-17","country":"CO","actors":["ELN"],"killed":22,"tags":["car bomb"],"external_id":"a"}}`,
	`{"type":"Feature","geometry":{"type":"Point","coordinates":[-75.56,6.25]},"properties":{"title":"Cocaine seized in Medellín","type":"seizure","date":"2018-06","country":"CO","actors":["Clan del Golfo"],"killed":0,"external_id":"b"}}`,
	`{"type":"Feature","geometry":{"type":"Point","coordinates":[-99.13,19.43]},"properties":{"title":"Shootout at a seizure","type":"seizure","date":"2018","country":"MX","actors":["CJNG","Sinaloa Cartel"],"killed":3,"external_id":"c"}}`,
	`{"type":"Feature","geometry":{"type":"Point","coordinates":[-15.6,11.86]},"properties":{"title":"Plane unloaded in Bissau","type":"seizure","date":"2008-07-12","country":"GW","actors":[],"killed":null,"external_id":"d"}}`,
	`{"type":"Feature","geometry":{"type":"Point","coordinates":[2.35,48.85]},"properties":{"title":"50% of a network arrested","type":"arrest","date":"2020-02-03","country":"FR","actors":["Hezbollah"],"killed":null,"external_id":"e"}}`,
	`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[-75.5,6.2],[-17.1,14.7],[2.35,48.85]]},"properties":{"name":"Atlantic cocaine","commodity":"cocaine","mode":"sea","actors":["Clan del Golfo"],"active_from":"2015","external_id":"r1"}}`,
	`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[-99.1,19.4],[-106.4,31.7]]},"properties":{"name":"Fentanyl north","commodity":"fentanyl","mode":"land","actors":["Sinaloa Cartel"],"active_from":"2019","active_to":"2021","external_id":"r2"}}`,
}

// LoadCQLRecords imports the few records of the filter-expression tests
// into db, returning their ids and the records in order.
func LoadCQLRecords(t testing.TB, db Engine) ([]string, []geo.Record) {
	t.Helper()
	var recs []geo.Record
	for _, s := range cqlRecords {
		c := geo.Incidents
		if strings.Contains(s, "LineString") {
			c = geo.Routes
		}
		r, err := geo.DecodeFeature(c, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return ImportAll(t, db, "test", recs), recs
}

// testCQLFilters runs filter expressions (CQL2) and compares what they
// select with the records each case names.
func testCQLFilters(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ids, recs := LoadCQLRecords(t, db)
	ext := map[string]string{} // id → external_id
	for i, r := range recs {
		ext[ids[i]] = r.Keys().ExternalID
	}
	for _, c := range []struct {
		name, filter string
		want         string // external ids, incidents then routes, sorted
	}{
		{"equality", "type = 'seizure'", "b,c,d"},
		{"as GDAL sends it", "(type = 'seizure') AND (killed > 0)", "c"},
		{"unknown counts are not zero", "killed = 0", "b"},
		{"is null (routes have no killed: null too)", "killed IS NULL", "d,e,r1,r2"},
		{"not", "NOT (killed > 0)", "b"},
		{"or", "country = 'GW' OR country = 'FR'", "d,e"},
		{"in", "country IN ('MX', 'GW')", "c,d"},
		{"not in", "country NOT IN ('MX', 'GW')", "a,b,e"},
		{"like is case-sensitive", "title LIKE '%bogotá%'", ""},
		{"like", "title LIKE 'Car%'", "a"},
		{"ilike ignores case and accents", "title ILIKE '%BOGOTA%'", "a"},
		{"like escapes", `title LIKE '50\% %'`, "e"},
		{"underscore is one character", "country LIKE 'C_'", "a,b"},
		{"between", "killed BETWEEN 1 AND 22", "a,c"},
		{"any actor", "actors = 'Sinaloa Cartel'", "c,r2"},
		{"actors in", "actors IN ('ELN', 'Hezbollah')", "a,e"},
		{"empty list is null", "actors IS NULL", "d"},
		{"commodity", "commodity = 'cocaine'", "r1"},
		{"bbox", "S_INTERSECTS(geometry, BBOX(-80, 0, -70, 10))", "a,b,r1"},
		{"polygon", "S_INTERSECTS(geometry, POLYGON((-20 10, -10 10, -10 20, -20 20, -20 10)))", "d,r1"},
		{"a polygon the route's box meets but the route does not", "S_INTERSECTS(geometry, POLYGON((-60 30, -50 30, -50 40, -60 40, -60 30)))", ""},
		{"line crossing", "S_INTERSECTS(geometry, LINESTRING(-105 25, -100 25))", "r2"},
		{"date interval", "T_INTERSECTS(date, INTERVAL('2018-06-15', '2019-01-17'))", "a,b,c"},
		{"open interval", "T_INTERSECTS(date, INTERVAL('2019-06', '..'))", "e"},
		{"active span", "T_INTERSECTS(active_from, DATE('2022'))", "r1"},
		{"date as text", "date >= '2019'", "a,e"},
		{"id", "external_id = 'c' OR external_id = 'r2'", "c,r2"},
		{"version", "version = 1", "a,b,c,d,e,r1,r2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := geo.ParseCQL(c.filter, geo.CQL2Text)
			if err != nil {
				t.Fatal(err)
			}
			f := geo.NewFilter()
			f.CQL = e
			var got []string
			for _, col := range []geo.Collection{geo.Incidents, geo.Routes} {
				found, matched := queryIDs(t, db, col, f, 2)
				if int(matched) != len(found) {
					t.Errorf("%s: numberMatched %d for %d records", col, matched, len(found))
				}
				var part []string
				for id := range found {
					part = append(part, ext[id])
				}
				sort.Strings(part)
				got = append(got, part...)
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("%s selects %v, want %s", c.filter, got, c.want)
			}
		})
	}
}
