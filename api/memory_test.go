package api_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
)

// peakHeap runs f while sampling the heap every millisecond, and returns
// the largest HeapAlloc seen (the heap is collected first, so the figure
// is what f needs on top of what the process holds anyway).
func peakHeap(f func()) uint64 {
	// Collect often while measuring: with the default GOGC the heap holds
	// up to as much garbage again as it holds live data, and how much of
	// it a sample catches depends on when the collector ran, which a busy
	// machine shifts. The peak is of what f keeps, not of what it dropped.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var (
		mu   sync.Mutex
		peak uint64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mu.Lock()
		peak = max(peak, m.HeapAlloc)
		mu.Unlock()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	sample()
	return peak
}

// exportOverHTTP downloads the whole export to io.Discard and returns its
// size in bytes.
func exportOverHTTP(tb testing.TB, base string) int64 {
	tb.Helper()
	res, err := http.Get(base + "/api/export.geojson")
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("export: %s", res.Status)
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// loadFat adds n incidents of about 10 KB each (their bulk is in sources,
// which are not indexed, so they load fast even under the race detector).
func loadFat(tb testing.TB, db *store.DB, from, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(from), 2))
	bulk := strings.Repeat("Synthetic source text of some length. ", 13) // ≈ 500 bytes
	var batch []geo.Record
	for i := from; i < from+n; i++ {
		r, err := geo.DecodeFeature(geo.Incidents, synthIncident(rng, i))
		if err != nil {
			tb.Fatal(err)
		}
		inc := r.(*geo.Incident)
		for k := 0; k < 20; k++ {
			inc.Sources = append(inc.Sources, geo.Source{Title: fmt.Sprintf("%d %s", k, bulk)})
		}
		batch = append(batch, r)
		if len(batch) == geo.ImportBatchSize || i == from+n-1 {
			if _, err := db.ImportBatch(context.Background(), "synth", batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// TestExportMemoryFlat exports ten times more data and checks that the
// server's peak heap does not follow: the export streams.
func TestExportMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("loads thousands of records")
	}
	const small, large = 200, 2000 // ≈ 2 MB and 20 MB of GeoJSON
	e := newEnv(t)
	loadFat(t, e.db, 0, small)
	var sizeSmall, sizeLarge int64
	exportOverHTTP(t, e.URL) // warm up: pools, caches
	peakSmall := peakHeap(func() { sizeSmall = exportOverHTTP(t, e.URL) })
	loadFat(t, e.db, small, large-small)
	peakLarge := peakHeap(func() { sizeLarge = exportOverHTTP(t, e.URL) })
	t.Logf("export of %d incidents (%.1f MB): peak heap %.1f MB; of %d incidents (%.1f MB): peak heap %.1f MB",
		small, mb(sizeSmall), mb(peakSmall), large, mb(sizeLarge), mb(peakLarge))
	if sizeLarge < 9*sizeSmall {
		t.Fatalf("the large export is only %d bytes against %d", sizeLarge, sizeSmall)
	}
	if float64(peakLarge) > 1.5*float64(peakSmall)+8<<20 {
		t.Errorf("peak heap grows with the export: %.1f MB for %.1f MB of data, %.1f MB for %.1f MB",
			mb(peakSmall), mb(sizeSmall), mb(peakLarge), mb(sizeLarge))
	}
}

func mb[T int64 | uint64](n T) float64 { return float64(n) / (1 << 20) }
