package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nexus/api"
	"nexus/geo"
	"nexus/ingest"
	"nexus/store"
)

// The benchmarks put Nexus beside GDAL on the same 200 000 synthetic
// incidents: `make bench` runs each once (-benchtime 1x) and prints the
// figures and ratios. They share one corpus, built once per run.

const benchIncidents = 200000

// corpus is the shared data of the benchmarks: a GeoJSON file, the
// database it was imported into, and the GeoPackage GDAL made of it.
type corpus struct {
	dir     string
	geojson string
	gpkg    string
	db      *store.DB

	importTime time.Duration // ingest.Import of the GeoJSON into db
	report     ingest.Report
	ogrTime    time.Duration // ogr2ogr -f GPKG of the same file
}

var (
	corpusOnce sync.Once
	shared     *corpus
	corpusErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.db.Close()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// benchCorpus builds the corpus on first use: it writes the GeoJSON, times
// its import by ingest.Import and its conversion to a GeoPackage by
// ogr2ogr. The import is the one the import benchmark reports.
func benchCorpus(b *testing.B) *corpus {
	b.Helper()
	corpusOnce.Do(func() {
		c := &corpus{}
		shared = nil
		if c.dir, corpusErr = os.MkdirTemp("", "nexus-bench-"); corpusErr != nil {
			return
		}
		c.geojson = filepath.Join(c.dir, "incidents.geojson")
		c.gpkg = filepath.Join(c.dir, "incidents.gpkg")
		writeSynthGeoJSON(b, c.geojson, 42, benchIncidents)
		if c.db, corpusErr = store.Open(filepath.Join(c.dir, "nexus.db")); corpusErr != nil {
			return
		}
		shared = c
		f, err := os.Open(c.geojson)
		if err != nil {
			corpusErr = err
			return
		}
		defer f.Close()
		start := time.Now()
		c.report, corpusErr = ingest.Import(context.Background(), c.db, bufio.NewReaderSize(f, 1<<16), ingest.Options{Actor: "bench"})
		c.importTime = time.Since(start)
		if corpusErr == nil && c.report.Created != benchIncidents {
			corpusErr = fmt.Errorf("import created %d of %d (%d rejected)", c.report.Created, benchIncidents, c.report.RejectedCount)
		}
		if _, err := exec.LookPath("ogr2ogr"); err == nil && corpusErr == nil {
			start := time.Now()
			if out, err := exec.Command("ogr2ogr", "-f", "GPKG", c.gpkg, c.geojson).CombinedOutput(); err != nil {
				corpusErr = fmt.Errorf("ogr2ogr -f GPKG: %v: %s", err, out)
			}
			c.ogrTime = time.Since(start)
		}
	})
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	return shared
}

// faster says how much faster or slower ours is than theirs, in words.
func faster(ours, theirs float64) string {
	if ours <= theirs {
		return fmt.Sprintf("%.1f× faster", theirs/ours)
	}
	return fmt.Sprintf("%.1f× slower", ours/theirs)
}

func needGDAL(b *testing.B) {
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		b.Skip("ogr2ogr not installed (apt-get install gdal-bin; make bench does it)")
	}
}

// BenchmarkExportVsOgr2ogr: `server export` (store.Export to a file) of
// 200 000 incidents beside `ogr2ogr -f GeoJSON` of the same records from a
// GeoPackage. Goal: within 5× of GDAL.
func BenchmarkExportVsOgr2ogr(b *testing.B) {
	needGDAL(b)
	c := benchCorpus(b)
	b.ReportAllocs()
	b.ResetTimer()
	var ours, theirs time.Duration
	var n int64
	for i := 0; i < b.N; i++ {
		out := filepath.Join(c.dir, "export.geojson")
		start := time.Now()
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if n, err = c.db.Export(context.Background(), f, []geo.Collection{geo.Incidents, geo.Routes}, geo.NewFilter()); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)

		ogrOut := filepath.Join(c.dir, "ogr.geojson")
		os.Remove(ogrOut)
		start = time.Now()
		if out, err := exec.Command("ogr2ogr", "-f", "GeoJSON", ogrOut, c.gpkg).CombinedOutput(); err != nil {
			b.Fatalf("ogr2ogr: %v: %s", err, out)
		}
		theirs += time.Since(start)
	}
	b.StopTimer()
	if n != benchIncidents {
		b.Fatalf("exported %d features, want %d", n, benchIncidents)
	}
	oursS, theirsS := ours.Seconds()/float64(b.N), theirs.Seconds()/float64(b.N)
	b.Logf("export of %d incidents to GeoJSON: server export %.2f s, ogr2ogr from GPKG %.2f s; time ratio Nexus/GDAL %.2f, Nexus %s (goal 5×)",
		n, oursS, theirsS, oursS/theirsS, faster(oursS, theirsS))
	b.ReportMetric(oursS, "export-s")
	b.ReportMetric(theirsS, "ogr2ogr-s")
	b.ReportMetric(oursS/theirsS, "time/gdal-time")
}

