package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"nexus/geo"
)

// Countries

type countries struct {
	list   []*country
	byCode map[string]int // alpha-2 → index
	byNum  map[string]int // ISO numeric → index
	keys   map[string]int // folded name or code → index, for CountryCode
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// stringOrList decodes a name that i18n-iso-countries gives as a string
// or as a list of alternatives, the first preferred.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

func loadCountries(npm string) (*countries, error) {
	dir := filepath.Join(npm, "i18n-iso-countries")
	var codes [][]string
	if err := readJSON(filepath.Join(dir, "codes.json"), &codes); err != nil {
		return nil, err
	}
	cs := &countries{byCode: map[string]int{}, byNum: map[string]int{}, keys: map[string]int{}}
	alpha3 := map[string]int{}
	for _, c := range codes {
		if len(c) < 3 {
			continue
		}
		i := len(cs.list)
		cs.list = append(cs.list, &country{code: c[0], parent: -1})
		cs.byCode[c[0]] = i
		alpha3[c[1]] = i
		cs.byNum[c[2]] = i
	}
	type lang struct {
		Countries map[string]stringOrList `json:"countries"`
	}
	var en lang
	if err := readJSON(filepath.Join(dir, "langs", "en.json"), &en); err != nil {
		return nil, err
	}
	for code, names := range en.Countries {
		if i, ok := cs.byCode[code]; ok && len(names) > 0 {
			cs.list[i].name = names[0]
			cs.list[i].names = append(cs.list[i].names, names...)
		}
	}
	// Codes first, then English names, then every other language: an
	// earlier claim on a key wins.
	for code, i := range cs.byCode {
		cs.claim(code, i)
	}
	for code, i := range alpha3 {
		cs.claim(code, i)
	}
	for _, c := range cs.list {
		for _, n := range c.names {
			cs.claim(n, cs.byCode[c.code])
		}
	}
	langs, err := filepath.Glob(filepath.Join(dir, "langs", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(langs)
	for _, path := range langs {
		var l lang
		if err := readJSON(path, &l); err != nil {
			return nil, err
		}
		for _, code := range slices.Sorted(maps.Keys(l.Countries)) {
			if i, ok := cs.byCode[code]; ok {
				for _, n := range l.Countries[code] {
					cs.list[i].names = append(cs.list[i].names, n)
					cs.claim(n, i)
				}
			}
		}
	}
	return cs, nil
}

func (cs *countries) claim(name string, i int) {
	k := geo.Fold(name)
	if k == "" {
		return
	}
	if _, taken := cs.keys[k]; !taken {
		cs.keys[k] = i
	}
}

// neOverrides gives a country for the Natural Earth 1:10m admin-0 areas that
// carry no ISO 3166-1 code. It is a policy, not data: the sovereign base areas
// and leased or administered areas take the country whose territory they are
// under ISO 3166 (Guantánamo is in Cuba, Baikonur in Kazakhstan); areas whose
// sovereignty is disputed between several states keep no code and are reported
// by their Natural Earth name. Kosovo takes XK, the code in i18n-iso-countries.
var neOverrides = map[string]string{
	"Dhekelia":                "GB",
	"Akrotiri":                "GB",
	"Somaliland":              "SO",
	"Kosovo":                  "XK",
	"USNB Guantanamo Bay":     "CU",
	"N. Cyprus":               "CY",
	"Cyprus U.N. Buffer Zone": "CY",
	"Baikonur":                "KZ",
	"Indian Ocean Ter.":       "AU",
	"Coral Sea Is.":           "AU",
	"Clipperton I.":           "FR",
	"Siachen Glacier":         "",
	"Spratly Is.":             "",
	"Bajo Nuevo Bank":         "",
	"Serranilla Bank":         "",
	"Scarborough Reef":        "",
}
