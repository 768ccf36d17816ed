package geo

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
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

// foldByRune is Fold as it reads, one character after the other into a
// strings.Builder: what Fold and AppendFold, with their tables, must
// write.
func foldByRune(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is pending
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == '\'' || c == '`':
				continue
			default:
				space = b.Len() > 0
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		f, ok := foldRune(r)
		if !ok {
			space = b.Len() > 0
			continue
		}
		if f == "" {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteString(f)
	}
	return b.String()
}

// TestAppendFoldIsFoldByRune: Fold and AppendFold write what foldByRune
// does, for every character below foldTableSize alone and between
// letters, for the names of TestFold and for random text, and AppendFold
// leaves what dst held.
func TestAppendFoldIsFoldByRune(t *testing.T) {
	in := []string{"", " ", "a", " a ", "A'b", "\xff\xfeBogota", "Guinée-Bissau (GW)", "Ṣan‘ā’", "ŉ", "a\u200bb", "Ａｂｃ", "x_y-z", strings.Repeat("Bogotá D.C. ", 40)}
	for r := rune(0); r < foldTableSize+0x100; r++ {
		in = append(in, string(r), "a"+string(r)+"b", string(r)+"Z"+string(r))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("aZ09 ,.'`-_\n\tßÆøŁİıǅ\u0301\u200b‘’ʼДаμ中é\xff")
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		in = append(in, b.String())
	}
	for _, s := range in {
		want := foldByRune(s)
		if got := Fold(s); got != want {
			t.Fatalf("Fold(%q) = %q, want %q", s, got, want)
		}
		if got := AppendFold([]byte("x y"), s); string(got) != "x y"+want {
			t.Fatalf("AppendFold(\"x y\", %q) = %q, want %q", s, got, "x y"+want)
		}
	}
}
