package overview

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store"
)

// The index is checked against the store it follows: after random writes
// through the store (create, replace, delete, import), every cell of random
// views at every level holds exactly the incidents a brute-force pass over
// the stored records puts there, with and without filters.

var (
	testActors    = []string{"ISIS", "isis", "Hezbollah", "Los Zetas", "ELN", "Sinaloa Cartel"}
	testCountries = []string{"CO", "MX", "VE", "ES", "GN"}
	// testWords make the incidents' summaries: prefixes of one another,
	// accented and not, so that a text matches some and not others.
	testWords = []string{"Bogotá", "bogus", "car", "cargo", "bomb", "Medellín", "port", "porter", "río"}
)

// randomText is a few of testWords.
func randomText(rng *rand.Rand) string {
	var w []string
	for range rng.IntN(4) {
		w = append(w, testWords[rng.IntN(len(testWords))])
	}
	return strings.Join(w, " ")
}

// randomQ is a text filter of one or two words or prefixes of testWords.
func randomQ(rng *rand.Rand) string {
	q := []string{"bogo", "Bogota", "car", "CARGO", "medellin", "port", "rio", "bomb", "po", "zzz", "porter car", "bog car"}
	return q[rng.IntN(len(q))]
}

// randomCoord returns a longitude or latitude in [-lim, lim]: often on a
// cell edge of some level, sometimes at the limits, crowded near hubs.
func randomCoord(rng *rand.Rand, lim float64) float64 {
	switch rng.IntN(6) {
	case 0:
		l := rng.IntN(12)
		cs := cellSize(l)
		return max(-lim, min(lim, float64(rng.IntN(int(2*lim/cs)+1))*cs-lim))
	case 1:
		return []float64{-lim, lim, 0}[rng.IntN(3)]
	case 2:
		return max(-lim, min(lim, -70+rng.NormFloat64()*0.3))
	}
	return rng.Float64()*2*lim - lim
}

func randomDate(rng *rand.Rand) string {
	y := 1995 + rng.IntN(12)
	if rng.IntN(3) == 0 { // a busy month
		return fmt.Sprintf("2001-03-%02d", 1+rng.IntN(31))
	}
	switch rng.IntN(3) {
	case 0:
		return fmt.Sprintf("%04d", y)
	case 1:
		return fmt.Sprintf("%04d-%02d", y, 1+rng.IntN(12))
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, 1+rng.IntN(12), 1+rng.IntN(28))
}

func randomIncident(rng *rand.Rand, ext string) *geo.Incident {
	in := &geo.Incident{
		Point:      orb.Point{randomCoord(rng, 180), randomCoord(rng, 90)},
		Title:      "incident",
		Summary:    randomText(rng),
		Type:       geo.IncidentTypes[rng.IntN(len(geo.IncidentTypes))],
		Date:       randomDate(rng),
		ExternalID: ext,
	}
	if rng.IntN(4) > 0 {
		in.Country = testCountries[rng.IntN(len(testCountries))]
	}
	for range rng.IntN(3) {
		in.Actors = append(in.Actors, testActors[rng.IntN(len(testActors))])
	}
	return in
}

func randomBox(rng *rand.Rand) *geo.BBox {
	if rng.IntN(5) == 0 {
		return nil
	}
	if rng.IntN(6) == 0 { // across the antimeridian
		w, e := 100+rng.Float64()*80, -180+rng.Float64()*80
		s := -90 + rng.Float64()*90
		return &geo.BBox{W: w, S: s, E: e, N: s + rng.Float64()*(90-s)}
	}
	if rng.IntN(3) == 0 { // a city
		x, y := -70+rng.NormFloat64()*0.3, -70+rng.NormFloat64()*0.3
		d := math.Ldexp(1, -rng.IntN(12))
		return &geo.BBox{W: x, S: y, E: min(180, x+d), N: min(90, y+d*0.6)}
	}
	w, s := randomCoord(rng, 180), randomCoord(rng, 90)
	e, n := randomCoord(rng, 180), randomCoord(rng, 90)
	if w > e {
		w, e = e, w
	}
	if s > n {
		s, n = n, s
	}
	return &geo.BBox{W: w, S: s, E: e, N: n}
}

