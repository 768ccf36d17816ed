package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"nexus/data"
	"nexus/geo"
	"nexus/ingest"
)

// newSampleEnv is a server over the sample data drawn from the seed
// articles, with the sample's actor aliases.
func newSampleEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := newEnv(t, opts...)
	ctx := context.Background()
	names, err := data.Sample.ReadDir("sample")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n.Name() == "aliases.json" || n.Name() == "README.md" {
			continue
		}
		f, err := data.Sample.Open("sample/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ingest.Import(ctx, e.db, f, ingest.Options{Actor: "seed"})
		f.Close()
		if err != nil || len(rep.Rejected) > 0 {
			t.Fatalf("import %s: %v %+v", n.Name(), err, rep.Rejected)
		}
	}
	aliases, err := data.SampleAliases()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aliases {
		if _, _, err := e.db.PutAlias(ctx, "seed", a); err != nil {
			t.Fatalf("alias %+v: %v", a, err)
		}
	}
	return e
}

// ids returns the sorted ids of every item of the collection matching the query.
func (e *env) ids(c, query string) []string {
	e.t.Helper()
	all, _ := e.pageAll("/api/collections/"+c+"/items?"+query, "")
	var out []string
	for _, f := range all {
		out = append(out, f.ID)
	}
	sort.Strings(out)
	return out
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Hezbollah is spelled Hizballah by the U.S. State Department, Hizbullah
// elsewhere: every spelling finds the same records, in items, export and
// stats, for incidents and routes.
func TestAliasSpellingsFindTheSameActor(t *testing.T) {
	e := newSampleEnv(t)
	for _, c := range []string{"incidents", "routes"} {
		want := e.ids(c, "actor=Hezbollah")
		if len(want) == 0 {
			t.Fatalf("%s: actor=Hezbollah finds nothing in the sample", c)
		}
		for _, spelling := range []string{"Hizballah", "hizbullah", "Lebanese Hezbollah", "HEZBOLLAH"} {
			if got := e.ids(c, "actor="+url.QueryEscape(spelling)); !sameList(got, want) {
				t.Errorf("%s: actor=%s finds %v, actor=Hezbollah finds %v", c, spelling, got, want)
			}
		}
	}
	isis := e.ids("incidents", "actor=ISIS")
	if got := e.ids("incidents", "actor="+url.QueryEscape("Islamic State of Iraq and the Levant (ISIL)")); len(isis) == 0 || !sameList(got, isis) {
		t.Errorf("the GTD spelling of ISIS finds %v, want %v", got, isis)
	}
	if got := e.ids("incidents", "actor=Zetas"); !sameList(got, e.ids("incidents", "actor="+url.QueryEscape("Los Zetas"))) {
		t.Errorf("actor=Zetas finds %v", got)
	}
	// An actor the alias table does not know is only itself.
	if got := e.ids("incidents", "actor=Hamas"); len(got) != 0 {
		t.Errorf("actor=Hamas finds %v", got)
	}

	// Counts: one bucket under the canonical name, whatever the spellings.
	lcb := e.create("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":[35.5,33.89]},"properties":{"title":"Hizballah fundraising (test)","type":"financing","date":"2012","actors":["Hizballah"]}}`)
	var st struct {
		Counts []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"counts"`
	}
	e.get("/api/stats?by=actor", "").want(t, http.StatusOK).json(t, &st)
	var hez int64
	for _, c := range st.Counts {
		switch c.Key {
		case "Hizballah", "Hizbullah":
			t.Errorf("stats by actor has a bucket %q besides Hezbollah", c.Key)
		case "Hezbollah":
			hez = c.Count
		}
	}
	if want := int64(len(e.ids("incidents", "actor=Hezbollah"))); hez != want || want < 2 {
		t.Errorf("stats by actor: Hezbollah %d, items find %d", hez, want)
	}
	// The record keeps the spelling its source used.
	var got feature
	e.get("/api/collections/incidents/items/"+lcb.ID, "").want(t, http.StatusOK).json(t, &got)
	if a := got.Properties["actors"].([]any); len(a) != 1 || a[0] != "Hizballah" {
		t.Errorf("stored actors %v, want the spelling as sent", a)
	}
}

