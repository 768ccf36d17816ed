package store

import (
	"path/filepath"
	"strings"
	"testing"

	"nexus/geo"
)

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestExportStreamsInSQLite checks the plan of the export's query: rows come
// in rid order without a temporary b-tree, which would hold the whole export
// in SQLite's memory (where the Go heap does not see it).
func TestExportStreamsInSQLite(t *testing.T) {
	db := openTest(t)
	bbox := geo.BBox{W: 170, S: -20, E: -170, N: -10}
	span, _ := geo.ParseInterval("2019/2020")
	filters := map[string]geo.Filter{
		"everything": geo.NewFilter(),
		"by type":    {Span: geo.All, Types: []string{"attack", "plot"}},
		"by time":    {Span: span},
		"by bbox":    {Span: geo.All, BBox: &bbox},
		"by actor":   {Span: geo.All, Actors: []string{"ISIS"}},
		"by text":    {Span: geo.All, Q: "cocaine"},
	}
	for name, f := range filters {
		for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
			query, args := exportQuery(c, f)
			p, err := db.QueryPlan(query, args...)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(p, "TEMP B-TREE FOR ORDER BY") && !strings.Contains(p, "UNION") {
				t.Errorf("%s %s: the export sorts in memory: %s", name, c, p)
			}
		}
	}
}
