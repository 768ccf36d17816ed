package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
)

const benchRecords = 5000

// benchGeoJSON is a FeatureCollection of n incidents.
func benchGeoJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type": "FeatureCollection", "features": [` + "\n")
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"type": "Feature", "geometry": {"type": "Point", "coordinates": [%v, %v]}, "properties": {"title": "Incident %d", "type": "attack", "date": "2020-01-02", "actors": ["ELN"], "killed": 1, "external_id": "bench:%d", "summary": "An armed group attacked a police post on the road."}}`,
			-78+float64(i%1000)/1000, 1+float64(i%997)/1000, i, i)
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

// benchACLED is an ACLED export of n events.
func benchACLED(tb testing.TB, n int) []byte {
	data := readFile(tb, "acled.csv")
	header, rest, _ := bytes.Cut(data, []byte("\n"))
	row, _, _ := bytes.Cut(rest, []byte("\n"))
	var b bytes.Buffer
	b.Write(header)
	b.WriteByte('\n')
	for i := range n {
		b.Write(bytes.Replace(row, []byte("COL1001"), fmt.Appendf(nil, "COL%d", 100000+i), 1))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// discard is a Batcher that writes nothing: it measures decoding alone.
type discard struct{}

func (discard) ImportBatch(_ context.Context, _ string, recs []geo.Record) ([]geo.ImportResult, error) {
	return make([]geo.ImportResult, len(recs)), nil
}

func benchImport(b *testing.B, data []byte, intoStore bool) {
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		var dst Batcher = discard{}
		var db *store.DB
		if intoStore {
			b.StopTimer()
			var err error
			if db, err = store.Open(filepath.Join(b.TempDir(), fmt.Sprintf("%d.db", i))); err != nil {
				b.Fatal(err)
			}
			dst = db
			b.StartTimer()
		}
		rep, err := Import(context.Background(), dst, bytes.NewReader(data), Options{})
		if err != nil || rep.Created != benchRecords {
			b.Fatal(rep, err)
		}
		if db != nil {
			b.StopTimer()
			db.Close()
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(benchRecords*b.N), "cpu-ns/record")
}

func BenchmarkDecodeGeoJSON(b *testing.B) { benchImport(b, benchGeoJSON(benchRecords), false) }
func BenchmarkDecodeACLED(b *testing.B)   { benchImport(b, benchACLED(b, benchRecords), false) }
func BenchmarkImportGeoJSON(b *testing.B) { benchImport(b, benchGeoJSON(benchRecords), true) }
func BenchmarkImportACLED(b *testing.B)   { benchImport(b, benchACLED(b, benchRecords), true) }

// benchIncidents is a FeatureCollection of n synthetic incidents in the
// shape `make bench` imports (one feature a line, as the import benchmark
// of the server writes them).
func benchIncidents(n int) []byte {
	types := geo.IncidentTypes
	actors := []string{"ISIS", "Hezbollah", "Los Zetas", "Sinaloa Cartel", "Clan del Golfo", "FARC dissidents", "ELN", "AQIM", "CJNG", "PCC"}
	countries := []string{"CO", "MX", "VE", "EC", "PE", "GN", "GW", "SN", "ML", "ES", "NL", "US", "BR", "PA", "HN"}
	rng := rand.New(rand.NewPCG(42, 1))
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		lon, lat := -120+rng.Float64()*140, -40+rng.Float64()*95
		typ, actor := types[rng.IntN(len(types))], actors[rng.IntN(len(actors))]
		killed := "null"
		if rng.IntN(3) > 0 {
			killed = strconv.Itoa(rng.IntN(20))
		}
		fmt.Fprintf(&b, "\n"+`{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},"properties":{"title":"Synthetic incident %d","summary":"A %s attributed to %s, generated for the benchmark.","type":%q,"date":"%04d-%02d-%02d","country":%q,"precision":"exact","actors":[%q],"killed":%s,"wounded":null,"sources":[{"title":"Synthetic source","url":"https://example.org/%d"}],"tags":["synthetic"],"external_id":"synth:%d"}}`,
			strconv.FormatFloat(lon, 'g', -1, 64), strconv.FormatFloat(lat, 'g', -1, 64), i, typ, actor, typ,
			1990+rng.IntN(35), 1+rng.IntN(12), 1+rng.IntN(28), countries[rng.IntN(len(countries))], actor, killed, i, i)
	}
	b.WriteString("\n]}\n")
	return b.Bytes()
}

// BenchmarkDecodeIncidents200k reads and decodes, writing nothing, the
// 200 000 incidents of the import benchmark: the cost of the decoder
// per feature, in time, bytes and allocations.
func BenchmarkDecodeIncidents200k(b *testing.B) {
	const n = 200000
	data := benchIncidents(n)
	b.SetBytes(int64(len(data)))
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Import(context.Background(), discard{}, bytes.NewReader(data), Options{})
		if err != nil || rep.Created != n {
			b.Fatal(rep, err)
		}
	}
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	runtime.ReadMemStats(&m1)
	per := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/feature")
	b.ReportMetric(float64(cpu.Nanoseconds())/per, "cpu-ns/feature")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/per, "B/feature")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/per, "allocs/feature")
	b.ReportMetric(float64(m1.NumGC-m0.NumGC)/float64(b.N), "GCs/op")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