// TestActorCountsCountARecordOnce: an incident that lists two spellings of
// one actor counts once for it in the statistics by actor, from the
// overview index and from the store alike, in a box and over everything.
func TestActorCountsCountARecordOnce(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []envOption
	}{{"overview", nil}, {"store", []envOption{withoutOverview}}} {
		t.Run(c.name, func(t *testing.T) {
			e := newSampleEnv(t, c.opts...)
			for _, actors := range []string{`"Hezbollah","Hizballah","Los Zetas"`, `"Hizbullah","Zetas","Hizballah"`} {
				e.create("incidents", `{"type":"Feature","geometry":{"type":"Point","coordinates":[170.5,-45.5]},"properties":{"title":"Two spellings (test)","type":"financing","date":"2012","actors":[`+actors+`]}}`)
			}
			counts := func(query string) map[string]int64 {
				var st struct {
					Counts []struct {
						Key   string `json:"key"`
						Count int64  `json:"count"`
					} `json:"counts"`
				}
				e.get("/api/stats?by=actor"+query, "").want(t, http.StatusOK).json(t, &st)
				out := map[string]int64{}
				for _, c := range st.Counts {
					if _, dup := out[c.Key]; dup {
						t.Errorf("%s: two buckets %q", query, c.Key)
					}
					out[c.Key] = c.Count
				}
				return out
			}
			if got := counts("&bbox=170,-46,171,-45"); len(got) != 2 || got["Hezbollah"] != 2 || got["Los Zetas"] != 2 {
				t.Errorf("two incidents, each naming Hezbollah and Los Zetas in two spellings: counts %v", got)
			}
			all := counts("")
			for _, name := range []string{"Hezbollah", "Los Zetas"} {
				if want := int64(len(e.ids("incidents", "actor="+url.QueryEscape(name)))); all[name] != want {
					t.Errorf("stats by actor: %s %d, items find %d", name, all[name], want)
				}
			}
		})
	}
}

// Editors maintain the table; a new alias applies at once.
func TestAliasAPI(t *testing.T) {
	e := newSampleEnv(t)
	post := func(token, body string) resp {
		return e.do(req{method: "POST", path: "/api/aliases", token: token, ctype: "application/json", body: body})
	}
	post(e.viewer, `{"alias":"Los Zetas Cartel","name":"Los Zetas"}`).problem(t, http.StatusForbidden)
	post("", `{"alias":"Los Zetas Cartel","name":"Los Zetas"}`).problem(t, http.StatusUnauthorized)
	post(e.editor, `{"alias":"Los Zetas","name":"los zetas"}`).problem(t, http.StatusUnprocessableEntity)
	post(e.editor, `{"alias":"","name":"X"}`).problem(t, http.StatusUnprocessableEntity)
	post(e.editor, `{"alias":"a","name":"b","extra":1}`).problem(t, http.StatusBadRequest)
	post(e.editor, `not json`).problem(t, http.StatusBadRequest)
	// Hezbollah has aliases: it cannot itself become one.
	post(e.editor, `{"alias":"Hezbollah","name":"Party of God"}`).problem(t, http.StatusUnprocessableEntity)

	zetas := e.ids("incidents", "actor="+url.QueryEscape("Los Zetas"))
	if got := e.ids("incidents", "actor="+url.QueryEscape("Los Zetas Cartel")); len(got) != 0 {
		t.Fatalf("before the alias: %v", got)
	}
	r := post(e.editor, `{"alias":"Los Zetas Cartel","name":"Zetas","source":"an analyst"}`).want(t, http.StatusCreated)
	var a struct{ Alias, Name, Source string }
	r.json(t, &a)
	if a.Name != "Los Zetas" {
		t.Errorf("an alias of an alias points at %q, want the canonical Los Zetas", a.Name)
	}
	if got := e.ids("incidents", "actor="+url.QueryEscape("Los Zetas Cartel")); !sameList(got, zetas) || len(zetas) == 0 {
		t.Errorf("after the alias: %v, want %v", got, zetas)
	}
	post(e.editor, `{"alias":"los zetas cartel","name":"Sinaloa Cartel"}`).want(t, http.StatusOK)

	var list struct {
		Aliases []struct{ Alias, Name, Source string } `json:"aliases"`
	}
	e.get("/api/aliases", "").want(t, http.StatusOK).json(t, &list)
	found := 0
	for _, x := range list.Aliases {
		if x.Alias == "los zetas cartel" && x.Name == "Sinaloa Cartel" {
			found++
		}
		if x.Source == "" && x.Alias == "Hizballah" {
			t.Errorf("seeded alias without its source: %+v", x)
		}
	}
	if found != 1 {
		t.Errorf("the moved alias is listed %d times in %+v", found, list.Aliases)
	}
	e.do(req{method: "DELETE", path: "/api/aliases/" + url.PathEscape("Los Zetas Cartel"), token: e.editor}).want(t, http.StatusNoContent)
	e.do(req{method: "DELETE", path: "/api/aliases/" + url.PathEscape("Los Zetas Cartel"), token: e.editor}).problem(t, http.StatusNotFound)
	if got := e.ids("incidents", "actor="+url.QueryEscape("Los Zetas Cartel")); len(got) != 0 {
		t.Errorf("after the delete: %v", got)
	}
}

