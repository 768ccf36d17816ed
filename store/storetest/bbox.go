package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// indexed is a record as the property test knows it: id, keys, its text
// folded (geo.Fold) and shape.
type indexed struct {
	id     string
	keys   geo.Keys
	folded string
	rec    geo.Record
}

// newIndexed is the record of the id as the property test knows it.
func newIndexed(id string, r geo.Record) indexed {
	k := r.Keys()
	return indexed{id: id, keys: k, folded: geo.Fold(k.Text), rec: r}
}

// boxCase is one query box, with at most one incident and one route that
// must be inside it and one incident that must stay outside.
type boxCase struct {
	name               string
	box                geo.BBox
	mustIn, mustNotIn  string // incident ids
	mustInRoute        string
	alsoWithSmallLimit bool
}

// inBox is the plain point-in-box test, written apart from geo.Boxes and
// geo.BBox.Bounds: edges count, and W > E means the box wraps round.
func inBox(p orb.Point, b geo.BBox) bool {
	if p[1] < b.S || p[1] > b.N {
		return false
	}
	if b.W <= b.E {
		return b.W <= p[0] && p[0] <= b.E
	}
	return p[0] >= b.W || p[0] <= b.E
}

func clampLon(x float64) float64 { return math.Max(-180, math.Min(180, x)) }
func clampLat(y float64) float64 { return math.Max(-90, math.Min(90, y)) }

