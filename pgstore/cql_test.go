package pgstore_test

import (
	"context"
	"testing"

	"nexus/geo"
	"nexus/store/storetest"
)

// FuzzCQLQuery: every filter the parser and the queryables check accept
// compiles to SQL that PostgreSQL runs without error. What the filters
// select is the conformance suite's (CQLFilters).
func FuzzCQLQuery(f *testing.F) {
	for _, s := range []string{
		"type = 'seizure' AND killed > 0", "actors IN ('ELN', 'x') OR NOT tags IS NULL", "title ILIKE '%a_%'",
		"S_INTERSECTS(geometry, POLYGON((-20 10, -10 10, -10 20, -20 20, -20 10)))", "T_INTERSECTS(date, INTERVAL('2018', '..'))",
		"killed BETWEEN 1 AND 2.5", "version <> 1 AND id LIKE 'a%'", "S_INTERSECTS(geometry, POINT(-74.07 4.71))",
	} {
		f.Add(s)
	}
	db := openDB(f)
	storetest.LoadCQLRecords(f, db)
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
