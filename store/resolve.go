package store

import (
	"context"
	"strings"

	"nexus/geo"
)

// minActorPrefix is the shortest actor filter value, in letters, that also
// finds the actors whose names have a word starting with it.
const minActorPrefix = 3

// maxActorMatches is the most actor names one filter may stand for once
// prefixes are expanded; more asks for a longer prefix.
const maxActorMatches = 1000

// resolveCountries replaces country names in the filter by their codes.
// Two letters are taken as a code as they are (upper-cased); a name no
// country answers to is refused with the closest countries named.
func (db *DB) resolveCountries(f *geo.Filter) error {
	for i, c := range f.Countries {
		c = strings.TrimSpace(c)
		if len(c) == 2 && isASCIILetters(c) {
			f.Countries[i] = strings.ToUpper(c)
			continue
		}
		if db.Countries == nil {
			return geo.Errorf(geo.EMALFORMED, "country must be ISO 3166-1 alpha-2 codes such as CO,MX; got %q", clip(c))
		}
		code := db.Countries.CountryCode(c)
		if code == "" {
			msg := "no country is called %q"
			if s := db.Countries.CountrySuggestions(c, 3); len(s) > 0 {
				return geo.Errorf(geo.EMALFORMED, msg+"; did you mean %s?", clip(c), strings.Join(s, ", "))
			}
			return geo.Errorf(geo.EMALFORMED, msg+"; use a name or an ISO 3166-1 code such as CO", clip(c))
		}
		f.Countries[i] = code
	}
	return nil
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// clip shortens user text quoted in a message.
func clip(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

// actorPrefixes adds to the filter's actors every stored actor name one of
// whose words begins with a value (folded: no case, no accents), and the
// aliases of those names, so that "zetas" finds "Los Zetas", "hezbol"
// finds "Hezbollah" and "cartel del pacifico" finds "Cártel del Pacífico".
func (db *DB) actorPrefixes(ctx context.Context, f *geo.Filter, aliases *geo.Aliases) error {
	var keys []string
	for _, a := range f.Actors {
		if k := geo.ActorKey(a); len([]rune(k)) >= minActorPrefix {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	// The names records use, from the actor summary the writes keep (a row
	// per name and collection), not from every record's keys.
	rows, err := db.read.QueryContext(ctx, "SELECT DISTINCT actor FROM actor_summary")
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	// Spellings already asked for, as the database compares them (case
	// aside, accents not).
	have := map[string]bool{}
	for _, a := range f.Actors {
		have[strings.ToLower(strings.TrimSpace(a))] = true
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if have[strings.ToLower(name)] {
			continue
		}
		k := geo.ActorKey(name)
		for _, p := range keys {
			if strings.HasPrefix(k, p) || strings.Contains(k, " "+p) {
				for _, s := range append([]string{name}, aliases.Spellings(name)...) {
					if l := strings.ToLower(s); !have[l] {
						have[l] = true
						f.Actors = append(f.Actors, s)
					}
				}
				break
			}
		}
		if len(f.Actors) > maxActorMatches {
			return geo.Errorf(geo.EMALFORMED, "actor %s stands for more than %d actors; type more of the name", clip(strings.Join(keys, ",")), maxActorMatches)
		}
	}
	return rows.Err()
}
