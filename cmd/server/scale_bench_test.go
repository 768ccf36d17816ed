package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/geocode"
	"nexus/overview"
	"nexus/store"
)

// The map at a million: make bench builds a database of 1 000 000
// synthetic incidents (crowded around cities, as real ones are) and 10 000
// routes, and measures the overview index in process beside supercluster
// (npm, pinned in bench/supercluster) indexing the same points, then the
// real server program over HTTP: views, statistics, time-slider steps,
// slow filters, wide-box pages, start-up time and memory.

// The data set's size; NEXUS_SCALE=N makes it N incidents (and N/100
// routes) for a quick run.
var scaleIncidents, scaleRoutes = func() (int, int) {
	if n, err := strconv.Atoi(os.Getenv("NEXUS_SCALE")); err == nil && n > 0 {
		return n, max(1, n/100)
	}
	return 1_000_000, 10_000
}()

// Goals of the issue, beside which the figures are printed.
const (
	goalViewP50    = 20 * time.Millisecond
	goalViewP99    = 100 * time.Millisecond
	goalStats      = 50 * time.Millisecond
	goalStep       = 50 * time.Millisecond
	goalSlow       = time.Second
	goalPageRate   = 2 * 34.0 // requests/s: twice pg_featureserv's on 200 000
	goalSuperRatio = 10.0     // Nexus's filtered view p50 within 10× of supercluster's
)

// synthRoutes makes n routes across the Atlantic and the Americas.
func synthRoutes(n int, seed int64) []geo.Record {
	rng := rand.New(rand.NewSource(seed))
	recs := make([]geo.Record, n)
	for i := range recs {
		lon, lat := -80+rng.Float64()*20, -10+rng.Float64()*25
		line := orb.LineString{{lon, lat}}
		for range 2 + rng.Intn(3) {
			lon, lat = math.Min(179, lon+5+rng.Float64()*25), math.Max(-80, math.Min(80, lat+rng.Float64()*16-6))
			line = append(line, orb.Point{lon, lat})
		}
		recs[i] = &geo.Route{
			Line:       line,
			Name:       fmt.Sprintf("Synthetic route %d", i),
			Commodity:  geo.Commodities[rng.Intn(len(geo.Commodities))],
			Mode:       "sea",
			ActiveFrom: strconv.Itoa(1990 + rng.Intn(30)),
			ExternalID: fmt.Sprintf("bench-route:%d", i),
		}
	}
	return recs
}

// loadScale writes the incidents and routes into a new database at path.
func loadScale(tb testing.TB, path string) {
	tb.Helper()
	db, err := store.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if gaz, err := geocode.Default(); err == nil {
		db.CountryOf = gaz.CountryOf
	}
	for _, recs := range [][]geo.Record{synthIncidents(scaleIncidents, 1), synthRoutes(scaleRoutes, 2)} {
		for len(recs) > 0 {
			k := min(len(recs), geo.ImportBatchSize)
			if _, err := db.ImportBatch(context.Background(), "bench", recs[:k]); err != nil {
				tb.Fatal(err)
			}
			recs = recs[k:]
		}
	}
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
}

// viewport is the box a 1280×800 map shows around a point at a zoom
// (Web Mercator, 256-pixel tiles).
func viewport(lat, lon float64, zoom int) geo.BBox {
	scale := 256 * math.Exp2(float64(zoom))
	cx := (lon + 180) / 360 * scale
	cy := (1 - math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))/math.Pi) / 2 * scale
	toLon := func(x float64) float64 { return math.Max(-180, math.Min(180, x/scale*360-180)) }
	toLat := func(y float64) float64 {
		return math.Max(-85.05, math.Min(85.05, math.Atan(math.Sinh(math.Pi*(1-2*y/scale)))*180/math.Pi))
	}
	return geo.BBox{W: toLon(cx - 640), S: toLat(cy + 400), E: toLon(cx + 640), N: toLat(cy - 400)}
}

// scaleView is one map view of the benchmark.
type scaleView struct {
	Name string     `json:"name"`
	BBox [4]float64 `json:"bbox"`
	Zoom int        `json:"zoom"`
}

func (v scaleView) box() geo.BBox {
	return geo.BBox{W: v.BBox[0], S: v.BBox[1], E: v.BBox[2], N: v.BBox[3]}
}

