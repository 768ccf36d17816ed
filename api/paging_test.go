package api_test

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"nexus/geo"
)

// pageRaw pages through an items query and returns every id and, for every
// page, its numberMatched (-1 when absent).
func (e *env) pageRaw(t *testing.T, path string) (ids []string, matched []int64) {
	t.Helper()
	next := path
	for next != "" {
		var fc struct {
			NumberMatched *int64 `json:"numberMatched"`
			Links         []struct {
				Href, Rel string
			} `json:"links"`
			Features []struct {
				ID string `json:"id"`
			} `json:"features"`
		}
		e.get(next, "").want(t, http.StatusOK).json(t, &fc)
		for _, f := range fc.Features {
			ids = append(ids, f.ID)
		}
		if fc.NumberMatched != nil {
			matched = append(matched, *fc.NumberMatched)
		} else {
			matched = append(matched, -1)
		}
		next = ""
		for _, l := range fc.Links {
			if l.Rel == "next" {
				next = strings.TrimPrefix(l.Href, e.URL)
			}
		}
	}
	return ids, matched
}

// TestItemsPagingAndCount: pages through wide boxes (read in storage order)
// and small ones (through the spatial index) return every match once;
// numberMatched is on every page and exact under box, type, date and
// full-text filters (the overview keeps the matches of a text).
func TestItemsPagingAndCount(t *testing.T) {
	e := newEnv(t)
	loadSynth(t, e.db, 21, 3000, 20)
	for _, q := range []string{
		"bbox=-180,-90,180,90",
		"bbox=-120,-40,-50,55&type=attack,arrest",
		"bbox=-75,0,-70,5",
		"bbox=10,-90,-100,90&datetime=2000/2010",
		"type=plot&datetime=../2001-06",
		"actor=ELN&bbox=-100,-40,0,40",
		"country=co",
		"q=synthetic&type=attack,arrest",
		"q=generated&datetime=2000/2010",
		"q=synthetic&bbox=-120,-40,-50,55",
		"",
	} {
		f, err := parseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := e.db.Count(context.Background(), geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		ids, matched := e.pageRaw(t, "/api/collections/incidents/items?limit=170&"+q)
		if int64(len(ids)) != want {
			t.Errorf("%s: %d features through the pages, the store counts %d", q, len(ids), want)
		}
		sort.Strings(ids)
		for i := 1; i < len(ids); i++ {
			if ids[i] == ids[i-1] {
				t.Fatalf("%s: %s comes twice", q, ids[i])
			}
		}
		for i, m := range matched {
			if m != want {
				t.Errorf("%s: page %d has numberMatched %d, want %d", q, i, m, want)
			}
		}
	}
	t.Run("full text", func(t *testing.T) {
		ids, matched := e.pageRaw(t, "/api/collections/incidents/items?limit=500&q=synthetic")
		if len(ids) != 3000 || len(matched) != 6 {
			t.Fatalf("%d ids in %d pages", len(ids), len(matched))
		}
		for i, m := range matched {
			if m != 3000 {
				t.Errorf("page %d of a full-text query has numberMatched %d, want 3000", i, m)
			}
		}
		_, matched = e.pageRaw(t, "/api/collections/incidents/items?limit=500&q=synthetic&bbox=-75,0,-70,5")
		if len(matched) != 1 || matched[0] < 1 {
			t.Errorf("a full-text query on one page: numberMatched %v", matched)
		}
	})
}

// parseQuery reads the filter of a query as the server does.
func parseQuery(q string) (geo.Filter, error) {
	v, err := url.ParseQuery(q)
	if err != nil {
		return geo.Filter{}, err
	}
	f := geo.NewFilter()
	if s := v.Get("bbox"); s != "" {
		b, err := geo.ParseBBox(s)
		if err != nil {
			return f, err
		}
		f.BBox = &b
	}
	if s := v.Get("datetime"); s != "" {
		if f.Span, err = geo.ParseInterval(s); err != nil {
			return f, err
		}
	}
	if s := v.Get("type"); s != "" {
		f.Types = strings.Split(s, ",")
	}
	if s := v.Get("actor"); s != "" {
		f.Actors = strings.Split(s, ",")
	}
	if s := v.Get("country"); s != "" {
		f.Countries = strings.Split(strings.ToUpper(s), ",")
	}
	f.Q = v.Get("q")
	return f, nil
}