func randomFilter(rng *rand.Rand) geo.Filter {
	f := geo.NewFilter()
	f.BBox = randomBox(rng)
	if rng.IntN(2) == 0 {
		for range 1 + rng.IntN(3) {
			f.Types = append(f.Types, geo.IncidentTypes[rng.IntN(len(geo.IncidentTypes))])
		}
	}
	if rng.IntN(2) == 0 {
		a, _ := geo.ParseInterval(randomDate(rng) + "/" + randomDate(rng))
		if a.Start < a.End {
			f.Span = a
		} else {
			f.Span, _ = geo.ParseInterval("../" + randomDate(rng))
		}
		if rng.IntN(3) == 0 { // ends at any second near the busy month
			a, _ := geo.ParseDate("2001-03")
			start, end := a.Start+int64(rng.IntN(86400*60))-86400*30, a.Start+int64(rng.IntN(86400*60))-86400*30
			f.Span = geo.Span{Start: min(start, end), End: max(start, end) + 1}
			if rng.IntN(2) == 0 {
				f.Span.Start = geo.MinTime
			}
		}
	}
	if rng.IntN(5) == 0 {
		f.Actors = []string{testActors[rng.IntN(len(testActors))]}
	}
	if rng.IntN(5) == 0 {
		f.Countries = []string{testCountries[rng.IntN(len(testCountries))], "zz"}
	}
	if rng.IntN(3) == 0 {
		f.Q = randomQ(rng)
	}
	return f
}

