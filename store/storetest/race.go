//go:build race

package storetest

// RaceDetector says whether the race detector is compiled in (go test
// -race). It makes the transpiled SQLite about twenty times slower, so
// the property tests check the same properties on less data then (see
// Sized); without it they run at their full sizes.
const RaceDetector = true
