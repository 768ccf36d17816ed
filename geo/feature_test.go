package geo

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func int64p(n int64) *int64 { return &n }

// amia is an incident with every property set, as the server stores it.
func amia() *Incident {
	return &Incident{
		Meta: Meta{
			ID:      "01J9Z3AMIA000000000000000",
			Version: 3,
			Created: time.Date(2024, 5, 1, 12, 30, 0, 123456789, time.UTC),
			Updated: time.Date(2024, 5, 2, 8, 0, 0, 0, time.UTC),
		},
		Point:      orb.Point{-58.3994, -34.6025},
		Title:      "Bombing of the AMIA building",
		Summary:    "A van loaded with explosives destroyed the Jewish community centre.\n85 killed.",
		Type:       "attack",
		Subtype:    "Bombing/Explosion",
		Date:       "1994-07-18",
		Place:      "Pasteur 633, Buenos Aires",
		Country:    "AR",
		Precision:  "exact",
		Actors:     []string{"Hezbollah", "Islamic Jihad Organization"},
		Killed:     int64p(85),
		Wounded:    nil,
		Sources:    []Source{{Title: "AMIA bombing <report>", URL: "https://example.org/amia?a=1&b=2", Publisher: "Example", Published: "1994-07-19"}},
		Tags:       []string{"bomb", "Triple Frontier"},
		ExternalID: "gtd:199407180002",
	}
}

// highway10 is a route with every property set, as the server stores it.
func highway10() *Route {
	return &Route{
		Meta: Meta{
			ID:      "01J9Z3HW10000000000000000",
			Version: 1,
			Created: time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC),
			Updated: time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC),
		},
		Line:       orbLine(-75.5, 10.4, -15.6, 11.9, -6.3, 36.5),
		Name:       "Highway 10",
		Commodity:  "cocaine",
		Mode:       "sea",
		Waypoints:  []string{"Cartagena", "Bissau", "Cádiz"},
		Actors:     []string{"Clan del Golfo"},
		Sources:    []Source{{Title: "UNODC report", URL: "https://example.org/unodc"}},
		Tags:       []string{"atlantic"},
		ExternalID: "route:hw10",
		Summary:    "Mother ships cross the Atlantic along the 10th parallel.",
		ActiveFrom: "2005",
		ActiveTo:   "2012-06",
		Confidence: "medium",
		Countries:  []string{"CO", "GW", "ES"},
	}
}

