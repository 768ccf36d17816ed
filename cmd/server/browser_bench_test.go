package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/geocode"
	"nexus/store"
)

// Goals of the map at scale.
const (
	goalFirstRender     = 2 * time.Second // navigation start to the first full render
	goalFeaturesPerView = 5000            // features in one /api/view answer
)

// hotspots are where the synthetic incidents crowd, as real ones do around
// cities; Bogotá is the densest, the one the benchmark zooms into.
var hotspots = []struct {
	name             string
	lon, lat, weight float64
}{
	{"Bogotá", -74.08, 4.65, 12}, {"Medellín", -75.57, 6.25, 6}, {"Cali", -76.52, 3.45, 4},
	{"Mexico City", -99.13, 19.43, 6}, {"Culiacán", -107.39, 24.80, 4}, {"Ciudad Juárez", -106.42, 31.69, 4},
	{"Caracas", -66.90, 10.48, 4}, {"Guayaquil", -79.90, -2.19, 3}, {"Lima", -77.04, -12.05, 3},
	{"Buenos Aires", -58.38, -34.60, 3}, {"São Paulo", -46.63, -23.55, 4}, {"Tegucigalpa", -87.21, 14.07, 2},
	{"Bissau", -15.60, 11.86, 3}, {"Bamako", -8.00, 12.64, 2}, {"Lagos", 3.38, 6.52, 3},
	{"Mogadishu", 45.32, 2.04, 3}, {"Beirut", 35.50, 33.89, 3}, {"Baghdad", 44.37, 33.31, 3},
	{"Kabul", 69.21, 34.53, 3}, {"Madrid", -3.70, 40.42, 2}, {"Paris", 2.35, 48.86, 2},
}

// synthIncidents makes n incidents: two thirds around the hotspots (half
// of those within a few kilometres of the centre), the rest spread over
// the inhabited latitudes.
func synthIncidents(n int, seed int64) []geo.Record {
	rng := rand.New(rand.NewSource(seed))
	var total float64
	for _, h := range hotspots {
		total += h.weight
	}
	actors := []string{"ISIS", "Hezbollah", "Los Zetas", "FARC", "ELN", "Sinaloa Cartel", "CJNG", "Tren de Aragua", "Clan del Golfo", "Al-Shabaab"}
	recs := make([]geo.Record, n)
	for i := range recs {
		var lon, lat float64
		place := ""
		if rng.Intn(3) < 2 {
			pick := rng.Float64() * total
			h := hotspots[0]
			for _, c := range hotspots {
				if pick -= c.weight; pick < 0 {
					h = c
					break
				}
			}
			sigma := 1.5
			if rng.Intn(2) == 0 {
				sigma = 0.08
			}
			lon, lat, place = h.lon+rng.NormFloat64()*sigma, h.lat+rng.NormFloat64()*sigma, h.name
		} else {
			lon, lat = rng.Float64()*360-180, rng.Float64()*130-60
		}
		lon, lat = math.Max(-180, math.Min(180, lon)), math.Max(-90, math.Min(90, lat))
		typ := geo.IncidentTypes[rng.Intn(len(geo.IncidentTypes))]
		date := fmt.Sprintf("%04d-%02d-%02d", 1970+rng.Intn(55), 1+rng.Intn(12), 1+rng.Intn(28))
		recs[i] = &geo.Incident{
			Point:      orb.Point{lon, lat},
			Title:      fmt.Sprintf("Synthetic %s %d", typ, i),
			Summary:    "A synthetic incident for the scale benchmark of the map.",
			Type:       typ,
			Date:       date,
			Place:      place,
			Precision:  "place",
			Actors:     []string{actors[rng.Intn(len(actors))]},
			ExternalID: fmt.Sprintf("bench:%d", i),
		}
	}
	return recs
}