// makeBoxes returns n query boxes of ten kinds, built from the records so
// that many of them have a point exactly on an edge.
func makeBoxes(rng *rand.Rand, n int, incs, routes []indexed, crossings []crossingSeg) []boxCase {
	lon := func() float64 { return rng.Float64()*360 - 180 }
	lat := func() float64 { return rng.Float64()*180 - 90 }
	size := func(max float64) float64 { return max * math.Pow(rng.Float64(), 3) } // mostly small
	anyIncident := func() indexed {
		for {
			in := incs[rng.Intn(len(incs))]
			p := in.rec.Geometry().(orb.Point)
			if math.Abs(p[0]) < 180 && math.Abs(p[1]) < 90 { // room on both sides
				return in
			}
		}
	}
	var out []boxCase
	for i := 0; len(out) < n; i++ {
		var c boxCase
		switch i % 10 {
		case 0:
			w, s := lon(), lat()
			c = boxCase{name: "random", box: geo.BBox{W: w, S: s, E: clampLon(w + size(360)), N: clampLat(s + size(180))}}
		case 1:
			w := 180 - size(180)
			e := -180 + size(180)
			if i%20 == 1 {
				w, e = 180, -180+size(10) // edges on the antimeridian itself
			}
			s := lat()
			c = boxCase{name: "across the antimeridian", box: geo.BBox{W: w, S: s, E: e, N: clampLat(s + size(180))}}
		case 2:
			in := anyIncident()
			p := in.rec.Geometry().(orb.Point)
			d := math.Pow(10, -float64(3+rng.Intn(10)))
			c = boxCase{name: "tiny", box: geo.BBox{W: clampLon(p[0] - d), S: clampLat(p[1] - d), E: clampLon(p[0] + d), N: clampLat(p[1] + d)}, mustIn: in.id}
		case 3, 4:
			// A point exactly on one edge is inside; a box whose edge is
			// the next float64 past the point leaves it out. The R*Tree
			// keeps float32 boxes, so only the exact test can tell.
			in := anyIncident()
			p := in.rec.Geometry().(orb.Point)
			w, h := size(20)+1e-9, size(20)+1e-9
			b := geo.BBox{W: clampLon(p[0] - w), S: clampLat(p[1] - h), E: clampLon(p[0] + w), N: clampLat(p[1] + h)}
			side := []string{"west", "south", "east", "north"}[rng.Intn(4)]
			inside := i%10 == 3
			switch side {
			case "west":
				b.W = p[0]
				if !inside {
					b.W = math.Nextafter(p[0], math.Inf(1))
				}
			case "east":
				b.E = p[0]
				if !inside {
					b.E = math.Nextafter(p[0], math.Inf(-1))
				}
			case "south":
				b.S = p[1]
				if !inside {
					b.S = math.Nextafter(p[1], math.Inf(1))
				}
			case "north":
				b.N = p[1]
				if !inside {
					b.N = math.Nextafter(p[1], math.Inf(-1))
				}
			}
			if inside {
				c = boxCase{name: "point on the " + side + " edge", box: b, mustIn: in.id}
			} else {
				c = boxCase{name: "point one float64 outside the " + side + " edge", box: b, mustNotIn: in.id}
			}
		case 5:
			in := anyIncident()
			p := in.rec.Geometry().(orb.Point)
			c = boxCase{name: "degenerate box on a point", box: geo.BBox{W: p[0], S: p[1], E: p[0], N: p[1]}, mustIn: in.id}
		case 6:
			worlds := []boxCase{
				{name: "whole world", box: geo.BBox{W: -180, S: -90, E: 180, N: 90}},
				{name: "the antimeridian at 180", box: geo.BBox{W: 180, S: -90, E: 180, N: 90}},
				{name: "the antimeridian at -180", box: geo.BBox{W: -180, S: -90, E: -180, N: 90}},
				{name: "whole world but a sliver, across the antimeridian", box: geo.BBox{W: 0.5, S: -90, E: 0.25, N: 90}},
				{name: "poles", box: geo.BBox{W: -180, S: 89.9, E: 180, N: 90}},
			}
			if k := i / 10; k < len(worlds) {
				c = worlds[k]
				c.alsoWithSmallLimit = k == 0
			} else {
				w, s := lon(), lat()
				c = boxCase{name: "random", box: geo.BBox{W: w, S: s, E: clampLon(w + size(360)), N: clampLat(s + size(180))}}
			}
		case 7:
			rt := routes[rng.Intn(len(routes))]
			var vs []orb.Point
			geo.EachVertex(rt.rec.Geometry(), func(p orb.Point) { vs = append(vs, p) })
			v := vs[rng.Intn(len(vs))]
			w, h := size(30), size(30)
			b := geo.BBox{W: v[0], S: v[1], E: clampLon(v[0] + w), N: clampLat(v[1] + h)}
			if rng.Intn(2) == 0 {
				b = geo.BBox{W: clampLon(v[0] - w), S: clampLat(v[1] - h), E: v[0], N: v[1]}
			}
			c = boxCase{name: "route vertex on a corner", box: b, mustInRoute: rt.id}
		case 8:
			// A small box on the antimeridian where a route crosses it:
			// no vertex is inside, only the crossing segment.
			x := crossings[rng.Intn(len(crossings))]
			d := 1e-6 + size(0.5)
			c = boxCase{name: "around a route's antimeridian crossing", box: geo.BBox{W: 180 - d, S: clampLat(x.lat - 0.5), E: -180 + d, N: clampLat(x.lat + 0.5)}, mustInRoute: x.id}
		case 9:
			x, y, d := lon(), lat(), 0.1+rng.Float64()*5
			c = boxCase{name: "small", box: geo.BBox{W: clampLon(x - d), S: clampLat(y - d), E: clampLon(x + d), N: clampLat(y + d)}}
		}
		if i%20 == 9 {
			c.alsoWithSmallLimit = true
		}
		if err := c.box.Check(); err != nil {
			panic(fmt.Sprintf("%s: %v", c.name, err))
		}
		c.name = fmt.Sprintf("%03d %s %v", len(out), c.name, c.box)
		out = append(out, c)
	}
	return out
}

// crossingSeg is where a route's segment crosses the antimeridian.
type crossingSeg struct {
	id  string
	lat float64
}

