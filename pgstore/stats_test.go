package pgstore_test

import (
	"context"
	"testing"

	"nexus/geo"
)

// TestActorCountsCountARecordOnce: an incident that lists two spellings of
// one actor counts once for it in the statistics by actor, under the
// canonical name, as in the SQLite engine.
func TestActorCountsCountARecordOnce(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	if _, _, err := db.PutAlias(ctx, "tester", geo.Alias{Alias: "Hizballah", Name: "Hezbollah", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, actors := range []string{`"Hezbollah","Hizballah","Los Zetas"`, `"hizballah","Zetas"`, `"Hezbollah"`} {
		if _, err := db.Create(ctx, "tester", decode(t, geo.Incidents, `{"type":"Feature","geometry":{"type":"Point","coordinates":[35.5,33.9]},"properties":{"title":"Two spellings","type":"financing","date":"2012","actors":[`+actors+`]}}`)); err != nil {
			t.Fatal(err)
		}
	}
	f := geo.NewFilter()
	if err := db.Resolve(ctx, &f); err != nil {
		t.Fatal(err)
	}
	counts, err := db.Stats(ctx, geo.Incidents, f, "actor")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Key] = c.Count
	}
	if len(got) != 3 || got["Hezbollah"] != 3 || got["Los Zetas"] != 1 || got["Zetas"] != 1 {
		t.Errorf("counts by actor %v, want Hezbollah 3, Los Zetas 1, Zetas 1", counts)
	}
}
