package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testDatetimeFilter queries incidents of every date precision and routes
// with closed and open active spans by instants and intervals: a record
// matches when its span overlaps the query's.
func testDatetimeFilter(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	incidents := []struct{ name, date string }{
		{"y1994", "1994"},           // [1994-01-01, 1995-01-01)
		{"m199407", "1994-07"},      // [1994-07-01, 1994-08-01)
		{"d19940718", "1994-07-18"}, // [1994-07-18, 1994-07-19)
		{"d19920317", "1992-03-17"}, // [1992-03-17, 1992-03-18)
	}
	routes := []struct{ name, from, to string }{
		{"r1990to1993", "1990", "1993"},           // [1990-01-01, 1994-01-01)
		{"r199407on", "1994-07", ""},              // [1994-07-01, ∞)
		{"rto199203", "", "1992-03"},              // (-∞, 1992-04-01)
		{"ralways", "", ""},                       // all time
		{"r19940718", "1994-07-18", "1994-07-18"}, // [1994-07-18, 1994-07-19)
	}
	var recs []geo.Record
	for _, in := range incidents {
		recs = append(recs, &geo.Incident{Point: orb.Point{-58.4, -34.6}, Title: in.name, Type: "attack", Date: in.date, ExternalID: in.name})
	}
	for _, r := range routes {
		recs = append(recs, &geo.Route{Line: orb.LineString{{-75, 4}, {-58, -34}}, Name: r.name, Commodity: "cocaine", ActiveFrom: r.from, ActiveTo: r.to, ExternalID: r.name})
	}
	ImportAll(t, db, "tester", recs)

	for _, tc := range []struct {
		datetime  string
		incidents []string
		routes    []string
	}{
		{"1994-07-18", []string{"y1994", "m199407", "d19940718"}, []string{"r199407on", "ralways", "r19940718"}},
		{"1994-07-18T23:59:59Z", []string{"y1994", "m199407", "d19940718"}, []string{"r199407on", "ralways", "r19940718"}},
		{"1994-07-19T00:00:00Z", []string{"y1994", "m199407"}, []string{"r199407on", "ralways"}},
		{"1994-06-30T23:59:59Z", []string{"y1994"}, []string{"ralways"}},
		{"1994-07-01T00:00:00Z", []string{"y1994", "m199407"}, []string{"r199407on", "ralways"}},
		{"1994-07", []string{"y1994", "m199407", "d19940718"}, []string{"r199407on", "ralways", "r19940718"}},
		{"1994", []string{"y1994", "m199407", "d19940718"}, []string{"r199407on", "ralways", "r19940718"}},
		{"1995", nil, []string{"r199407on", "ralways"}},
		{"1993-12-31T23:59:59Z", nil, []string{"r1990to1993", "ralways"}},
		{"1994-01-01T00:00:00Z", []string{"y1994"}, []string{"ralways"}},
		{"1989", nil, []string{"rto199203", "ralways"}},
		{"1992-04/1993", nil, []string{"r1990to1993", "ralways"}},
		{"1992-03-31T23:59:59Z/1992-04-01T00:00:00Z", nil, []string{"r1990to1993", "rto199203", "ralways"}},
		{"1994-08/1994-12", []string{"y1994"}, []string{"r199407on", "ralways"}},
		{"1990/1992-03-17", []string{"d19920317"}, []string{"r1990to1993", "rto199203", "ralways"}},
		{"../1992-03-17", []string{"d19920317"}, []string{"r1990to1993", "rto199203", "ralways"}},
		{"../1992-03-16", nil, []string{"r1990to1993", "rto199203", "ralways"}},
		{"/1992-03-16", nil, []string{"r1990to1993", "rto199203", "ralways"}},
		{"1994-07-18/..", []string{"y1994", "m199407", "d19940718"}, []string{"r199407on", "ralways", "r19940718"}},
		{"1994-07-19/..", []string{"y1994", "m199407"}, []string{"r199407on", "ralways"}},
		{"1994-07-19T00:00:00Z/", []string{"y1994", "m199407"}, []string{"r199407on", "ralways"}},
		{"2030/..", nil, []string{"r199407on", "ralways"}},
		{"../..", []string{"y1994", "m199407", "d19940718", "d19920317"}, []string{"r1990to1993", "r199407on", "rto199203", "ralways", "r19940718"}},
	} {
		t.Run(tc.datetime, func(t *testing.T) {
			span, err := geo.ParseInterval(tc.datetime)
			if err != nil {
				t.Fatal(err)
			}
			f := geo.NewFilter()
			f.Span = span
			for _, c := range []struct {
				coll geo.Collection
				want []string
			}{{geo.Incidents, tc.incidents}, {geo.Routes, tc.routes}} {
				got := namesMatching(t, db, c.coll, f)
				want := slices.Clone(c.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: got %v, want %v", c.coll, got, want)
				}
				// The in-memory match, used by live subscriptions, agrees.
				var mem []string
				for _, r := range recs {
					if r.Collection() == c.coll && f.Match(r) {
						mem = append(mem, r.Keys().ExternalID)
					}
				}
				slices.Sort(mem)
				if !slices.Equal(mem, want) {
					t.Errorf("%s: geo.Filter.Match selects %v, want %v", c.coll, mem, want)
				}
			}
		})
	}
}

// namesMatching returns the sorted external ids of the records that
// store.Query returns for the filter, checking numberMatched on the way.
func namesMatching(t *testing.T, db Engine, c geo.Collection, f geo.Filter) []string {
	t.Helper()
	p, err := db.Query(context.Background(), c, f, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, feature := range p.Features {
		var v struct {
			Properties struct {
				ExternalID string `json:"external_id"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(feature, &v); err != nil {
			t.Fatal(err)
		}
		names = append(names, v.Properties.ExternalID)
	}
	if p.Matched != int64(len(names)) || p.Next != 0 {
		t.Fatalf("numberMatched %d, next %d for %d features", p.Matched, p.Next, len(names))
	}
	slices.Sort(names)
	return names
}
