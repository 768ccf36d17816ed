package geocode

import "testing"

// loaded returns the shared Gazetteer, skipping when the reference data
// was not built.
func loaded(tb testing.TB) *Gazetteer {
	tb.Helper()
	g, err := Default()
	if err != nil {
		tb.Fatalf("%v (run data/reference/build.sh)", err)
	}
	return g
}
