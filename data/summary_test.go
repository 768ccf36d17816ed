package data

import (
	"encoding/json"
	"testing"
)

// TestSummarize counts the sample files independently of Summarize: every
// feature, every year, every distinct source URL.
func TestSummarize(t *testing.T) {
	s, err := Summarize()
	if err != nil {
		t.Fatal(err)
	}
	count := func(name string) (n int, urls map[string]bool, years []string) {
		raw, err := Sample.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var fc struct {
			Features []struct {
				Properties map[string]any `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(raw, &fc); err != nil {
			t.Fatal(err)
		}
		urls = map[string]bool{}
		for _, f := range fc.Features {
			for _, k := range []string{"date", "active_from", "active_to"} {
				if d, ok := f.Properties[k].(string); ok && len(d) >= 4 {
					years = append(years, d[:4])
				}
			}
			srcs, _ := f.Properties["sources"].([]any)
			for _, x := range srcs {
				urls[x.(map[string]any)["url"].(string)] = true
			}
		}
		return len(fc.Features), urls, years
	}
	ni, ui, yi := count("sample/incidents.geojson")
	nr, ur, yr := count("sample/routes.geojson")
	if s.Incidents != ni || s.Routes != nr || ni == 0 || nr == 0 {
		t.Errorf("counted %d incidents and %d routes, the files hold %d and %d", s.Incidents, s.Routes, ni, nr)
	}
	for u := range ur {
		ui[u] = true
	}
	if len(s.Sources) != len(ui) {
		t.Errorf("%d sources, the files cite %d distinct URLs", len(s.Sources), len(ui))
	}
	for _, y := range append(yi, yr...) {
		if y < s.From || y > s.To {
			t.Errorf("year %s outside the span %s–%s", y, s.From, s.To)
		}
	}
	total := 0
	for _, src := range s.Sources {
		if src.Title == "" || !ui[src.URL] || src.Records == 0 {
			t.Errorf("source %+v", src)
		}
		total += src.Records
	}
	if total < ni+nr {
		t.Errorf("sources are cited by %d records in all, fewer than the %d records", total, ni+nr)
	}
}
