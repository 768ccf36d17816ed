package main

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"nexus/geo"
)

// Name index

// adminWords are generic words around admin area names ("Valle del Cauca
// Department", "Provincia de Buenos Aires") that a query may leave out.
var adminPrefixes = []string{"departamento de ", "departamento del ", "provincia de ", "provincia del ", "estado de ", "state of ", "province of ", "governorate of ", "muhafazat ", "region of ", "wilaya de ", "region de "}
var adminSuffixes = []string{" department", " province", " state", " region", " governorate", " district", " county", " prefecture", " oblast", " municipality", " territory", " division", " parish"}

func adminForms(name string) []string {
	k := geo.Fold(name)
	forms := []string{k}
	for _, p := range adminPrefixes {
		if s, ok := strings.CutPrefix(k, p); ok && s != "" {
			forms = append(forms, s)
		}
	}
	for _, p := range adminSuffixes {
		if s, ok := strings.CutSuffix(k, p); ok && s != "" {
			forms = append(forms, s)
		}
	}
	return forms
}

// Alternate names cost the most room, so they are kept where they help most:
// every alternate in Latin script of a place of altMinPop people or more (or
// a capital or admin seat), and those in other scripts of the cities of
// altScriptMinPop or more. Every place keeps its name and ASCII name.
const (
	altMinPop       = 1000
	altScriptMinPop = 100000
)

// keepAlt tells whether an alternate name is worth a key: not a link, not
// an airport or postal code, and (for a name in another script) only for a
// large city.
func keepAlt(alt, key string, pop int64) bool {
	if key == "" || strings.Contains(alt, "http") || strings.Contains(alt, "/") {
		return false
	}
	if n := utf8.RuneCountInString(alt); n <= 4 && strings.ToUpper(alt) == alt && !strings.ContainsFunc(alt, unicode.IsLower) {
		isLatin := true
		for _, r := range alt {
			if r >= utf8.RuneSelf {
				isLatin = false
			}
		}
		if isLatin {
			return false
		}
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return pop >= altScriptMinPop
		}
	}
	return true
}

func nameIndex(cs *countries, admins []*admin, places []place, order []int) []entry {
	pos := make([]int, len(places)) // place → position in the k-d order
	for k, i := range order {
		pos[i] = k
	}
	var es []entry
	seen := map[string]bool{}
	add := func(entity int, name string, alt bool) {
		k := geo.Fold(name)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		ref := uint32(entity) << 1
		if alt {
			ref |= 1
		}
		es = append(es, entry{key: k, ref: ref})
	}
	for i := range places {
		p := &places[i]
		clear(seen)
		add(pos[i], p.name, false)
		add(pos[i], p.ascii, true)
		if p.pop < altMinPop && p.flags == 0 {
			continue
		}
		for _, a := range p.alts {
			a = strings.TrimSpace(a)
			if keepAlt(a, geo.Fold(a), p.pop) {
				add(pos[i], a, true)
			}
		}
	}
	base := len(places)
	for i, a := range admins {
		if len(a.places) == 0 {
			continue
		}
		clear(seen)
		for j, f := range adminForms(a.name) {
			add(base+i, f, j > 0)
		}
		for _, n := range a.alts {
			add(base+i, n, true)
		}
	}
	base += len(admins)
	for i, c := range cs.list {
		if !c.hasPt {
			continue
		}
		clear(seen)
		add(base+i, c.name, false)
		for _, n := range c.names {
			if utf8.RuneCountInString(n) > 3 {
				add(base+i, n, true)
			}
		}
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].key != es[j].key {
			return es[i].key < es[j].key
		}
		return es[i].ref < es[j].ref
	})
	return es
}
