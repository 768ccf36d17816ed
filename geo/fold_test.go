package geo

import (
	"slices"
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	tests := map[string]string{
		"Bogotá":              "bogota",
		"  BOGOTÁ, D.C. ":     "bogota d c",
		"Foz do Iguaçu":       "foz do iguacu",
		"São Tomé":            "sao tome",
		"N'Djamena":           "ndjamena",
		"Ṣan‘ā’":              "sana",
		"Ḩalab":               "halab",
		"Düsseldorf":          "dusseldorf",
		"Straße":              "strasse",
		"Łódź":                "lodz",
		"Bogota\u0301":        "bogota", // a decomposed accent
		"Saint-Louis":         "saint louis",
		"Hồ Chí Minh":         "ho chi minh",
		"Москва":              "москва",
		"ÆTHER Œuvre":         "aether oeuvre",
		"ДАИШ":                "даиш",
		"!!!":                 "",
		"Guinée-Bissau (GW)":  "guinee bissau gw",
		"Aÿ-Champagne":        "ay champagne",
		"Øresund / Œuvre":     "oresund oeuvre",
		"Ciudad   del\tEste":  "ciudad del este",
		"İstanbul":            "istanbul",
		"Ñuñoa":               "nunoa",
		"Pointe-à-Pitre":      "pointe a pitre",
		"Al Ḩudaydah":         "al hudaydah",
		"Ouagadougou\u200b":   "ouagadougou",
		"\xff\xfeBogota":      "bogota",
		"Rio de Janeiro, BR ": "rio de janeiro br",
	}
	for in, want := range tests {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldCase(t *testing.T) {
	for in, want := range map[string]string{
		"%BOGOTÁ, D.C.%": "%bogota, d.c.%",
		"Straße_1":       "strasse_1",
		"N'Djamena":      "n'djamena",
		"Ṣan‘ā’":         "sana", // transliteration marks go, as in Fold
	} {
		if got := FoldCase(in); got != want {
			t.Errorf("FoldCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasWords(t *testing.T) {
	text := Fold("ISIS plot against diplomats in Bogotá\nZona Rosa, Bogotá D.C.")
	cases := []struct {
		q    string
		want bool
	}{
		{"bogota", true},
		{"BOGOTÁ zona", true},
		{"d.c.", true},
		{"bogo", true},
		{"otá", false},
		{"diplomats veracruz", false},
		{"isis", true},
		{"is", true},
		{"sis", false},
		{"", true},
	}
	for _, tc := range cases {
		if got := HasWords(text, Words(tc.q)); got != tc.want {
			t.Errorf("HasWords(%q, Words(%q)) = %v, want %v", text, tc.q, got, tc.want)
		}
	}
}

// FuzzFold: folded text is letters and digits in words separated by single
// spaces, so that the database's ASCII tokenizer splits it exactly where
// Words does; folding is idempotent; every word of a text is found in it.
func FuzzFold(f *testing.F) {
	for _, s := range []string{"Bogotá, D.C.", "Ṣan‘ā’", "a\u200bb", "ŉ", "Ａｂｃ", "x_y-z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		folded := Fold(s)
		if folded != strings.Join(strings.Fields(folded), " ") {
			t.Fatalf("Fold(%q) = %q: not single-spaced words", s, folded)
		}
		for _, r := range folded {
			if r < 0x80 && r != ' ' && !('a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				t.Fatalf("Fold(%q) = %q holds %q", s, folded, r)
			}
		}
		if again := Fold(folded); again != folded {
			t.Fatalf("Fold(Fold(%q)) = %q, not %q", s, again, folded)
		}
		words := Words(s)
		if !HasWords(folded, words) {
			t.Fatalf("HasWords(Fold(%q), Words(%q)) is false", s, s)
		}
		if len(words) > 0 && !slices.Contains(Words(folded), words[0]) {
			t.Fatalf("Words(%q) lost %q", folded, words[0])
		}
	})
}
