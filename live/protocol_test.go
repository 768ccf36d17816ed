package live

import (
	"strings"
	"testing"

	"nexus/geo"
)

// TestSubscriptionMatch reads as the rules of a view: the box first, then
// the other keys, a change counting when the record before or after it
// matches.
func TestSubscriptionMatch(t *testing.T) {
	attack := `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.08,4.6]},"properties":{"title":"Car bomb in Bogotá","type":"attack","date":"2019-01-17","country":"CO","actors":["ELN"]}}`
	moved := `{"type":"Feature","geometry":{"type":"Point","coordinates":[2.35,48.85]},"properties":{"title":"Car bomb in Bogotá","type":"attack","date":"2019-01-17","country":"CO","actors":["ELN"]}}`
	route := `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[-77,-12],[-80,9],[-99,19]]},"properties":{"name":"Pacific corridor","commodity":"cocaine","countries":["PE","PA","MX"],"actors":["Sinaloa"]}}`
	pacific := `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[170,-15],[-170,-10]]},"properties":{"name":"Across the date line","commodity":"arms"}}`
	change := func(c geo.Collection, before, after string) *entry {
		ch := geo.Change{Seq: 1, Collection: c, Op: geo.OpUpdate, Before: []byte(before), After: []byte(after)}
		e, err := decode(&ch)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	bogota := &geo.BBox{W: -80, S: 0, E: -70, N: 10}
	fiji := &geo.BBox{W: 175, S: -20, E: -175, N: 0}
	span, _ := geo.ParseInterval("2019/2020")
	later, _ := geo.ParseInterval("2021/..")
	for _, tc := range []struct {
		name   string
		filter geo.Filter
		e      *entry
		want   verdict
	}{
		{"everything", geo.NewFilter(), change(geo.Incidents, "", attack), send},
		{"inside the box", geo.Filter{BBox: bogota}, change(geo.Incidents, "", attack), send},
		{"outside the box", geo.Filter{BBox: bogota}, change(geo.Incidents, "", moved), skip},
		{"moved out of the box", geo.Filter{BBox: bogota}, change(geo.Incidents, attack, moved), leave},
		{"deleted inside the box", geo.Filter{BBox: bogota}, change(geo.Incidents, attack, ""), send},
		{"type", geo.Filter{Types: []string{"attack"}}, change(geo.Incidents, "", attack), send},
		{"other type", geo.Filter{Types: []string{"arrest"}}, change(geo.Incidents, "", attack), skip},
		{"type does not apply to routes", geo.Filter{Types: []string{"arrest"}}, change(geo.Routes, "", route), send},
		{"commodity", geo.Filter{Commodities: []string{"cocaine"}}, change(geo.Routes, "", route), send},
		{"other commodity", geo.Filter{Commodities: []string{"arms"}}, change(geo.Routes, "", route), skip},
		{"actor, any case", geo.Filter{Actors: []string{"eln"}}, change(geo.Incidents, "", attack), send},
		{"other actor", geo.Filter{Actors: []string{"FARC"}}, change(geo.Incidents, "", attack), skip},
		{"country of a route", geo.Filter{Countries: []string{"PA"}}, change(geo.Routes, "", route), send},
		{"words, without accents", geo.Filter{Q: "bogota car"}, change(geo.Incidents, "", attack), send},
		{"a missing word", geo.Filter{Q: "bogota truck"}, change(geo.Incidents, "", attack), skip},
		{"words begin words", geo.Filter{Q: "ogota"}, change(geo.Incidents, "", attack), skip},
		{"country, any case", geo.Filter{Countries: []string{"co"}}, change(geo.Incidents, "", attack), send},
		{"other country", geo.Filter{Countries: []string{"MX"}}, change(geo.Incidents, "", attack), skip},
		{"edited out of the words", geo.Filter{Q: "bogota"}, change(geo.Incidents, attack, strings.Replace(attack, "Bogotá", "Cali", 1)), leave},
		{"edited into the words", geo.Filter{Q: "bogota"}, change(geo.Incidents, strings.Replace(attack, "Bogotá", "Cali", 1), attack), send},
		{"date span", geo.Filter{Span: span}, change(geo.Incidents, "", attack), send},
		{"later span", geo.Filter{Span: later}, change(geo.Incidents, "", attack), skip},
		{"route through the box", geo.Filter{BBox: &geo.BBox{W: -82, S: 5, E: -78, N: 10}}, change(geo.Routes, "", route), send},
		{"route across the antimeridian", geo.Filter{BBox: fiji}, change(geo.Routes, "", pacific), send},
		{"box across the antimeridian, route elsewhere", geo.Filter{BBox: fiji}, change(geo.Routes, "", route), skip},
	} {
		if got := compile(tc.filter).match(tc.e); got != tc.want {
			t.Errorf("%s: match = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestChangeFrames: a change frame and its leave variant are JSON a client
// reads with ParseFrame, and ChangeSeq finds their seq without decoding.
func TestChangeFrames(t *testing.T) {
	ch := geo.Change{Seq: 42, Collection: geo.Incidents, ID: "a1", Op: geo.OpUpdate,
		After: []byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"title":"x"}}`)}
	for _, tc := range []struct {
		name    string
		data    []byte
		matches *bool
	}{
		{"upsert", changeFrame(&ch), nil},
		{"leave", leaveFrame(changeFrame(&ch)), new(bool)},
	} {
		f, err := ParseFrame(tc.data)
		if err != nil {
			t.Fatalf("%s: %s: %v", tc.name, tc.data, err)
		}
		if f.Type != "change" || f.Seq != 42 || f.Op != "upsert" || f.ID != "a1" || len(f.Feature) == 0 {
			t.Errorf("%s: %+v", tc.name, f)
		}
		if (f.Matches == nil) != (tc.matches == nil) || (f.Matches != nil && *f.Matches) {
			t.Errorf("%s: matches %v, want %v", tc.name, f.Matches, tc.matches)
		}
		if seq, ok := ChangeSeq(tc.data); !ok || seq != 42 {
			t.Errorf("%s: ChangeSeq = %d, %v", tc.name, seq, ok)
		}
	}
	if _, ok := ChangeSeq(seqFrame("hello", 7)); ok {
		t.Error("ChangeSeq reads a hello frame")
	}
}
