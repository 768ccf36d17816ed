package geocode

import (
	"slices"
	"testing"
)

// TestCountryNames: names in common spellings and languages resolve to
// codes; misspellings get the intended country among the suggestions.
func TestCountryNames(t *testing.T) {
	g := loaded(t)
	for _, c := range []struct{ in, want string }{
		{"Colombia", "CO"}, {"COLOMBIA", "CO"}, {"Kolumbien", "CO"}, {"Colombie", "CO"},
		{"col", "CO"}, {"Guinea-Bissau", "GW"}, {"Guinée-Bissau", "GW"}, {"Mexiko", "MX"},
		{"México", "MX"}, {"Estados Unidos", "US"}, {"United States", "US"}, {"Ivory Coast", "CI"},
	} {
		if got := g.CountryCode(c.in); got != c.want {
			t.Errorf("CountryCode(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"Colmbia", "Colombia (CO)"}, {"Guinea Bisau", "Guinea-Bissau (GW)"}, {"Venezuella", "Venezuela (VE)"},
	} {
		got := g.CountrySuggestions(c.in, 3)
		if len(got) == 0 || len(got) > 3 || !slices.Contains(got, c.want) {
			t.Errorf("CountrySuggestions(%q) = %q, want %q among at most 3", c.in, got, c.want)
		}
	}
	if got := g.CountrySuggestions("zzzzzzzzzzzzzzzzzzzzzzzz", 3); len(got) != 0 {
		t.Errorf("suggestions for nonsense: %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b  string
		limit int
		want  int
	}{
		{"kitten", "sitting", 5, 3}, {"", "abc", 5, 3}, {"same", "same", 0, 0},
		{"kitten", "sitting", 2, -1}, {"a", "abcdef", 2, -1}, {"bogotá", "bogota", 2, 1},
	} {
		if got := editDistance(c.a, c.b, c.limit); got != c.want {
			t.Errorf("editDistance(%q, %q, %d) = %d, want %d", c.a, c.b, c.limit, got, c.want)
		}
	}
}