// crossingsOf finds the segments of a route that cross the antimeridian
// (longitudes more than 180° apart) and the latitude of each crossing.
func crossingsOf(id string, g orb.Geometry) []crossingSeg {
	var lines []orb.LineString
	switch g := g.(type) {
	case orb.LineString:
		lines = []orb.LineString{g}
	case orb.MultiLineString:
		lines = g
	}
	var out []crossingSeg
	for _, ls := range lines {
		for i := 1; i < len(ls); i++ {
			a, b := ls[i-1], ls[i]
			if math.Abs(a[0]-b[0]) <= 180 {
				continue
			}
			if a[0] < b[0] {
				a, b = b, a // a east, b west
			}
			toEast := 180 - a[0]
			toWest := b[0] + 180
			out = append(out, crossingSeg{id, a[1] + (b[1]-a[1])*toEast/(toEast+toWest)})
		}
	}
	return out
}

// brute returns the ids of the records that the filter matches in memory
// (geo.Filter.MatchKeys, with the filter compiled and the text folded
// once).
func brute(c geo.Collection, f geo.Filter, recs []indexed) map[string]bool {
	out := map[string]bool{}
	m := f.Matcher()
	for _, r := range recs {
		if m.Match(c, &r.keys, r.folded) {
			out[r.id] = true
		}
	}
	return out
}

// ftsMarkers are the q values of the combined filters. Each word must be a
// whole token wherever it occurs in the data (checked below), because the
// in-memory match looks for substrings and FTS5 for tokens.
var ftsMarkers = []string{"cocaine", "Bogotá", "bogota", "MEDELLIN", "cocaine vessel", "los zetas", "sinaloa", "ransom", "Submarine hostages", "juarez"}

