package watch_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	_ "modernc.org/sqlite"

	"nexus/geo"
	"nexus/store"
	"nexus/watch"
)

// The world the benchmark draws in: the Americas, the Atlantic, West
// Africa and Europe, where incidents and watches both fall.
const west, east, south, north = -120.0, 40.0, -50.0, 60.0

func randomPoint(r *rand.Rand) orb.Point {
	return orb.Point{west + r.Float64()*(east-west), south + r.Float64()*(north-south)}
}

var types = []string{"attack", "plot", "arrest", "seizure", "kidnapping"}

func randomIncident(r *rand.Rand, n int) *geo.Incident {
	return &geo.Incident{
		Point: randomPoint(r),
		Title: "Synthetic incident " + strconv.Itoa(n),
		Type:  types[r.Intn(len(types))],
		Date:  fmt.Sprintf("%d-%02d-%02d", 1990+r.Intn(35), 1+r.Intn(12), 1+r.Intn(28)),
	}
}

// randomWatch is a circle (even i) or a 100-vertex polygon (odd i) of 5 to
// 150 km around a random point.
func randomWatch(r *rand.Rand, i int) *geo.Watch {
	c := randomPoint(r)
	km := 5 + r.Float64()*145
	w := &geo.Watch{Name: "watch " + strconv.Itoa(i)}
	if i%3 == 0 {
		w.Filter = &geo.FilterSpec{Type: []string{"attack", "plot"}}
	}
	if i%2 == 0 {
		w.Area, w.RadiusKM = c, km
		return w
	}
	ring := make(orb.Ring, 0, 101)
	for k := 0; k < 100; k++ {
		ang := float64(k) / 100 * 2 * math.Pi
		d := km * (0.6 + 0.4*r.Float64()) / 111.32
		ring = append(ring, orb.Point{c[0] + d*math.Cos(ang)/math.Cos(c[1]*math.Pi/180), c[1] + d*math.Sin(ang)})
	}
	w.Area = orb.Polygon{append(ring, ring[0])}
	return w
}

// latencies records when each create committed and when its first alert
// was pushed.
type latencies struct {
	mu        sync.Mutex
	committed map[int64]time.Time // seq -> commit
	pushed    map[int64]time.Time // seq -> first alert pushed
}

func (l *latencies) push(a *geo.Alert) {
	now := time.Now()
	l.mu.Lock()
	if _, ok := l.pushed[a.Seq]; !ok {
		l.pushed[a.Seq] = now
	}
	l.mu.Unlock()
}

func (l *latencies) commit(seq int64, at time.Time) {
	l.mu.Lock()
	l.committed[seq] = at
	l.mu.Unlock()
}

// p returns the q-quantile of the commit-to-alert latencies.
func (l *latencies) p(q float64) (time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d []time.Duration
	for seq, t := range l.pushed {
		if c, ok := l.committed[seq]; ok {
			d = append(d, t.Sub(c))
		}
	}
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))], len(d)
}

type noPush struct{}

func (noPush) Alert(string, []byte) {}

// BenchmarkAlerts1M: 10 000 watches (half circles, half 100-vertex
// polygons) over 1 000 000 stored incidents. Creates per second with the
// evaluator keeping up, against the same with no watches (goal: at least
// half), and the p99 latency from a create's commit to its alert's push
// (goal: at most 100 ms).
func BenchmarkAlerts1M(b *testing.B) {
	incidents, watches, creates := 1000000, 10000, 4000
	if s := os.Getenv("NEXUS_BENCH_INCIDENTS"); s != "" {
		incidents, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db, err := store.Open(filepath.Join(b.TempDir(), "alerts.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewSource(16))
	start := time.Now()
	batch := make([]geo.Record, 0, geo.ImportBatchSize)
	for i := 0; i < incidents; i++ {
		batch = append(batch, randomIncident(r, i))
		if len(batch) == cap(batch) || i == incidents-1 {
			if _, err := db.ImportBatch(ctx, "bench", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("loaded %d incidents in %v", incidents, time.Since(start).Round(time.Second))
	// The stored incidents predate the watches, as in a database that had
	// them before alerts existed: the evaluator starts at the end of the
	// log rather than reading a million old changes first.
	raw, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec("UPDATE alert_cursor SET seq = (SELECT max(seq) FROM changes)"); err != nil {
		b.Fatal(err)
	}
	raw.Close()

	lat := &latencies{committed: map[int64]time.Time{}, pushed: map[int64]time.Time{}}
	eval := watch.NewEvaluator(db, noPush{}, watch.Options{Pushed: lat.push, Logger: slog.New(slog.DiscardHandler)})
	evalCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eval.Run(evalCtx) }()
	defer func() {
		stop()
		<-done
	}()

	// run creates n incidents from 4 writers and returns the creates per
	// second counted until the evaluator has stored every alert.
	run := func(n int, seed int64) float64 {
		const writers = 4
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewSource(seed + int64(w)))
				for next.Add(1) <= int64(n) {
					if _, err := db.Create(ctx, "bench", randomIncident(r, 0)); err != nil {
						b.Error(err)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		last, _ := db.LastSeq(ctx)
		for eval.Cursor() < last {
			time.Sleep(time.Millisecond)
		}
		return float64(n) / time.Since(t0).Seconds()
	}

	off := run(creates, 1)
	for i := 0; i < watches; i++ {
		if _, err := db.CreateWatch(ctx, "bench", randomWatch(r, i)); err != nil {
			b.Fatal(err)
		}
	}
	// The evaluator picks the watches up with the next change.
	if _, err := db.Create(ctx, "bench", randomIncident(r, 0)); err != nil {
		b.Fatal(err)
	}
	last, _ := db.LastSeq(ctx)
	for eval.Cursor() < last || eval.Watches() < watches {
		time.Sleep(time.Millisecond)
	}
	// Commit times: OnCommit runs right after each commit.
	db.OnCommit(func(seq int64) { lat.commit(seq, time.Now()) })
	on := run(creates, 2)
	p50, n := lat.p(0.5)
	p99, _ := lat.p(0.99)
	b.ReportMetric(on, "creates/s-with-alerts")
	b.ReportMetric(off, "creates/s-without-watches")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.Logf("creates with %d watches over %d incidents: %.0f/s with alert evaluation, %.0f/s without watches, ratio %.2f (goal ≥ 0.50)", watches, incidents, on, off, on/off)
	b.Logf("commit-to-alert latency over %d alerted creates: p50 %v, p99 %v (goal p99 ≤ 100 ms), ratio to goal %.2f",
		n, p50.Round(time.Microsecond), p99.Round(time.Microsecond), float64(p99)/float64(100*time.Millisecond))
}
