package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// The actor summary the writes keep equals the one counted afresh from the
// records, after random creates, updates and deletes.
func testActorSummaryFollowsWrites(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 15))
	names := []string{"Hezbollah", "hezbollah", "Los Zetas", "FARC", "ISIS", "Sinaloa Cartel"}
	countries := []string{"CO", "MX", "LB", "AR", ""}
	rec := func() geo.Record {
		var actors []string
		for range rng.IntN(3) + 1 {
			actors = append(actors, names[rng.IntN(len(names))])
		}
		date := fmt.Sprintf("%d-%02d", 1990+rng.IntN(30), 1+rng.IntN(12))
		switch rng.IntN(3) {
		case 0:
			return &geo.Route{Line: orb2(rng), Name: "r", Commodity: "cocaine", Actors: actors, ActiveFrom: map[bool]string{true: date}[rng.IntN(2) == 0]}
		case 1:
			return &geo.Link{From: actors[0], To: "Other " + date, Relation: "supply", DateTo: date}
		}
		return &geo.Incident{Point: [2]float64{rng.Float64()*40 - 80, rng.Float64() * 30}, Title: "i", Type: "attack", Date: date, Country: countries[rng.IntN(len(countries))], Actors: actors}
	}
	var ids []geo.Stored
	for step := range 400 {
		switch {
		case len(ids) < 10 || rng.IntN(3) == 0:
			s, err := db.Create(ctx, "t", rec())
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s)
		case rng.IntN(2) == 0:
			k := rng.IntN(len(ids))
			r := rec()
			for r.Collection() != ids[k].Collection {
				r = rec()
			}
			if _, _, err := db.Replace(ctx, "t", ids[k].ID, 0, r); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		default:
			k := rng.IntN(len(ids))
			if err := db.Delete(ctx, "t", ids[k].Collection, ids[k].ID, 0); err != nil {
				t.Fatal(err)
			}
			ids = append(ids[:k], ids[k+1:]...)
		}
	}
	checkActorSummary(t, db)
}