func testBBoxMatchesBruteForce(t *testing.T, open func(*testing.T) Engine) {
	seed := testSeed(t)
	rng := rand.New(rand.NewSource(seed))
	gen := NewSynth(seed, "prop")
	db := open(t)
	ctx := context.Background()
	start := time.Now()

	load := func(c geo.Collection, recs []geo.Record) []indexed {
		ids := ImportAll(t, db, "prop", recs)
		out := make([]indexed, len(recs))
		for i, r := range recs {
			out[i] = newIndexed(ids[i], r)
		}
		return out
	}
	incs := load(geo.Incidents, gen.Incidents(Sized(10000)))
	routes := load(geo.Routes, gen.Routes(Sized(1000)))
	var crossings []crossingSeg
	multi := 0
	for _, r := range routes {
		crossings = append(crossings, crossingsOf(r.id, r.rec.Geometry())...)
		if _, ok := r.rec.Geometry().(orb.MultiLineString); ok {
			multi++
		}
	}
	t.Logf("%d incidents, %d routes (%d MultiLineStrings, %d antimeridian crossings) loaded in %v", len(incs), len(routes), multi, len(crossings), time.Since(start))
	start = time.Now()
	if len(crossings) == 0 || multi == 0 {
		t.Fatal("the synthetic routes lack antimeridian crossings or MultiLineStrings")
	}

	// Each box is checked against both collections and by Count as well
	// as Query; at least 50 make every kind of box five times and every
	// whole-world box once (makeBoxes).
	boxCount := max(Sized(150), 50)
	for _, bc := range makeBoxes(rng, boxCount, incs, routes, crossings) {
		f := geo.NewFilter()
		f.BBox = &bc.box

		// Incidents: the store, geo.Filter.Match and a plain comparison agree.
		got, matched := queryIDs(t, db, geo.Incidents, f, 10000)
		want := brute(geo.Incidents, f, incs)
		plain := map[string]bool{}
		for _, in := range incs {
			if inBox(in.rec.Geometry().(orb.Point), bc.box) {
				plain[in.id] = true
			}
		}
		sameIDs(t, bc.name+": incidents, store vs geo.Filter.Match", got, want)
		sameIDs(t, bc.name+": incidents, store vs plain point-in-box", got, plain)
		if matched != int64(len(want)) {
			t.Errorf("%s: incidents numberMatched %d, brute force %d", bc.name, matched, len(want))
		}
		if n, err := db.Count(ctx, geo.Incidents, f); err != nil || n != int64(len(want)) {
			t.Errorf("%s: incidents Count %d (%v), brute force %d", bc.name, n, err, len(want))
		}
		if bc.mustIn != "" && !got[bc.mustIn] {
			t.Errorf("%s: incident %s is on the box and not returned", bc.name, bc.mustIn)
		}
		if bc.mustNotIn != "" && got[bc.mustNotIn] {
			t.Errorf("%s: incident %s is outside the box and returned", bc.name, bc.mustNotIn)
		}

		// Routes: the store and geo.Filter.Match agree, and independently
		// of geo.Boxes, a route with a vertex in the box is returned.
		gotR, matchedR := queryIDs(t, db, geo.Routes, f, 10000)
		wantR := brute(geo.Routes, f, routes)
		sameIDs(t, bc.name+": routes, store vs geo.Filter.Match", gotR, wantR)
		if matchedR != int64(len(wantR)) {
			t.Errorf("%s: routes numberMatched %d, brute force %d", bc.name, matchedR, len(wantR))
		}
		if n, err := db.Count(ctx, geo.Routes, f); err != nil || n != int64(len(wantR)) {
			t.Errorf("%s: routes Count %d (%v), brute force %d", bc.name, n, err, len(wantR))
		}
		for _, r := range routes {
			vertexIn := false
			geo.EachVertex(r.rec.Geometry(), func(p orb.Point) { vertexIn = vertexIn || inBox(p, bc.box) })
			if vertexIn && !gotR[r.id] {
				t.Errorf("%s: route %s has a vertex in the box and is not returned", bc.name, r.id)
			}
		}
		if bc.mustInRoute != "" && !gotR[bc.mustInRoute] {
			t.Errorf("%s: route %s touches the box and is not returned", bc.name, bc.mustInRoute)
		}

		// Paging through four or five pages returns the same sets.
		if bc.alsoWithSmallLimit {
			small, _ := queryIDs(t, db, geo.Incidents, f, len(got)/4+1)
			sameIDs(t, fmt.Sprintf("%s: incidents, limit %d vs 10000", bc.name, len(got)/4+1), small, got)
			smallR, _ := queryIDs(t, db, geo.Routes, f, len(gotR)/4+1)
			sameIDs(t, fmt.Sprintf("%s: routes, limit %d vs 10000", bc.name, len(gotR)/4+1), smallR, gotR)
		}
		if t.Failed() {
			t.Fatalf("replay with -seed %d or NEXUS_SEED=%d", seed, seed)
		}
	}

	t.Logf("%d boxes checked in %v", boxCount, time.Since(start))
	t.Run("combined filters", func(t *testing.T) {
		checkMarkers(t, append(incs, routes...))
		nonEmpty, filters := 0, max(Sized(40), 20)
		for i := range filters {
			f, desc := randomFilter(rng, i)
			for _, c := range []struct {
				coll geo.Collection
				recs []indexed
			}{{geo.Incidents, incs}, {geo.Routes, routes}} {
				name := fmt.Sprintf("%02d %s %s", i, c.coll, desc)
				got, matched := queryIDs(t, db, c.coll, f, 10000)
				want := brute(c.coll, f, c.recs)
				sameIDs(t, name, got, want)
				n, err := db.Count(ctx, c.coll, f)
				if err != nil || n != int64(len(want)) || matched != n {
					t.Errorf("%s: Count %d (%v), numberMatched %d, brute force %d", name, n, err, matched, len(want))
				}
				if len(want) > 0 {
					nonEmpty++
				}
			}
		}
		t.Logf("%d of %d combined queries matched something", nonEmpty, 2*filters)
		if nonEmpty < filters/2 {
			t.Errorf("only %d combined queries matched anything: the test shows little", nonEmpty)
		}
		if t.Failed() {
			t.Logf("replay with -seed %d", seed)
		}
	})
}

