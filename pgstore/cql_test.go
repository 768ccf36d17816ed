package pgstore_test

import (
	"context"
	"encoding/json"
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

func TestCQLFilters(t *testing.T) {
	db := openDB(t)
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
	res, err := db.ImportBatch(context.Background(), "test", recs)
	if err != nil {
		t.Fatal(err)
	}
	ext := map[string]string{} // id → external_id
	for i, r := range recs {
		ext[res[i].ID] = r.Keys().ExternalID
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
				var part []string
				var after int64
				for {
					p, err := db.Query(context.Background(), col, f, after, 2)
					if err != nil {
						t.Fatal(err)
					}
					for _, feat := range p.Features {
						var x struct{ ID string }
						json.Unmarshal(feat, &x)
						part = append(part, ext[x.ID])
					}
					if p.Next == 0 {
						if int(p.Matched) != len(part) {
							t.Errorf("%s: numberMatched %d for %d records", col, p.Matched, len(part))
						}
						break
					}
					after = p.Next
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

// FuzzCQLQuery: every filter the parser and the queryables check accept
// compiles to SQL that PostgreSQL runs without error.
func FuzzCQLQuery(f *testing.F) {
	for _, s := range []string{
		"type = 'seizure' AND killed > 0", "actors IN ('ELN', 'x') OR NOT tags IS NULL", "title ILIKE '%a_%'",
		"S_INTERSECTS(geometry, POLYGON((-20 10, -10 10, -10 20, -20 20, -20 10)))", "T_INTERSECTS(date, INTERVAL('2018', '..'))",
		"killed BETWEEN 1 AND 2.5", "version <> 1 AND id LIKE 'a%'", "S_INTERSECTS(geometry, POINT(-74.07 4.71))",
	} {
		f.Add(s)
	}
	db := openDB(f)
	var recs []geo.Record
	for _, s := range cqlRecords {
		c := geo.Incidents
		if strings.Contains(s, "LineString") {
			c = geo.Routes
		}
		r, err := geo.DecodeFeature(c, []byte(s))
		if err != nil {
			f.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := db.ImportBatch(context.Background(), "test", recs); err != nil {
		f.Fatal(err)
	}
	cols := []geo.Collection{geo.Incidents, geo.Routes}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := geo.ParseCQL(s, geo.CQLText)
		if err != nil || geo.CheckCQL(e, cols) != nil {
			return
		}
		flt := geo.NewFilter()
		flt.CQL = e
		for _, c := range cols {
			if _, err := db.Count(context.Background(), c, flt); err != nil {
				t.Fatalf("%s on %s: %v", e, c, err)
			}
		}
	})
}
