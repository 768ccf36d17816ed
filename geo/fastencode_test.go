package geo

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// encodingCases are strings encoding/json writes with escapes of every
// kind.
var encodingCases = []string{
	"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tline\nreturn\r",
	"\b\f\x00\x01\x1f\x7f", "line\u2028para\u2029", "bad \xff\xfe utf-8 \xc3", "Bogotá, Côte d’Ivoire 🚤",
	"\u00e9\u0301", "\xed\xa0\x80 surrogate",
}

// incidentOf makes an incident of the strings, the numbers and the times
// that pick, each field of its own.
func incidentOf(pick func(n int) int, s func() string) *Incident {
	times := []time.Time{{}, time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC),
		time.Date(2020, 1, 1, 0, 0, 0, 0, time.FixedZone("x", -5*3600)), time.Date(1999, 12, 31, 12, 0, 0, 500, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	list := func() []string {
		switch pick(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+pick(3))
		for i := range out {
			out[i] = s()
		}
		return out
	}
	num := func() *int64 {
		if pick(2) == 0 {
			return nil
		}
		n := int64(pick(1000)) - 10
		return &n
	}
	x := &Incident{Point: orb.Point{float64(pick(360)) - 180.5, float64(pick(180)) - 90.25},
		Title: s(), Summary: s(), Type: s(), Subtype: s(), Date: s(), Place: s(), Country: s(), Precision: s(),
		Actors: list(), Killed: num(), Wounded: num(), Tags: list(), ExternalID: s(), Sensitive: pick(2) == 0}
	switch pick(3) {
	case 0:
	case 1:
		x.Sources = []Source{}
	default:
		for range 1 + pick(3) {
			x.Sources = append(x.Sources, Source{Title: s(), URL: s(), Publisher: s(), Published: s()})
		}
	}
	x.ID, x.Version, x.Label = s(), int64(pick(3)), s()
	x.Created, x.Updated = times[pick(len(times))], times[pick(len(times))]
	return x
}

// TestEncodeIncidentAsEncodingJSON: EncodeFeature writes an incident byte
// for byte as encoding/json does, or refuses it as it does.
func TestEncodeIncidentAsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rng.IntN(n) }
	s := func() string {
		if pick(4) == 0 {
			return ""
		}
		return encodingCases[pick(len(encodingCases))]
	}
	fast := 0
	for i := range 20000 {
		x := incidentOf(pick, s)
		sameEncoding(t, i, x)
		if _, ok := appendIncident(nil, x); ok {
			fast++
		}
	}
	if fast < 5000 {
		t.Errorf("%d of 20000 incidents written without encoding/json, want every one with valid times (about 8 900)", fast)
	}
}

func sameEncoding(t *testing.T, i int, x *Incident) {
	t.Helper()
	got, gotErr := EncodeFeature(x)
	want, wantErr := encodeFeature(x)
	if (gotErr != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("incident %d:\n got %s (%v)\nwant %s (%v)", i, got, gotErr, want, wantErr)
	}
}

// FuzzEncodeIncident: EncodeFeature writes any text of an incident as
// encoding/json does.
func FuzzEncodeIncident(f *testing.F) {
	for _, c := range encodingCases {
		f.Add(c, uint64(7))
	}
	f.Fuzz(func(t *testing.T, text string, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, seed>>1))
		pick := func(n int) int { return rng.IntN(n) }
		s := func() string {
			if pick(2) == 0 {
				return text[:pick(len(text)+1)]
			}
			return text
		}
		sameEncoding(t, 0, incidentOf(pick, s))
	})
}
