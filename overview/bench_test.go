package overview

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// The views of the map at a million incidents, in process: two thirds
// crowd around a few cities (half of those within a few kilometres), the
// rest are spread over the world; types, dates and actors are uniform.

var (
	benchOnce   sync.Once
	benchPoints *points
)

func millionPoints() *points {
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		hubs := [][2]float64{{-74.08, 4.65}, {-75.57, 6.25}, {-99.13, 19.43}, {-66.9, 10.48}, {-15.6, 11.86}, {44.37, 33.31}, {2.35, 48.86}}
		p := newPoints()
		p.bulk = true
		for i := range 1_000_000 {
			var x, y float64
			if rng.IntN(3) < 2 {
				h := hubs[rng.IntN(len(hubs))]
				sigma := 1.5
				if rng.IntN(2) == 0 {
					sigma = 0.08
				}
				x, y = h[0]+rng.NormFloat64()*sigma, h[1]+rng.NormFloat64()*sigma
			} else {
				x, y = rng.Float64()*360-180, rng.Float64()*130-60
			}
			start, _ := geo.ParseDate(fmt.Sprintf("%04d-%02d-%02d", 1970+rng.IntN(55), 1+rng.IntN(12), 1+rng.IntN(28)))
			p.put(fmt.Sprintf("b%d", i), int64(i+1), orb.Point{max(-180, min(180, x)), max(-90, min(90, y))}, geo.Keys{
				Kind:      geo.IncidentTypes[rng.IntN(len(geo.IncidentTypes))],
				Span:      start,
				Actors:    []string{fmt.Sprintf("actor %d", rng.IntN(50))},
				Countries: []string{"CO"},
			})
		}
		p.build()
		benchPoints = p
	})
	return benchPoints
}

// viewBox is what a 1280×800 map shows around a point at a zoom.
func viewBox(lon, lat float64, zoom int) *geo.BBox {
	if zoom <= 2 {
		return &geo.BBox{W: -180, S: -85, E: 180, N: 85}
	}
	w := 1280 / (256 * math.Exp2(float64(zoom))) * 360
	h := w * 800 / 1280 * math.Cos(lat*math.Pi/180)
	return &geo.BBox{W: lon - w/2, S: lat - h/2, E: lon + w/2, N: lat + h/2}
}

func BenchmarkView(b *testing.B) {
	p := millionPoints()
	for _, zoom := range []int{2, 5, 8, 12} {
		for _, filtered := range []bool{false, true} {
			name := fmt.Sprintf("zoom%d", zoom)
			f := geo.NewFilter()
			f.BBox = viewBox(-74.08, 4.65, zoom)
			if filtered {
				name += "/type+year"
				f.Types = strings.Split("attack,assassination,kidnapping", ",")
				f.Span, _ = geo.ParseInterval("2015-01/2015-12")
			}
			level := Level(f.BBox, float64(zoom), 5000)
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				q := p.compile(f)
				for b.Loop() {
					g := newGrid(q.bounds, level)
					p.view(&q, g)
					g.clusters()
				}
			})
		}
	}
}

func BenchmarkStats(b *testing.B) {
	p := millionPoints()
	for _, by := range StatsBy {
		b.Run(by, func(b *testing.B) {
			q := p.compile(geo.NewFilter())
			for b.Loop() {
				p.stats(&q, by)
			}
		})
	}
}
