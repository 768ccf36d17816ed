package geo

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestFilterMatch(t *testing.T) {
	records := map[string]Record{
		"bogota plot": &Incident{
			Point: orb.Point{-74.0543, 4.6669}, Title: "ISIS plot against diplomats in Bogotá", Type: "plot",
			Date: "2018-11", Place: "Zona Rosa, Bogotá", Country: "CO", Actors: []string{"ISIS"},
		},
		"veracruz seizure": &Incident{
			Point: orb.Point{-96.1342, 19.1738}, Title: "Cocaine seized in the port", Type: "seizure",
			Date: "2019-03-02", Place: "Veracruz", Country: "MX", Actors: []string{"Los Zetas"}, Tags: []string{"port"},
		},
		"pacific route": &Route{
			Line: orbLine(-77.03, 3.88, -104.32, 19.05), Name: "Pacific route", Commodity: "cocaine",
			Waypoints: []string{"Buenaventura", "Manzanillo"}, Actors: []string{"Sinaloa Cartel"}, Countries: []string{"CO", "MX"},
		},
		"bissau route": &Route{
			Line: orbLine(-15.6, 11.9, -6.3, 36.5), Name: "Arms through Guinea-Bissau", Commodity: "arms",
			Actors: []string{"Hezbollah"}, Countries: []string{"GW", "ES"}, Summary: "Financing from West África.",
		},
	}
	all := []string{"bissau route", "bogota plot", "pacific route", "veracruz seizure"}
	cases := []struct {
		name string
		f    Filter
		want []string
	}{
		{"an empty filter selects everything", NewFilter(), all},
		{"the zero filter selects everything", Filter{}, all},
		{"type selects incidents of that type", Filter{Types: []string{"plot"}}, []string{"bissau route", "bogota plot", "pacific route"}},
		{"type is any-of", Filter{Types: []string{"plot", "seizure"}}, all},
		{"type applies only to incidents", Filter{Types: []string{"attack"}}, []string{"bissau route", "pacific route"}},
		{"commodity selects routes of that commodity", Filter{Commodities: []string{"cocaine"}}, []string{"bogota plot", "pacific route", "veracruz seizure"}},
		{"commodity is any-of", Filter{Commodities: []string{"arms", "cocaine"}}, all},
		{"commodity applies only to routes", Filter{Commodities: []string{"heroin"}}, []string{"bogota plot", "veracruz seizure"}},
		{"type and commodity together", Filter{Types: []string{"plot"}, Commodities: []string{"arms"}}, []string{"bissau route", "bogota plot"}},
		{"actor selects by name", Filter{Actors: []string{"ISIS"}}, []string{"bogota plot"}},
		{"actor ignores case", Filter{Actors: []string{"isis"}}, []string{"bogota plot"}},
		{"actor is any-of across collections", Filter{Actors: []string{"los zetas", "HEZBOLLAH"}}, []string{"bissau route", "veracruz seizure"}},
		{"actor is a whole name, not a part of one", Filter{Actors: []string{"Zetas"}}, nil},
		{"country selects incidents and routes through it", Filter{Countries: []string{"CO"}}, []string{"bogota plot", "pacific route"}},
		{"country ignores case", Filter{Countries: []string{"mx"}}, []string{"pacific route", "veracruz seizure"}},
		{"country is any-of", Filter{Countries: []string{"GW", "MX"}}, []string{"bissau route", "pacific route", "veracruz seizure"}},
		{"an incident without a country matches no country", Filter{Countries: []string{"AR"}}, nil},
		{"different fields all apply", Filter{Types: []string{"plot"}, Countries: []string{"MX"}}, []string{"pacific route"}},
		{"q ignores accents in the text", Filter{Q: "bogota"}, []string{"bogota plot"}},
		{"q ignores case and accents in the query", Filter{Q: "BOGOTÁ"}, []string{"bogota plot"}},
		{"q ignores accents on both sides", Filter{Q: "africa"}, []string{"bissau route"}},
		{"q needs all its words", Filter{Q: "diplomats bogota"}, []string{"bogota plot"}},
		{"q with a word that is nowhere matches nothing", Filter{Q: "diplomats veracruz"}, nil},
		{"q ignores punctuation", Filter{Q: "  zona, rosa!"}, []string{"bogota plot"}},
		{"q reads place names", Filter{Q: "veracruz"}, []string{"veracruz seizure"}},
		{"q reads waypoints", Filter{Q: "manzanillo"}, []string{"pacific route"}},
		{"q reads actors", Filter{Q: "sinaloa"}, []string{"pacific route"}},
		{"q reads tags", Filter{Q: "port"}, []string{"veracruz seizure"}},
		{"q reads summaries", Filter{Q: "financing"}, []string{"bissau route"}},
		{"q and actor together", Filter{Q: "cocaine", Actors: []string{"Los Zetas"}}, []string{"veracruz seizure"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f.Check(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for name, r := range records {
				if tc.f.Match(r) {
					got = append(got, name)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("matched %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFilterCheck(t *testing.T) {
	long := make([]byte, MaxText+1)
	for i := range long {
		long[i] = 'a'
	}
	cases := []struct {
		name string
		f    Filter
		ok   bool
	}{
		{"an empty filter", NewFilter(), true},
		{"a box across the antimeridian", Filter{BBox: &BBox{170, -10, -170, 10}}, true},
		{"a box out of range", Filter{BBox: &BBox{0, 0, 190, 10}}, false},
		{"a box upside down", Filter{BBox: &BBox{0, 10, 10, 0}}, false},
		{"q too long", Filter{Q: string(long)}, false},
		{"too many actors", Filter{Actors: make([]string, MaxItems+1)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Check()
			if (err == nil) != tc.ok {
				t.Fatalf("Check() = %v, want ok %v", err, tc.ok)
			}
			if err != nil && ErrorCode(err) != EMALFORMED {
				t.Errorf("ErrorCode = %q, want %q", ErrorCode(err), EMALFORMED)
			}
		})
	}
}

// A word repeated in q is looked up once, and q is bounded in words.
func TestWordsOnceAndBounded(t *testing.T) {
	if got := Words("lorem Lorem  LÓREM ipsum lorem"); strings.Join(got, " ") != "lorem ipsum" {
		t.Fatalf("Words = %q", got)
	}
	f := NewFilter()
	f.Q = strings.Repeat("lorem ", 330)
	if err := f.Check(); err != nil {
		t.Fatalf("330 times one word: %v", err)
	}
	var many []string
	for i := 0; i <= MaxWords; i++ {
		many = append(many, fmt.Sprintf("w%d", i))
	}
	f.Q = strings.Join(many, " ")
	if err := f.Check(); ErrorCode(err) != EMALFORMED {
		t.Fatalf("%d different words: %v", MaxWords+1, err)
	}
}
