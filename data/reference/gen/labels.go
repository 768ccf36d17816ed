package main

import (
	"math"
	"sort"

	"nexus/geocode"
)

// Label zooms: the zoom from which the basemap labels each place, the
// first at which it is populous enough (popZoom) and no place of higher
// rank (capitals, then population) is labelled within
// geocode.LabelSpacing pixels of it; 255 when none up to
// geocode.LabelMaxZoom.

func popZoom(p *place) int {
	z := 11
	switch {
	case p.pop >= 5_000_000:
		z = 3
	case p.pop >= 1_000_000:
		z = 4
	case p.pop >= 300_000:
		z = 5
	case p.pop >= 100_000:
		z = 6
	case p.pop >= 30_000:
		z = 7
	case p.pop >= 10_000:
		z = 8
	case p.pop >= 3_000:
		z = 9
	case p.pop >= 1_000:
		z = 10
	}
	switch {
	case p.flags&flagCapital != 0:
		z = min(z, 3)
	case p.flags&flagSeat != 0 && z > 4:
		z-- // a seat of a division a zoom earlier
	}
	if p.flags&flagSection != 0 {
		z = max(z, 12)
	}
	return z
}

func labelZooms(places []place) []uint8 {
	n := len(places)
	order := make([]int, n)
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range places {
		order[i] = i
		lat := max(-85.05112878, min(85.05112878, places[i].lat))
		s := math.Sin(lat * math.Pi / 180)
		xs[i], ys[i] = (places[i].lon+180)/360, 0.5-math.Log((1+s)/(1-s))/(4*math.Pi)
	}
	capital := func(i int) bool { return places[i].flags&flagCapital != 0 }
	sort.SliceStable(order, func(a, b int) bool {
		i, j := order[a], order[b]
		if capital(i) != capital(j) {
			return capital(i)
		}
		return places[i].pop > places[j].pop
	})
	zoom := make([]uint8, n)
	for i := range zoom {
		zoom[i] = 255
	}
	var placed []int
	for z := 1; z <= geocode.LabelMaxZoom; z++ {
		cell := geocode.LabelSpacing / (256 * math.Exp2(float64(z)))
		grid := map[[2]int32][]int{}
		at := func(i int) [2]int32 { return [2]int32{int32(xs[i] / cell), int32(ys[i] / cell)} }
		for _, i := range placed {
			grid[at(i)] = append(grid[at(i)], i)
		}
		for _, i := range order {
			if zoom[i] != 255 || popZoom(&places[i]) > z {
				continue
			}
			c := at(i)
			free := true
			for dx := int32(-1); dx <= 1 && free; dx++ {
				for dy := int32(-1); dy <= 1 && free; dy++ {
					for _, j := range grid[[2]int32{c[0] + dx, c[1] + dy}] {
						if math.Hypot(xs[i]-xs[j], ys[i]-ys[j]) < cell {
							free = false
							break
						}
					}
				}
			}
			if free {
				zoom[i] = uint8(z)
				grid[c] = append(grid[c], i)
				placed = append(placed, i)
			}
		}
	}
	return zoom
}
