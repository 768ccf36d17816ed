package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store/storetest"
)

// TestFiltersMatchMemory: on random incidents and routes (some across the
// antimeridian), every filter the database answers (box, time span, kind,
// actor, country, words, corridor) selects exactly the records that the
// in-memory matcher of live subscriptions selects, page after page.
func TestFiltersMatchMemory(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	types := []string{"attack", "seizure", "plot", "arrest"}
	actors := []string{"ISIS", "Clan del Golfo", "Sinaloa Cartel", "Ñeco Pérez"}
	words := []string{"Bogotá", "cocaine", "port", "Zona Rosa", "Médico", "harbour"}
	var recs []geo.Record
	for i := range 300 {
		var r geo.Record
		if i%5 == 0 {
			x := rng.Float64()*40 + 160
			if x > 180 {
				x -= 360
			}
			y := rng.Float64()*60 - 30
			x2 := x + rng.Float64()*30 - 15
			if x2 > 180 {
				x2 -= 360
			}
			if x2 < -180 {
				x2 += 360
			}
			f := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[%f,%f],[%f,%f]]},"properties":{"name":"route %d %s","commodity":"%s","actors":[%q]}}`,
				x, y, x2, y+rng.Float64()*10-5, i, words[rng.IntN(len(words))], []string{"cocaine", "heroin"}[rng.IntN(2)], actors[rng.IntN(len(actors))])
			r = storetest.Decode(t, geo.Routes, f)
		} else {
			x := rng.Float64()*360 - 180
			y := rng.Float64()*170 - 85
			if i%3 == 0 {
				x = rng.Float64()*10 + 170
				if x > 180 {
					x -= 360
				}
			}
			year := 2000 + rng.IntN(25)
			f := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"title":"incident %d %s %s","type":"%s","date":"%d-%02d","actors":[%q],"country":"%s","killed":null}}`,
				x, y, i, words[rng.IntN(len(words))], words[rng.IntN(len(words))], types[rng.IntN(len(types))], year, 1+rng.IntN(12), actors[rng.IntN(len(actors))], []string{"CO", "MX", "FJ"}[rng.IntN(3)])
			r = storetest.Decode(t, geo.Incidents, f)
		}
		st, err := db.Create(ctx, "t", r)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := geo.DecodeFeature(r.Collection(), st.Feature)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, stored)
	}
	filters := []geo.Filter{geo.NewFilter()}
	for range 60 {
		f := geo.NewFilter()
		switch rng.IntN(7) {
		case 0, 1:
			w := rng.Float64()*360 - 180
			e := w + rng.Float64()*60
			if e > 180 {
				e -= 360 // across the antimeridian
			}
			s := rng.Float64()*120 - 60
			f.BBox = &geo.BBox{W: w, S: s, E: e, N: s + rng.Float64()*40}
		case 2:
			var err error
			y := 2000 + rng.IntN(25)
			f.Span, err = geo.ParseDatetime(fmt.Sprintf("%d-03-01/%d-06-30", y, y+rng.IntN(3)))
			if err != nil {
				t.Fatal(err)
			}
		case 3:
			f.Types = []string{types[rng.IntN(len(types))], "cocaine"}
			f.Commodities = []string{"cocaine"}
		case 4:
			f.Actors = []string{actors[rng.IntN(len(actors))], "sinaloa CARTEL"}
			f.Countries = []string{"FJ"}
		case 5:
			f.Q = []string{"bogo", "ZONA", "médic harb", "rosa bogota", "port"}[rng.IntN(5)]
		case 6:
			p := orb.Point{rng.Float64()*360 - 180, rng.Float64()*120 - 60}
			near, err := geo.ParseNear(fmt.Sprintf("%f,%f,%d", p[0], p[1], 500+rng.IntN(3000)), "", "")
			if err != nil {
				t.Fatal(err)
			}
			f.Near = near
		}
		filters = append(filters, f)
	}
	for i, f := range filters {
		for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
			want := map[string]bool{}
			for _, r := range recs {
				if r.Collection() == c && f.Match(r) {
					want[r.Base().ID] = true
				}
			}
			got := map[string]bool{}
			var after int64
			for {
				p, err := db.Query(ctx, c, f, after, 37)
				if err != nil {
					t.Fatal(err)
				}
				if p.Matched != int64(len(want)) {
					b, _ := json.Marshal(f)
					t.Errorf("filter %d %s on %s: numberMatched %d, want %d", i, b, c, p.Matched, len(want))
				}
				for _, feat := range p.Features {
					var x struct{ ID string }
					json.Unmarshal(feat, &x)
					if got[x.ID] {
						t.Fatalf("%s twice", x.ID)
					}
					got[x.ID] = true
				}
				if p.Next == 0 {
					break
				}
				after = p.Next
			}
			if n, err := db.Count(ctx, c, f); err != nil || n != int64(len(want)) {
				t.Errorf("filter %d: count %d %v, want %d", i, n, err, len(want))
			}
			for id := range want {
				if !got[id] {
					b, _ := json.Marshal(f)
					t.Errorf("filter %d %s (near %v) on %s: %s missing", i, b, f.Near, c, id)
				}
			}
			for id := range got {
				if !want[id] {
					b, _ := json.Marshal(f)
					t.Errorf("filter %d %s (near %v) on %s: %s extra", i, b, f.Near, c, id)
				}
			}
		}
	}
}

// A NUL character in a filter or an id, which PostgreSQL's text refuses,
// is a malformed request, not a server error.
func TestNulIsMalformed(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	f := geo.NewFilter()
	f.Actors = []string{"Los\x00Zetas"}
	_, err := db.Count(ctx, geo.Incidents, f)
	storetest.WantCode(t, err, geo.EMALFORMED)
	_, err = db.Get(ctx, geo.Incidents, "abc\x00")
	storetest.WantCode(t, err, geo.EMALFORMED)
}
