package geocode

import (
	"strings"
	"testing"
)

// Each candidate says what it is; districts (GeoNames ADM2), sections of
// cities (PPLX) and well-known regions across borders are found.
func TestForwardKinds(t *testing.T) {
	g := loaded(t)
	cases := []struct {
		q, name, kind, country string
	}{
		{"Bissau", "Bissau", KindCapital, "GW"},
		{"Triple Frontera", "Triple Frontera", KindRegion, "PY"},
		{"Tri-Border Area", "Triple Frontera", KindRegion, "PY"},
		{"Catatumbo", "Catatumbo", KindRegion, "CO"},
		{"Sabaneta, Medellín", "Sabaneta", KindNeighbourhood, "CO"},
		{"Tumaco", "Tumaco", KindTown, "CO"},
		{"Colombia", "Colombia", KindCountry, "CO"},
	}
	for _, c := range cases {
		ps, err := g.Forward(c.q, 5)
		if err != nil || len(ps) == 0 {
			t.Errorf("%q: %v, %d candidates", c.q, err, len(ps))
			continue
		}
		if p := ps[0]; p.Name != c.name || p.Kind != c.kind || p.Country != c.country || p.Fallback != "" {
			t.Errorf("%q: first %+v, want %s, a %s in %s", c.q, p, c.name, c.kind, c.country)
		}
	}
	// "Bissau": the capital and the region of the same name, told apart.
	ps, _ := g.Forward("Bissau", 5)
	kinds := map[string]bool{}
	for _, p := range ps {
		if p.Name == "Bissau" && p.Country == "GW" {
			kinds[p.Kind] = true
		}
	}
	if !kinds[KindCapital] || !kinds[KindRegion] {
		t.Errorf("Bissau: kinds %v, want the capital and the region", kinds)
	}
	// A district (ADM2) with its first-level area.
	ps, _ = g.Forward("Coyoacán", 5)
	found := false
	for _, p := range ps {
		found = found || p.Kind == KindDistrict && p.Admin1 == "Mexico City" && p.Precision == PrecisionAdmin
	}
	if !found {
		t.Errorf("Coyoacán: no district among %+v", ps)
	}
}

// "place, city" finds the place near the city, or says plainly that it
// fell back to the city.
func TestForwardFallback(t *testing.T) {
	g := loaded(t)
	ps, err := g.Forward("Zona Rosa, Bogotá", 5)
	if err != nil || len(ps) != 1 {
		t.Fatalf("Zona Rosa, Bogotá: %v, %+v", err, ps)
	}
	if ps[0].Name != "Bogotá" || !strings.Contains(ps[0].Fallback, `"Zona Rosa"`) || !strings.Contains(ps[0].Fallback, "Bogotá itself") {
		t.Errorf("Zona Rosa, Bogotá: %+v", ps[0])
	}
	ps, _ = g.Forward("Sabaneta, Medellín", 5)
	for _, p := range ps {
		if p.Fallback != "" {
			t.Errorf("Sabaneta, Medellín: fell back: %+v", p)
		}
	}
	if ps, _ := g.Forward("Bogotá", 1); len(ps) != 1 || ps[0].Fallback != "" {
		t.Errorf("Bogotá alone: %+v", ps)
	}
}
