package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testSensitiveFiltersMatchBruteForce checks the store's spatial filters
// (bbox, near) against geo's matching in memory on what each caller sees:
// a filter that is not Exact selects sensitive records by their coarse
// geometry, an Exact one by their exact geometry; the Features a viewer
// reads are coarsened. Records are written one by one and in import
// batches, then some are flagged or unflagged, so that every write path
// keeps the coarse index.
func testSensitiveFiltersMatchBruteForce(t *testing.T, open func(*testing.T) Engine) {
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	gen := NewSynth(seed, "sens")
	db := open(t)
	ctx := context.Background()

	// Records clustered around a few places, so that small boxes and
	// corridors find some; about a third sensitive.
	places := []orb.Point{{-74.08, 4.6}, {-99.13, 19.43}, {-15.6, 11.86}, {179.95, -16.5}}
	jitter := func(p orb.Point) orb.Point {
		q := orb.Point{p[0] + (rng.Float64()-0.5)*0.4, p[1] + (rng.Float64()-0.5)*0.4}
		if q[0] > 180 {
			q[0] -= 360
		}
		return q
	}
	var recs []geo.Record
	for i := range 300 {
		in := gen.Incident()
		in.Point = jitter(places[i%len(places)])
		in.Sensitive = rng.Intn(3) == 0
		recs = append(recs, in)
	}
	for i := range 60 {
		r := gen.Route()
		line := orb.LineString{jitter(places[i%len(places)]), jitter(places[(i+1)%len(places)]), jitter(places[i%len(places)])}
		r.Line, r.Waypoints = line, nil
		r.Sensitive = rng.Intn(3) == 0
		recs = append(recs, r)
	}
	ids := make([]string, len(recs))
	half := len(recs) / 2
	copy(ids, ImportAll(t, db, "sens", recs[:half]))
	for i, r := range recs[half:] {
		st, err := db.Create(ctx, "sens", r)
		if err != nil {
			t.Fatal(err)
		}
		ids[half+i] = st.ID
	}
	// Flip the flag of a tenth, through Replace and through a batch.
	var batch []geo.Record
	for i, r := range recs {
		if rng.Intn(10) != 0 {
			continue
		}
		switch r := r.(type) {
		case *geo.Incident:
			r.Sensitive = !r.Sensitive
		case *geo.Route:
			r.Sensitive = !r.Sensitive
		}
		if i%2 == 0 {
			if _, _, err := db.Replace(ctx, "sens", ids[i], 0, r); err != nil {
				t.Fatal(err)
			}
		} else {
			batch = append(batch, r)
		}
	}
	if len(batch) > 0 {
		if _, err := db.ImportBatch(ctx, "sens", batch); err != nil {
			t.Fatal(err)
		}
	}

	found, differ := 0, 0 // matches in all; queries whose exact and coarse answers differ
	for q := range Sized(120) {
		var answers [2]string
		f := geo.NewFilter()
		at := jitter(places[rng.Intn(len(places))])
		if q%2 == 0 {
			d := 0.005 + rng.Float64()*0.1
			f.BBox = &geo.BBox{W: at[0] - d, S: at[1] - d, E: at[0] + d, N: at[1] + d}
		} else {
			f.Near = &geo.Near{Point: &at, Km: 1 + rng.Float64()*15}
		}
		for _, exact := range []bool{false, true} {
			f.Exact = exact
			for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
				want := map[string]bool{}
				for i, r := range recs {
					if r.Collection() != c {
						continue
					}
					seen := r
					if !exact {
						seen = geo.Coarsened(r)
					}
					if f.Match(seen) {
						want[ids[i]] = true
					}
				}
				got, _ := queryIDs(t, db, c, f, 1000)
				found += len(got)
				if c == geo.Incidents {
					answers[map[bool]int{false: 0, true: 1}[exact]] = fmt.Sprint(sorted(got))
				}
				if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
					t.Fatalf("%s, %s, exact %v: the store selects %d %v, in memory %d %v", c, describe(f), exact, len(got), sorted(got), len(want), sorted(want))
				}
				if c == geo.Incidents && f.BBox != nil {
					// A page read in storage order, testing each point.
					p, err := db.PageOnly(ctx, c, f, 0, 1000, true)
					if err != nil {
						t.Fatal(err)
					}
					scanned := map[string]bool{}
					for _, feat := range p.Features {
						scanned[featureID(t, feat)] = true
					}
					if fmt.Sprint(sorted(scanned)) != fmt.Sprint(sorted(want)) {
						t.Fatalf("%s, exact %v: a scanned page selects %v, in memory %v", describe(f), exact, sorted(scanned), sorted(want))
					}
				}
			}
		}
		if answers[0] != answers[1] {
			differ++
		}
	}
	if found == 0 || differ == 0 {
		t.Fatalf("the queries found %d records, and %d of them tell exact and coarse apart: the test tests nothing", found, differ)
	}
	t.Logf("%d records found, %d queries whose answers differ for editors and viewers", found, differ)

	// A viewer reads every sensitive record coarsened, an editor exact,
	// through Scan, which export streams.
	byID := map[string]geo.Record{}
	for i, id := range ids {
		byID[id] = recs[i]
	}
	for _, exact := range []bool{false, true} {
		f := geo.NewFilter()
		f.Exact = exact
		n := 0
		err := db.Scan(ctx, []geo.Collection{geo.Incidents, geo.Routes}, f, func(map[geo.Collection]int64) error { return nil }, func(c geo.Collection, feature []byte) error {
			r, err := geo.DecodeFeature(c, feature)
			if err != nil {
				return err
			}
			want := byID[r.Base().ID]
			if !exact {
				want = geo.Coarsened(want)
			}
			if !orb.Equal(r.Geometry(), want.Geometry()) {
				return fmt.Errorf("scan: %s %s reads as %v for exact %v; want %v", c, r.Base().ID, r.Geometry(), exact, want.Geometry())
			}
			n++
			return nil
		})
		if err != nil || n != len(recs) {
			t.Fatalf("scan for exact %v: %d of %d records, %v", exact, n, len(recs), err)
		}
	}

	// The overview's points are the coarse ones, with the exact point as
	// the keys' shape of a sensitive incident.
	points := 0
	if _, err := db.EachIncident(ctx, func(id string, _ int64, p orb.Point, k geo.Keys) error {
		r := byID[id]
		points++
		var shape orb.Geometry
		if geo.IsSensitive(r) {
			shape = r.Geometry()
		}
		if want := geo.Coarsened(r).Geometry(); !orb.Equal(p, want) || !orb.Equal(k.Shape, shape) {
			return fmt.Errorf("incident %s (sensitive %v) is at %v with shape %v; want %v and %v", id, geo.IsSensitive(r), p, k.Shape, want, shape)
		}
		return nil
	}); err != nil || points != 300 {
		t.Fatalf("%d incidents in the overview's read, %v", points, err)
	}

	// A collection's extent is of what viewers see.
	for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
		var want *orb.Bound
		for _, r := range recs {
			if r.Collection() != c {
				continue
			}
			for _, b := range geo.Coarsened(r).Keys().Boxes {
				if want == nil {
					want = &b
				}
				u := want.Union(b)
				want = &u
			}
		}
		e, err := db.Extent(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if e.BBox == nil || (geo.BBox{W: want.Min[0], S: want.Min[1], E: want.Max[0], N: want.Max[1]}) != *e.BBox {
			t.Fatalf("the extent of %s is %v; viewers see %v", c, e.BBox, *want)
		}
	}
}

func sorted(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func describe(f geo.Filter) string {
	if f.BBox != nil {
		return fmt.Sprintf("bbox %v", *f.BBox)
	}
	return fmt.Sprintf("near %v", f.Near)
}
