package storetest

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testAliases stores, re-points and deletes actor aliases: the table
// answers with canonical names, an alias of an alias points at the
// canonical name, chains and self-aliases are refused, and a filter on an
// alias finds the records that spell the canonical name.
func testAliases(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	for _, actors := range [][]string{{"ISIS"}, {"Islamic State"}, {"Hezbollah"}} {
		if _, err := db.Create(ctx, "t", &geo.Incident{Point: orb.Point{44.4, 33.3}, Title: "x", Type: "attack", Date: "2015", Actors: actors}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(a geo.Alias) (geo.Alias, bool, error) { return db.PutAlias(ctx, "ana", a) }
	if got, isNew, err := put(geo.Alias{Alias: "Daesh", Name: "ISIS", Source: "press"}); err != nil || !isNew || got.Name != "ISIS" {
		t.Fatalf("a new alias: %+v, new %v, %v", got, isNew, err)
	}
	if _, isNew, err := put(geo.Alias{Alias: "daesh", Name: "ISIS", Source: "GTD"}); err != nil || isNew {
		t.Fatalf("the same alias in another case: new %v, %v", isNew, err)
	}
	if got, _, err := put(geo.Alias{Alias: "Islamic State", Name: "daesh"}); err != nil || got.Name != "ISIS" {
		t.Fatalf("an alias of an alias: %+v, %v; want it to point at ISIS", got, err)
	}
	_, _, err := put(geo.Alias{Alias: "ISIS", Name: "IS"})
	wantCode(t, err, geo.EINVALID) // ISIS is the canonical name of two aliases
	_, _, err = put(geo.Alias{Alias: "Hezbollah", Name: "hezbollah"})
	wantCode(t, err, geo.EINVALID)

	a, err := db.Aliases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for spelling, want := range map[string]string{"Daesh": "ISIS", "DAESH": "ISIS", "islamic state": "ISIS", "ISIS": "ISIS", "Hezbollah": "Hezbollah"} {
		if got := a.Canonical(spelling); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", spelling, got, want)
		}
	}
	f := geo.NewFilter()
	f.Actors = []string{"daesh"}
	if err := db.Resolve(ctx, &f); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != 2 {
		t.Errorf("actor=daesh finds %d (%v), want the ISIS and Islamic State records", n, err)
	}

	if err := db.DeleteAlias(ctx, "DAESH"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.DeleteAlias(ctx, "Daesh"), geo.ENOTFOUND)
	if a, err = db.Aliases(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Canonical("Daesh"); got != "Daesh" {
		t.Errorf("after the delete Canonical(Daesh) = %q", got)
	}
	if len(a.List()) != 1 {
		t.Errorf("aliases left: %+v, want Islamic State alone", a.List())
	}
}
