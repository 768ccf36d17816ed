package pgstore

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

// Resolve prepares a filter for matching, as the SQLite engine does:
// country names become codes (a name no country answers to is refused,
// naming the closest ones); the actors it names are expanded to the stored
// names one of whose words begins with them, then to every spelling the
// alias table knows; and a near_route corridor gets the route's path.
func (db *DB) Resolve(ctx context.Context, f *geo.Filter) error {
	if err := db.resolveCountries(f); err != nil {
		return err
	}
	if err := db.resolveNear(ctx, f.Near); err != nil {
		return err
	}
	a, err := db.Aliases(ctx)
	if err != nil {
		return err
	}
	f.ResolveActors(a)
	return db.actorPrefixes(ctx, f, a)
}

// resolveCountries replaces country names in the filter by their codes.
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

// resolveNear fills in the path of a near_route corridor from the route.
func (db *DB) resolveNear(ctx context.Context, n *geo.Near) error {
	if n == nil || n.Route == "" || n.Path != nil {
		return nil
	}
	st, err := db.Get(ctx, geo.Routes, n.Route)
	if err != nil {
		return geo.Errorf(geo.EMALFORMED, "near_route: there is no route with id %q", n.Route)
	}
	r, err := geo.DecodeFeature(geo.Routes, st.Feature)
	if err != nil {
		return err
	}
	n.Path = r.Geometry()
	return nil
}

// actorPrefixes adds to the filter's actors every stored actor name one of
// whose words begins with a value (folded: no case, no accents), and the
// aliases of those names.
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
	rows, err := db.pool.Query(ctx, "SELECT DISTINCT value FROM record_keys WHERE key = 'actor'")
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
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
	return translate(rows.Err())
}
