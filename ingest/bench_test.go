package ingest

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

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
}

func BenchmarkDecodeGeoJSON(b *testing.B) { benchImport(b, benchGeoJSON(benchRecords), false) }
func BenchmarkDecodeACLED(b *testing.B)   { benchImport(b, benchACLED(b, benchRecords), false) }
func BenchmarkImportGeoJSON(b *testing.B) { benchImport(b, benchGeoJSON(benchRecords), true) }
func BenchmarkImportACLED(b *testing.B)   { benchImport(b, benchACLED(b, benchRecords), true) }