// checkMarkers fails if a word of a q marker occurs inside a longer token,
// where substring (in memory) and token (FTS5) matching would differ.
func checkMarkers(t *testing.T, recs []indexed) {
	tokens := map[string]bool{}
	for _, r := range recs {
		for _, w := range geo.Words(r.keys.Text) {
			tokens[w] = true
		}
	}
	for _, m := range ftsMarkers {
		for _, w := range geo.Words(m) {
			for tok := range tokens {
				if tok != w && strings.Contains(tok, w) {
					t.Fatalf("q word %q is inside the token %q of the data; pick another marker", w, tok)
				}
			}
		}
	}
}

// randomFilter combines a bbox, kinds, a datetime, actors, countries and
// full text at random; each part is present half the time or more.
func randomFilter(rng *rand.Rand, i int) (geo.Filter, string) {
	f := geo.NewFilter()
	var desc []string
	if rng.Intn(4) > 0 {
		w, s := rng.Float64()*360-180, rng.Float64()*180-90
		e, n := clampLon(w+rng.Float64()*200), clampLat(s+rng.Float64()*120)
		if rng.Intn(3) == 0 {
			w, e = 90+rng.Float64()*90, -180+rng.Float64()*90 // across the antimeridian
		}
		f.BBox = &geo.BBox{W: w, S: s, E: e, N: n}
		desc = append(desc, fmt.Sprintf("bbox=%v", *f.BBox))
	}
	if rng.Intn(2) == 0 {
		f.Types = pickSome(rng, geo.IncidentTypes, 1+rng.Intn(4))
		f.Commodities = pickSome(rng, geo.Commodities, 1+rng.Intn(4))
		desc = append(desc, fmt.Sprintf("type=%v commodity=%v", f.Types, f.Commodities))
	}
	if rng.Intn(2) == 0 {
		y := 1970 + rng.Intn(55)
		dt := []string{
			fmt.Sprintf("%d", y),
			fmt.Sprintf("%d-%02d/%d", y, 1+rng.Intn(12), y+rng.Intn(10)),
			fmt.Sprintf("../%d-%02d-%02d", y, 1+rng.Intn(12), 1+rng.Intn(28)),
			fmt.Sprintf("%d-%02d-%02dT12:00:00Z/..", y, 1+rng.Intn(12), 1+rng.Intn(28)),
		}[rng.Intn(4)]
		span, err := geo.ParseInterval(dt)
		if err != nil {
			panic(err)
		}
		f.Span = span
		desc = append(desc, "datetime="+dt)
	}
	if rng.Intn(2) == 0 {
		f.Actors = pickSome(rng, synthActors, 1+rng.Intn(2))
		if rng.Intn(2) == 0 {
			f.Actors[0] = strings.ToLower(f.Actors[0]) // any case matches
		}
		desc = append(desc, fmt.Sprintf("actor=%q", f.Actors))
	}
	if rng.Intn(2) == 0 {
		f.Countries = pickSome(rng, synthCountries, 1+rng.Intn(5))
		if rng.Intn(2) == 0 {
			f.Countries[0] = strings.ToLower(f.Countries[0])
		}
		desc = append(desc, fmt.Sprintf("country=%v", f.Countries))
	}
	if rng.Intn(2) == 0 || i%10 == 0 {
		f.Q = ftsMarkers[rng.Intn(len(ftsMarkers))]
		desc = append(desc, fmt.Sprintf("q=%q", f.Q))
	}
	return f, strings.Join(desc, " ")
}

func pickSome(rng *rand.Rand, list []string, n int) []string {
	out := make([]string, 0, n)
	for _, k := range rng.Perm(len(list))[:n] {
		out = append(out, list[k])
	}
	return out
}