// truth is the stored incidents, read back from the store.
func truth(t *testing.T, db *store.DB) []*geo.Incident {
	t.Helper()
	var out []*geo.Incident
	err := db.Each(context.Background(), geo.Incidents, geo.NewFilter(), func(b []byte) error {
		r, err := geo.DecodeFeature(geo.Incidents, b)
		if err != nil {
			return err
		}
		out = append(out, r.(*geo.Incident))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// levels are the grid levels of the filter's box at every zoom of a map.
func levels(f geo.Filter) []int {
	var out []int
	for zoom := 0; zoom <= 20; zoom++ {
		if l := Level(f.BBox, float64(zoom), 5000); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// checkView compares every cell of one view with a brute-force count.
func checkView(t *testing.T, ix *Index, all []*geo.Incident, f geo.Filter, level int) {
	t.Helper()
	var g *grid
	if err := ix.readFiltered(context.Background(), f, func(p *points, q *query) {
		g = newGrid(q.bounds, level)
		p.view(q, g)
	}); err != nil {
		t.Fatal(err)
	}
	var bounds []orb.Bound
	if f.BBox != nil {
		bounds = f.BBox.Bounds()
	}
	want := newGrid(bounds, level)
	for _, in := range all {
		if !f.Match(in) {
			continue
		}
		x, y := in.Point[0], in.Point[1]
		want.at(want.find(x, y), x, y).addPoint(typeIndex[in.Type], x, y)
	}
	for i := range want.accs {
		w, got := &want.accs[i], &g.accs[i]
		if w.n != got.n {
			t.Fatalf("filter %+v level %d cell %d: counts by type %v, brute force %v", f, level, i, got.n[:nTypes], w.n[:nTypes])
		}
		var n float64
		for _, c := range w.n {
			n += float64(c)
		}
		if n > 0 && (math.Abs(w.sx/n-got.sx/n) > 1e-6 || math.Abs(w.sy/n-got.sy/n) > 1e-6) {
			t.Fatalf("filter %+v level %d cell %d: centroid %v,%v, brute force %v,%v", f, level, i, got.sx/n, got.sy/n, w.sx/n, w.sy/n)
		}
	}
	// The public answer agrees with the grid.
	clusters, total, err := ix.View(context.Background(), f, level)
	if err != nil {
		t.Fatal(err)
	}
	var sum, matched int64
	for _, c := range clusters {
		sum += c.Count
	}
	for _, in := range all {
		if f.Match(in) {
			matched++
		}
	}
	if sum != matched || total != matched {
		t.Fatalf("filter %+v level %d: clusters hold %d, total %d, brute force %d", f, level, sum, total, matched)
	}
}

// loadedRandom opens a store in a temporary file with n random incidents
// (external ids prefix:0 … prefix:n-1, drawn from rng) and an index
// loaded from it. The store is closed when the test ends.
func loadedRandom(t *testing.T, rng *rand.Rand, n int, prefix string) (*store.DB, *Index) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var batch []geo.Record
	for i := range n {
		batch = append(batch, randomIncident(rng, fmt.Sprintf("%s:%d", prefix, i)))
	}
	if _, err := db.ImportBatch(ctx, "test", batch); err != nil {
		t.Fatal(err)
	}
	ix := New(db, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return db, ix
}

func TestClustersEqualBruteForce(t *testing.T) {
	ctx := context.Background()
	// Cells split at a few points, so that the test's few hundred
	// incidents make a deep tree whose cells split and empty.
	defer func(n int) { splitAt = n }(splitAt)
	splitAt = 3
	// And the load grows every cell of more than a few points apart.
	defer func(n int) { growApart = n }(growApart)
	growApart = 8
	rng := rand.New(rand.NewPCG(11, 3))
	db, ix := loadedRandom(t, rng, 600, "x")
	for round := range 6 {
		// Random writes between the checks.
		all := truth(t, db)
		for range 40 {
			switch op := rng.IntN(4); {
			case op == 0 || len(all) == 0:
				if _, err := db.Create(ctx, "test", randomIncident(rng, "")); err != nil {
					t.Fatal(err)
				}
			case op == 1:
				old := all[rng.IntN(len(all))]
				in := randomIncident(rng, old.ExternalID)
				if _, _, err := db.Replace(ctx, "test", old.ID, 0, in); err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
					t.Fatal(err)
				}
			case op == 2:
				old := all[rng.IntN(len(all))]
				if err := db.Delete(ctx, "test", geo.Incidents, old.ID, 0); err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
					t.Fatal(err)
				}
			default:
				var imp []geo.Record
				for range 1 + rng.IntN(30) {
					imp = append(imp, randomIncident(rng, fmt.Sprintf("x:%d", rng.IntN(900))))
				}
				if _, err := db.ImportBatch(ctx, "test", imp); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A route changes nothing here.
		line := &geo.Route{Line: orb.LineString{{-70, 10}, {-60, 12}}, Name: "r", Commodity: "cocaine"}
		if _, err := db.Create(ctx, "test", line); err != nil {
			t.Fatal(err)
		}
		all = truth(t, db)
		for range 15 {
			f := randomFilter(rng)
			for _, level := range levels(f) {
				checkView(t, ix, all, f, level)
			}
		}
		if ix.Len() != len(all) {
			t.Fatalf("round %d: the index holds %d incidents, the store %d", round, ix.Len(), len(all))
		}
	}
	// A new index loaded from the store agrees with the one that followed.
	fresh := New(db, nil)
	if err := fresh.Load(ctx); err != nil {
		t.Fatal(err)
	}
	all := truth(t, db)
	for range 10 {
		f := randomFilter(rng)
		for _, level := range levels(f) {
			checkView(t, fresh, all, f, level)
		}
	}
}

func TestCountAndStatsEqualStore(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(5, 8))
	ix := New(db, nil)
	if err := ix.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		var batch []geo.Record
		for range 150 {
			batch = append(batch, randomIncident(rng, fmt.Sprintf("s:%d", rng.IntN(400))))
		}
		if _, err := db.ImportBatch(ctx, "test", batch); err != nil {
			t.Fatal(err)
		}
		all := truth(t, db)
		for range 10 {
			old := all[rng.IntN(len(all))]
			if err := db.Delete(ctx, "test", geo.Incidents, old.ID, 0); err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
				t.Fatal(err)
			}
		}
		for i := range 30 {
			f := randomFilter(rng)
			if i == 0 { // everything: the statistics come from running tallies
				f = geo.NewFilter()
			}
			got, err := ix.Count(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			want, err := db.Count(ctx, geo.Incidents, f)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("round %d: count of %+v: index %d, store %d", round, f, got, want)
			}
			refs, ok, err := ix.Select(ctx, f, int(want))
			if err != nil || !ok || len(refs) != int(want) {
				t.Fatalf("round %d: select %+v: %d ids, ok %v, err %v; want %d", round, f, len(refs), ok, err, want)
			}
			ids := make([]string, len(refs))
			for i, r := range refs {
				ids[i] = r.ID
			}
			features, err := db.Features(ctx, geo.Incidents, ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range features {
				r, err := geo.DecodeFeature(geo.Incidents, b)
				if err != nil || !f.Match(r) {
					t.Fatalf("round %d: select %+v gave %s, which does not match (%v)", round, f, b, err)
				}
			}
			if len(features) != len(ids) {
				t.Fatalf("round %d: %d of %d selected ids are stored", round, len(features), len(ids))
			}
			if want > 0 {
				if _, ok, _ := ix.Select(ctx, f, int(want)-1); ok {
					t.Fatalf("round %d: select %+v with a limit under the count says ok", round, f)
				}
			}
			for _, by := range StatsBy {
				got, err := ix.Stats(ctx, f, by)
				if err != nil {
					t.Fatal(err)
				}
				want, err := db.Stats(ctx, geo.Incidents, f, by)
				if err != nil {
					t.Fatal(err)
				}
				if by == "actor" {
					// A group of spellings may be named by either: ties
					// in count are ordered by the name, case aside.
					byFolded := func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }
					slices.SortStableFunc(got, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), byFolded(a.Key, b.Key)) })
					slices.SortStableFunc(want, func(a, b geo.Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), byFolded(a.Key, b.Key)) })
				}
				if !slices.EqualFunc(got, want, func(a Count, b geo.Count) bool {
					return a.Count == b.Count && (a.Key == b.Key || by == "actor" && strings.EqualFold(a.Key, b.Key))
				}) {
					t.Fatalf("round %d: stats by %s of %+v:\nindex %v\nstore %v", round, by, f, got, want)
				}
			}
		}
	}
}

