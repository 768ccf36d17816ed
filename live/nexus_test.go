package live

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"nexus/geo"
	"nexus/store"
)

func actorIncident(t testing.TB, title, actor string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[35.5,33.9]},"properties":{"title":%q,"type":"financing","date":"2011","actors":[%q]}}`, title, actor))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A subscription to one spelling of an actor gets the records of every
// spelling, with the alias table of the database.
func TestSubscriptionFollowsAliases(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db}
	e.start(Options{Resolve: db.Resolve}, nil)
	ctx := context.Background()
	if _, _, err := e.db.PutAlias(ctx, "tester", geo.Alias{Alias: "Hizballah", Name: "Hezbollah", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	c := e.dial(nil, nil)
	c.send(`{"type":"subscribe","filter":{"actor":["hizballah"]}}`)
	c.sync()
	var want []string
	for _, a := range []string{"Hezbollah", "Hamas", "Hizballah"} {
		s, err := e.db.Create(ctx, "tester", actorIncident(t, "by "+a, a))
		if err != nil {
			t.Fatal(err)
		}
		if a != "Hamas" {
			want = append(want, s.ID)
		}
	}
	c.expect(want...)
}

// Links travel live like the other records; having no place, they reach
// subscriptions without a box only.
func TestLinksAreLive(t *testing.T) {
	e := newEnv(t, Options{})
	all, boxed := e.dial(nil, nil), e.dial(nil, nil)
	all.subscribe("", -1)
	boxed.subscribe(boxBogota, -1)
	all.sync()
	boxed.sync()
	r, err := geo.DecodeFeature(geo.Links, []byte(`{"type":"Feature","geometry":null,"properties":{"from":"Iran","to":"Hezbollah","relation":"alliance"}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.db.Create(context.Background(), "tester", r)
	if err != nil {
		t.Fatal(err)
	}
	in := e.create(-74, 4.6, "in Bogotá")
	if m := all.expect(s.ID, in.ID); m[0].Collection != "links" {
		t.Errorf("link frame %+v", m[0])
	}
	boxed.expect(in.ID)
}
