package geo

import (
	"os"
	"reflect"
	"testing"
)

// quickCases are features of the shapes the quick path reads, and of
// shapes it must leave to the strict path.
func quickCases(t testing.TB) []string {
	cases := []string{
		incident(nil),
		incident(props{"killed": nil, "wounded": 3, "version": 2, "created": "2024-01-02T03:04:05.5+01:00", "updated": nil, "collection": "incidents"}),
		incident(props{"title": "Caf\u00e9 \"quoted\" \\ \n\t\u2028 <b>&amp;</b> \U0001F600", "sensitive": true, "sources": nil, "tags": []string{}}),
		incident(props{"actors": []string{"A", "B"}, "sources": []map[string]any{{"title": "t", "url": "https://a.example/x", "publisher": nil, "published": "2020-01-02"}}}),
		incidentAt(`{"coordinates":[-0,1e-7],"type":"Point"}`),
		incidentAt(`{"type":"Point","coordinates":[-74.05,4.66,3]}`),
		incidentAt(`{"type":"Point","coordinates":[1e400,4.66]}`),
		incidentAt(`{"type":"Point","coordinates":[null,1]}`),
		incidentAt(`{"type":"Point","coordinates":[01,1]}`),
		incidentAt(`{"type":"Point","coordinates":[181,1]}`),
		incidentAt(`{"type":"Point","coordinates":[1,2],"bbox":[1,2,1,2]}`),
		incidentAt(`{"type":"LineString","coordinates":[[1,2],[3,4]]}`),
		route(nil),
		route(props{"countries": []string{"CO"}, "sensitive": false, "version": 7}),
		routeAlong(`{"type":"MultiLineString","coordinates":[[[-10,0],[100,5],[170,10],[-170,20]],[[1,1],[2,2]]]}`, props{"waypoints": absent}),
		routeAlong(`{"type":"LineString","coordinates":[[1,2],[1,2]]}`, props{"waypoints": absent}),
		routeAlong(`{"type":"MultiLineString","coordinates":[]}`, props{"waypoints": absent}),
		routeAlong(lineOf(MaxVertices+1), props{"waypoints": absent}),
		`{"type":"Feature","id":"x\u00e9\n","bbox":[1,[2,{"a":null}],"\ud800"],"geometry":{"type":"Point","coordinates":[1,2]},"properties":null}`,
		`{"type":"Feature","id":12,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}`,
		`{"type":"Feature","id":"\ud83d\ude00","geometry":{"type":"Point","coordinates":[1,2]}}`,
		`{"type":"Feature","geometry":null,"properties":{"from":"A","to":"B","relation":"supply","date_from":"2020","tags":["x"],"sources":[{"title":"s"}]}}`,
		`{"type":"Feature","properties":{"from":"A","to":"B","relation":"alliance","collection":"links"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"a","title":"b"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"Title":"a","KILLED":1}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"tags":["a",null]}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"\xff"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"killed":1.5}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"killed":9223372036854775808}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"created":"2024-13-01T00:00:00Z"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"collection":"routes"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}} x`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}` + "\x00",
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"a\u0000b"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"extra":1}`,
		`{"type":"feature","geometry":{"type":"Point","coordinates":[1,2]}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":[]}`,
		` {"type":"Feature" , "geometry" : {"type":"Point","coordinates":[ 1 , 2 ]},"properties":{ } }` + "\n\t",
	}
	for _, name := range []string{"incident.geojson", "route.geojson", "route-antimeridian.geojson"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, string(b))
	}
	return cases
}

// TestDecodeFeatureQuick checks that the quick path gives, for every case
// and collection, the record the strict path gives when it takes the case,
// and that it takes the ordinary ones.
func TestDecodeFeatureQuick(t *testing.T) {
	taken := 0
	for _, text := range quickCases(t) {
		for _, c := range Collections {
			if sameAsStrict(t, c, []byte(text)) {
				taken++
			}
		}
	}
	for _, text := range []string{incident(nil), route(nil), `{"type":"Feature","geometry":null,"properties":{"from":"A","to":"B","relation":"supply"}}`,
		`{"type":"Feature","id":"x\u00e9\n","bbox":[1,[2,{"a":null}],"\ud800"],"geometry":{"type":"Point","coordinates":[1,2]},"properties":null}`} {
		ok := false
		for _, c := range Collections {
			_, q := decodeFeatureQuick(c, []byte(text))
			ok = ok || q
		}
		if !ok {
			t.Errorf("the quick path does not take %s", text)
		}
	}
	for _, r := range []Record{amia(), highway10()} {
		b, err := EncodeFeature(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := decodeFeatureQuick(r.Collection(), b); !ok {
			t.Errorf("the quick path does not take what EncodeFeature writes: %s", b)
		}
	}
	t.Logf("the quick path took %d of the cases", taken)
}

// sameAsStrict fails the test if the quick path takes data and gives
// anything but what the strict path gives; it reports whether it took it.
func sameAsStrict(t *testing.T, c Collection, data []byte) bool {
	t.Helper()
	quick, ok := decodeFeatureQuick(c, data)
	if !ok {
		return false
	}
	strict, err := decodeFeatureStrict(c, data)
	if err != nil {
		t.Fatalf("the quick path took a feature the strict path refuses (%v) as %s: %s", err, c, data)
	}
	if !reflect.DeepEqual(quick, strict) {
		t.Fatalf("the paths differ as %s on %s\nquick  %#v\nstrict %#v", c, data, quick, strict)
	}
	sameBits(t, strict.Geometry(), quick.Geometry())
	return true
}

// FuzzDecodeFeatureQuick holds the quick path to the strict one: whatever
// it takes, it reads as encoding/json does.
func FuzzDecodeFeatureQuick(f *testing.F) {
	for _, text := range quickCases(f) {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range Collections {
			sameAsStrict(t, c, data)
		}
	})
}

// BenchmarkDecodeFeature decodes one incident of the import benchmark's
// shape.
func BenchmarkDecodeFeature(b *testing.B) {
	data := []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-5.218549306327191,-33.42092529601177]},"properties":{"title":"Synthetic incident 0","summary":"A kidnapping attributed to ELN, generated for the benchmark.","type":"kidnapping","date":"1990-07-06","country":"GW","precision":"exact","actors":["ELN"],"killed":1,"wounded":null,"sources":[{"title":"Synthetic source","url":"https://example.org/0"}],"tags":["synthetic"],"external_id":"synth:0"}}`)
	for _, path := range []struct {
		name   string
		decode func(Collection, []byte) (Record, error)
	}{{"strict", decodeFeatureStrict}, {"quick", DecodeFeature}} {
		b.Run(path.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := path.decode(Incidents, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
