package geocode

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchPoints are points spread over the Americas, the Atlantic, Europe,
// Africa and the Middle East, on land and at sea.
func benchPoints(n int) [][2]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	ps := make([][2]float64, n)
	for i := range ps {
		ps[i] = [2]float64{-120 + 180*rng.Float64(), -40 + 100*rng.Float64()}
	}
	return ps
}

// benchQueries mix exact names, names without accents, country hints and
// prefixes.
var benchQueries = []string{
	"Bogota", "Tumaco, CO", "Ciudad del Este", "Foz do Iguacu", "Culiacán",
	"Lagos", "Accra", "Dakar", "Madrid", "Rotterdam", "Antwerp", "Beirut",
	"Tripoli, LB", "Damascus", "Guatemala City", "San Pedro Sula", "Kingston",
	"Nuevo Laredo", "Bissau", "Marseille", "Tehran", "Mazatlan, Mexico",
}

func BenchmarkForward(b *testing.B) {
	g := loaded(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := g.Forward(benchQueries[i%len(benchQueries)], 5); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "forward", 50000)
}

// reportRate prints lookups per second on one core beside the goal.
func reportRate(b *testing.B, what string, goal float64) {
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "lookups/s")
	b.Logf("%s geocoding: %.0f lookups/s on one core (goal %.0f)", what, rate, goal)
}

func BenchmarkReverse(b *testing.B) {
	g := loaded(b)
	ps := benchPoints(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := ps[i%len(ps)]
		if _, err := g.Reverse(p[0], p[1]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "reverse", 200000)
}

func BenchmarkCountryOf(b *testing.B) {
	g := loaded(b)
	ps := benchPoints(4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := ps[i%len(ps)]
		g.CountryOf(p[0], p[1])
	}
}

// BenchmarkLoad measures the start-up cost of the reference data: the time
// per op is the load time, heap-MB the live heap it keeps.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	var g *Gazetteer
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		var err error
		if g, err = Load(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
	runtime.KeepAlive(g)
}
