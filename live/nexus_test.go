package live

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"nexus/geo"
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
	e := newResolvingEnv(t)
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

// A subscription to a route's corridor gets the incidents along the
// route's great-circle path, across the antimeridian.
func TestSubscriptionToACorridor(t *testing.T) {
	e := newResolvingEnv(t)
	c, _ := e.corridor(route(t, "[[170,-10],[-170,-10]]"), 100)
	c.send(`{"type":"subscribe","filter":{"near_route":"nope","km":100}}`)
	if m := c.read(); m.Type != "error" || !strings.Contains(m.Detail, "no route") {
		t.Fatalf("unknown route: %+v", m)
	}
	near := e.create(179.9, -10.2, "on the antimeridian")
	e.create(0, -10, "far away")
	near2 := e.create(-171, -9.5, "east end")
	c.expect(near.ID, near2.ID)
}

// A subscription follows alias edits: once Hizballah is made an alias of
// Hezbollah, a subscription to Hezbollah made before gets the incidents
// spelled Hizballah, and once the alias is gone, no longer.
func TestSubscriptionFollowsAliasEdits(t *testing.T) {
	e := newResolvingEnv(t)
	db := e.db
	ctx := context.Background()
	create := func(title, actor string) string {
		t.Helper()
		s, err := db.Create(ctx, "tester", actorIncident(t, title, actor))
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	c := e.dial(nil, nil)
	c.send(`{"type":"subscribe","filter":{"actor":["Hezbollah"]}}`)
	c.sync()
	create("before the alias", "Hizballah")
	c.expect(create("one spelling", "Hezbollah")) // and not the one before

	if _, _, err := db.PutAlias(ctx, "tester", geo.Alias{Alias: "Hizballah", Name: "Hezbollah", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	c.expect(create("after the alias", "Hizballah"))

	if err := db.DeleteAlias(ctx, "Hizballah"); err != nil {
		t.Fatal(err)
	}
	create("after the alias went", "Hizballah")
	c.expect(create("the name itself", "Hezbollah"))
}

// A subscription to a route's corridor follows the route when it moves:
// the route leaves the old corridor, and the incidents after it are
// matched against its new line.
func TestCorridorFollowsItsRoute(t *testing.T) {
	e := newResolvingEnv(t)
	c, id := e.corridor(route(t, "[[0,0],[10,0]]"), 50)
	c.expect(e.create(5, 0.2, "by the old line").ID)

	if _, _, err := e.db.Replace(context.Background(), "tester", id, 0, route(t, "[[0,20],[10,20]]")); err != nil {
		t.Fatal(err)
	}
	if m := c.expect(id); m[0].Matches == nil || *m[0].Matches {
		t.Errorf("the moved route's frame %+v: want it to leave the old corridor", m[0])
	}
	e.create(5, 0.2, "by the old line, after the move")
	c.expect(e.create(5, 20.2, "by the new line").ID)
}

// route decodes a route along the line of these coordinates.
func route(t testing.TB, coordinates string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(geo.Routes, []byte(`{"type":"Feature","geometry":{"type":"LineString","coordinates":`+coordinates+`},"properties":{"name":"Test route","commodity":"cocaine"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// corridor stores the route and subscribes a new connection to its
// corridor of km, resuming after the route's own change so that the next
// frames are the incidents' (the route lies in its own corridor, and the
// hello may come before the hub has seen the route). It returns the
// connection and the route's id.
func (e *env) corridor(r geo.Record, km float64) (*conn, string) {
	e.t.Helper()
	ctx := context.Background()
	rs, err := e.db.Create(ctx, "tester", r)
	if err != nil {
		e.t.Fatal(err)
	}
	seq, err := e.db.LastSeq(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.dial(nil, nil)
	c.send(fmt.Sprintf(`{"type":"subscribe","filter":{"near_route":%q,"km":%v},"since":%d}`, rs.ID, km, seq))
	c.sync()
	return c, rs.ID
}
