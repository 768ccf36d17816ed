package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"math"
	"reflect"
	"strconv"
	"testing"

	"github.com/paulmach/orb"

	"nexus/data"
	"nexus/geo"
)

// testSampleRoundTrip stores every sample record and reads it back: the
// same properties, and the same float64 bits for every coordinate.
func testSampleRoundTrip(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		file string
		coll geo.Collection
	}{
		{"incidents", "sample/incidents.geojson", geo.Incidents},
		{"routes", "sample/routes.geojson", geo.Routes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, err := fs.ReadFile(data.Sample, tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var fc struct {
				Type     string            `json:"type"`
				Features []json.RawMessage `json:"features"`
			}
			if err := json.Unmarshal(file, &fc); err != nil || fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
				t.Fatalf("%s is not a FeatureCollection with features (%v)", tc.file, err)
			}
			for i, raw := range fc.Features {
				in, err := geo.DecodeFeature(tc.coll, raw)
				if err != nil {
					t.Fatalf("feature %d: %v", i, err)
				}
				created, err := db.Create(ctx, "sample", in)
				if err != nil {
					t.Fatalf("feature %d: %v", i, err)
				}
				got, err := db.Get(ctx, tc.coll, created.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Feature, created.Feature) || got.Version != 1 {
					t.Errorf("feature %d: Get returns version %d and other bytes than Create", i, got.Version)
				}
				out, err := geo.DecodeFeature(tc.coll, got.Feature)
				if err != nil {
					t.Fatalf("feature %d: the stored feature does not decode: %v", i, err)
				}
				if m := out.Base(); m.ID != created.ID || m.Version != 1 || m.Created.IsZero() || !m.Updated.Equal(m.Created) {
					t.Errorf("feature %d: server fields id %q version %d created %v updated %v", i, m.ID, m.Version, m.Created, m.Updated)
				}

				want, _ := geo.DecodeFeature(tc.coll, raw)
				for _, r := range []geo.Record{want, out} {
					r.Normalize(nil)
					*r.Base() = geo.Meta{}
				}
				if !reflect.DeepEqual(out, want) {
					a, _ := json.Marshal(want)
					b, _ := json.Marshal(out)
					t.Errorf("feature %d: properties differ\nin:  %s\nout: %s", i, a, b)
				}

				// Coordinates: the file's own decimal text, parsed here, has
				// the same float64 bits as what came out.
				fileNums := fileCoordinates(t, raw)
				var outNums []float64
				geo.EachVertex(out.Geometry(), func(p orb.Point) { outNums = append(outNums, p[0], p[1]) })
				if len(fileNums) != len(outNums) {
					t.Fatalf("feature %d: %d numbers in the file, %d out", i, len(fileNums), len(outNums))
				}
				for k := range fileNums {
					if math.Float64bits(fileNums[k]) != math.Float64bits(outNums[k]) {
						t.Errorf("feature %d: coordinate %d is %v in the file and %v out", i, k, fileNums[k], outNums[k])
					}
				}
			}
			t.Logf("%d features round-trip", len(fc.Features))
		})
	}
}

// fileCoordinates returns the numbers of a Feature's coordinates in order,
// parsed from their text without going through geo.
func fileCoordinates(t *testing.T, feature []byte) []float64 {
	t.Helper()
	var f struct {
		Geometry struct {
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	}
	if err := json.Unmarshal(feature, &f); err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(f.Geometry.Coordinates))
	d.UseNumber()
	var out []float64
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if n, ok := tok.(json.Number); ok {
			v, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}