func (v scaleView) query() string {
	return fmt.Sprintf("bbox=%s,%s,%s,%s&zoom=%d", ftoa(v.BBox[0]), ftoa(v.BBox[1]), ftoa(v.BBox[2]), ftoa(v.BBox[3]), v.Zoom)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func scaleViews() []scaleView {
	bogota := hotspots[0]
	var out []scaleView
	for _, z := range []int{2, 5, 8, 12} {
		b := viewport(bogota.lat, bogota.lon, z)
		if z == 2 {
			b = geo.BBox{W: -180, S: -85.05, E: 180, N: 85.05}
		}
		out = append(out, scaleView{Name: fmt.Sprintf("zoom %d", z), BBox: [4]float64{b.W, b.S, b.E, b.N}, Zoom: z})
	}
	return out
}

// The filter the time slider and the type checkboxes make: three types
// and one year.
const (
	scaleTypes = "attack,assassination,kidnapping"
	scaleYear  = "2015-01/2015-12"
)

func filtered(f geo.Filter) geo.Filter {
	f.Types = strings.Split(scaleTypes, ",")
	f.Span, _ = geo.ParseInterval(scaleYear)
	return f
}

// quantiles returns the median and the 99th percentile.
func quantiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdict(ok bool) string {
	if ok {
		return "meets the goal"
	}
	return "MISSES the goal"
}

// superclusterResult is what bench/supercluster/bench.js prints.
type superclusterResult struct {
	Points  int     `json:"points"`
	BuildMs float64 `json:"buildMs"`
	Views   []struct {
		Name     string  `json:"name"`
		Clusters int     `json:"clusters"`
		P50Ms    float64 `json:"p50Ms"`
		P99Ms    float64 `json:"p99Ms"`
	} `json:"views"`
}

// runSupercluster indexes the incidents' points with supercluster and
// answers the same views.
func runSupercluster(b *testing.B, dir string, db *store.DB, views []scaleView) superclusterResult {
	b.Helper()
	script, err := filepath.Abs("../../bench/supercluster/bench.js")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "supercluster")); err != nil {
		b.Fatalf("supercluster is not installed: run make bench (it runs npm ci in bench/supercluster)")
	}
	pts := filepath.Join(dir, "points.bin")
	f, err := os.Create(pts)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := db.EachIncident(context.Background(), func(_ string, _ int64, p orb.Point, _ geo.Keys) error {
		return binary.Write(w, binary.LittleEndian, [2]float64{p[0], p[1]})
	}); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	vj, _ := json.Marshal(views)
	vf := filepath.Join(dir, "views.json")
	if err := os.WriteFile(vf, vj, 0o644); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("node", "--max-old-space-size=4096", script, pts, vf, "200").Output()
	if err != nil {
		b.Fatalf("node %s: %v", script, err)
	}
	var r superclusterResult
	if err := json.Unmarshal(out, &r); err != nil {
		b.Fatalf("supercluster output %.300s: %v", out, err)
	}
	return r
}

// program is the server binary running on a database.
type program struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

// startProgram builds and starts the server program on the database and
// returns once it answers a world view, with the time that took.
func startProgram(b *testing.B, dir, dbPath string) (*program, time.Duration) {
	return launchProgram(b, dir, dbPath, io.Discard, "/api/view?zoom=2", "-read-rate=0")
}

// launchProgram builds the server program, starts it on the database with
// the extra flags, its standard output to stdout, and returns once ready
// answers 200, with the time that took.
func launchProgram(b *testing.B, dir, dbPath string, stdout io.Writer, ready string, flags ...string) (*program, time.Duration) {
	b.Helper()
	bin := filepath.Join(dir, "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &program{url: "http://" + addr, stderr: &syncBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"-addr", addr, "-db", dbPath, "-seed=false"}, flags...)...)
	p.cmd.Stdout, p.cmd.Stderr = stdout, p.stderr
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.cmd.Process.Signal(os.Interrupt)
		p.cmd.Wait()
	})
	client := &http.Client{Timeout: 30 * time.Second}
	for {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("the server did not answer within 10 minutes:\n%s", lastLines(p.stderr.String(), 20))
		}
		res, err := client.Get(p.url + ready)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rss is the resident memory of a process, in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n * 1024
}

