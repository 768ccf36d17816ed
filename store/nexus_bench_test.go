package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"nexus/geo"
	"nexus/store/storetest"
)

// nexusRoutes adds 10 000 synthetic routes to the million-incident
// database of BenchmarkBBoxQuery1M, once, and one long route for the
// corridor benchmark: Bogotá → Bissau → Lisbon, about 10 000 km.
var nexusRoutes struct {
	once sync.Once
	id   string
	err  error
}

func loadNexusRoutes() {
	million.once.Do(loadMillion)
	if million.err != nil {
		nexusRoutes.err = million.err
		return
	}
	ctx := context.Background()
	if million.kept {
		// An earlier run added the routes; the long one was the last.
		nexusRoutes.err = million.db.ReadPool().QueryRowContext(ctx, "SELECT id FROM records WHERE collection = 'routes' ORDER BY rid DESC LIMIT 1").Scan(&nexusRoutes.id)
		if nexusRoutes.err == nil {
			return
		}
	}
	gen := storetest.NewSynth(15, "nexus-routes")
	for k := 0; k < 10000; k += geo.ImportBatchSize {
		if _, nexusRoutes.err = million.db.ImportBatch(ctx, "bench", gen.Routes(geo.ImportBatchSize)); nexusRoutes.err != nil {
			return
		}
	}
	long := &geo.Route{Line: orb.LineString{{-74.08, 4.6}, {-15.6, 11.86}, {-9.14, 38.72}}, Name: "Atlantic cocaine", Commodity: "cocaine", Actors: []string{"FARC"}}
	s, err := million.db.Create(ctx, "bench", long)
	nexusRoutes.id, nexusRoutes.err = s.ID, err
}

// medianOf runs f runs times and returns the median duration.
func medianOf(runs int, f func()) time.Duration {
	d := make([]time.Duration, runs)
	for i := range d {
		start := time.Now()
		f()
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[runs/2]
}

// BenchmarkNexus1M times, on 1 000 000 incidents and 10 000 routes, the
// actor list, one actor's profile (what GET /api/actors/{name} reads) and
// one corridor query (the counts by type within 50 km, and within 150 km,
// of a 10 000 km route, what the route popup shows, and the first items
// page of its incidents; and the map's view of them), each against the
// goal of 200 ms, and the actor list beside its anchor: the same figures
// counted from the records by GROUP BY.
func BenchmarkNexus1M(b *testing.B) {
	b.ReportAllocs()
	nexusRoutes.once.Do(loadNexusRoutes)
	if nexusRoutes.err != nil {
		b.Fatal(nexusRoutes.err)
	}
	db := million.db
	ctx := context.Background()
	const goal = 200 * time.Millisecond
	list := func() {
		a, err := db.Actors(ctx)
		if err != nil || len(a) == 0 {
			b.Fatal(err)
		}
	}
	groupBy := func() {
		rows, err := db.ReadPool().QueryContext(ctx, `SELECT k.value, r.collection, count(*), min(r.t0), max(r.t1)
			FROM record_keys k JOIN records r ON r.rid = k.rid WHERE k.key = 'actor' GROUP BY k.value COLLATE NOCASE, r.collection`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
	profile := func() {
		f := geo.NewFilter()
		f.Actors = []string{"Hezbollah"}
		if err := db.Resolve(ctx, &f); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Actors(ctx); err != nil {
			b.Fatal(err)
		}
		for _, c := range geo.Collections {
			if _, err := db.ActorRecords(ctx, c, f.Actors, 200); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.ActorTimeline(ctx, f.Actors); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Neighbours(ctx, f.Actors, 20); err != nil {
			b.Fatal(err)
		}
	}
	// corridor counts by type what lies within km of the route, as the
	// route popup does (GET /api/stats?by=type), and reads the first page
	// of it as the API does for a corridor (GET …/items: 100 features, not
	// counted again). view is the map's answer once "Show them" is chosen
	// (GET /api/view at zoom 4): the clusters, then every feature, up to
	// 5 000.
	inCorridor := map[float64]int64{}
	filter := func(km float64) geo.Filter {
		f := geo.NewFilter()
		f.Near = &geo.Near{Route: nexusRoutes.id, Km: km}
		if err := db.Resolve(ctx, &f); err != nil {
			b.Fatal(err)
		}
		return f
	}
	corridor := func(km float64) func() {
		return func() {
			f := filter(km)
			counts, err := db.Stats(ctx, geo.Incidents, f, "type")
			if err != nil {
				b.Fatal(err)
			}
			p, err := db.PageOnly(ctx, geo.Incidents, f, 0, 100, false)
			if err != nil || len(p.Features) != 100 {
				b.Fatalf("%d features, %v", len(p.Features), err)
			}
			n := int64(0)
			for _, c := range counts {
				n += c.Count
			}
			inCorridor[km] = n
		}
	}
	view := func(km float64) func() {
		return func() {
			f := filter(km)
			clusters, err := db.Clusters(ctx, f, 360/16.0/4)
			if err != nil {
				b.Fatal(err)
			}
			n := int64(0)
			for _, c := range clusters {
				n += c.Count
			}
			p, err := db.Query(ctx, geo.Incidents, f, 0, 5000)
			if err != nil || p.Matched != n || n != inCorridor[km] {
				b.Fatalf("%d clustered, %d read, %d counted by type: %v", n, p.Matched, inCorridor[km], err)
			}
		}
	}
	list()
	profile()
	for _, km := range []float64{50, 150} {
		corridor(km)()
		view(km)()
	}
	var tl, tg, tp time.Duration
	tc, tv := map[float64]time.Duration{}, map[float64]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tl += medianOf(21, list)
		tg += medianOf(3, groupBy)
		tp += medianOf(5, profile)
		for _, km := range []float64{50, 150} {
			tc[km] += medianOf(11, corridor(km))
			tv[km] += medianOf(5, view(km))
		}
	}
	b.StopTimer()
	n := time.Duration(b.N)
	tl, tg, tp = tl/n, tg/n, tp/n
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(tl), "actors-ms")
	b.ReportMetric(ms(tp), "profile-ms")
	b.ReportMetric(ms(tc[50]/n), "corridor-ms")
	b.ReportMetric(ms(tc[150]/n), "corridor150-ms")
	var long orb.LineString = orb.LineString{{-74.08, 4.6}, {-15.6, 11.86}, {-9.14, 38.72}}
	b.Logf("actor list: median %v, %.2fx the goal of %v; counted from the records by GROUP BY: %v (%.1fx the list)", tl, float64(tl)/float64(goal), goal, tg, float64(tg)/float64(tl))
	b.Logf("one profile (Hezbollah, on 1/6 of the incidents: records, counts, timeline, neighbours): median %v, %.2fx the goal of %v", tp, float64(tp)/float64(goal), goal)
	for _, km := range []float64{50, 150} {
		c, v := tc[km]/n, tv[km]/n
		b.Logf("corridor: %d incidents within %.0f km of a %.0f km route, counts by type and the first items page: median %v, %.2fx the goal of %v; the map's view of them: median %v, %.2fx",
			inCorridor[km], km, orbgeo.LengthHaversine(long)/1000, c, float64(c)/float64(goal), goal, v, float64(v)/float64(goal))
	}
}
