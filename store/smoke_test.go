package store

import (
	"context"
	"path/filepath"
	"testing"

	"nexus/geo"
)

func TestSmoke(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r, err := geo.DecodeFeature(geo.Incidents, []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.05,4.66]},"properties":{"title":"Plot","type":"plot","date":"2018-02","actors":["ISIS"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Create(ctx, "tester", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", s.Feature)
	f := geo.NewFilter()
	f.BBox = &geo.BBox{-80, 0, -70, 10}
	f.Q = "plot"
	f.Actors = []string{"isis"}
	p, err := db.Query(ctx, geo.Incidents, f, 0, 10)
	if err != nil || p.Matched != 1 || len(p.Features) != 1 {
		t.Fatal(err, p)
	}
	st, err := db.Stats(ctx, geo.Incidents, f, "month")
	t.Log(st, err)
	cl, err := db.Clusters(ctx, f, 1)
	t.Log(cl, err)
	r2, _ := geo.DecodeFeature(geo.Incidents, s.Feature)
	_, oc, err := db.Replace(ctx, "t", s.ID, 1, r2)
	t.Log(oc, err)
	if err := db.Delete(ctx, "t", geo.Incidents, s.ID, 1); err != nil {
		t.Fatal(err)
	}
	h, err := db.History(ctx, geo.Incidents, s.ID)
	t.Log(len(h), err)
	if err := db.Backup(ctx, filepath.Join(t.TempDir(), "b.db")); err != nil {
		t.Fatal(err)
	}
}
