package storetest

import (
	"context"
	"sync"
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
	WantCode(t, err, geo.EINVALID) // ISIS is the canonical name of two aliases
	_, _, err = put(geo.Alias{Alias: "Hezbollah", Name: "hezbollah"})
	WantCode(t, err, geo.EINVALID)

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
	WantCode(t, db.DeleteAlias(ctx, "Daesh"), geo.ENOTFOUND)
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

// testActorPrefixes: an actor filter of three letters or more also finds
// the stored actors one of whose words begins with it, whatever the case
// and the accents, and every spelling of those actors the alias table
// knows; a shorter one finds its own name only. Country names need a
// gazetteer: without one, codes are taken in any case and a name is
// refused.
func testActorPrefixes(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	for _, actors := range [][]string{{"Los Zetas"}, {"Hezbollah"}, {"Hizballah"}, {"Cártel del Pacífico"}, {"ZE"}, {"Zeta Force", "Los Zetas"}} {
		if _, err := db.Create(ctx, "t", &geo.Incident{Point: orb.Point{-99.1, 19.4}, Title: "x", Type: "attack", Date: "2015", Country: "MX", Actors: actors}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.PutAlias(ctx, "ana", geo.Alias{Alias: "Hizballah", Name: "Hezbollah"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		actors []string
		want   int64
	}{
		{[]string{"zetas"}, 2},               // Los Zetas, twice
		{[]string{"ZETA"}, 2},                // Zeta Force and Los Zetas: one record lists both
		{[]string{"hezbol"}, 2},              // Hezbollah, and Hizballah by the alias
		{[]string{"cartel del pacifico"}, 1}, // accents folded
		{[]string{"pacif"}, 1},               // a later word
		{[]string{"ze"}, 1},                  // too short for a prefix: the name ZE alone
		{[]string{"etas"}, 0},                // the middle of a word is no prefix
		{[]string{"zetas", "hezbol"}, 4},
	} {
		f := geo.NewFilter()
		f.Actors = append([]string(nil), tc.actors...)
		if err := db.Resolve(ctx, &f); err != nil {
			t.Fatal(err)
		}
		if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != tc.want {
			t.Errorf("actor=%v (resolved to %v) finds %d (%v), want %d", tc.actors, f.Actors, n, err, tc.want)
		}
	}

	f := geo.NewFilter()
	f.Countries = []string{" mx"}
	if err := db.Resolve(ctx, &f); err != nil || len(f.Countries) != 1 || f.Countries[0] != "MX" {
		t.Fatalf("country mx resolves to %v (%v)", f.Countries, err)
	}
	if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != 6 {
		t.Errorf("country=mx finds %d (%v), want 6", n, err)
	}
	f = geo.NewFilter()
	f.Countries = []string{"Mexico"}
	WantCode(t, db.Resolve(ctx, &f), geo.EMALFORMED)
}

// testAliasEditsAreSeenAtOnce edits an alias while others read the table
// without pause: once an edit has returned, the table read next has it,
// even if a read that began before the edit ended after it.
func testAliasEditsAreSeenAtOnce(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
					db.Aliases(ctx)
				}
			}
		}()
	}
	defer func() { close(stop); readers.Wait() }()
	// Two edits back to back: a read that began between them must not
	// leave the first one's table behind.
	for i := range 1000 {
		if _, _, err := db.PutAlias(ctx, "ana", geo.Alias{Alias: "Hizballah", Name: "Hezbollah", Source: "test"}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteAlias(ctx, "Hizballah"); err != nil {
			t.Fatal(err)
		}
		if a, err := db.Aliases(ctx); err != nil || a.Canonical("Hizballah") != "Hizballah" {
			t.Fatalf("edit %d: the table read after the alias was deleted still has it (%v)", i, err)
		}
	}
}
