package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
	"nexus/store/storetest"
)

// BenchmarkBulkInsert200k imports 200 000 synthetic incidents with
// ImportBatch (R*Tree, FTS5, keys and change log) and, side by side, has
// ogr2ogr write the same records from GeoJSON into a GeoPackage.
func BenchmarkBulkInsert200k(b *testing.B) {
	b.ReportAllocs()
	const n = 200000
	ogr, err := exec.LookPath("ogr2ogr")
	if err != nil {
		b.Fatal("ogr2ogr not found: install gdal-bin (make deps)")
	}
	recs := storetest.NewSynth(42, "bulk").Incidents(n)
	dir := b.TempDir()
	in := filepath.Join(dir, "in.geojson")
	features := writeFeatureCollection(b, in, recs)

	var nexus, decode, gdal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db, err := store.Open(filepath.Join(dir, fmt.Sprintf("nexus%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		start := time.Now()
		for k := 0; k < n; k += geo.ImportBatchSize {
			if _, err := db.ImportBatch(ctx, "bench", recs[k:min(k+geo.ImportBatchSize, n)]); err != nil {
				b.Fatal(err)
			}
		}
		nexus += time.Since(start)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}

		// What an import from the same file adds: decoding the Features.
		start = time.Now()
		for _, f := range features {
			if _, err := geo.DecodeFeature(geo.Incidents, f); err != nil {
				b.Fatal(err)
			}
		}
		decode += time.Since(start)

		out := filepath.Join(dir, fmt.Sprintf("out%d.gpkg", i))
		start = time.Now()
		if msg, err := exec.Command(ogr, "-f", "GPKG", out, in).CombinedOutput(); err != nil {
			b.Fatalf("ogr2ogr: %v: %s", err, msg)
		}
		gdal += time.Since(start)
	}
	b.StopTimer()
	total := float64(n * b.N)
	nexusRate, gdalRate := total/nexus.Seconds(), total/gdal.Seconds()
	withDecode := total / (nexus + decode).Seconds()
	b.ReportMetric(nexusRate, "rec/s")
	b.ReportMetric(gdalRate, "ogr2ogr-rec/s")
	b.ReportMetric(nexusRate/gdalRate, "x-vs-ogr2ogr")
	b.Logf("bulk insert: nexus %.0f rec/s, ogr2ogr GPKG %.0f rec/s, ratio %.1fx (goal 3x); with GeoJSON decoding nexus %.0f rec/s, ratio %.1fx",
		nexusRate, gdalRate, nexusRate/gdalRate, withDecode, withDecode/gdalRate)
}

// writeFeatureCollection writes the records, without server fields, as one
// GeoJSON FeatureCollection file and returns the encoded Features.
func writeFeatureCollection(tb testing.TB, path string, recs []geo.Record) [][]byte {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"type":"FeatureCollection","features":[`)
	features := make([][]byte, len(recs))
	for i, r := range recs {
		props, err := json.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		feat := append([]byte(`{"type":"Feature","geometry":`), geo.AppendGeometry(nil, r.Geometry())...)
		feat = append(append(append(feat, `,"properties":`...), props...), '}')
		features[i] = feat
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(feat)
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return features
}

// million is the database of BenchmarkBBoxQuery1M, loaded once per process
// however often the benchmark runs, and removed by TestMain unless
// NEXUS_MILLION_DB names a database to keep: made on the first run, and
// measured again as it is on the next ones.
var million struct {
	once     sync.Once
	dir      string
	db       *store.DB
	err      error
	kept     bool          // opened as an earlier run left it
	load     time.Duration // 0 when kept
	rss, hep int64         // bytes after loading
	size     int64         // bytes of the database
}

func cleanupShared() {
	if million.db != nil {
		million.db.Close()
	}
	if million.dir != "" {
		os.RemoveAll(million.dir)
	}
}

// loadMillion imports 1 000 000 synthetic incidents spread over the world.
func loadMillion() {
	const n = 1000000
	path := os.Getenv("NEXUS_MILLION_DB")
	if path == "" {
		million.dir, million.err = os.MkdirTemp("", "nexus-bench-")
		if million.err != nil {
			return
		}
		path = filepath.Join(million.dir, "million.db")
	} else if _, err := os.Stat(path); err == nil {
		million.kept = true
	}
	million.db, million.err = store.Open(path)
	if million.err != nil {
		return
	}
	if !million.kept {
		gen := storetest.NewSynth(1e6, "million")
		start := time.Now()
		for k := 0; k < n; k += geo.ImportBatchSize {
			if _, million.err = million.db.ImportBatch(context.Background(), "bench", gen.Incidents(geo.ImportBatchSize)); million.err != nil {
				return
			}
		}
		million.load = time.Since(start)
	}
	runtime.GC()
	debug.FreeOSMemory() // garbage of earlier benchmarks is not this one's resident memory
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	million.rss, million.hep = vmRSS(), int64(ms.HeapAlloc)
	million.size, million.err = million.db.Size(context.Background())
}

// vmRSS reads the resident set size of this process, in bytes.
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// BenchmarkBBoxQuery1M times store.Query for a box holding about 1 000 of
// 1 000 000 incidents beside a bare R*Tree query of the same box, through
// the same read pool, and reports the memory after loading.
func BenchmarkBBoxQuery1M(b *testing.B) {
	b.ReportAllocs()
	million.once.Do(loadMillion)
	if million.err != nil {
		b.Fatal(million.err)
	}
	db := million.db
	ctx := context.Background()
	// 8° × 8.1° is 1/1000 of the lon-lat plane the points are uniform in.
	box := geo.BBox{W: -75, S: 0, E: -67, N: 8.1}
	f := geo.NewFilter()
	f.BBox = &box
	const rtree = "SELECT id FROM boxes WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"
	bare := func() int {
		rows, err := db.ReadPool().QueryContext(ctx, rtree, box.E, box.W, box.N, box.S)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		k := 0
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				b.Fatal(err)
			}
			k++
		}
		return k
	}
	query := func() int {
		p, err := db.Query(ctx, geo.Incidents, f, 0, 10000)
		if err != nil {
			b.Fatal(err)
		}
		if p.Next != 0 || int64(len(p.Features)) != p.Matched {
			b.Fatalf("one page expected: %d features of %d", len(p.Features), p.Matched)
		}
		return len(p.Features)
	}
	// The floor of any query that returns features: the R*Tree candidates
	// joined to their rows, the features read, nothing else.
	const floorSQL = "SELECT r.feature FROM boxes b JOIN records r ON r.rid = b.id>>1 WHERE b.minx <= ? AND b.maxx >= ? AND b.miny <= ? AND b.maxy >= ?"
	floor := func() int {
		rows, err := db.ReadPool().QueryContext(ctx, floorSQL, box.E, box.W, box.N, box.S)
		if err != nil {
			b.Fatal(err)
		}
		defer rows.Close()
		k := 0
		for rows.Next() {
			var feature []byte
			if err := rows.Scan(&feature); err != nil {
				b.Fatal(err)
			}
			k++
		}
		return k
	}
	nq, nr, nf := query(), bare(), floor() // warm the cache
	const runs = 51
	var tq, tr, tf time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		qs, rs, fs := make([]time.Duration, runs), make([]time.Duration, runs), make([]time.Duration, runs)
		for k := range runs { // interleaved, so that a busy machine slows all three alike
			start := time.Now()
			query()
			qs[k] = time.Since(start)
			start = time.Now()
			bare()
			rs[k] = time.Since(start)
			start = time.Now()
			floor()
			fs[k] = time.Since(start)
		}
		slices.Sort(qs)
		slices.Sort(rs)
		slices.Sort(fs)
		tq, tr, tf = tq+qs[runs/2], tr+rs[runs/2], tf+fs[runs/2]
	}
	b.StopTimer()
	tq, tr, tf = tq/time.Duration(b.N), tr/time.Duration(b.N), tf/time.Duration(b.N)
	ratio := float64(tq) / float64(tr)
	b.ReportMetric(float64(tq.Microseconds())/1000, "query-ms")
	b.ReportMetric(float64(tr.Microseconds())/1000, "rtree-ms")
	b.ReportMetric(ratio, "x-vs-rtree")
	b.ReportMetric(float64(tq)/float64(tf), "x-vs-rtree+features")
	b.ReportMetric(float64(million.rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(million.hep)/(1<<20), "heap-MB")
	if million.kept {
		b.Logf("load: the 1000000 incidents of an earlier run (NEXUS_MILLION_DB)")
	} else {
		b.Logf("load: 1000000 incidents in %v (%.0f rec/s)", million.load.Round(time.Millisecond), 1e6/million.load.Seconds())
	}
	b.Logf("bbox query (%d of 1000000 incidents in %v): store.Query median %v, bare R*Tree median %v (%d ids), ratio %.2fx (goal 2x)",
		nq, box, tq, tr, nr, ratio)
	b.Logf("the same R*Tree query reading the %d features: median %v; store.Query is %.2fx that", nf, tf, float64(tq)/float64(tf))
	b.Logf("memory after loading 1000000 incidents: VmRSS %d MB, Go heap %.1f MB (SQLite's page caches and mmap are outside the Go heap); database %d MB",
		million.rss>>20, float64(million.hep)/(1<<20), million.size>>20)
}
