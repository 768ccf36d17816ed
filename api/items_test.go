package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"nexus/geo"
)

// TestItemsPaging follows next links through every page and collects every
// record exactly once, with numberMatched and numberReturned right on
// every page and the query carried along.
func TestItemsPaging(t *testing.T) {
	e := newEnv(t)
	const n = 537
	loadSynth(t, e.db, 1, n, 3)
	for _, tc := range []struct {
		query string
		limit int
	}{{"", 100}, {"limit=50", 50}, {"limit=1000", 1000}, {"limit=7&type=attack,plot&f=json", 7}} {
		t.Run(tc.query, func(t *testing.T) {
			f := geo.NewFilter()
			if strings.Contains(tc.query, "type=") {
				f.Types = []string{"attack", "plot"}
			}
			want, err := e.db.Count(context.Background(), geo.Incidents, f)
			if err != nil {
				t.Fatal(err)
			}
			features, pages := e.pageAll("/api/collections/incidents/items?"+tc.query, "")
			seen := map[string]bool{}
			for _, f := range features {
				if seen[f.ID] {
					t.Fatalf("id %s on two pages", f.ID)
				}
				seen[f.ID] = true
			}
			if int64(len(seen)) != want {
				t.Fatalf("collected %d records, want %d", len(seen), want)
			}
			for i, p := range pages {
				if p.Type != "FeatureCollection" || p.NumberMatched != want || p.NumberReturned != len(p.Features) {
					t.Fatalf("page %d: %s numberMatched %d numberReturned %d with %d features", i, p.Type, p.NumberMatched, p.NumberReturned, len(p.Features))
				}
				if _, err := time.Parse(time.RFC3339, p.TimeStamp); err != nil {
					t.Errorf("timeStamp %q", p.TimeStamp)
				}
				if i < len(pages)-1 && len(p.Features) != tc.limit {
					t.Errorf("page %d holds %d features, limit %d", i, len(p.Features), tc.limit)
				}
				if p.link("self") == "" {
					t.Errorf("page %d has no self link", i)
				}
				if next := p.link("next"); next != "" {
					u, _ := url.Parse(next)
					orig, _ := url.ParseQuery(tc.query)
					for k := range orig {
						if u.Query().Get(k) != orig.Get(k) {
							t.Errorf("next link %s drops %s=%s", next, k, orig.Get(k))
						}
					}
					if u.Query().Get("cursor") == "" {
						t.Errorf("next link %s has no cursor", next)
					}
				}
			}
			if pages[len(pages)-1].link("next") != "" {
				t.Errorf("the last page has a next link")
			}
		})
	}
	t.Run("limit above the maximum is clamped", func(t *testing.T) {
		var fc featureCollection
		e.get("/api/collections/incidents/items?limit=1000000", "").want(t, http.StatusOK).json(t, &fc)
		if fc.NumberReturned != n || fc.link("next") != "" {
			t.Errorf("numberReturned %d, want %d", fc.NumberReturned, n)
		}
	})
}

// TestItemsFilters checks each filter parameter against a known set.
func TestItemsFilters(t *testing.T) {
	e := newEnv(t)
	mk := func(lon, lat float64, typ, date, country, actor, title string) {
		e.create(geo.Incidents, fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":%q,"type":%q,"date":%q,"country":%q,"actors":[%q]}}`,
			lon, lat, title, typ, date, country, actor))
	}
	mk(-74.07, 4.71, "plot", "2018-02", "CO", "ISIS", "Plot in Bogotá")
	mk(-99.13, 19.43, "attack", "2011-08-25", "MX", "Los Zetas", "Casino fire in Monterrey")
	mk(-15.6, 11.86, "seizure", "2007", "GW", "Cartel", "Cocaine seized in Bissau")
	mk(179.5, -16.5, "trafficking", "2020-06-01", "FJ", "Unknown", "Drifting cocaine off Fiji")
	mk(-179.5, -16.0, "arrest", "2021", "FJ", "Unknown", "Arrest across the antimeridian")
	e.create(geo.Routes, validRoute)

	tests := []struct {
		collection, query string
		want              []string // titles or names
	}{
		{"incidents", "bbox=-80,0,-70,10", []string{"Plot in Bogotá"}},
		{"incidents", "bbox=170,-20,-170,-10", []string{"Drifting cocaine off Fiji", "Arrest across the antimeridian"}},
		{"incidents", "bbox=-100,0,-1000,-70,20,1000", []string{"Plot in Bogotá", "Casino fire in Monterrey"}},
		{"incidents", "datetime=2018-02-14", []string{"Plot in Bogotá"}},
		{"incidents", "datetime=2007-06-01T12:00:00Z/2011-12", []string{"Casino fire in Monterrey", "Cocaine seized in Bissau"}},
		{"incidents", "datetime=../2010", []string{"Cocaine seized in Bissau"}},
		{"incidents", "datetime=2021-01-01/..", []string{"Arrest across the antimeridian"}},
		{"incidents", "type=attack,seizure", []string{"Casino fire in Monterrey", "Cocaine seized in Bissau"}},
		{"incidents", "type=attack&type=plot", []string{"Plot in Bogotá", "Casino fire in Monterrey"}},
		{"incidents", "actor=isis", []string{"Plot in Bogotá"}},
		{"incidents", "country=mx,gw", []string{"Casino fire in Monterrey", "Cocaine seized in Bissau"}},
		{"incidents", "q=cocaine", []string{"Cocaine seized in Bissau", "Drifting cocaine off Fiji"}},
		{"incidents", "q=bogota", []string{"Plot in Bogotá"}},
		{"incidents", "q=cocaine&country=FJ&datetime=2020", []string{"Drifting cocaine off Fiji"}},
		{"routes", "commodity=cocaine&bbox=-20,10,-10,20", []string{"Atlantic cocaine route"}},
		{"routes", "commodity=arms", nil},
		{"routes", "actor=Clan del Golfo&datetime=2016", []string{"Atlantic cocaine route"}},
	}
	for _, tt := range tests {
		t.Run(tt.collection+"?"+tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			features, pages := e.pageAll("/api/collections/"+tt.collection+"/items?"+q.Encode(), "")
			var got []string
			for _, f := range features {
				name, _ := f.Properties["title"].(string)
				if name == "" {
					name, _ = f.Properties["name"].(string)
				}
				got = append(got, name)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if pages[0].NumberMatched != int64(len(tt.want)) {
				t.Errorf("numberMatched %d, want %d", pages[0].NumberMatched, len(tt.want))
			}
		})
	}
}