// loadSynthetic writes n synthetic incidents into a new database at path.
func loadSynthetic(tb testing.TB, path string, n int) {
	tb.Helper()
	db, err := store.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if gaz, err := geocode.Default(); err == nil {
		db.CountryOf = gaz.CountryOf
	}
	recs := synthIncidents(n, 1)
	for len(recs) > 0 {
		k := min(len(recs), geo.ImportBatchSize)
		if _, err := db.ImportBatch(context.Background(), "bench", recs[:k]); err != nil {
			tb.Fatal(err)
		}
		recs = recs[k:]
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// viewSizes records the number of features of every /api/view answer the
// page receives.
type viewSizes struct {
	tb      testing.TB
	mu      sync.Mutex
	pending map[network.RequestID]string
	wg      sync.WaitGroup
	sizes   []int
	urls    []string
	errs    []error
}

// recordViews starts recording the /api/view answers of the tab.
func recordViews(p *tab) *viewSizes {
	v := &viewSizes{tb: p.tb, pending: map[network.RequestID]string{}}
	err := chromedp.Listen(p.ctx, func(ev any) {
		v.mu.Lock()
		defer v.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			if strings.Contains(ev.Response.URL, "/api/view?") && ev.Response.Status == 200 {
				v.pending[ev.RequestID] = ev.Response.URL
			}
		case *network.EventLoadingFinished:
			u, ok := v.pending[ev.RequestID]
			if !ok {
				return
			}
			delete(v.pending, ev.RequestID)
			v.wg.Add(1)
			go v.read(p.ctx, ev.RequestID, u) // no command inside a listener
		case *network.EventLoadingFailed:
			delete(v.pending, ev.RequestID) // aborted: the view moved on
		}
	})
	if err != nil {
		p.tb.Fatal(err)
	}
	return v
}

func (v *viewSizes) read(ctx context.Context, id network.RequestID, u string) {
	defer v.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
	var fc struct {
		Features []json.RawMessage `json:"features"`
	}
	if err == nil {
		err = json.Unmarshal(res.Body, &fc)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.errs = append(v.errs, fmt.Errorf("%s: %w", u, err))
		return
	}
	v.sizes = append(v.sizes, len(fc.Features))
	v.urls = append(v.urls, u)
}

// result waits for the bodies being read and returns the largest answer
// and how many were seen.
func (v *viewSizes) result() (largest int, at string, n int) {
	v.wg.Wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, err := range v.errs {
		v.tb.Errorf("reading a view answer: %v", err)
	}
	for i, s := range v.sizes {
		if s > largest {
			largest, at = s, v.urls[i]
		}
	}
	return largest, at, len(v.sizes)
}

// moveTo sets the map's view and waits until the view it asked for is drawn.
func (p *tab) moveTo(lat, lng float64, zoom int) {
	p.tb.Helper()
	p.do(waitLong, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`void window.nexus.map.setView([%v, %v], %d, { animate: false })`, lat, lng, zoom)))
	p.wait(fmt.Sprintf("the view %d/%v/%v drawn", zoom, lat, lng), `(() => {
		const m = window.nexus.map;
		const c = m.getCenter();
		return location.hash.startsWith('#map=' + m.getZoom() + '/' + c.lat.toFixed(4) + '/' + c.lng.toFixed(4)) &&
			document.body.dataset.loading === '0';
	})()`, 2*waitLong)
}

// BenchmarkMap100k opens the map on 100 000 incidents worldwide: the time
// from navigation to the first full render, and the largest answer the
// server sends for one view while the map zooms from 2 to 8 into the
// densest area, pans around it, and zooms on to 12 (individual incidents).
func BenchmarkMap100k(b *testing.B) {
	const n = 100_000
	dbPath := filepath.Join(b.TempDir(), "nexus.db")
	start := time.Now()
	loadSynthetic(b, dbPath, n)
	b.Logf("map 100k: %d synthetic incidents loaded in %s", n, time.Since(start).Round(time.Second/10))
	srv := startServer(b, dbPath, "127.0.0.1:0")
	bctx := newBrowser(b)

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := openTab(b, bctx, srv.URL)
		p.do(waitLong, chromedp.EmulateViewport(1280, 800))
		views := recordViews(p)
		p.open("/")
		readyAt := eval[float64](p, `window.nexus.readyAt ?? NaN`)
		if math.IsNaN(readyAt) {
			b.Fatal("the page does not record window.nexus.readyAt")
		}
		rendered := eval[int](p, `+document.body.dataset.renderedCount`)
		b.Logf("map 100k: requests before the first render (start → end ms): %s", eval[string](p, `performance.getEntriesByType('resource')
			.filter((r) => r.name.includes('/api/') && r.startTime < window.nexus.readyAt)
			.map((r) => r.name.replace(location.origin, '').replace(/\?.*/, '') + ' ' + Math.round(r.startTime) + '→' + Math.round(r.responseEnd))
			.join(', ')`))

		// Zoom into the densest area, pan around it, go on to the zooms
		// where the server stops clustering (about 5000 incidents in view
		// at 11), and back out.
		bogota := hotspots[0]
		for z := 2; z <= 8; z++ {
			p.moveTo(bogota.lat, bogota.lon, z)
		}
		for _, d := range [][2]float64{{0.5, 0}, {0, 0.8}, {-0.6, -0.6}, {1.5, 1.5}} {
			p.moveTo(bogota.lat+d[0], bogota.lon+d[1], 8)
		}
		for z := 9; z <= 12; z++ {
			p.moveTo(bogota.lat, bogota.lon, z)
		}
		p.moveTo(bogota.lat+0.05, bogota.lon+0.1, 11)
		p.moveTo(bogota.lat, bogota.lon, 6)
		p.moveTo(bogota.lat+3, bogota.lon-3, 6)
		p.moveTo(bogota.lat, bogota.lon, 4)
		largest, at, answers := views.result()

		first := time.Duration(readyAt * float64(time.Millisecond))
		b.ReportMetric(first.Seconds(), "s/first-render")
		b.ReportMetric(float64(largest), "features/view-max")
		b.Logf("map 100k: first render %.2f s (goal %.0f s), max features per view %d (goal ≤ %d); %d view answers, %d drawn at first",
			first.Seconds(), goalFirstRender.Seconds(), largest, goalFeaturesPerView, answers, rendered)
		b.Logf("map 100k: the largest answer was %s", strings.TrimPrefix(at, srv.URL))
		if largest > goalFeaturesPerView {
			b.Fatalf("the server sent %d features for one view, more than %d", largest, goalFeaturesPerView)
		}
		if answers < 10 {
			b.Fatalf("only %d view answers recorded", answers)
		}
	}
}
