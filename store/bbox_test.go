package store_test

import (
	"strings"
	"testing"

	"nexus/geo"
	"nexus/store"
)

// TestQueryPlan shows that a filter with a bbox, an actor, a country or
// text is driven by its index (rowid lookups of the matches), not by a scan
// of the whole collection that probes the index's list for every record.
func TestQueryPlan(t *testing.T) {
	db := openDB(t)
	span, _ := geo.ParseInterval("2018/..")
	for _, tc := range []struct {
		name string
		f    geo.Filter
	}{
		{"bbox", geo.Filter{BBox: &geo.BBox{W: -75, S: 0, E: -67, N: 8}}},
		{"bbox across the antimeridian", geo.Filter{BBox: &geo.BBox{W: 170, S: 0, E: -170, N: 8}}},
		{"actor", geo.Filter{Actors: []string{"ISIS"}}},
		{"country", geo.Filter{Countries: []string{"CO", "VE"}}},
		{"text", geo.Filter{Q: "cocaine"}},
		{"bbox, type, datetime, actor, country and text", geo.Filter{BBox: &geo.BBox{W: -75, S: 0, E: -67, N: 8}, Types: []string{"attack"}, Span: span, Actors: []string{"ISIS"}, Countries: []string{"CO"}, Q: "plot"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cond, args := store.Where(geo.Incidents, tc.f)
			for _, q := range []string{
				"SELECT count(*) FROM records r WHERE " + cond,
				"SELECT r.rid, r.feature FROM records r WHERE " + cond + " AND r.rid > ? ORDER BY r.rid LIMIT ?",
			} {
				a := args
				if strings.Contains(q, "LIMIT") {
					a = append(a[:len(a):len(a)], 0, 100)
				}
				p, err := db.QueryPlan(q, a...)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(p, "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)") || strings.Contains(p, "records_kind") {
					t.Errorf("the plan scans the collection:\n%s\n%s", q, p)
				}
			}
		})
	}
}