// The actor summary follows bulk imports that create, update (in batches
// where every record held its actors' earliest and latest dates) and
// leave records unchanged, and deletes after them.
func testActorSummaryFollowsImports(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(15, 16))
	names := []string{"Hezbollah", "hezbollah", "Los Zetas", "FARC", "ISIS"}
	rec := func(i int, date string) geo.Record {
		actors := []string{names[i%len(names)]}
		if i%3 == 0 {
			actors = append(actors, names[(i+2)%len(names)])
		}
		return &geo.Incident{Point: [2]float64{rng.Float64()*40 - 80, rng.Float64() * 30}, Title: fmt.Sprint("i", i), Type: "attack",
			Date: date, Country: []string{"CO", "MX", "LB"}[i%3], Actors: actors, ExternalID: fmt.Sprint("sum:", i)}
	}
	const n = 300
	batch := func(pass int, date func(i int) string) []geo.ImportResult {
		recs := make([]geo.Record, n)
		for i := range recs {
			recs[i] = rec(i, date(i))
		}
		res, err := db.ImportBatch(ctx, "t", recs)
		if err != nil {
			t.Fatalf("pass %d: %v", pass, err)
		}
		return res
	}
	// One date for all: every record holds its actors' first and last.
	batch(0, func(int) string { return "2020-05-01" })
	checkActorSummary(t, db)
	// Every other record moves later, some of the rest earlier.
	batch(1, func(i int) string {
		switch {
		case i%2 == 0:
			return "2021-01"
		case i%7 == 0:
			return "2019-03-02"
		}
		return "2020-05-01"
	})
	checkActorSummary(t, db)
	// All move to one later year: the earliest dates go entirely.
	res := batch(2, func(int) string { return "2022" })
	checkActorSummary(t, db)
	for i := 0; i < n; i += 4 {
		if err := db.Delete(ctx, "t", geo.Incidents, res[i].ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	checkActorSummary(t, db)
}

// checkActorSummary compares the actor list, timelines and neighbours,
// which read the summary the writes keep, with the same counted afresh
// from the records.
func checkActorSummary(t *testing.T, db Engine) {
	t.Helper()
	ctx := context.Background()
	got, err := db.Actors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type sum struct {
		n      [3]int64
		t0, t1 int64
		cc     map[string]int64
		months map[string]int64
		pairs  map[string][3]int64 // other actor (lower case) -> per collection
	}
	want := map[string]*sum{}
	for ci, c := range geo.Collections {
		noCounts := func(map[geo.Collection]int64) error { return nil }
		err := db.Scan(ctx, []geo.Collection{c}, geo.NewFilter(), noCounts, func(_ geo.Collection, b []byte) error {
			r, err := geo.DecodeFeature(c, b)
			if err != nil {
				return err
			}
			k := r.Keys()
			seen := map[string]bool{}
			seenPair := map[string]bool{}
			for _, a := range k.Actors {
				key := strings.ToLower(a)
				if seen[key] {
					continue
				}
				seen[key] = true
				s := want[key]
				if s == nil {
					s = &sum{t0: geo.MaxTime, t1: geo.MinTime, cc: map[string]int64{}, months: map[string]int64{}, pairs: map[string][3]int64{}}
					want[key] = s
				}
				s.n[ci]++
				if k.Span.Start != geo.MinTime && k.Span.Start < s.t0 {
					s.t0 = k.Span.Start
				}
				if k.Span.End != geo.MaxTime && k.Span.End > s.t1 {
					s.t1 = k.Span.End
				}
				for _, cc := range k.Countries {
					s.cc[cc]++
				}
				if c == geo.Incidents {
					s.months[time.Unix(k.Span.Start, 0).UTC().Format("2006-01")]++
				}
				for _, o := range k.Actors {
					if lo := strings.ToLower(o); lo != key && !seenPair[key+"\x00"+lo] {
						seenPair[key+"\x00"+lo] = true
						p := s.pairs[lo]
						p[ci]++
						s.pairs[lo] = p
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d actors summarised, %d in the records", len(got), len(want))
	}
	for _, a := range got {
		w := want[strings.ToLower(a.Name)]
		if w == nil {
			t.Errorf("actor %q is in no record", a.Name)
			continue
		}
		if a.Incidents != w.n[0] || a.Routes != w.n[1] || a.Links != w.n[2] {
			t.Errorf("%s: counts %d %d %d, records %v", a.Name, a.Incidents, a.Routes, a.Links, w.n)
		}
		day := func(s int64) string { return time.Unix(s, 0).UTC().Format(time.DateOnly) }
		if w.t0 != geo.MaxTime && a.FirstSeen != day(w.t0) || w.t0 == geo.MaxTime && a.FirstSeen != "" {
			t.Errorf("%s: first seen %q, records %q", a.Name, a.FirstSeen, day(w.t0))
		}
		if w.t1 != geo.MinTime && a.LastSeen != day(w.t1-1) || w.t1 == geo.MinTime && a.LastSeen != "" {
			t.Errorf("%s: last seen %q, records %q", a.Name, a.LastSeen, day(w.t1-1))
		}
		for _, c := range a.Countries {
			if w.cc[c.Key] != c.Count {
				t.Errorf("%s: %s %d, records %d", a.Name, c.Key, c.Count, w.cc[c.Key])
			}
			delete(w.cc, c.Key)
		}
		if len(w.cc) > 0 {
			t.Errorf("%s: countries missing %v", a.Name, w.cc)
		}
		tl, err := db.ActorTimeline(ctx, a.Spellings)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tl {
			if w.months[m.Key] != m.Count {
				t.Errorf("%s: %s has %d incidents, records %d", a.Name, m.Key, m.Count, w.months[m.Key])
			}
			delete(w.months, m.Key)
		}
		if len(w.months) > 0 {
			t.Errorf("%s: timeline misses %v", a.Name, w.months)
		}
		nb, err := db.Neighbours(ctx, a.Spellings, 5)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range nb {
			p := w.pairs[strings.ToLower(n.Name)]
			if n.Links != p[2] || n.Records != p[0]+p[1] {
				t.Errorf("%s–%s: %d links, %d records; the records say %v", a.Name, n.Name, n.Links, n.Records, p)
			}
			if i < 5 && len(n.Through) != int(min(5, n.Links+n.Records)) { // the first 5 list their records
				t.Errorf("%s–%s: %d connecting records listed of %d", a.Name, n.Name, len(n.Through), n.Links+n.Records)
			}
			delete(w.pairs, strings.ToLower(n.Name))
		}
		if len(w.pairs) > 0 {
			t.Errorf("%s: neighbours missing %v", a.Name, w.pairs)
		}
	}
}

func orb2(rng *rand.Rand) orb.LineString {
	return orb.LineString{{rng.Float64()*40 - 80, rng.Float64() * 30}, {rng.Float64()*40 - 20, rng.Float64() * 30}}
}