const validLink = `{"type":"Feature","geometry":null,"properties":{"from":"Lebanese Canadian Bank","to":"Hizballah","relation":"financing","date_from":"2011","confidence":"high","summary":"Laundered drug profits.","sources":[{"title":"Confronting the narcoterrorism nexus","url":"http://news.yahoo.com/confronting-the-narcoterrorism-nexus-181859104.html"}],"tags":["money-laundering"]}}`

// Links have the API of the other collections: items, ETag and If-Match,
// history, delete, export and import.
func TestLinksCollection(t *testing.T) {
	e := newEnv(t)
	if _, _, err := e.db.PutAlias(context.Background(), "test", geo.Alias{Alias: "Hizballah", Name: "Hezbollah"}); err != nil {
		t.Fatal(err)
	}
	l := e.create("links", validLink)
	if string(l.Geometry.Type) != "" || l.Properties["from"] != "Lebanese Canadian Bank" || l.Properties["version"] != float64(1) {
		t.Fatalf("created link %+v", l)
	}
	path := "/api/collections/links/items/" + l.ID
	r := e.get(path, "").want(t, http.StatusOK)
	if r.header.Get("ETag") != `"1"` || !bytes.Contains(r.body, []byte(`"geometry":null`)) {
		t.Fatalf("GET: ETag %q, body %s", r.header.Get("ETag"), r.body)
	}
	// A link with a place, without its actors, or with an unknown relation is refused.
	for body, field := range map[string]string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]},"properties":{"from":"A","to":"B","relation":"supply"}}`:     "geometry",
		`{"type":"Feature","geometry":null,"properties":{"to":"B","relation":"supply"}}`:                                                "from",
		`{"type":"Feature","geometry":null,"properties":{"from":"A","to":"B","relation":"friendship"}}`:                                 "relation",
		`{"type":"Feature","geometry":null,"properties":{"from":"Hezbollah","to":"hezbollah","relation":"alliance"}}`:                   "to",
		`{"type":"Feature","geometry":null,"properties":{"from":"A","to":"B","relation":"supply","date_from":"2012","date_to":"2011"}}`: "date_to",
	} {
		p := e.do(req{method: "POST", path: "/api/collections/links/items", token: e.editor, ctype: "application/geo+json", body: body}).problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: errors %+v, want field %s", body, p.Errors, field)
		}
	}
	patch := `{"properties":{"relation":"other"}}`
	e.do(req{method: "PATCH", path: path, token: e.editor, ctype: "application/merge-patch+json", body: patch, header: map[string]string{"If-Match": `"1"`}}).want(t, http.StatusOK)
	e.do(req{method: "PATCH", path: path, token: e.editor, ctype: "application/merge-patch+json", body: patch, header: map[string]string{"If-Match": `"1"`}}).problem(t, http.StatusPreconditionFailed)
	var hist struct {
		Changes []struct {
			Version int64 `json:"version"`
		} `json:"changes"`
	}
	hr := e.get(path+"/history", "").want(t, http.StatusOK)
	hr.json(t, &hist)
	if !bytes.Contains(hr.body, []byte(`"relation":"other"`)) || !bytes.Contains(hr.body, []byte(`"relation":"financing"`)) {
		t.Errorf("history misses a version: %s", hr.body)
	}
	// Filters: actors through aliases; a box never selects a link.
	if got := e.ids("links", "actor=Hezbollah"); !sameList(got, []string{l.ID}) {
		t.Errorf("actor=Hezbollah: %v", got)
	}
	if got := e.ids("links", "bbox=-180,-90,180,90"); len(got) != 0 {
		t.Errorf("a bbox selects links %v", got)
	}
	// Export holds the link; importing the export again changes nothing.
	ex := e.get("/api/export.geojson", "").want(t, http.StatusOK)
	if !bytes.Contains(ex.body, []byte(l.ID)) {
		t.Fatalf("export misses the link: %s", ex.body)
	}
	imp := e.do(req{method: "POST", path: "/api/import", token: e.editor, ctype: "application/geo+json",
		body: `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"from":"ISIS","to":"Raúl Gutiérrez","relation":"financing","external_id":"t:1"}},{"type":"Feature","geometry":null,"properties":{"title":"no place"}}]}`}).want(t, http.StatusOK)
	var rep struct {
		Created  int `json:"created"`
		Rejected []struct {
			Field string `json:"field"`
		} `json:"rejected"`
	}
	imp.json(t, &rep)
	if rep.Created != 1 || len(rep.Rejected) != 1 || rep.Rejected[0].Field != "geometry" {
		t.Errorf("import report %s", imp.body)
	}
	if got := e.ids("links", "actor=ISIS"); len(got) != 1 {
		t.Errorf("imported link not found: %v", got)
	}
	e.do(req{method: "DELETE", path: path, token: e.editor}).want(t, http.StatusNoContent)
	e.get(path, "").problem(t, http.StatusNotFound)
}

// byExternal maps the external_id of every record of the collection to its id.
func (e *env) byExternal(c string) map[string]string {
	e.t.Helper()
	all, _ := e.pageAll("/api/collections/"+c+"/items?limit=1000", "")
	m := map[string]string{}
	for _, f := range all {
		if x, ok := f.Properties["external_id"].(string); ok {
			m[x] = f.ID
		}
	}
	return m
}

type connection struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Kind       string `json:"kind"`
}

type profile struct {
	Name      string           `json:"name"`
	Spellings []string         `json:"spellings"`
	Counts    map[string]int64 `json:"counts"`
	FirstSeen string           `json:"first_seen"`
	LastSeen  string           `json:"last_seen"`
	Countries []struct {
		Key   string `json:"key"`
		Count int64  `json:"count"`
	} `json:"countries"`
	Timeline []struct {
		Key   string `json:"key"`
		Count int64  `json:"count"`
	} `json:"timeline"`
	Links struct {
		NumberMatched int64     `json:"numberMatched"`
		Features      []feature `json:"features"`
	} `json:"links"`
	Neighbours []struct {
		Name    string       `json:"name"`
		Links   int64        `json:"links"`
		Records int64        `json:"records"`
		Through []connection `json:"through"`
	} `json:"neighbours"`
}

func (p profile) through(name string) ([]connection, bool) {
	for _, n := range p.Neighbours {
		if n.Name == name {
			return n.Through, true
		}
	}
	return nil, false
}

func hasRecord(cs []connection, id string) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// Profiles read like the articles: Hezbollah is linked to the Lebanese
// Canadian Bank and reaches Los Zetas, each through the records that say
// so; FARC's profile shows the arms deal with the Guinea-Bissau admiral.
func TestActorProfilesReadLikeTheArticles(t *testing.T) {
	e := newSampleEnv(t)
	inc, routes, links := e.byExternal("incidents"), e.byExternal("routes"), e.byExternal("links")

	var hez profile
	e.get("/api/actors/Hizballah", "").want(t, http.StatusOK).json(t, &hez)
	if hez.Name != "Hezbollah" {
		t.Fatalf("the profile of Hizballah is named %q", hez.Name)
	}
	lcb, ok := hez.through("Lebanese Canadian Bank")
	if !ok || !hasRecord(lcb, links["seed:link-lcb-finances-hezbollah"]) || !hasRecord(lcb, inc["seed:beirut-lebanese-canadian-bank-laundering"]) {
		t.Errorf("Hezbollah–Lebanese Canadian Bank through %+v, want the financing link and the laundering incident", lcb)
	}
	if lcb[0].Collection != "links" || lcb[0].Kind != "financing" {
		t.Errorf("explicit links come first: %+v", lcb[0])
	}
	zetas, ok := hez.through("Los Zetas")
	if !ok || !hasRecord(zetas, inc["seed:beirut-lebanese-canadian-bank-laundering"]) || !hasRecord(zetas, routes["seed:route-lcb-drug-profits"]) {
		t.Errorf("Hezbollah–Los Zetas through %+v, want the laundering incident and the profits route", zetas)
	}
	// And through the bank: its profile links it to Los Zetas.
	var bank profile
	e.get("/api/actors/"+url.PathEscape("Lebanese Canadian Bank"), "").want(t, http.StatusOK).json(t, &bank)
	if z, _ := bank.through("Los Zetas"); !hasRecord(z, links["seed:link-zetas-profits-through-lcb"]) {
		t.Errorf("Lebanese Canadian Bank–Los Zetas through %+v, want the laundering link", z)
	}
	if hez.Counts["incidents"] != int64(len(e.ids("incidents", "actor=Hezbollah"))) || hez.Counts["links"] < 2 {
		t.Errorf("Hezbollah counts %v", hez.Counts)
	}
	if hez.FirstSeen != "1994-01-01" || hez.LastSeen != "2018-12-31" {
		t.Errorf("Hezbollah seen %s to %s, want 1994 (AMIA) to 2018 (Venezuela)", hez.FirstSeen, hez.LastSeen)
	}
	countries := map[string]bool{}
	for _, c := range hez.Countries {
		countries[c.Key] = true
	}
	for _, c := range []string{"AR", "LB", "GW", "VE"} {
		if !countries[c] {
			t.Errorf("Hezbollah countries %+v miss %s", hez.Countries, c)
		}
	}
	var months int64
	for _, m := range hez.Timeline {
		months += m.Count
	}
	if months != hez.Counts["incidents"] {
		t.Errorf("timeline counts %d incidents, the profile %d", months, hez.Counts["incidents"])
	}

	var farc profile
	e.get("/api/actors/FARC", "").want(t, http.StatusOK).json(t, &farc)
	deal := links["seed:link-na-tchuto-arms-to-farc"]
	found := false
	for _, l := range farc.Links.Features {
		if l.ID == deal && l.Properties["relation"] == "supply" && l.Properties["from"] == "José Américo Na Tchuto" {
			found = true
		}
	}
	if !found {
		t.Errorf("FARC's links %+v miss the arms deal with Admiral Na Tchuto", farc.Links.Features)
	}
	adm, ok := farc.through("José Américo Na Tchuto")
	if !ok || !hasRecord(adm, deal) || !hasRecord(adm, routes["seed:route-guinea-bissau-arms-to-farc"]) {
		t.Errorf("FARC–Na Tchuto through %+v, want the supply link and the arms route", adm)
	}
	// The GTD spelling finds the same profile.
	var gtd profile
	e.get("/api/actors/"+url.PathEscape("Revolutionary Armed Forces of Colombia (FARC)"), "").want(t, http.StatusOK).json(t, &gtd)
	if gtd.Name != "FARC" || gtd.Counts["incidents"] != farc.Counts["incidents"] {
		t.Errorf("GTD spelling profile %s %v, want FARC %v", gtd.Name, gtd.Counts, farc.Counts)
	}
	e.get("/api/actors/Nobody", "").problem(t, http.StatusNotFound)

	// The list: one entry per actor, with the counts of its profile.
	var list struct {
		NumberMatched int `json:"numberMatched"`
		Actors        []struct {
			Name      string   `json:"name"`
			Spellings []string `json:"spellings"`
			Incidents int64    `json:"incidents"`
			Routes    int64    `json:"routes"`
			Links     int64    `json:"links"`
			FirstSeen string   `json:"first_seen"`
		} `json:"actors"`
	}
	e.get("/api/actors", "").want(t, http.StatusOK).json(t, &list)
	n := 0
	for _, a := range list.Actors {
		if a.Name == "Hezbollah" {
			n++
			if a.Incidents != hez.Counts["incidents"] || a.Routes != hez.Counts["routes"] || a.Links != hez.Counts["links"] || a.FirstSeen != "1994-01-01" {
				t.Errorf("list entry %+v, profile %v", a, hez.Counts)
			}
		}
		if a.Name == "Hizballah" {
			t.Errorf("an alias is listed as an actor: %+v", a)
		}
	}
	if n != 1 || list.NumberMatched != len(list.Actors) {
		t.Errorf("Hezbollah listed %d times; numberMatched %d of %d", n, list.NumberMatched, len(list.Actors))
	}
	e.get("/api/actors?q=zeta", "").want(t, http.StatusOK).json(t, &list)
	if len(list.Actors) != 1 || list.Actors[0].Name != "Los Zetas" {
		t.Errorf("q=zeta: %+v", list.Actors)
	}
	e.get("/api/actors?q=hizball", "").want(t, http.StatusOK).json(t, &list)
	if len(list.Actors) != 1 || list.Actors[0].Name != "Hezbollah" {
		t.Errorf("q=hizball finds %+v, want Hezbollah through its alias", list.Actors)
	}
}

// The corridor of the South America → West Africa → Europe cocaine route
// holds the Guinea-Bissau sting, made in international waters off the
// coast; items, stats, view and export agree on what the corridor holds.
func TestCorridorOfTheCocaineRoute(t *testing.T) {
	e := newSampleEnv(t)
	inc, routes := e.byExternal("incidents"), e.byExternal("routes")
	route := routes["seed:route-south-america-west-africa-europe"]
	sting := inc["seed:guinea-bissau-na-tchuto-dea-sting"]
	q := "near_route=" + route + "&km=150"
	got := e.ids("incidents", q)
	found := false
	for _, id := range got {
		found = found || id == sting
	}
	if !found {
		t.Fatalf("the 150 km corridor of the cocaine route holds %v, not the sting %s", got, sting)
	}
	// Far from the route: the Bogotá plot and the Mexico City presentation are not in it.
	for _, far := range []string{"seed:bogota-zona-rosa-isis-plot", "seed:mexico-city-cucho-presentation"} {
		for _, id := range got {
			if id == inc[far] {
				t.Errorf("%s is in the corridor", far)
			}
		}
	}
	// A point corridor around the sting's coast.
	if near := e.ids("incidents", "near=-15.6,11.86,150"); len(near) == 0 || !sameList(near, e.ids("incidents", "near=-15.6,11.86,150&type=arrest,trafficking,financing,plot,attack,seizure,other,assassination,kidnapping,recruitment")) {
		t.Errorf("near the Bissau coast: %v", near)
	}
	var st struct {
		Counts []struct {
			Key   string `json:"key"`
			Count int64  `json:"count"`
		} `json:"counts"`
	}
	e.get("/api/stats?by=type&"+q, "").want(t, http.StatusOK).json(t, &st)
	var n int64
	for _, c := range st.Counts {
		n += c.Count
	}
	if n != int64(len(got)) {
		t.Errorf("stats count %d in the corridor, items %d", n, len(got))
	}
	var view featureCollection
	e.get("/api/view?zoom=3&bbox=-180,-90,180,90&"+q, "").want(t, http.StatusOK).json(t, &view)
	if view.NumberMatched != int64(len(got)) {
		t.Errorf("view matched %d, items %d", view.NumberMatched, len(got))
	}
	ex := e.get("/api/export.geojson?collections=incidents&"+q, "").want(t, http.StatusOK)
	var fc featureCollection
	ex.json(t, &fc)
	if len(fc.Features) != len(got) {
		t.Errorf("export holds %d, items %d", len(fc.Features), len(got))
	}
	// The route itself is in its own corridor; links never are.
	if r := e.ids("routes", q); len(r) == 0 {
		t.Errorf("routes within 150 km of the route: none")
	}
	if l := e.ids("links", q); len(l) != 0 {
		t.Errorf("links in a corridor: %v", l)
	}
	for _, bad := range []string{"near_route=" + route, "near_route=nope&km=5", "near=1,2", "near=1,2,0", "km=5", "near=1,2,3&near_route=" + route + "&km=4", "near_route=" + route + "&km=abc"} {
		e.get("/api/collections/incidents/items?"+bad, "").problem(t, http.StatusBadRequest)
	}
}
