package geocode

import (
	"math"
	"sort"
	"sync"
)

// Place labels for the basemap, decluttered: each place has the zoom from
// which it is labelled (computed when the data is built), the first at
// which it is populous enough and no place of higher rank is labelled
// within LabelSpacing pixels of it.

// LabelMaxZoom is the deepest zoom with labels of its own; deeper views
// show those of this zoom.
const LabelMaxZoom = 14

// LabelSpacing is the least distance in pixels between two labelled places
// at the zoom where the lower-ranked one appears.
const LabelSpacing = 48

// Label is a place to name on the map.
type Label struct {
	Name       string     `json:"name"`  // as GeoNames spells it: the local name, in Latin script
	Kind       string     `json:"kind"`  // KindCapital, KindCity, KindTown, KindVillage, KindNeighbourhood
	Point      [2]float64 `json:"point"` // [lon, lat]
	Population int64      `json:"population"`
	Zoom       int        `json:"zoom"` // the zoom from which it is labelled
}

// Kinds of place, as labels and geocoder candidates name them.
const (
	KindCapital       = "capital"
	KindCity          = "city"          // 100 000 people or more
	KindTown          = "town"          // 10 000 people or more
	KindVillage       = "village"       // fewer
	KindNeighbourhood = "neighbourhood" // a section of a city (GeoNames PPLX)
	KindDistrict      = "district"      // a second-level division
	KindRegion        = "region"        // a first-level division, or a well-known region across borders
	KindCountry       = "country"
)

type labelIndex struct {
	buckets map[uint64][]int32 // (zoom, tile at that zoom) → places labelled from it
}

var labelsMu sync.Mutex

func mercator(lon, lat float64) (x, y float64) {
	lat = max(-85.05112878, min(85.05112878, lat))
	s := math.Sin(lat * math.Pi / 180)
	return (lon + 180) / 360, 0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)
}

func tileKey(z, x, y int) uint64 { return uint64(z)<<58 | uint64(x)<<29 | uint64(y) }

// labels builds the label index on first use: each labelled place in the
// bucket of its tile at the zoom it appears from.
func (g *Gazetteer) labels() *labelIndex {
	labelsMu.Lock()
	defer labelsMu.Unlock()
	if g.labelIdx != nil {
		return g.labelIdx
	}
	idx := &labelIndex{buckets: map[uint64][]int32{}}
	for i, z := range g.placeLabel {
		if z > LabelMaxZoom {
			continue
		}
		x, y := mercator(float64(g.placeLon[i])/1e5, float64(g.placeLat[i])/1e5)
		s := math.Exp2(float64(z))
		k := tileKey(int(z), int(x*s), int(y*s))
		idx.buckets[k] = append(idx.buckets[k], int32(i))
	}
	g.labelIdx = idx
	return idx
}

// rankLess orders places for labelling: capitals, then by population.
func (g *Gazetteer) rankLess(a, b int) bool {
	ca, cb := g.placeFlags[a]&flagCapital != 0, g.placeFlags[b]&flagCapital != 0
	if ca != cb {
		return ca
	}
	if g.placePop[a] != g.placePop[b] {
		return g.placePop[a] > g.placePop[b]
	}
	return a < b
}

// Labels returns the places labelled at zoom z inside tile z/x/y (Web
// Mercator, x from west, y from north), best ranked first. Zooms past
// LabelMaxZoom give the labels of LabelMaxZoom in the tile.
func (g *Gazetteer) Labels(z, x, y int) []Label {
	if z < 0 || z > 30 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return nil
	}
	idx := g.labels()
	s := math.Exp2(float64(z))
	x0, y0, x1, y1 := float64(x)/s, float64(y)/s, float64(x+1)/s, float64(y+1)/s
	var out []int
	for m := 1; m <= min(z, LabelMaxZoom); m++ {
		for _, i := range idx.buckets[tileKey(m, x>>(z-m), y>>(z-m))] {
			px, py := mercator(float64(g.placeLon[i])/1e5, float64(g.placeLat[i])/1e5)
			if px >= x0 && px < x1 && py >= y0 && py < y1 {
				out = append(out, int(i))
			}
		}
	}
	sort.Slice(out, func(a, b int) bool {
		za, zb := g.placeLabel[out[a]], g.placeLabel[out[b]]
		if za != zb {
			return za < zb
		}
		return g.rankLess(out[a], out[b])
	})
	labels := make([]Label, len(out))
	for k, i := range out {
		labels[k] = Label{
			Name:       g.placeNames[g.placeOff[i]:g.placeOff[i+1]],
			Kind:       g.placeKind(i),
			Point:      [2]float64{float64(g.placeLon[i]) / 1e5, float64(g.placeLat[i]) / 1e5},
			Population: int64(g.placePop[i]),
			Zoom:       int(g.placeLabel[i]),
		}
	}
	return labels
}

// placeKind names what place i is.
func (g *Gazetteer) placeKind(i int) string {
	switch f, pop := g.placeFlags[i], g.placePop[i]; {
	case f&flagCapital != 0:
		return KindCapital
	case f&flagSection != 0:
		return KindNeighbourhood
	case pop >= 100_000:
		return KindCity
	case pop >= 10_000:
		return KindTown
	default:
		return KindVillage
	}
}
