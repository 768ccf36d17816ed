package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"nexus/geo"
	"nexus/geocode"
)

// TestFiltersForgive: filters take what people type. Countries by name in
// any common spelling or language, actors by a word's beginning without
// case or accents, text by word prefixes; a country no name answers to is
// a 400 that names the closest ones.
func TestFiltersForgive(t *testing.T) {
	e := newEnv(t)
	g, err := geocode.Default()
	if err != nil {
		t.Fatal(err)
	}
	e.db.Countries = g
	mk := func(lon, lat float64, typ, country, actor, title string) {
		e.create(geo.Incidents, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":%q,"type":%q,"date":"2012","country":%q,"actors":[%q]}}`,
			lon, lat, title, typ, country, actor))
	}
	mk(-74.07, 4.71, "plot", "CO", "ISIS", "Plot in Bogotá")
	mk(-99.5, 27.5, "arrest", "MX", "Los Zetas", "Finance operator detained in Nuevo Laredo")
	mk(-15.6, 11.86, "seizure", "GW", "Cártel del Pacífico", "Cocaine seized in Bissau")
	mk(35.5, 33.9, "financing", "LB", "Hezbollah", "Bank launders cocaine money")

	titles := func(query string) []string {
		t.Helper()
		var fc struct {
			NumberMatched int64 `json:"numberMatched"`
			Features      []feature
		}
		e.get("/api/collections/incidents/items?"+query, "").want(t, http.StatusOK).json(t, &fc)
		var out []string
		for _, f := range fc.Features {
			out = append(out, f.Properties["title"].(string))
		}
		slices.Sort(out)
		if fc.NumberMatched != int64(len(out)) {
			t.Errorf("%s: numberMatched %d for %d features", query, fc.NumberMatched, len(out))
		}
		return out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"country=Colombia", []string{"Plot in Bogotá"}},
		{"country=Kolumbien", []string{"Plot in Bogotá"}},
		{"country=colombie", []string{"Plot in Bogotá"}},
		{"country=COL", []string{"Plot in Bogotá"}},
		{"country=co", []string{"Plot in Bogotá"}},
		{"country=" + url.QueryEscape("Guinée-Bissau,México"), []string{"Cocaine seized in Bissau", "Finance operator detained in Nuevo Laredo"}},
		{"actor=zetas", []string{"Finance operator detained in Nuevo Laredo"}},
		{"actor=ZETAS", []string{"Finance operator detained in Nuevo Laredo"}},
		{"actor=hezbol", []string{"Bank launders cocaine money"}},
		{"actor=" + url.QueryEscape("cartel del pacifico"), []string{"Cocaine seized in Bissau"}},
		{"actor=pacif", []string{"Cocaine seized in Bissau"}},
		{"actor=is", nil}, // too short to stand for a word's beginning; no actor is "is"
		{"q=cocain", []string{"Bank launders cocaine money", "Cocaine seized in Bissau"}},
		{"q=ocaine", nil}, // a word's beginning, not any part of it
		{"q=bogo", []string{"Plot in Bogotá"}},
	} {
		if got := titles(c.query); strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.query, got, c.want)
		}
	}

	// The same resolution in the statistics and the view.
	var stats struct {
		Counts []struct {
			Key   string
			Count int
		}
	}
	e.get("/api/stats?by=country&country=Kolumbien", "").want(t, http.StatusOK).json(t, &stats)
	if len(stats.Counts) != 1 || stats.Counts[0].Key != "CO" || stats.Counts[0].Count != 1 {
		t.Errorf("stats by country for Kolumbien: %+v", stats.Counts)
	}
	var view struct {
		NumberMatched int `json:"numberMatched"`
	}
	e.get("/api/view?zoom=3&country=Colombia", "").want(t, http.StatusOK).json(t, &view)
	if view.NumberMatched != 1 {
		t.Errorf("view for country=Colombia matched %d, want 1", view.NumberMatched)
	}

	// Unknown names: 400, naming the closest countries.
	for query, want := range map[string]string{
		"country=Colmbia":          "Colombia (CO)",
		"country=Guinnea-Bisso":    "Guinea-Bissau (GW)",
		"country=CO,Venezuella":    "Venezuela (VE)",
		"country=zzzzzzzzzzzzzzzz": "ISO 3166-1",
	} {
		for _, path := range []string{"/api/collections/incidents/items?", "/api/stats?by=type&", "/api/view?zoom=3&"} {
			p := e.get(path+query, "").problem(t, http.StatusBadRequest)
			if !strings.Contains(p.Detail, want) {
				t.Errorf("%s%s: detail %q does not name %q", path, query, p.Detail, want)
			}
		}
	}
	for _, bad := range []string{"country=%3Cscript%3E", "country=C0", "country=" + strings.Repeat("a", 200)} {
		e.get("/api/collections/incidents/items?"+bad, "").problem(t, http.StatusBadRequest)
	}
}