// A load that meets one id twice keeps the later point, once.
func TestBulkLoadKeepsTheLaterOfOneID(t *testing.T) {
	p := newPoints()
	p.bulk = true
	span, _ := geo.ParseDate("2015-03")
	p.put("a", 1, orb.Point{10, 10}, geo.Keys{Kind: "attack", Span: span, Countries: []string{"CO"}})
	p.put("b", 2, orb.Point{20, 20}, geo.Keys{Kind: "attack", Span: span})
	p.put("a", 3, orb.Point{-30, -30}, geo.Keys{Kind: "kidnapping", Span: span})
	p.build()
	if p.Len() != 2 {
		t.Fatalf("%d points, want 2", p.Len())
	}
	q := p.compile(geo.NewFilter())
	g := newGrid(nil, 0)
	p.view(&q, g)
	clusters, total := g.clusters()
	if total != 2 || len(clusters) != 1 || clusters[0].Lon != -5 || clusters[0].ByType[typeIndex["kidnapping"]] != 1 || clusters[0].ByType[typeIndex["attack"]] != 1 {
		t.Fatalf("clusters %+v, total %d", clusters, total)
	}
	if n := p.stats(&q, "country"); len(n) != 0 {
		t.Fatalf("the earlier point's country still counts: %v", n)
	}
	p.remove("a")
	if p.Len() != 1 || p.count(&q) != 1 {
		t.Fatalf("after removing a: %d points, count %d", p.Len(), p.count(&q))
	}
}
