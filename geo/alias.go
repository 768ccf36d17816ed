package geo

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Alias says that one spelling of an actor's name means the actor of the
// canonical name: "Hizballah" is "Hezbollah". Records keep the spelling
// their source used; filters, counts and profiles go by the canonical name.
type Alias struct {
	Alias  string `json:"alias"`
	Name   string `json:"name"`
	Source string `json:"source,omitempty"` // who spells it so: "GTD", "ACLED", a publication
}

// Validate checks one alias on its own.
func (a *Alias) Validate() error {
	var v invalid
	checkString(&v, "alias", a.Alias, true, MaxTitle)
	checkString(&v, "name", a.Name, true, MaxTitle)
	checkString(&v, "source", a.Source, false, MaxText)
	if len(v.fields) == 0 && ActorKey(a.Alias) == ActorKey(a.Name) {
		v.add("alias", "is the name itself (%q); an alias is another spelling", a.Name)
	}
	return v.err()
}

// ActorKey is the form actor names are compared in: folded (case and
// accents) with runs of spaces made one.
func ActorKey(name string) string {
	return strings.Join(strings.Fields(Fold(name)), " ")
}

// Aliases resolves actor names to canonical names. The zero value and nil
// resolve every name to itself.
type Aliases struct {
	canon     map[string]string   // ActorKey(alias) -> canonical name
	spellings map[string][]string // ActorKey(canonical) -> canonical then its aliases
	list      []Alias
}

// NewAliases builds the resolver of a table of aliases.
func NewAliases(list []Alias) *Aliases {
	a := &Aliases{canon: map[string]string{}, spellings: map[string][]string{}, list: append([]Alias(nil), list...)}
	sort.Slice(a.list, func(i, j int) bool {
		if a.list[i].Name != a.list[j].Name {
			return a.list[i].Name < a.list[j].Name
		}
		return a.list[i].Alias < a.list[j].Alias
	})
	for _, x := range a.list {
		a.canon[ActorKey(x.Alias)] = x.Name
		k := ActorKey(x.Name)
		if len(a.spellings[k]) == 0 {
			a.spellings[k] = []string{x.Name}
		}
		a.spellings[k] = append(a.spellings[k], x.Alias)
	}
	return a
}

// List returns the table, sorted by canonical name then alias.
func (a *Aliases) List() []Alias {
	if a == nil {
		return []Alias{}
	}
	return append([]Alias{}, a.list...)
}

// Canonical returns the canonical name of an actor: the name an alias
// points to, or the name itself (trimmed) when it is no alias.
func (a *Aliases) Canonical(name string) string {
	name = strings.TrimSpace(name)
	if a != nil {
		if c, ok := a.canon[ActorKey(name)]; ok {
			return c
		}
	}
	return name
}

// Same reports whether two names mean the same actor.
func (a *Aliases) Same(x, y string) bool {
	return ActorKey(a.Canonical(x)) == ActorKey(a.Canonical(y))
}

// Spellings returns every name known to mean the same actor as name: its
// canonical name first, then the aliases. A name the table does not know
// is its only spelling.
func (a *Aliases) Spellings(name string) []string {
	c := a.Canonical(name)
	if a != nil {
		if s, ok := a.spellings[ActorKey(c)]; ok {
			return append([]string(nil), s...)
		}
	}
	return []string{c}
}

// Expand returns the names with every spelling of each, without repeats:
// what a filter on actors must look for among the names records use.
func (a *Aliases) Expand(names []string) []string {
	if len(names) == 0 {
		return names
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		for _, s := range append([]string{strings.TrimSpace(n)}, a.Spellings(n)...) {
			if k := ActorKey(s); !seen[k] && utf8.ValidString(s) {
				seen[k] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// ResolveActors makes the filter find every spelling of the actors it
// names, so that actor=Hizballah finds what actor=Hezbollah finds, and
// keeps the table for counts by actor.
func (f *Filter) ResolveActors(a *Aliases) {
	f.Actors = a.Expand(f.Actors)
	f.Aliases = a
}
