package api_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"nexus/geo"
	"nexus/store"
)

// Synthetic data shared by the tests and benchmarks of this package: the
// same seed gives the same records, so figures compare across runs.

var (
	synthActors    = []string{"ISIS", "Hezbollah", "Los Zetas", "Sinaloa Cartel", "Clan del Golfo", "FARC dissidents", "ELN", "AQIM", "CJNG", "PCC"}
	synthCountries = []string{"CO", "MX", "VE", "EC", "PE", "GN", "GW", "SN", "ML", "ES", "NL", "US", "BR", "PA", "HN"}
)

// synthIncident returns the i-th synthetic incident of the seed as a GeoJSON
// Feature. Coordinates are full-precision float64 values (they do not
// survive float32 or decimal rounding), spread over the Americas, West
// Africa and Europe.
func synthIncident(rng *rand.Rand, i int) []byte {
	lon := -120 + rng.Float64()*140 // -120 .. 20
	lat := -40 + rng.Float64()*95   // -40 .. 55
	typ := geo.IncidentTypes[rng.IntN(len(geo.IncidentTypes))]
	date := fmt.Sprintf("%04d-%02d-%02d", 1990+rng.IntN(35), 1+rng.IntN(12), 1+rng.IntN(28))
	actor := synthActors[rng.IntN(len(synthActors))]
	country := synthCountries[rng.IntN(len(synthCountries))]
	killed := "null"
	if rng.IntN(3) > 0 {
		killed = strconv.Itoa(rng.IntN(20))
	}
	b := []byte(`{"type":"Feature","geometry":`)
	b = geo.AppendGeometry(b, pointOf(lon, lat))
	b = fmt.Appendf(b, `,"properties":{"title":"Synthetic incident %d","summary":"A %s attributed to %s, generated for tests.","type":%q,"date":%q,"country":%q,"precision":"exact","actors":[%q],"killed":%s,"wounded":null,"sources":[{"title":"Synthetic source","url":"https://example.org/%d"}],"tags":["synthetic"],"external_id":"synth:%d"}}`,
		i, typ, actor, typ, date, country, actor, killed, i, i)
	return b
}

// synthRoute returns the i-th synthetic route as a GeoJSON Feature.
func synthRoute(rng *rand.Rand, i int) []byte {
	lon, lat := -80+rng.Float64()*20, -10+rng.Float64()*20
	b := []byte(`{"type":"Feature","geometry":{"type":"LineString","coordinates":[`)
	for k := 0; k < 4; k++ {
		if k > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "[%s,%s]", strconv.FormatFloat(lon, 'f', -1, 64), strconv.FormatFloat(lat, 'f', -1, 64))
		lon += 10 + rng.Float64()*10
		lat += rng.Float64()*8 - 2
	}
	commodity := geo.Commodities[rng.IntN(len(geo.Commodities))]
	b = fmt.Appendf(b, `]},"properties":{"name":"Synthetic route %d","commodity":%q,"mode":"sea","actors":[%q],"active_from":"2010","external_id":"synth-route:%d"}}`,
		i, commodity, synthActors[rng.IntN(len(synthActors))], i)
	return b
}

// synthRecords decodes n synthetic incidents and m routes.
func synthRecords(tb testing.TB, seed uint64, n, m int) []geo.Record {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	recs := make([]geo.Record, 0, n+m)
	for i := 0; i < n; i++ {
		r, err := geo.DecodeFeature(geo.Incidents, synthIncident(rng, i))
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, r)
	}
	for i := 0; i < m; i++ {
		r, err := geo.DecodeFeature(geo.Routes, synthRoute(rng, i))
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

// loadSynth writes n synthetic incidents and m routes into db in import
// batches, as the seed actor.
func loadSynth(tb testing.TB, db *store.DB, seed uint64, n, m int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	batch := make([]geo.Record, 0, geo.ImportBatchSize)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := db.ImportBatch(context.Background(), "synth", batch); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := 0; i < n+m; i++ {
		var r geo.Record
		var err error
		if i < n {
			r, err = geo.DecodeFeature(geo.Incidents, synthIncident(rng, i))
		} else {
			r, err = geo.DecodeFeature(geo.Routes, synthRoute(rng, i-n))
		}
		if err != nil {
			tb.Fatal(err)
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
}

// writeSynthGeoJSON writes n synthetic incidents as one FeatureCollection
// file, streaming.
func writeSynthGeoJSON(tb testing.TB, path string, seed uint64, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 1))
	w.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteByte('\n')
		w.Write(synthIncident(rng, i))
	}
	w.WriteString("\n]}\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}