// timeGet times n requests of a path on one connection, as a browser that
// takes gzip; it returns the latencies and the last answer's size.
// failedRequest is the time a request that failed counts for: it never
// meets a goal.
const failedRequest = time.Hour

func timeGet(b *testing.B, client *http.Client, base, path string, n int) ([]time.Duration, int64) {
	b.Helper()
	var out []time.Duration
	var size int64
	for range n {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		t := time.Now()
		res, err := client.Do(req)
		if err != nil {
			// A request the server cut (its budget) is shown, not fatal.
			report("GET %s: %v after %.0f ms", path, err, ms(time.Since(t)))
			out = append(out, failedRequest)
			continue
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		size = int64(len(body))
		out = append(out, time.Since(t))
		if res.StatusCode != http.StatusOK {
			// Counted and shown rather than fatal: the figures of the
			// other requests still stand.
			report("GET %s: %s after %.0f ms: %.200s", path, res.Status, ms(time.Since(t)), body)
			out[len(out)-1] = failedRequest
		}
	}
	return out, size
}

// pageRate asks for one items page from clients connections at once,
// requests in all: requests per second and the median latency.
func pageRate(b *testing.B, u string, clients, requests int) (float64, time.Duration) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Value
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(requests) {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Accept-Encoding", "gzip")
				t := time.Now()
				res, err := client.Do(req)
				if err != nil {
					failed.Store(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mu.Lock()
				lat = append(lat, time.Since(t))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	p50, _ := quantiles(lat)
	return float64(requests) / time.Since(start).Seconds(), p50
}

// BenchmarkScale1M is the map at a million incidents.
func BenchmarkScale1M(b *testing.B) {
	dir := b.TempDir()
	dbPath := filepath.Join(dir, "nexus.db")
	// NEXUS_SCALE_DB names a database to keep: made on the first run,
	// measured again as it is on the next ones.
	if keep := os.Getenv("NEXUS_SCALE_DB"); keep != "" {
		dbPath = keep
	}
	if _, err := os.Stat(dbPath); err != nil {
		start := time.Now()
		loadScale(b, dbPath)
		report("scale: %d incidents and %d routes loaded in %.0f s", scaleIncidents, scaleRoutes, time.Since(start).Seconds())
	}
	ctx := context.Background()
	views := scaleViews()

	for i := 0; i < b.N; i++ {
		// In process: the overview index beside supercluster.
		db, err := store.Open(dbPath)
		if err != nil {
			b.Fatal(err)
		}
		t := time.Now()
		ix := overview.New(db, nil)
		if err := ix.Load(ctx); err != nil {
			b.Fatal(err)
		}
		build := time.Since(t)
		sc := runSupercluster(b, dir, db, views)
		report("index build: Nexus %.2f s (%d incidents, from the database), supercluster %.2f s (%d points, from memory): Nexus %s (goal: faster)",
			build.Seconds(), ix.Len(), sc.BuildMs/1000, sc.Points, faster(build.Seconds(), sc.BuildMs/1000))
		for k, v := range views {
			for _, withFilter := range []bool{false, true} {
				f := geo.NewFilter()
				box := v.box()
				f.BBox = &box
				if withFilter {
					f = filtered(f)
				}
				level := overview.Level(f.BBox, float64(v.Zoom), 5000)
				var lat []time.Duration
				var n int
				for range 200 {
					t := time.Now()
					clusters, _, err := ix.View(ctx, f, level)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t))
					n = len(clusters)
				}
				p50, p99 := quantiles(lat)
				scP50 := sc.Views[k].P50Ms
				label := "no filter"
				if withFilter {
					label = "type+year"
				}
				report("index view %s, %s: p50 %.3f ms, p99 %.3f ms, %d clusters; supercluster (no filter) p50 %.3f ms, p99 %.3f ms, %d clusters; ratio %.1f× (goal ≤ %.0f×: %s)",
					v.Name, label, ms(p50), ms(p99), n, scP50, sc.Views[k].P99Ms, sc.Views[k].Clusters, ms(p50)/scP50, goalSuperRatio, verdict(ms(p50)/scP50 <= goalSuperRatio))
			}
		}
		db.Close()

		// The server program over HTTP.
		p, ready := startProgram(b, dir, dbPath)
		mem := rss(p.cmd.Process.Pid)
		loaded := regexp.MustCompile(`overview loaded.*duration=(\S+)`).FindStringSubmatch(p.stderr.String())
		report("start-up: first answer %.2f s after start (overview index %v of it), RSS after start %.0f MB",
			ready.Seconds(), loaded, float64(mem)/(1<<20))
		b.ReportMetric(ready.Seconds(), "s/start-up")
		b.ReportMetric(float64(mem)/(1<<20), "MB-RSS")
		client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		base := p.url
		for _, v := range views {
			for _, extra := range []string{"", "&type=" + scaleTypes + "&datetime=" + scaleYear} {
				lat, size := timeGet(b, client, base, "/api/view?"+v.query()+extra, 60)
				p50, p99 := quantiles(lat)
				label := "no filter"
				if extra != "" {
					label = "type+year"
				}
				report("GET /api/view %s, %s: p50 %.1f ms (goal %.0f: %s), p99 %.1f ms (goal %.0f: %s), %.0f KB gzipped",
					v.Name, label, ms(p50), ms(goalViewP50), verdict(p50 <= goalViewP50), ms(p99), ms(goalViewP99), verdict(p99 <= goalViewP99), float64(size)/1024)
			}
		}
		for _, q := range []string{"by=type", "by=month", "by=country", "by=actor", "by=type&type=" + scaleTypes + "&datetime=" + scaleYear, "by=country&" + views[1].query()[:strings.Index(views[1].query(), "&zoom")]} {
			lat, _ := timeGet(b, client, base, "/api/stats?"+q, 20)
			p50, p99 := quantiles(lat)
			report("GET /api/stats?%s: p50 %.1f ms, p99 %.1f ms (goal %.0f: %s)", q, ms(p50), ms(p99), ms(goalStats), verdict(p99 <= goalStats))
		}
		// One time-slider step: the map asks for the view and the counts
		// by type of the window that ends at the new month.
		var steps []time.Duration
		region := views[1]
		for m := range 36 {
			end := time.Date(2012, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
			window := url.QueryEscape(end.AddDate(-1, 0, 0).Format("2006-01") + "/" + end.Format("2006-01"))
			t := time.Now()
			timeGet(b, client, base, "/api/view?"+region.query()+"&datetime="+window, 1)
			timeGet(b, client, base, "/api/stats?by=type&bbox="+strings.TrimPrefix(strings.Split(region.query(), "&")[0], "bbox=")+"&datetime="+window, 1)
			steps = append(steps, time.Since(t))
		}
		sp50, sp99 := quantiles(steps)
		report("time-slider step (view at zoom 5 and counts by type, one-year window): p50 %.1f ms, max %.1f ms (goal %.0f: %s)", ms(sp50), ms(sp99), ms(goalStep), verdict(sp99 <= goalStep))
		// Filters off the fast path.
		// A text's first answer asks the store for its matches, which
		// the overview then keeps: the first and the later are shown apart.
		for _, q := range []string{"actor=ELN", "country=CO", "actor=ELN&datetime=2000/2010", "q=bogota", "q=synthetic"} {
			lat, _ := timeGet(b, client, base, "/api/view?zoom=2&"+q, 4)
			p50, _ := quantiles(lat[1:])
			report("GET /api/view?zoom=2&%s: first %.0f ms (goal about %.0f ms: %s), then p50 %.0f ms", q, ms(lat[0]), ms(goalSlow), verdict(lat[0] <= goalSlow+goalSlow/2), ms(p50))
		}
		for _, q := range []string{"q=bogota", "q=synthetic"} {
			lat, _ := timeGet(b, client, base, "/api/stats?by=country&"+q, 3)
			p50, _ := quantiles(lat)
			report("GET /api/stats?by=country&%s: p50 %.0f ms (goal about %.0f ms: %s)", q, ms(p50), ms(goalSlow), verdict(p50 <= goalSlow))
		}
		// GIS paging: a wide box holding about half the incidents.
		west := -74.5
		wide := fmt.Sprintf("-180,-90,%v,90", west)
		u := base + "/api/collections/incidents/items?limit=1000&bbox=" + wide
		var head struct {
			NumberMatched int64 `json:"numberMatched"`
		}
		res, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		json.NewDecoder(res.Body).Decode(&head)
		res.Body.Close()
		rate, p50 := pageRate(b, u, 8, 200)
		_, gz := timeGet(b, client, base, "/api/collections/incidents/items?limit=1000&bbox="+wide, 1)
		report("wide box %s (%d of %d match), limit=1000, 8 connections: %.0f requests/s, p50 %.0f ms (goal %.0f requests/s: %s), %.0f KB a page gzipped",
			wide, head.NumberMatched, scaleIncidents, rate, ms(p50), goalPageRate, verdict(rate >= goalPageRate), float64(gz)/1024)
		b.ReportMetric(rate, "req/s-widebox")

		browserScale(b, p.url)
	}
}

// Goals of the map in the browser at a million.
const (
	goalScaleFirstRender = 1500 * time.Millisecond
	goalRedraw           = 300 * time.Millisecond
	goalFrame            = 100 * time.Millisecond
)

// browserScale opens the map in Chromium on the program's million
// incidents: the first full render, the redraws of pans and zooms (from
// asking for the view to drawing it; the wait after the map stops moving
// is not counted), the server time of every view while Play runs through
// ten years, and screenshots of the world, a country, a city and the
// density mode.
func browserScale(b *testing.B, base string) {
	bctx := newBrowser(b)
	p := openTab(b, bctx, base)
	p.do(waitLong, chromedp.EmulateViewport(1280, 800))
	p.do(waitLong, chromedp.Navigate(base+"/#map=2/15.0000/-40.0000"))
	p.wait("the first render", `document.body.dataset.ready === '1' && document.body.dataset.loading !== '1'`, 5*time.Minute)
	first := time.Duration(eval[float64](p, `window.nexus.readyAt`) * float64(time.Millisecond))
	report("browser: first full render %.2f s with the %d routes drawn (goal %.1f s: %s)", first.Seconds(), scaleRoutes, goalScaleFirstRender.Seconds(), verdict(first <= goalScaleFirstRender))
	// Where the first render's time went: the page itself, and each
	// request it waited for (from asking to the last byte).
	report("browser: of it, page loaded at %s", eval[string](p, `(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const parts = ['DOMContentLoaded ' + Math.round(nav.domContentLoadedEventEnd) + ' ms'];
		for (const r of performance.getEntriesByType('resource')) {
			const m = r.name.match(/\/api\/(view|collections\/routes\/items|basemap\.geojson|live)/);
			if (m && r.startTime < window.nexus.readyAt) {
				parts.push(m[1] + ' ' + Math.round(r.startTime) + '–' + Math.round(r.responseEnd) + ' ms (' + Math.round(r.transferSize / 1024) + ' KB)');
			}
		}
		return parts.join(', ');
	})()`))

	eval[bool](p, `(window.nexus.viewTimes.length = 0, true)`)
	bogota := hotspots[0]
	for z := 3; z <= 12; z++ {
		p.moveTo(bogota.lat, bogota.lon, z)
	}
	for _, d := range [][2]float64{{0.02, 0}, {0, 0.04}, {-0.03, -0.03}} {
		p.moveTo(bogota.lat+d[0], bogota.lon+d[1], 12)
	}
	for _, d := range [][2]float64{{1, 0}, {0, 1.5}, {-1, -1}} {
		p.moveTo(bogota.lat+d[0], bogota.lon+d[1], 7)
	}
	for z := 6; z >= 2; z-- {
		p.moveTo(bogota.lat, bogota.lon, z)
	}
	var redraws []time.Duration
	for _, v := range eval[[]float64](p, `window.nexus.viewTimes`) {
		redraws = append(redraws, time.Duration(v*float64(time.Millisecond)))
	}
	r50, r99 := quantiles(redraws)
	report("browser: pan or zoom to full redraw, %d views: p50 %.0f ms (goal %.0f: %s), max %.0f ms", len(redraws), ms(r50), ms(goalRedraw), verdict(r50 <= goalRedraw), ms(r99))

	shots := benchOut(b)
	if abs, err := filepath.Abs(shots); err == nil {
		shots = abs
	}
	report("browser: screenshots of the world, a country, a city and the density mode in %s", shots)
	eval[bool](p, `(document.getElementById('legend').open = false, true)`)
	p.moveTo(15, -40, 2)
	p.screenshot(filepath.Join(shots, fmt.Sprintf("map-%dk-world.png", scaleIncidents/1000)))
	p.moveTo(4.5, -74.0, 6)
	p.screenshot(filepath.Join(shots, fmt.Sprintf("map-%dk-country.png", scaleIncidents/1000)))
	p.moveTo(bogota.lat, bogota.lon, 11)
	p.screenshot(filepath.Join(shots, fmt.Sprintf("map-%dk-city.png", scaleIncidents/1000)))
	// The density mode, through the layers control as a user would.
	eval[bool](p, `(() => {
		const inputs = [...document.querySelectorAll('.leaflet-control-layers-overlays label')];
		const box = (name) => inputs.find((l) => l.textContent.trim() === name).querySelector('input');
		box('Incidents').click();
		box('Density').click();
		return true;
	})()`)
	p.moveTo(15, -40, 3)
	p.wait("the density drawn", `+(document.querySelector('canvas.nx-density')?.dataset.points || 0) > 0`, waitLong)
	p.screenshot(filepath.Join(shots, fmt.Sprintf("map-%dk-density.png", scaleIncidents/1000)))
	eval[bool](p, `(() => {
		const inputs = [...document.querySelectorAll('.leaflet-control-layers-overlays label')];
		const box = (name) => inputs.find((l) => l.textContent.trim() === name).querySelector('input');
		box('Density').click();
		box('Incidents').click();
		return true;
	})()`)

	// Play through ten years, a one-year window, at the fastest speed.
	p.moveTo(bogota.lat, bogota.lon, 5)
	eval[bool](p, `(async () => {
		const { monthIndex } = await import('/js/dates.js');
		document.getElementById('timeline-window').value = '12';
		document.getElementById('timeline-speed').value = '8';
		const slider = document.getElementById('timeline-slider');
		slider.max = String(monthIndex('2024-12'));
		slider.value = String(monthIndex('2014-12'));
		slider.dispatchEvent(new Event('change'));
		performance.clearResourceTimings();
		performance.setResourceTimingBufferSize(10000);
		document.getElementById('timeline-play').click();
		return true;
	})()`)
	p.wait("Play to reach the end", `document.getElementById('timeline-play').dataset.state === 'paused' && document.body.dataset.loading === '0'`, 5*time.Minute)
	frames := eval[[]float64](p, `performance.getEntriesByType('resource')
		.filter((r) => r.name.includes('/api/view?') && r.responseStart > 0)
		.map((r) => r.responseStart - r.requestStart)`)
	var server []time.Duration
	for _, v := range frames {
		server = append(server, time.Duration(v*float64(time.Millisecond)))
	}
	if len(server) == 0 {
		b.Fatal("Play asked for no view")
	}
	f50, _ := quantiles(server)
	worst := slices.Max(server)
	report("browser: Play through ten years (one-year window, 8 months a second): %d views, server time p50 %.0f ms, slowest %.0f ms (goal: none over %.0f ms: %s)",
		len(server), ms(f50), ms(worst), ms(goalFrame), verdict(worst <= goalFrame))
	errs, foreign, _ := p.seen()
	if len(errs) > 0 || len(foreign) > 0 {
		b.Fatalf("the page reported errors %q, foreign requests %q", errs, foreign)
	}
}

// benchOut is the directory for the benchmark's pictures: $NEXUS_BENCH_OUT,
// or bench/out in the repository.
func benchOut(b *testing.B) string {
	dir := os.Getenv("NEXUS_BENCH_OUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "bench", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// faster says how much faster or slower ours is than theirs, in words.
func faster(ours, theirs float64) string {
	if ours <= theirs {
		return fmt.Sprintf("%.1f× faster", theirs/ours)
	}
	return fmt.Sprintf("%.1f× slower", ours/theirs)
}

// report prints one line of figures: the benchmark's own log keeps ten.
func report(format string, args ...any) {
	fmt.Printf("    scale: "+format+"\n", args...)
}
