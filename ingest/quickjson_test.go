package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"nexus/geo"
)

// recorder is a Batcher that keeps the records it is handed, in order.
type recorder struct{ recs []geo.Record }

func (r *recorder) ImportBatch(_ context.Context, _ string, recs []geo.Record) ([]geo.ImportResult, error) {
	r.recs = append(r.recs, recs...)
	return make([]geo.ImportResult, len(recs)), nil
}

// importedWith imports data read through wrap, with or without the quick
// scanner, and returns all it gave: the report, the records, the error.
func importedWith(data []byte, slow bool, wrap func(io.Reader) io.Reader) (Report, []geo.Record, string) {
	rep, recs, msg, _ := importedQuick(data, slow, wrap)
	return rep, recs, msg
}

// importedQuick is importedWith that also says how many features the
// quick scanner read.
func importedQuick(data []byte, slow bool, wrap func(io.Reader) io.Reader) (Report, []geo.Record, string, int64) {
	dst := &recorder{}
	im := newImporter(context.Background(), dst, Options{BatchSize: 3})
	im.slowJSON = slow
	err := im.run(wrap(bytes.NewReader(data)))
	msg := ""
	if err != nil {
		msg = fmt.Sprintf("%s: %v", geo.ErrorCode(err), err)
	}
	return im.rep, dst.recs, msg, im.quick
}

// sameAsDecoder fails the test unless the quick scanner, whatever the
// size of the reads, imports data exactly as the json.Decoder alone does.
func sameAsDecoder(t *testing.T, data []byte) {
	t.Helper()
	wantRep, wantRecs, wantErr := importedWith(data, true, func(r io.Reader) io.Reader { return r })
	for _, wrap := range []func(io.Reader) io.Reader{
		func(r io.Reader) io.Reader { return r },
		iotest.OneByteReader,
		iotest.HalfReader,
	} {
		rep, recs, err := importedWith(data, false, wrap)
		if err != wantErr {
			t.Fatalf("error %q, the json.Decoder alone gives %q\n%q", err, wantErr, data)
		}
		if !reflect.DeepEqual(rep, wantRep) {
			t.Fatalf("report %+v, the json.Decoder alone gives %+v\n%q", rep, wantRep, data)
		}
		if !reflect.DeepEqual(recs, wantRecs) {
			t.Fatalf("%d records differ from the %d of the json.Decoder alone\n%q", len(recs), len(wantRecs), data)
		}
	}
}

// quickInputs are arrays of features, well and badly formed.
func quickInputs() []string {
	f := feature("q:1", "")
	g := feature("q:2", `"killed": 3, "summary": "caf\u00e9 \"x\" \\ \u00e9"`)
	return []string{
		`{"type":"FeatureCollection","features":[` + f + `,` + g + `]}`,
		`{"type":"FeatureCollection","features":[]}`,
		`{"type":"FeatureCollection","features":[ ] , "bbox": [1, 2, 3, 4], "type": "FeatureCollection"}`,
		"{\"features\":[\n" + f + "\n,\n" + g + "\n]\n,\"type\":\"FeatureCollection\"}\n",
		`[` + f + `, 1, null, "x", true, -0.5e+3, [], {}, {"type": "Feature"}]`,
		`[` + f + `,` + g + `,]`,
		`[` + f + `,,` + g + `]`,
		`[` + f + ` ` + g + `]`,
		`[` + f + `,` + g,
		`[` + f + `,` + g + `,`,
		`[` + f + `,01]`,
		`[` + f + `,1.]`,
		`[` + f + `,"\x01"]`,
		`[` + f + `,"\q"]`,
		`[` + f + `,"\u12"]`,
		`[` + f + `,[1 2]]`,
		`[` + f + `,{"a" 1}]`,
		`[` + f + `,{"a":1,}]`,
		`[` + f + `,{1:1}]`,
		`[` + f + `,tru]`,
		`[` + f + `,nul` + `]`,
		`[` + f + `]x`,
		`[` + f + `] [` + g + `]`,
		`[` + f + `]` + "\n" + g + "\n",
		`[` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `,` + f + `]`,
		`{"type":"FeatureCollection","features":{"a":1}}`,
		`{"type":"FeatureCollection","features":[` + f + `,` + strings.Replace(g, `"Feature"`, `"Feature" "x"`, 1) + `,` + f + `]}`,
		"\x1E[" + f + "]\n\x1E[" + g + ",\n\x1E[" + f + "]\n",
		`{"type":"FeatureCollection","features":[` + f + `,` + "{\"type\":\"Feature\",\"properties\":{\"title\":\"caf\xe9\"}}" + `]}`,
	}
}

// TestQuickElements checks that arrays of features are read by the quick
// scanner as by the json.Decoder alone, also across chunks and with reads
// of any size.
func TestQuickElements(t *testing.T) {
	for _, in := range quickInputs() {
		sameAsDecoder(t, []byte(in))
	}
	big := benchIncidents(1500) // several chunks
	sameAsDecoder(t, big)
	sameAsDecoder(t, big[:len(big)/2])
	// Features the json.Decoder reads, between ones the quick scanner reads.
	huge := feature("q:huge", `"summary": "`+strings.Repeat("z", 2*maxQuickFeature)+`"`)
	deep := strings.Repeat("[", maxQuickDepth+1) + strings.Repeat("]", maxQuickDepth+1)
	mixed := `{"type":"FeatureCollection","features":[` + feature("q:1", "") + "," + huge + "," + feature("q:2", "") + "," + deep + "," + feature("q:3", "") + "]}"
	rep, _, err, quick := importedQuick([]byte(mixed), false, func(r io.Reader) io.Reader { return r })
	if err != "" || rep.Created != 3 || rep.RejectedCount != 2 || quick != 3 {
		t.Fatalf("report %+v, %d read by the quick scanner, error %q", rep, quick, err)
	}
	sameAsDecoder(t, []byte(mixed))
	for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.HalfReader} {
		rep, recs, err, quick := importedQuick(big, false, wrap)
		if err != "" || rep.Created != 1500 || len(recs) != 1500 || quick != 1500 {
			t.Fatalf("report %+v, %d records, %d read by the quick scanner, error %q", rep, len(recs), quick, err)
		}
	}
}

// FuzzQuickElements holds the quick scanner to the json.Decoder: the same
// report, records and error for any input.
func FuzzQuickElements(f *testing.F) {
	for _, in := range quickInputs() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsDecoder(t, data) })
}

// TestSourceHash pins the source hash: records written by earlier
// versions are known unchanged only if it never changes.
func TestSourceHash(t *testing.T) {
	for _, c := range []struct{ label, text string }{{geojsonSource, feature("h:1", "")}, {"nexus csv 1\x00acled\x00a\x00b", "x\x00y\x00"}, {"", ""}} {
		sum := sha256.Sum256([]byte(c.label + "\x00" + c.text))
		want := max(binary.BigEndian.Uint64(sum[:8]), 1)
		for range 3 {
			if got := sourceHash(c.label, []byte(c.text)); got != want {
				t.Fatalf("sourceHash(%q, %q) = %x, want %x", c.label, c.text, got, want)
			}
		}
	}
}
