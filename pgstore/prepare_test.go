package pgstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"nexus/geo"
	"nexus/store/storetest"
)

// benchBatch is a batch of n incidents as an import reads them, one in
// ten sensitive.
func benchBatch(tb testing.TB, n int) []geo.Record {
	types := []string{"attack", "seizure", "kidnapping", "assassination"}
	actors := []string{"ELN", "Sinaloa Cartel", "Clan del Golfo", "ISIS"}
	recs := make([]geo.Record, n)
	for i := range recs {
		typ, actor := types[i%len(types)], actors[i%len(actors)]
		r, err := geo.DecodeFeature(geo.Incidents, fmt.Appendf(nil, `{"type":"Feature","geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{"title":"Synthetic incident %d","summary":"A %s attributed to %s, generated for the benchmark.","type":"%s","date":"2013-03-18","country":"VE","precision":"exact","actors":["%s"],"killed":%d,"wounded":null,"sources":[{"title":"Synthetic source","url":"https://example.org/%d"}],"tags":["synthetic"],"external_id":"synth:%d","sensitive":%t}}`,
			-78+float64(i%1000)/1000, 1+float64(i%997)/1000, i, typ, actor, typ, actor, i%20, i, i, i%10 == 0))
		if err != nil {
			tb.Fatal(err)
		}
		recs[i] = r
	}
	return recs
}

