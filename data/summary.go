package data

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Summary says what the sample data are, counted from the files themselves:
// how many records of each kind, the years they span, and the distinct
// sources they were coded from.
type Summary struct {
	Incidents int      `json:"incidents"`
	Routes    int      `json:"routes"`
	From      string   `json:"from"` // earliest year of any date, "" when none
	To        string   `json:"to"`   // latest year of any date
	Sources   []Source `json:"sources"`
}

// Source is one distinct source of the sample, with how many records cite it.
type Source struct {
	Title     string `json:"title"`
	Publisher string `json:"publisher,omitempty"`
	URL       string `json:"url,omitempty"`
	Records   int    `json:"records"`
}

// Summarize counts the sample files of Sample.
func Summarize() (Summary, error) {
	var s Summary
	bySource := map[string]*Source{}
	for _, f := range []struct {
		name  string
		count *int
	}{{"sample/incidents.geojson", &s.Incidents}, {"sample/routes.geojson", &s.Routes}} {
		raw, err := Sample.ReadFile(f.name)
		if err != nil {
			return s, err
		}
		var fc struct {
			Features []struct {
				Properties struct {
					Date       string   `json:"date"`
					ActiveFrom string   `json:"active_from"`
					ActiveTo   string   `json:"active_to"`
					Sources    []Source `json:"sources"`
				} `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(raw, &fc); err != nil {
			return s, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.count = len(fc.Features)
		for _, ft := range fc.Features {
			p := ft.Properties
			for _, d := range []string{p.Date, p.ActiveFrom, p.ActiveTo} {
				if len(d) < 4 {
					continue
				}
				y := d[:4]
				if s.From == "" || y < s.From {
					s.From = y
				}
				if y > s.To {
					s.To = y
				}
			}
			seen := map[string]bool{}
			for _, src := range p.Sources {
				key := strings.TrimSpace(src.URL)
				if key == "" {
					key = strings.TrimSpace(src.Title)
				}
				if key == "" || seen[key] {
					continue
				}
				seen[key] = true
				if bySource[key] == nil {
					bySource[key] = &Source{Title: src.Title, Publisher: src.Publisher, URL: src.URL}
				}
				bySource[key].Records++
			}
		}
	}
	for _, src := range bySource {
		s.Sources = append(s.Sources, *src)
	}
	sort.Slice(s.Sources, func(i, j int) bool {
		if s.Sources[i].Records != s.Sources[j].Records {
			return s.Sources[i].Records > s.Sources[j].Records
		}
		return s.Sources[i].Title < s.Sources[j].Title
	})
	return s, nil
}
