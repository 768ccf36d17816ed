package geocode

import (
	"fmt"
	"sort"

	"nexus/geo"
)

// CountrySuggestions returns up to n countries whose names (in any of the
// languages the gazetteer knows) or codes are closest to s by edit
// distance, as "Colombia (CO)", closest first: what to offer someone
// whose spelling matched no country.
func (g *Gazetteer) CountrySuggestions(s string, n int) []string {
	key := geo.Fold(s)
	if key == "" || n <= 0 {
		return nil
	}
	best := map[uint16]int{}
	for k, c := range g.countryKeys {
		d := editDistance(key, k, 1+len([]rune(key))/2)
		if old, ok := best[c]; d >= 0 && (!ok || d < old) {
			best[c] = d
		}
	}
	type cand struct {
		c uint16
		d int
	}
	cands := make([]cand, 0, len(best))
	for c, d := range best {
		cands = append(cands, cand{c, d})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].d != cands[j].d {
			return cands[i].d < cands[j].d
		}
		if g.countries[cands[i].c].pop != g.countries[cands[j].c].pop {
			return g.countries[cands[i].c].pop > g.countries[cands[j].c].pop
		}
		return g.countries[cands[i].c].code < g.countries[cands[j].c].code
	})
	var out []string
	for _, x := range cands {
		if len(out) == n {
			break
		}
		rec := g.countries[x.c]
		out = append(out, fmt.Sprintf("%s (%s)", rec.name, rec.code))
	}
	return out
}

// editDistance is the Levenshtein distance of a and b in runes, or -1 when
// it exceeds limit (the search stops early).
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return -1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		low := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			low = min(low, cur[j])
		}
		if low > limit {
			return -1
		}
		prev, cur = cur, prev
	}
	if prev[len(rb)] > limit {
		return -1
	}
	return prev[len(rb)]
}
