package storetest

import (
	"strings"
	"testing"

	"nexus/geo"
)

// LoadInput is a GeoJSON file for the load tests, imported in batches of
// LoadBatch: incidents (some sensitive) and routes (some across the
// antimeridian), one revised within the first batch, then, in later
// batches, new versions of some of them, unchanged repeats of others and
// an invalid feature. It returns the
// file and how many records it makes.
func LoadInput(t testing.TB) (string, int) {
	t.Helper()
	gen := NewSynth(13, "load:")
	recs := append(gen.Incidents(600), gen.Routes(40)...)
	for i, r := range recs {
		if inc, ok := r.(*geo.Incident); ok && i%97 == 0 {
			inc.Sensitive = true
		}
	}
	var fs []string
	add := func(r geo.Record) {
		b, err := geo.EncodeFeature(r)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, string(b))
	}
	for i, r := range recs {
		add(r)
		if i == 10 { // revised within its batch
			r.(*geo.Incident).Title += " (corrected)"
			add(r)
		}
	}
	for i := 0; i < len(recs); i += 9 { // new versions
		switch r := recs[i].(type) {
		case *geo.Incident:
			r.Title += " (revised)"
		case *geo.Route:
			r.Name += " (revised)"
		}
		add(recs[i])
	}
	for i := 5; i < len(recs); i += 31 { // unchanged repeats
		add(recs[i])
	}
	fs = append(fs, `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.1,4.6]},"properties":{"external_id":"load:bad","title":"bad date","type":"attack","date":"2020-13-40"}}`)
	for i := 0; i < len(recs); i += 50 { // revised twice, words dropped
		switch r := recs[i].(type) {
		case *geo.Incident:
			r.Summary = "Revised again."
		case *geo.Route:
			r.Name += " again"
			r.Summary = "Revised again."
		}
		add(recs[i])
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",\n") + "]}", len(recs)
}

// LoadBatch is the batch size the load tests import LoadInput with.
const LoadBatch = 120
