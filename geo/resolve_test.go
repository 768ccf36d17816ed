package geo

import (
	"fmt"
	"testing"
)

// TestExpandActorPrefixesLimit: a prefix that stands for more than
// MaxActorMatches stored names is refused, naming the prefix; one that
// stands for fewer adds each of them once, and the names are not read at
// all for values too short to be prefixes.
func TestExpandActorPrefixesLimit(t *testing.T) {
	names := func(n int) func(add func(string) error) error {
		return func(add func(string) error) error {
			for i := range n {
				for _, s := range []string{fmt.Sprintf("Front %d", i), fmt.Sprintf("FRONT %d", i), "Other"} {
					if err := add(s); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	f := NewFilter()
	f.Actors = []string{"fron"}
	err := f.ExpandActorPrefixes(nil, names(MaxActorMatches+1))
	if ErrorCode(err) != EMALFORMED {
		t.Fatalf("%d names for one prefix: %v, want %s", MaxActorMatches+1, err, EMALFORMED)
	}
	f = NewFilter()
	f.Actors = []string{"fron"}
	if err := f.ExpandActorPrefixes(nil, names(MaxActorMatches-1)); err != nil {
		t.Fatal(err)
	}
	if len(f.Actors) != MaxActorMatches {
		t.Errorf("%d actors, want the prefix and %d names, each spelling once", len(f.Actors), MaxActorMatches-1)
	}
	f = NewFilter()
	f.Actors = []string{"fr"}
	read := false
	if err := f.ExpandActorPrefixes(nil, func(func(string) error) error { read = true; return nil }); err != nil || read || len(f.Actors) != 1 {
		t.Errorf("a two-letter value: %v, names read %v, actors %v", err, read, f.Actors)
	}
}
