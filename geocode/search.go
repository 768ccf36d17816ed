package geocode

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// filter narrows the candidates of a name to those a hint allows.
type filter struct {
	countries []uint16 // any of these countries; nil for any
	admin     string   // folded admin area name or code; "" for any
	near      bool     // within nearKm of lon, lat
	lon, lat  float64
}

// nearKm is how far from a context place ("Zona Rosa, Bogotá") a match may be.
const nearKm = 50

// match is a candidate entity with its score.
type match struct {
	entity int
	score  float64
}

// Match quality tiers: they dominate the population part of a score, which
// stays below 10.
const (
	tierExact      = 30 // the whole name
	tierWordPrefix = 20 // the first words of a name ("ciudad del" of "ciudad del este")
	tierPrefix     = 10 // the start of a name ("bogo" of "bogota")
)

// maxScan bounds the keys one search reads, so that a query of three
// common letters stays cheap.
const maxScan = 20000

// search returns the best limit entities whose key is name or starts with it.
func (g *Gazetteer) search(name string, f filter, limit int) []match {
	lo := g.lowerBound(name)
	var ms []match
	i := lo
	for ; i < len(g.keyRef) && g.key(i) == name; i++ {
		if i-lo >= maxScan {
			break
		}
		if m, ok := g.candidate(i, tierExact, f); ok {
			ms = append(ms, m)
		}
	}
	if len(ms) < limit && len(name) >= 3 {
		for end := i + maxScan; i < len(g.keyRef) && i < end; i++ {
			k := g.key(i)
			if !strings.HasPrefix(k, name) {
				break
			}
			if len(k) == len(name) {
				continue
			}
			tier := float64(tierPrefix)
			if k[len(name)] == ' ' {
				tier = tierWordPrefix
			}
			if m, ok := g.candidate(i, tier, f); ok {
				ms = append(ms, m)
			}
		}
	}
	return best(ms, limit)
}

// best sorts matches by score, keeps each entity's best, and cuts to limit.
func best(ms []match, limit int) []match {
	sort.Slice(ms, func(a, b int) bool {
		if ms[a].score != ms[b].score {
			return ms[a].score > ms[b].score
		}
		return ms[a].entity < ms[b].entity
	})
	out := ms[:0]
	for _, m := range ms {
		if len(out) == limit {
			break
		}
		if !slices.ContainsFunc(out, func(o match) bool { return o.entity == m.entity }) {
			out = append(out, m)
		}
	}
	return out
}

func (g *Gazetteer) key(i int) string { return g.keys[g.keyOff[i]:g.keyOff[i+1]] }

// lowerBound returns the first key index whose key is not below k.
func (g *Gazetteer) lowerBound(k string) int {
	return sort.Search(len(g.keyRef), func(i int) bool { return g.key(i) >= k })
}

// candidate scores key i's entity if the filter allows it.
func (g *Gazetteer) candidate(i int, tier float64, f filter) (match, bool) {
	ref := g.keyRef[i]
	e, alt := int(ref>>1), ref&1 == 1
	if !g.allows(e, f) {
		return match{}, false
	}
	return match{entity: e, score: tier + g.rank(e, alt)}, true
}

// rank orders entities of the same match quality: by population (log10,
// so below 9), a little ahead for the primary name over an alternate one,
// for a capital or the seat of a division (GeoNames sometimes has a bigger
// namesake that stands for the whole municipality), and for a place over
// an area of the same size.
func (g *Gazetteer) rank(e int, alt bool) float64 {
	np, na := len(g.placePop), len(g.admins)
	var pop float64
	var bonus float64
	switch {
	case e < np:
		pop = float64(g.placePop[e])
		bonus = 0.1
		switch f := g.placeFlags[e]; {
		case f&flagCapital != 0:
			bonus += 0.5
		case f&flagSeat != 0:
			bonus += 0.4
		}
	case e < np+na:
		pop = float64(g.admins[e-np].rankPop)
	default:
		pop = float64(g.countries[e-np-na].pop)
	}
	if !alt {
		bonus += 0.5
	}
	return math.Log10(pop+1) + bonus
}

// allows reports whether entity e passes the filter.
func (g *Gazetteer) allows(e int, f filter) bool {
	np, na := len(g.placePop), len(g.admins)
	var cc uint16
	admin := -1
	switch {
	case e < np:
		cc = g.placeCC[e]
		admin = int(g.placeAdmin[e]) - 1
	case e < np+na:
		cc = g.admins[e-np].country
		admin = e - np
		if a := &g.admins[admin]; a.level == adminLevel2 && a.parent >= 0 && f.admin != "" &&
			a.hint != f.admin && !slices.Contains(a.forms, f.admin) {
			admin = a.parent // a district is in its first-level area
		}
	default:
		if f.admin != "" || f.near {
			return false
		}
		cc = uint16(e - np - na)
	}
	if f.countries != nil && !has(f.countries, cc) {
		return false
	}
	if f.admin != "" {
		if admin < 0 {
			return false
		}
		a := &g.admins[admin]
		if a.hint != f.admin && !slices.Contains(a.forms, f.admin) {
			return false
		}
	}
	if f.near {
		lon, lat := g.point(e)
		if distanceKm(f.lon, f.lat, lon, lat) > nearKm {
			return false
		}
	}
	return true
}

// distanceKm is the great-circle distance between two points (haversine).
func distanceKm(lon1, lat1, lon2, lat2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}
