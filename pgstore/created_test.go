package pgstore

import (
	"bytes"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store/storetest"
)

// TestCreatedIsEncodeFeature: the Feature of a new record made from its
// encoding with a zero Meta is, byte for byte, what geo.EncodeFeature
// writes of it as version 1, for incidents (sensitive or not, with and
// without optional fields) and routes (across the antimeridian too).
func TestCreatedIsEncodeFeature(t *testing.T) {
	gen := storetest.NewSynth(7, "enc:")
	recs := append(gen.Incidents(300), gen.Routes(100)...)
	for i, r := range recs {
		if inc, ok := r.(*geo.Incident); ok && i%3 == 0 {
			inc.Sensitive = true
			inc.Summary, inc.Tags, inc.Killed = "", nil, nil
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 678000000, time.UTC)
	stamp, err := now.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		_, plain, err := contentHashOf(r)
		if err != nil {
			t.Fatal(err)
		}
		id := geo.NewID()
		got, ok := created(plain, id, stamp)
		if !ok {
			t.Fatalf("no Feature made of %s", plain)
		}
		m := r.Base()
		m.ID, m.Version, m.Created, m.Updated = id, 1, now, now
		want, err := geo.EncodeFeature(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("made\n%s\nencoded\n%s", got, want)
		}
	}
	if _, ok := created([]byte(`{"type":"Feature","id":"","geometry":null,"properties":{}}`), "abc", stamp); ok {
		t.Error("a Feature made of empty properties")
	}
	if _, ok := created([]byte(`{"type":"Feature","id":"","geometry":null,"properties":{"title":"x"}}`), `a"b`, stamp); ok {
		t.Error("a Feature made with an id that needs escaping")
	}
}
