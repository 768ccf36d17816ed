package api_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nexus/api"
)

// tile38SetsPerSecond is the anchor of the concurrent-writer benchmark:
// Tile38, an in-memory geospatial server, takes about 22 000 point SETs per
// second on one core with its append-only file on.
const tile38SetsPerSecond = 22000

// BenchmarkConcurrentWriters: 16 writers create incidents over HTTP at
// once, each request waiting for the one before; creates per second and
// the p50 and p99 latency of a create.
func BenchmarkConcurrentWriters(b *testing.B) {
	const writers, perWriter = 16, 1000
	e := newEnv(b, func(c *api.Config) { c.Logger = slog.New(slog.DiscardHandler) })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers}}
	var lat []time.Duration
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		var failed atomic.Value
		var mu sync.Mutex
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				mine := make([]time.Duration, 0, perWriter)
				for k := range perWriter {
					body := fmt.Appendf(nil, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"title":"Report %d from writer %d","type":"attack","date":"2024-05-01","country":"CO","actors":["ELN"]}}`,
						-80+rng.Float64()*10, rng.Float64()*10, k, w)
					req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/collections/incidents/items", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/geo+json")
					req.Header.Set("Authorization", "Bearer "+e.editor)
					t0 := time.Now()
					res, err := client.Do(req)
					if err != nil {
						failed.Store(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					mine = append(mine, time.Since(t0))
					if res.StatusCode != http.StatusCreated {
						failed.Store(fmt.Errorf("status %s", res.Status))
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	rate := float64(len(lat)) / elapsed.Seconds()
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.Logf("%d concurrent HTTP writers, %d creates: %.0f creates/s, p50 %.2f ms, p99 %.2f ms; Tile38 (in memory, one core, AOF on) ~%d SETs/s: %.2f×",
		writers, len(lat), rate, float64(p50.Microseconds())/1000, float64(p99.Microseconds())/1000, tile38SetsPerSecond, rate/tile38SetsPerSecond)
	b.ReportMetric(rate, "creates/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}