// roundTrip encodes a record and decodes it back.
func roundTrip(t *testing.T, r Record) Record {
	t.Helper()
	b, err := EncodeFeature(r)
	if err != nil {
		t.Fatalf("EncodeFeature: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("EncodeFeature wrote invalid JSON: %s", b)
	}
	back, err := DecodeFeature(r.Collection(), b)
	if err != nil {
		t.Fatalf("DecodeFeature(%s): %v", b, err)
	}
	return back
}

// sameBits reports the first coordinate whose float64 bits differ.
func sameBits(t *testing.T, want, got orb.Geometry) {
	t.Helper()
	var a, b []orb.Point
	EachVertex(want, func(p orb.Point) { a = append(a, p) })
	EachVertex(got, func(p orb.Point) { b = append(b, p) })
	if len(a) != len(b) {
		t.Fatalf("%d positions came back as %d", len(a), len(b))
	}
	for i := range a {
		for k := 0; k < 2; k++ {
			if math.Float64bits(a[i][k]) != math.Float64bits(b[i][k]) {
				t.Errorf("position %d[%d]: %v (%#x) came back as %v (%#x)", i, k, a[i][k], math.Float64bits(a[i][k]), b[i][k], math.Float64bits(b[i][k]))
			}
		}
	}
}

func TestFeatureRoundTrip(t *testing.T) {
	tricky := []struct {
		name string
		v    float64
	}{
		{"0.1+0.2", 0.1 + 0.2},
		{"1e-7", 1e-7},
		{"-1e-7", -1e-7},
		{"just inside -180", -179.99999999999997},
		{"the smallest subnormal 5e-324", 5e-324},
		{"just below 90", 89.99999999999999},
		{"negative zero", math.Copysign(0, -1)},
		{"zero", 0},
		{"180", 180},
		{"-90", -90},
		{"a third", 1.0 / 3},
		{"1e-6 where the format changes", 1e-6},
		{"just below 1e-6", math.Nextafter(1e-6, 0)},
		{"many digits", -74.07211234567891},
	}
	for _, tc := range tricky {
		t.Run("coordinate "+tc.name, func(t *testing.T) {
			lat := tc.v
			if math.Abs(lat) > 90 {
				lat = 45
			}
			in := &Incident{Point: orb.Point{tc.v, lat}, Title: "x", Type: "other", Date: "2020"}
			sameBits(t, in.Point, roundTrip(t, in).Geometry())

			ls := orb.LineString{{tc.v, lat}, {tc.v / 2, -lat / 3}, {10, 10}}
			r := &Route{Line: ls, Name: "x", Commodity: "other"}
			sameBits(t, ls, roundTrip(t, r).Geometry())
		})
	}

	records := []struct {
		name string
		r    Record
	}{
		{"incident with every property", amia()},
		{"incident with null killed and no lists", &Incident{Point: orb.Point{-74.06, 4.65}, Title: "Plot against diplomats", Type: "plot", Date: "2018"}},
		{"incident with zero killed", &Incident{Point: orb.Point{1, 2}, Title: "x", Type: "arrest", Date: "2020-01", Killed: int64p(0), Wounded: int64p(0)}},
		{"incident with text that needs escaping", &Incident{Point: orb.Point{1, 2}, Title: "\"quoted\" <b>bold</b> & \u2028 \\ é 日本", Type: "other", Date: "2020"}},
		{"route with every property", highway10()},
		{"route across the antimeridian", &Route{Line: orbLine(121.5, 25, 179.99999999999997, 30, -150, 35), Name: "x", Commodity: "fentanyl", Countries: []string{"TW", "MX"}}},
		{"route as a MultiLineString", &Route{Line: orb.MultiLineString{orbLine(-75.5, 10.4, -15.6, 11.9), orbLine(-15.6, 11.9, -6.3, 36.5)}, Name: "x", Commodity: "cocaine", Waypoints: []string{"a", "b", "c", "d"}}},
	}
	for _, tc := range records {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Normalize(nil)
			if err := tc.r.Validate(); err != nil {
				t.Fatalf("the record is not valid: %v", err)
			}
			back := roundTrip(t, tc.r)
			back.Normalize(nil)
			if !reflect.DeepEqual(tc.r, back) {
				t.Errorf("round trip changed the record\nwant %#v\ngot  %#v", tc.r, back)
			}
			sameBits(t, tc.r.Geometry(), back.Geometry())
			if *back.Base() != *tc.r.Base() {
				t.Errorf("server fields %+v came back as %+v", *tc.r.Base(), *back.Base())
			}
		})
	}

	t.Run("server fields survive", func(t *testing.T) {
		back := roundTrip(t, amia()).(*Incident)
		want := amia().Meta
		if back.ID != want.ID || back.Version != want.Version || !back.Created.Equal(want.Created) || !back.Updated.Equal(want.Updated) {
			t.Errorf("id, version, created, updated = %q, %d, %v, %v; want %q, %d, %v, %v",
				back.ID, back.Version, back.Created, back.Updated, want.ID, want.Version, want.Created, want.Updated)
		}
	})

	t.Run("a route's countries survive", func(t *testing.T) {
		back := roundTrip(t, highway10()).(*Route)
		if !reflect.DeepEqual(back.Countries, []string{"CO", "GW", "ES"}) {
			t.Errorf("countries = %q", back.Countries)
		}
	})

	t.Run("null killed stays null", func(t *testing.T) {
		b, err := EncodeFeature(&Incident{Point: orb.Point{1, 2}, Title: "x", Type: "attack", Date: "2020"})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"killed":null`)) || !bytes.Contains(b, []byte(`"wounded":null`)) {
			t.Errorf("unknown casualties must be written as null: %s", b)
		}
	})
}

// TestEncodeFeatureGolden pins the GeoJSON the server writes. Run with
// -update to rewrite testdata/*.geojson after a deliberate change.
func TestEncodeFeatureGolden(t *testing.T) {
	cases := []struct {
		name string
		r    Record
	}{
		{"incident", amia()},
		{"route", highway10()},
		{"route-antimeridian", &Route{Meta: Meta{ID: "01J9Z3PAC0000000000000000", Version: 2}, Line: orbLine(121.5654, 25.033, 179.99999999999997, 30, -106.4111, 23.2494), Name: "Precursors to Sinaloa", Commodity: "fentanyl", Mode: "sea", Confidence: "low", ActiveFrom: "2019"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Normalize(nil)
			b, err := EncodeFeature(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, b, "", "  "); err != nil {
				t.Fatalf("EncodeFeature wrote invalid JSON: %v\n%s", err, b)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tc.name+".geojson")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./geo -run TestEncodeFeatureGolden -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), golden) {
				t.Errorf("EncodeFeature differs from %s (run with -update after a deliberate change)\ngot:\n%s", path, pretty.Bytes())
			}
			// The golden file, as a client would send it back, is the same record.
			back, err := decodeAndValidate(tc.r.Collection(), string(golden))
			if err != nil {
				t.Fatalf("the golden file does not decode: %v", err)
			}
			back.Normalize(nil)
			if !reflect.DeepEqual(back, tc.r) {
				t.Errorf("the golden file decodes to %#v, want %#v", back, tc.r)
			}
		})
	}
}

// TestDecodeFeatureID checks the Feature's top-level id, chosen by the server.
func TestDecodeFeatureID(t *testing.T) {
	cases := []struct {
		name string
		id   string // the JSON of the id member, or "" for none
		want string
	}{
		{"a string id", `"01J9Z3AMIA"`, "01J9Z3AMIA"},
		{"no id", ``, ""},
		{"a null id", `null`, ""},
		{"a number id is not ours and is dropped", `42`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := incident(nil)
			if tc.id != "" {
				text = strings.Replace(text, `{"type":"Feature",`, `{"type":"Feature","id":`+tc.id+`,`, 1)
			}
			r, err := decodeAndValidate(Incidents, text)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Base().ID; got != tc.want {
				t.Errorf("ID = %q, want %q", got, tc.want)
			}
		})
	}
}

// Text is stored as it was written: no HTML escapes that would make a
// record of <, > and & six times its size.
func TestEncodeFeatureKeepsTextAsText(t *testing.T) {
	summary := strings.Repeat("<b>&</b>", 2000)
	r := &Incident{Point: orb.Point{1, 2}}
	r.Title, r.Type, r.Date, r.Summary = "A <script> & co", "attack", "2020", summary
	b, err := EncodeFeature(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`\u003c`)) || len(b) > len(summary)+400 {
		t.Fatalf("encoded %d bytes for a %d-byte summary: %.200s", len(b), len(summary), b)
	}
	back, err := DecodeFeature(Incidents, b)
	if err != nil || back.(*Incident).Summary != summary || back.(*Incident).Title != r.Title {
		t.Fatalf("round trip: %v", err)
	}
}