// BenchmarkImportVsOgr2ogr: ingest.Import of a GeoJSON file of 200 000
// incidents beside `ogr2ogr -f GPKG` of the same file. Goal: within 3×.
func BenchmarkImportVsOgr2ogr(b *testing.B) {
	needGDAL(b)
	c := benchCorpus(b)
	oursS, theirsS := c.importTime.Seconds(), c.ogrTime.Seconds()
	b.Logf("import of %d incidents from GeoJSON: ingest.Import %.2f s (%.0f records/s), ogr2ogr to GPKG %.2f s; time ratio Nexus/GDAL %.2f, Nexus %s (goal 3×)",
		c.report.Created, oursS, float64(c.report.Created)/oursS, theirsS, oursS/theirsS, faster(oursS, theirsS))
	b.ReportMetric(oursS, "import-s")
	b.ReportMetric(theirsS, "ogr2ogr-s")
	b.ReportMetric(oursS/theirsS, "time/gdal-time")
}

// BenchmarkViewportQPS: concurrent clients ask for the items in a map view
// holding about 1 000 incidents (items?bbox=…&limit=10000), a fixed number
// of requests in all; reports requests per second.
func BenchmarkViewportQPS(b *testing.B) {
	c := benchCorpus(b)
	srv := httptest.NewServer(api.New(api.Config{Store: c.db, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	// The synthetic points are uniform over 140° × 95°: a square of this
	// side holds about 1 000 of them.
	side := math.Sqrt(1000 * 140 * 95 / float64(benchIncidents))
	bbox := fmt.Sprintf("%f,%f,%f,%f", -50-side/2, 5-side/2, -50+side/2, 5+side/2)
	f := geo.NewFilter()
	bb, _ := geo.ParseBBox(bbox)
	f.BBox = &bb
	inView, err := c.db.Count(context.Background(), geo.Incidents, f)
	if err != nil {
		b.Fatal(err)
	}
	const clients, requests = 8, 400
	url := srv.URL + "/api/collections/incidents/items?limit=10000&bbox=" + bbox
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	var bytes atomic.Int64
	for i := 0; i < b.N; i++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		start := time.Now()
		for k := 0; k < clients; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= requests {
					res, err := client.Get(url)
					if err != nil {
						failed.Store(err)
						return
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					bytes.Add(n)
					if res.StatusCode != http.StatusOK {
						failed.Store(fmt.Errorf("status %s", res.Status))
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	qps := float64(requests*b.N) / elapsed.Seconds()
	b.Logf("viewport of %d incidents (bbox=%s): %d clients, %d requests: %.0f requests/s, %.1f MB/s",
		inView, bbox, clients, requests*b.N, qps, float64(bytes.Load())/(1<<20)/elapsed.Seconds())
	b.ReportMetric(qps, "req/s")
	b.ReportMetric(float64(inView), "features/view")
}

// BenchmarkExportMemory: peak heap while exporting 10 000 and 200 000
// incidents through the HTTP handler to io.Discard.
func BenchmarkExportMemory(b *testing.B) {
	c := benchCorpus(b)
	smallDB, err := store.Open(filepath.Join(b.TempDir(), "small.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer smallDB.Close()
	loadSynth(b, smallDB, 42, 10000, 0)
	measure := func(db *store.DB) (peak uint64, size int64) {
		srv := httptest.NewServer(api.New(api.Config{Store: db, Logger: slog.New(slog.DiscardHandler)}))
		defer srv.Close()
		exportOverHTTP(b, srv.URL)
		peak = peakHeap(func() { size = exportOverHTTP(b, srv.URL) })
		return peak, size
	}
	b.ResetTimer()
	var peakSmall, peakLarge uint64
	var sizeSmall, sizeLarge int64
	for i := 0; i < b.N; i++ {
		peakSmall, sizeSmall = measure(smallDB)
		peakLarge, sizeLarge = measure(c.db)
	}
	b.StopTimer()
	b.Logf("export memory: 10 000 incidents (%.0f MB of GeoJSON): peak heap %.1f MB; 200 000 incidents (%.0f MB): peak heap %.1f MB (%.2f×)",
		mb(sizeSmall), mb(peakSmall), mb(sizeLarge), mb(peakLarge), float64(peakLarge)/float64(peakSmall))
	b.ReportMetric(mb(peakSmall), "peak-MB-10k")
	b.ReportMetric(mb(peakLarge), "peak-MB-200k")
}
