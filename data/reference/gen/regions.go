package main

import (
	"fmt"

	"nexus/geo"
)

// Well-known regions that no division bounds, often across borders, each
// placed at the centre of the GeoNames places it is named after (the most
// populous place of that name in that country). Their names are the ones
// the press and the literature on trafficking use.
var regions = []struct {
	names   []string    // the first is shown
	members [][2]string // place name, ISO country code
}{
	{[]string{"Triple Frontera", "Tri-Border Area", "Triple Frontier", "Tríplice Fronteira", "Triple Fronteira"},
		[][2]string{{"Ciudad del Este", "PY"}, {"Foz do Iguaçu", "BR"}, {"Puerto Iguazú", "AR"}}},
	{[]string{"Darién Gap", "Tapón del Darién", "Darien Gap"},
		[][2]string{{"Yaviza", "PA"}, {"Turbo", "CO"}}},
	{[]string{"Catatumbo"},
		[][2]string{{"Tibú", "CO"}, {"El Tarra", "CO"}, {"Teorama", "CO"}}},
	{[]string{"Bajo Cauca"},
		[][2]string{{"Caucasia", "CO"}, {"El Bagre", "CO"}, {"Tarazá", "CO"}}},
	{[]string{"Urabá", "Golfo de Urabá"},
		[][2]string{{"Apartadó", "CO"}, {"Turbo", "CO"}, {"Necoclí", "CO"}, {"Chigorodó", "CO"}}},
	{[]string{"VRAEM", "Valle de los ríos Apurímac, Ene y Mantaro"},
		[][2]string{{"Pichari", "PE"}, {"Kimbiri", "PE"}}},
	{[]string{"Tierra Caliente"},
		[][2]string{{"Apatzingán", "MX"}, {"Ciudad Altamirano", "MX"}, {"Huetamo de Núñez", "MX"}}},
	{[]string{"Triángulo Dorado", "Triangulo Dorado"},
		[][2]string{{"Badiraguato", "MX"}, {"Guadalupe y Calvo", "MX"}, {"Tamazula de Victoria", "MX"}}},
	{[]string{"Bijagós", "Arquipélago dos Bijagós", "Bissagos Islands"},
		[][2]string{{"Bubaque", "GW"}, {"Bolama", "GW"}}},
}

// addRegions appends the regions to admins, each with its member places;
// a member not found is an error, so that a change of the data shows.
func addRegions(admins []*admin, places []place, cs *countries) ([]*admin, error) {
	byName := map[[2]string]int{}
	for i := range places {
		k := [2]string{geo.Fold(places[i].name), cs.list[places[i].country].code}
		if j, ok := byName[k]; !ok || places[i].pop > places[j].pop {
			byName[k] = i
		}
	}
	for _, r := range regions {
		a := &admin{name: r.names[0], alts: r.names[1:], level: levelRegion, parent: -1}
		for _, m := range r.members {
			i, ok := byName[[2]string{geo.Fold(m[0]), m[1]}]
			if !ok {
				return nil, fmt.Errorf("region %s: no place %s in %s", r.names[0], m[0], m[1])
			}
			a.places = append(a.places, i)
			a.pop += places[i].pop
			a.rankPop = max(a.rankPop, places[i].pop)
		}
		a.country = places[a.places[0]].country
		var lon, lat float64
		for _, i := range a.places {
			lon += places[i].lon
			lat += places[i].lat
		}
		a.lon, a.lat = lon/float64(len(a.places)), lat/float64(len(a.places))
		admins = append(admins, a)
	}
	return admins, nil
}
