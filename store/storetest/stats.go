package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// testStats counts hand-made records by country, type, actor and month,
// with and without filters, then checks synthetic data against brute force.
func testStats(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	inc := func(country, typ, date string, lon, lat float64, actors ...string) geo.Record {
		return &geo.Incident{Point: orb.Point{lon, lat}, Title: typ + " in " + country, Type: typ, Date: date, Country: country, Actors: actors}
	}
	route := func(commodity, from, to string, countries []string, actors ...string) geo.Record {
		return &geo.Route{Line: orb.LineString{{-75, 4}, {-80, 9}}, Name: commodity, Commodity: commodity, ActiveFrom: from, ActiveTo: to, Countries: countries, Actors: actors}
	}
	ImportAll(t, db, "tester", []geo.Record{
		inc("CO", "attack", "2018-02", -74.05, 4.66, "ISIS"),
		inc("CO", "plot", "2018-02-14", -74.06, 4.67, "ISIS", "ELN"),
		inc("CO", "attack", "2018-03", -75.57, 6.25, "isis"), // actors group whatever their case
		inc("MX", "seizure", "2015-06-01", -99.5, 27.5, "Los Zetas"),
		inc("MX", "attack", "2015-06-20", -107.4, 24.8, "Los Zetas", "Sinaloa Cartel"),
		inc("AR", "attack", "1994-07-18", -58.40, -34.60, "Hezbollah"),
		inc("AR", "attack", "1992-03-17", -58.38, -34.59, "Hezbollah"),
	})
	ImportAll(t, db, "tester", []geo.Record{
		route("cocaine", "2011-05", "", []string{"CO", "PA", "US"}, "FARC"),
		route("cash", "2011-11", "2015", []string{"MX", "US"}, "Los Zetas"),
		route("cocaine", "", "", []string{"CO", "GW", "ES"}, "FARC", "Hezbollah"),
	})
	filter := func(set func(*geo.Filter)) geo.Filter {
		f := geo.NewFilter()
		set(&f)
		return f
	}
	all := geo.NewFilter()
	co2018 := filter(func(f *geo.Filter) { f.Countries = []string{"co"}; f.Span, _ = geo.ParseInterval("2018-02") })
	zetas := filter(func(f *geo.Filter) { f.Actors = []string{"los zetas"} })
	baires := filter(func(f *geo.Filter) { f.BBox = &geo.BBox{W: -59, S: -35, E: -58, N: -34} })
	in2016 := filter(func(f *geo.Filter) { f.Span, _ = geo.ParseInterval("2016") })

	for _, tc := range []struct {
		name string
		coll geo.Collection
		f    geo.Filter
		by   string
		want string
	}{
		{"incidents by country", geo.Incidents, all, "country", "CO:3 AR:2 MX:2"},
		{"incidents by type", geo.Incidents, all, "type", "attack:5 plot:1 seizure:1"},
		{"incidents by actor", geo.Incidents, all, "actor", "isis:3 Hezbollah:2 Los Zetas:2 ELN:1 Sinaloa Cartel:1"},
		{"incidents by month", geo.Incidents, all, "month", "1992-03:1 1994-07:1 2015-06:2 2018-02:2 2018-03:1"},
		{"Colombia in February 2018 by type", geo.Incidents, co2018, "type", "attack:1 plot:1"},
		{"Colombia in February 2018 by actor", geo.Incidents, co2018, "actor", "isis:2 ELN:1"},
		{"Colombia in February 2018 by month", geo.Incidents, co2018, "month", "2018-02:2"},
		{"Colombia in February 2018 by country", geo.Incidents, co2018, "country", "CO:2"},
		{"Los Zetas by country", geo.Incidents, zetas, "country", "MX:2"},
		{"Los Zetas by actor", geo.Incidents, zetas, "actor", "Los Zetas:2 Sinaloa Cartel:1"},
		{"Buenos Aires by type", geo.Incidents, baires, "type", "attack:2"},
		{"routes by commodity", geo.Routes, all, "type", "cocaine:2 cash:1"},
		{"routes by country", geo.Routes, all, "country", "CO:2 US:2 ES:1 GW:1 MX:1 PA:1"},
		{"routes by month (open starts have none)", geo.Routes, all, "month", "2011-05:1 2011-11:1"},
		{"routes active in 2016 by actor", geo.Routes, in2016, "actor", "FARC:2 Hezbollah:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Stats(ctx, tc.coll, tc.f, tc.by)
			if err != nil {
				t.Fatal(err)
			}
			if s := countsString(got); !strings.EqualFold(s, tc.want) {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
	t.Run("unknown dimension", func(t *testing.T) {
		_, err := db.Stats(ctx, geo.Incidents, all, "colour")
		WantCode(t, err, geo.EMALFORMED)
	})

	t.Run("synthetic data against brute force", func(t *testing.T) {
		seed := testSeed(t)
		rng := rand.New(rand.NewSource(seed))
		db := open(t)
		gen := NewSynth(seed, "stats")
		data := map[geo.Collection][]indexed{}
		for coll, recs := range map[geo.Collection][]geo.Record{geo.Incidents: gen.Incidents(Sized(1500)), geo.Routes: gen.Routes(Sized(200))} {
			ids := ImportAll(t, db, "tester", recs)
			for i, r := range recs {
				data[coll] = append(data[coll], newIndexed(ids[i], r))
			}
		}
		for i := range 20 {
			f, desc := randomFilter(rng, i)
			f.Q = "" // the substring and token matches of q are compared in TestBBoxMatchesBruteForce
			for coll, recs := range data {
				n, err := db.Count(ctx, coll, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, by := range geo.StatsBy {
					if by == "period" && coll == geo.Routes {
						if _, err := db.Stats(ctx, coll, f, by); geo.ErrorCode(err) != geo.EMALFORMED {
							t.Errorf("routes by period: %v, want a malformed error", err)
						}
						continue
					}
					got, err := db.Stats(ctx, coll, f, by)
					if err != nil {
						t.Fatal(err)
					}
					want := bruteStats(coll, f, recs, by)
					if countsString(got) != countsString(want) {
						t.Errorf("%s %s by %s:\n got %s\nwant %s", coll, desc, by, countsString(got), countsString(want))
					}
					if by == "type" {
						var sum int64
						for _, c := range got {
							sum += c.Count
						}
						if sum != n {
							t.Errorf("%s %s: counts by type sum to %d, Count is %d", coll, desc, sum, n)
						}
					}
				}
			}
		}
	})
}

// bruteStats counts in memory as Stats does: largest first, ties by key,
// months in time order (a record counts in the month its span starts).
func bruteStats(c geo.Collection, f geo.Filter, recs []indexed, by string) []geo.Count {
	m := map[string]int64{}
	match := f.Matcher() // geo.Filter.MatchKeys, compiled once
	for _, r := range recs {
		if !match.Match(c, &r.keys, r.folded) {
			continue
		}
		switch by {
		case "country":
			for _, k := range r.keys.Countries {
				m[k]++
			}
		case "actor":
			for _, k := range r.keys.Actors {
				m[k]++
			}
		case "type":
			m[r.keys.Kind]++
		case "month":
			if r.keys.Span.Start != geo.MinTime {
				m[time.Unix(r.keys.Span.Start, 0).UTC().Format("2006-01")]++
			}
		case "period":
			if s := r.keys.Span; s.Start != geo.MinTime {
				start := time.Unix(s.Start, 0).UTC()
				switch d := s.End - s.Start; {
				case d > 31*86400:
					m["year:"+start.Format("2006")]++
				case d > 86400:
					m["month:"+start.Format("2006-01")]++
				default:
					m["day:"+start.Format("2006-01")]++
				}
			}
		}
	}
	out := []geo.Count{}
	for k, n := range m {
		out = append(out, geo.Count{Key: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if by == "period" {
			return periodOrder(out[i].Key) < periodOrder(out[j].Key)
		}
		if by != "month" && out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// periodOrder sorts periods by their start, the widest first.
func periodOrder(k string) string {
	kind, when, _ := strings.Cut(k, ":")
	return when + map[string]string{"year": "-00 0", "month": " 1", "day": " 2"}[kind]
}

func countsString(cs []geo.Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s:%d", c.Key, c.Count)
	}
	return strings.Join(parts, " ")
}

// testClusters groups synthetic incidents into grid cells and checks every
// cell against brute force: counts that sum to the matched count, counts by
// type, and a mean position inside a cell of the given size.
func testClusters(t *testing.T, open func(*testing.T) Engine) {
	seed := testSeed(t)
	db := open(t)
	ctx := context.Background()
	recs := NewSynth(seed, "clusters").Incidents(Sized(2000))
	ImportAll(t, db, "tester", recs)

	filter := func(set func(*geo.Filter)) geo.Filter {
		f := geo.NewFilter()
		set(&f)
		return f
	}
	for _, tc := range []struct {
		name string
		f    geo.Filter
		cell float64
	}{
		{"whole world, 1°", geo.NewFilter(), 1},
		{"whole world, 10°", geo.NewFilter(), 10},
		{"whole world, 45°", geo.NewFilter(), 45},
		{"whole world, one cell", geo.NewFilter(), 360},
		{"Americas, 2.5°", filter(func(f *geo.Filter) { f.BBox = &geo.BBox{W: -120, S: -56, E: -30, N: 33} }), 2.5},
		{"across the antimeridian, 5°", filter(func(f *geo.Filter) { f.BBox = &geo.BBox{W: 150, S: -60, E: -150, N: 60} }), 5},
		{"attacks and plots, 20°", filter(func(f *geo.Filter) { f.Types = []string{"attack", "plot"} }), 20},
		{"nothing matches", filter(func(f *geo.Filter) { f.BBox = &geo.BBox{W: 0, S: 0, E: 1e-9, N: 1e-9} }), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.Clusters(ctx, tc.f, tc.cell)
			if err != nil {
				t.Fatal(err)
			}
			n, err := db.Count(ctx, geo.Incidents, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			type cellKey struct{ x, y int64 }
			cellOf := func(lon, lat float64) cellKey {
				return cellKey{int64((lon + 180) / tc.cell), int64((lat + 90) / tc.cell)}
			}
			type acc struct {
				n      int64
				sx, sy float64
				types  map[string]int64
			}
			want := map[cellKey]*acc{}
			for _, r := range recs {
				if !tc.f.Match(r) {
					continue
				}
				p := r.Geometry().(orb.Point)
				k := cellOf(p[0], p[1])
				if want[k] == nil {
					want[k] = &acc{types: map[string]int64{}}
				}
				a := want[k]
				a.n++
				a.sx += p[0]
				a.sy += p[1]
				a.types[r.(*geo.Incident).Type]++
			}
			var sum int64
			for _, c := range got {
				sum += c.Count
				a := want[cellOf(c.Lon, c.Lat)]
				if a == nil {
					t.Errorf("cluster of %d at %.6f, %.6f lies in no cell of %v° that brute force fills", c.Count, c.Lon, c.Lat, tc.cell)
					continue
				}
				if c.Count != a.n || fmt.Sprint(c.Types) != fmt.Sprint(a.types) ||
					math.Abs(c.Lon-a.sx/float64(a.n)) > 1e-9 || math.Abs(c.Lat-a.sy/float64(a.n)) > 1e-9 {
					t.Errorf("cluster at %.6f, %.6f: %d %v, brute force %d %v at %.6f, %.6f", c.Lon, c.Lat, c.Count, c.Types, a.n, a.types, a.sx/float64(a.n), a.sy/float64(a.n))
				}
			}
			if sum != n || len(got) != len(want) {
				t.Errorf("%d clusters holding %d incidents; brute force %d cells, Count %d", len(got), sum, len(want), n)
			}
			t.Logf("%d clusters, %d incidents", len(got), sum)
		})
	}
}

// testActorCountsCountARecordOnce: an incident that lists two spellings of
// one actor (an alias, or the same name in another case) counts once for
// it in the statistics by actor, under the canonical name.
func testActorCountsCountARecordOnce(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	if _, _, err := db.PutAlias(ctx, "tester", geo.Alias{Alias: "Hizballah", Name: "Hezbollah", Source: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, actors := range [][]string{{"Hezbollah", "Hizballah", "Los Zetas"}, {"hizballah", "Zetas"}, {"Hezbollah"}} {
		if _, err := db.Create(ctx, "tester", &geo.Incident{Point: orb.Point{35.5, 33.9}, Title: "Two spellings", Type: "financing", Date: "2012", Actors: actors}); err != nil {
			t.Fatal(err)
		}
	}
	f := geo.NewFilter()
	if err := db.Resolve(ctx, &f); err != nil {
		t.Fatal(err)
	}
	counts, err := db.Stats(ctx, geo.Incidents, f, "actor")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Key] = c.Count
	}
	if len(got) != 3 || got["Hezbollah"] != 3 || got["Los Zetas"] != 1 || got["Zetas"] != 1 {
		t.Errorf("counts by actor %v, want Hezbollah 3, Los Zetas 1, Zetas 1", counts)
	}
}
