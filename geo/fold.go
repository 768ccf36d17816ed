package geo

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns the key under which a name is matched: lower case, accents
// and other combining marks removed ("Bogotá" and "BOGOTA" both give
// "bogota"), letters without a decomposition spelled out in ASCII ("ß" →
// "ss", "ø" → "o"), apostrophes and transliteration marks dropped
// ("Ṣan‘ā’" → "sana"), and every other run of punctuation or space turned
// into one space. Letters of other scripts are kept, lower-cased.
//
// It is the one fold of the project: full-text search in memory and in the
// database, and the gazetteer's names (folded when the reference data is
// built), all compare text folded by it, so a query and the text it should
// find always meet on the same words. Its result holds only letters and
// digits, in words separated by single ASCII spaces.
func Fold(s string) string {
	var room [256]byte
	return string(AppendFold(room[:0], s))
}

// AppendFold appends Fold(s) to dst.
func AppendFold(dst []byte, s string) []byte {
	start := len(dst)
	space := false // a separator is pending
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			i++
			switch f := asciiFold[c]; f {
			case asciiSep:
				space = len(dst) > start
			case asciiDropped:
			default:
				if space {
					dst = append(dst, ' ')
					space = false
				}
				dst = append(dst, f)
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		f, ok := foldRune(r)
		if !ok {
			space = len(dst) > start
			continue
		}
		if f == "" {
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, f...)
	}
	return dst
}

// asciiFold is the fold of each ASCII character: itself for a small
// letter or a digit, its small letter for a capital, asciiDropped for an
// apostrophe, asciiSep for any other.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		case c == '\'' || c == '`':
			t[c] = asciiDropped
		default:
			t[c] = asciiSep
		}
	}
	return t
}()

// Marks in asciiFold.
const (
	asciiSep     = 0
	asciiDropped = 0xff
)

// FoldCase lower-cases text and removes accents as Fold does, but keeps
// every other character as it is: the fold of patterns whose punctuation
// means something, such as the LIKE patterns of CQL2's CASEI and ACCENTI.
func FoldCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case 'A' <= r && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		default:
			if f, ok := foldRune(r); ok {
				b.WriteString(f)
			} else {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// foldRune folds one non-ASCII rune. ok is false for a separator; f is
// empty for a rune that is dropped without separating (a mark).
func foldRune(r rune) (f string, ok bool) {
	if r < foldTableSize {
		f := foldTable()[r]
		return f, f != sep
	}
	switch {
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r),
		r == '‘' || r == '’' || r == '‛' || r == '′':
		return "", true // marks, and apostrophes as in "Ṣan‘ā’"
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		if d := decompose(r); d != "" {
			return d, true
		}
		return string(unicode.ToLower(r)), true
	}
	return sep, false
}

// sep marks a separator in foldTable.
const sep = " "

// foldTableSize covers Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic,
// and the Latin Extended Additional block of transliterated names (Ḩ, Ṣ, ạ).
const foldTableSize = 0x2000

// foldTable holds the folded form of every rune below foldTableSize,
// computed on first use from the Unicode decompositions.
var foldTable = sync.OnceValue(func() *[foldTableSize]string {
	t := new([foldTableSize]string)
	for r := rune(0); r < foldTableSize; r++ {
		switch {
		case r < utf8.RuneSelf:
			t[r] = sep
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				t[r] = string(unicode.ToLower(r))
			}
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			t[r] = ""
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if d := decompose(r); d != "" {
				t[r] = d
			} else {
				t[r] = string(unicode.ToLower(r))
			}
		default:
			t[r] = sep
		}
	}
	// Modifier letters that transliterate ʿayn and hamza, and
	// typographic apostrophes, vanish like the ASCII apostrophe.
	for _, r := range dropped {
		t[r] = ""
	}
	return t
})

// dropped are modifier letters that transliterate ʿayn and hamza, and
// typographic apostrophes: they vanish like the ASCII apostrophe, also
// inside a decomposition ("ŉ" is "ʼn").
const dropped = "ʹʻʼʽʾʿˈ´"

// extraFold spells out letters that have no canonical decomposition.
var extraFold = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'ł': "l", 'Ł': "l", 'þ': "th", 'Þ': "th", 'ı': "i", 'ħ': "h",
	'Ħ': "h", 'ŧ': "t", 'Ŧ': "t", 'ŋ': "n", 'Ŋ': "n", 'ĸ': "k",
	'ſ': "s", 'ƒ': "f", 'ɨ': "i", 'ŀ': "l", 'Ŀ': "l", 'ĳ': "ij",
	'Ĳ': "ij", 'ǆ': "dz", 'ǅ': "dz", 'Ǆ': "dz", 'ǉ': "lj", 'ǈ': "lj",
	'Ǉ': "lj", 'ǌ': "nj", 'ǋ': "nj", 'Ǌ': "nj", 'ƀ': "b", 'ɓ': "b",
	'ƈ': "c", 'ɗ': "d", 'ɖ': "d", 'ƙ': "k", 'ƚ': "l", 'ɲ': "n",
	'ƞ': "n", 'ƥ': "p", 'ƫ': "t", 'ƭ': "t", 'ʈ': "t", 'ƴ': "y",
	'ƶ': "z", 'ȥ': "z", 'ɛ': "e", 'Ɛ': "e", 'ɔ': "o", 'Ɔ': "o",
	'ə': "e", 'Ə': "e", 'ǝ': "e",
}

// decompose folds a letter through its compatibility decomposition,
// keeping the lower-cased base letters and dropping the marks; it
// returns "" when that leaves nothing useful.
func decompose(r rune) string {
	if f, ok := extraFold[r]; ok {
		return f
	}
	var b strings.Builder
	for _, c := range norm.NFKD.String(string(r)) {
		switch {
		case unicode.Is(unicode.Mn, c), strings.ContainsRune(dropped, c):
		case unicode.IsLetter(c) || unicode.IsDigit(c):
			// The lower-case letter is looked up, so that a capital
			// folds as its small letter does ("Ƞ" as "ƞ", to "n").
			l := unicode.ToLower(c)
			if f, ok := extraFold[l]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(l)
			}
		default:
			return ""
		}
	}
	return b.String()
}

// Words splits a full-text query into folded words.
//
// A word given twice is kept once: "lorem lorem" asks for the same
// records as "lorem", and each word costs a full-text lookup.
func Words(q string) []string {
	words := strings.Fields(Fold(q))
	out := words[:0]
	for _, w := range words {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// MaxWords is how many different words q may hold: each costs a lookup
// in the full-text index, and records match only when they hold them all.
const MaxWords = 20

// HasWords reports whether every one of words (from Words) begins a word
// of folded text (from Fold), so that "bogo" and "bogota" find "zona rosa
// bogota" and "ota" does not. It is the database's full-text prefix
// query, applied in memory.
func HasWords(folded string, words []string) bool {
	for _, w := range words {
		if !hasWord(folded, w) {
			return false
		}
	}
	return true
}

func hasWord(text, w string) bool {
	for i := 0; len(w) > 0 && i+len(w) <= len(text); {
		j := strings.Index(text[i:], w)
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || text[j-1] == ' ' {
			return true
		}
		i = j + 1
	}
	return false
}
