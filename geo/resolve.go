package geo

import "strings"

// MinActorPrefix is the shortest actor filter value, in letters, that also
// finds the actors whose names have a word starting with it.
const MinActorPrefix = 3

// MaxActorMatches is the most actor names one filter may stand for once
// prefixes are expanded; more asks for a longer prefix.
const MaxActorMatches = 1000

// ResolveCountries replaces the country names of the filter by their
// ISO 3166-1 alpha-2 codes. Two letters are taken as a code as they are
// (upper-cased); a name no country answers to is refused (EMALFORMED) with
// the closest countries named. Without names only codes are accepted.
func (f *Filter) ResolveCountries(names CountryNames) error {
	for i, c := range f.Countries {
		c = strings.TrimSpace(c)
		if len(c) == 2 && isASCIILetters(c) {
			f.Countries[i] = strings.ToUpper(c)
			continue
		}
		if names == nil {
			return Errorf(EMALFORMED, "country must be ISO 3166-1 alpha-2 codes such as CO,MX; got %q", clipName(c))
		}
		code := names.CountryCode(c)
		if code == "" {
			msg := "no country is called %q"
			if s := names.CountrySuggestions(c, 3); len(s) > 0 {
				return Errorf(EMALFORMED, msg+"; did you mean %s?", clipName(c), strings.Join(s, ", "))
			}
			return Errorf(EMALFORMED, msg+"; use a name or an ISO 3166-1 code such as CO", clipName(c))
		}
		f.Countries[i] = code
	}
	return nil
}

// ExpandActorPrefixes adds to the filter's actors every stored actor name
// one of whose words begins with a value (folded: no case, no accents),
// and the spellings the alias table knows of those names, so that "zetas"
// finds "Los Zetas", "hezbol" finds "Hezbollah" and "cartel del pacifico"
// finds "Cártel del Pacífico". names is how an engine lists the actor
// names its records use: it calls add with each, in any order, and stops
// at add's first error. It is called only when a value is long enough to
// be a prefix (MinActorPrefix). A filter that would stand for more than
// MaxActorMatches names is refused (EMALFORMED).
func (f *Filter) ExpandActorPrefixes(a *Aliases, names func(add func(name string) error) error) error {
	var keys []string
	for _, v := range f.Actors {
		if k := ActorKey(v); len([]rune(k)) >= MinActorPrefix {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	// Spellings already asked for, as the engines compare them (case
	// aside, accents not).
	have := map[string]bool{}
	for _, v := range f.Actors {
		have[strings.ToLower(strings.TrimSpace(v))] = true
	}
	return names(func(name string) error {
		if have[strings.ToLower(name)] {
			return nil
		}
		k := ActorKey(name)
		for _, p := range keys {
			if strings.HasPrefix(k, p) || strings.Contains(k, " "+p) {
				for _, s := range append([]string{name}, a.Spellings(name)...) {
					if l := strings.ToLower(s); !have[l] {
						have[l] = true
						f.Actors = append(f.Actors, s)
					}
				}
				break
			}
		}
		if len(f.Actors) > MaxActorMatches {
			return Errorf(EMALFORMED, "actor %s stands for more than %d actors; type more of the name", clipName(strings.Join(keys, ",")), MaxActorMatches)
		}
		return nil
	})
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// clipName shortens user text quoted in a message.
func clipName(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}