// BenchmarkPrepareAll works out what a batch of 10 000 incidents writes
// before its transaction.
func BenchmarkPrepareAll(b *testing.B) {
	recs := benchBatch(b, 10000)
	db := &DB{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.prepareAll(recs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRowsAsMarshalled: the rows of a record are, byte for byte, the EWKB
// ewkb.Marshal writes of its geometry, coarse geometry and boxes, the
// tsvector of its words sorted and each once, and its keys once in any
// case, for incidents (sensitive or not) and routes (across the
// antimeridian too).
func TestRowsAsMarshalled(t *testing.T) {
	gen := storetest.NewSynth(5, "rows:")
	recs := append(benchBatch(t, 200), gen.Incidents(300)...)
	recs = append(recs, gen.Routes(100)...)
	for i, r := range recs {
		switch r := r.(type) {
		case *geo.Incident:
			if i%3 == 0 {
				r.Sensitive = true
				r.Actors = append(r.Actors, strings.ToUpper(r.Actors[0]), "Ǆemal", "ǆemal", "K", "k", "Straße")
			}
			if i%7 == 0 {
				// Words longer than a lexeme, cut inside a character or not.
				long := strings.Repeat("é", 1000)
				r.Summary += " " + long + "x " + long + "y " + "a" + long + "z " + strings.Repeat("ab", 1001)
			}
		case *geo.Route:
			r.Sensitive = i%2 == 0
		}
	}
	for _, r := range recs {
		r.Normalize(nil)
		k := r.Keys()
		var got rows
		if err := got.fill(r, k); err != nil {
			t.Fatal(err)
		}
		marshal := func(g orb.Geometry) []byte {
			b, err := ewkb.Marshal(g, 4326)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if want := marshal(r.Geometry()); !bytes.Equal(got.geom, want) {
			t.Fatalf("geom %x, want %x", got.geom, want)
		}
		var coarse []byte
		if geo.IsSensitive(r) {
			coarse = marshal(geo.Coarsened(r).Geometry())
		}
		if !bytes.Equal(got.coarse, coarse) {
			t.Fatalf("coarse %x, want %x", got.coarse, coarse)
		}
		boxes := slices.Clone(k.Boxes)
		var viewers []orb.Bound
		if geo.IsSensitive(r) {
			viewers = geo.Coarsened(r).Keys().Boxes
		}
		if len(got.boxes) != len(boxes)+len(viewers) || len(got.row.boxes) != len(got.boxes) {
			t.Fatalf("%d boxes, want %d", len(got.boxes), len(boxes)+len(viewers))
		}
		for i, b := range append(boxes, viewers...) {
			ib := got.row.boxes[i]
			if ib.Bound != b || ib.editors != (i < len(boxes)) || ib.viewers != (i >= len(boxes) || !geo.IsSensitive(r)) {
				t.Fatalf("box %d: %+v, want %v", i, ib, b)
			}
			if want := marshal(envelope(b)); !bytes.Equal(got.boxes[i], want) {
				t.Fatalf("box %d: %x, want %x", i, got.boxes[i], want)
			}
		}
		words := lexemes(k.Text)
		slices.Sort(words)
		words = slices.Compact(words)
		want := binary.BigEndian.AppendUint32(nil, uint32(len(words)))
		for _, w := range words {
			want = append(append(want, w...), 0, 0, 0)
		}
		if !bytes.Equal(got.words, want) {
			t.Fatalf("words %q, want %q", got.words, want)
		}
		seen := map[string]bool{}
		var keys [][2]string
		for _, kv := range [][2]any{{"actor", k.Actors}, {"country", k.Countries}} {
			for _, v := range kv[1].([]string) {
				if lk := kv[0].(string) + "\x00" + strings.ToLower(v); !seen[lk] {
					seen[lk] = true
					keys = append(keys, [2]string{kv[0].(string), v})
				}
			}
		}
		if !slices.Equal(got.keys, keys) {
			t.Fatalf("keys %q, want %q", got.keys, keys)
		}
		if got.ext != k.ExternalID || got.kind != k.Kind || got.t0 != k.Span.Start || got.t1 != k.Span.End {
			t.Fatalf("row %+v of keys %+v", got.row, k)
		}
	}
}

// TestKeyCopiesInIndexOrder: keyCopies writes the keys sorted by key,
// lvalue and rid, 65 536 rows a COPY, whatever order they are held in.
// (No two rows have the same key, lvalue and rid.)
func TestKeyCopiesInIndexOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := []string{"ELN", "eln", "Eln", "FARC", "Clan del Golfo", "CO", "VE", "Straße", "STRASSE", "ǅemal", ""}
	var keys []keyRow
	for n := int64(1); n <= 150000; n++ {
		rid := n
		if n%1000 == 0 {
			// A record replaced: its keys again, later (holdKeys).
			rid -= 700
			keys = slices.DeleteFunc(keys, func(k keyRow) bool { return k.rid == rid })
		}
		held := len(keys)
		for range rng.IntN(3) {
			k := keyRow{key: []string{"actor", "country"}[rng.IntN(2)], value: values[rng.IntN(len(values))], rid: rid}
			k.lvalue = lowerASCII(k.value)
			// A record names a value once in any case (rowOf).
			if !slices.ContainsFunc(keys[held:], func(o keyRow) bool { return o.key == k.key && o.lvalue == k.lvalue }) {
				keys = append(keys, k)
			}
		}
	}
	want := slices.Clone(keys)
	slices.SortStableFunc(want, func(a, b keyRow) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.lvalue, b.lvalue), cmp.Compare(a.rid, b.rid))
	})
	var got []byte
	for i, c := range keyCopies(keys) {
		if !bytes.HasPrefix(c, []byte(copyHeader)) {
			t.Fatalf("COPY %d has no header", i)
		}
		got = append(got, c[len(copyHeader):]...)
	}
	var wantData []byte
	for _, k := range want {
		c := copyBuf{}
		c.tuple(4)
		c.text(k.key)
		c.text(k.value)
		c.text(k.lvalue)
		c.int8(k.rid)
		wantData = append(wantData, c...)
	}
	if !bytes.Equal(got, wantData) {
		t.Fatal("the keys are not written in the order of their index")
	}
}

// TestSameLower: sameLower is strings.ToLower of both compared, for ASCII
// and other letters that lower-case alike or not.
func TestSameLower(t *testing.T) {
	words := []string{"", "a", "A", "ab", "AB", "aB", "abc", "ELN", "eln", "FARC", "K", "k", "\u212a", "Straße", "STRASSE", "straße", "ǅ", "ǆ", "Ǆ", "İ", "i̇", "\xff", "\xfe"}
	for _, a := range words {
		for _, b := range words {
			if got, want := sameLower(a, b), strings.ToLower(a) == strings.ToLower(b); got != want {
				t.Errorf("sameLower(%q, %q) = %v, want %v", a, b, got, want)
			}
		}
	}
}
