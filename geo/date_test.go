package geo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// unix returns the Unix second of an RFC 3339 time.
func unix(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.Unix()
}

func TestParseDate(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		start, end string // RFC 3339; empty when an error is expected
		err        string
	}{
		{name: "a year covers the year", in: "1992", start: "1992-01-01T00:00:00Z", end: "1993-01-01T00:00:00Z"},
		{name: "a month covers the month", in: "1994-07", start: "1994-07-01T00:00:00Z", end: "1994-08-01T00:00:00Z"},
		{name: "December ends at the new year", in: "1994-12", start: "1994-12-01T00:00:00Z", end: "1995-01-01T00:00:00Z"},
		{name: "a day covers the day", in: "1994-07-18", start: "1994-07-18T00:00:00Z", end: "1994-07-19T00:00:00Z"},
		{name: "February of a leap year", in: "2024-02", start: "2024-02-01T00:00:00Z", end: "2024-03-01T00:00:00Z"},
		{name: "leap day 2024-02-29", in: "2024-02-29", start: "2024-02-29T00:00:00Z", end: "2024-03-01T00:00:00Z"},
		{name: "leap day 2000-02-29", in: "2000-02-29", start: "2000-02-29T00:00:00Z", end: "2000-03-01T00:00:00Z"},
		{name: "no leap day in 2023", in: "2023-02-29", err: "not a valid date"},
		{name: "no leap day in 1900", in: "1900-02-29", err: "not a valid date"},
		{name: "impossible date 2021-02-30", in: "2021-02-30", err: "not a valid date of the form YYYY-MM-DD"},
		{name: "day 31 of a 30-day month", in: "1994-06-31", err: "not a valid date"},
		{name: "month 00", in: "1994-00", err: "not a valid date of the form YYYY-MM"},
		{name: "month 13", in: "1994-13", err: "not a valid date of the form YYYY-MM"},
		{name: "day 00", in: "1994-07-00", err: "not a valid date"},
		{name: "month without its zero", in: "1994-7", err: "not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"},
		{name: "slashes", in: "1994/07/18", err: "not a valid date of the form YYYY-MM-DD"},
		{name: "two-digit year", in: "94", err: "not a date of the form"},
		{name: "letters", in: "July", err: "not a valid date of the form YYYY"},
		{name: "empty", in: "", err: "not a date of the form"},
		{name: "RFC 3339 time is not a partial date", in: "1994-07-18T00:00:00Z", err: "not a date of the form"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDate(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDate(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tc.in, err)
			}
			if want := (Span{unix(t, tc.start), unix(t, tc.end)}); got != want {
				t.Errorf("ParseDate(%q) = %v, want %v", tc.in, got, want)
			}
		})
	}
}

func TestParseInterval(t *testing.T) {
	const open = ""
	cases := []struct {
		name       string
		in         string
		start, end string // RFC 3339, or open
		err        string // a substring of the error, when one is expected
	}{
		{name: "empty is all time", in: "", start: open, end: open},
		{name: "a date is its day", in: "1994-07-18", start: "1994-07-18T00:00:00Z", end: "1994-07-19T00:00:00Z"},
		{name: "a month is the month", in: "1994-07", start: "1994-07-01T00:00:00Z", end: "1994-08-01T00:00:00Z"},
		{name: "an RFC 3339 instant is one second", in: "1994-07-31T23:59:59Z", start: "1994-07-31T23:59:59Z", end: "1994-08-01T00:00:00Z"},
		{name: "an RFC 3339 instant with an offset", in: "1994-07-18T09:53:00-03:00", start: "1994-07-18T12:53:00Z", end: "1994-07-18T12:53:01Z"},
		{name: "fractional seconds fall in their second", in: "1994-07-18T09:53:00.5Z", start: "1994-07-18T09:53:00Z", end: "1994-07-18T09:53:01Z"},
		{name: "interval of days covers both days whole", in: "1992-03-17/1992-03-18", start: "1992-03-17T00:00:00Z", end: "1992-03-19T00:00:00Z"},
		{name: "interval of years", in: "1992/1994", start: "1992-01-01T00:00:00Z", end: "1995-01-01T00:00:00Z"},
		{name: "interval of RFC 3339 times", in: "1994-07-18T00:00:00Z/1994-07-18T12:00:00Z", start: "1994-07-18T00:00:00Z", end: "1994-07-18T12:00:01Z"},
		{name: "interval mixing a time and a date", in: "1994-07-18T12:00:00Z/1994-07-18", start: "1994-07-18T12:00:00Z", end: "1994-07-19T00:00:00Z"},
		{name: "interval of one day", in: "1994-07-18/1994-07-18", start: "1994-07-18T00:00:00Z", end: "1994-07-19T00:00:00Z"},
		{name: "open start", in: "../1994-06", start: open, end: "1994-07-01T00:00:00Z"},
		{name: "open end", in: "1994-07-18/..", start: "1994-07-18T00:00:00Z", end: open},
		{name: "empty start is open", in: "/1994", start: open, end: "1995-01-01T00:00:00Z"},
		{name: "empty end is open", in: "1994/", start: "1994-01-01T00:00:00Z", end: open},
		{name: "both ends open", in: "../..", start: open, end: open},
		{name: "spaces around are ignored", in: " 1994-07 ", start: "1994-07-01T00:00:00Z", end: "1994-08-01T00:00:00Z"},
		{name: "leap day 2024-02-29", in: "2024-02-29/..", start: "2024-02-29T00:00:00Z", end: open},

		{name: "end precedes start", in: "1994-07-18/1994-07-17", err: "ends before it starts"},
		{name: "end year precedes start year", in: "1995/1994", err: "ends before it starts"},
		{name: "end time precedes start time", in: "1994-07-18T12:00:00Z/1994-07-18T11:59:59Z", err: "ends before it starts"},
		{name: "no leap day in 2023", in: "2023-02-29", err: "not a valid date"},
		{name: "no leap day at the end", in: "2023-01-01/2023-02-29", err: "not a valid date"},
		{name: "bad start", in: "yesterday/..", err: "not a date"},
		{name: "bad end", in: "../tomorrow", err: "not a date"},
		{name: "bad RFC 3339", in: "1994-07-18T25:00:00Z", err: "neither an RFC 3339 time nor a date"},
		{name: "time without a zone", in: "1994-07-18T12:00:00", err: "neither an RFC 3339 time nor a date"},
		{name: "two slashes", in: "1994/1995/1996", err: "not a date"},
		{name: "open alone", in: "..", err: "not a date"},
		{name: "words", in: "last week", err: "not a date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInterval(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseInterval(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseInterval(%q): %v", tc.in, err)
			}
			want := All
			if tc.start != open {
				want.Start = unix(t, tc.start)
			}
			if tc.end != open {
				want.End = unix(t, tc.end)
			}
			if got != want {
				t.Errorf("ParseInterval(%q) = %v, want %v", tc.in, got, want)
			}
		})
	}
}

// TestSpanOverlap is the datetime query parameter: a record matches when
// its date span overlaps the interval asked for.
func TestSpanOverlap(t *testing.T) {
	cases := []struct {
		name     string
		date     string // the record's partial date
		datetime string // the query parameter
		overlaps bool
	}{
		{"a month overlaps a day in it", "1994-07", "1994-07-18", true},
		{"a month overlaps its first day", "1994-07", "1994-07-01", true},
		{"a month overlaps its last second", "1994-07", "1994-07-31T23:59:59Z", true},
		{"a month overlaps its first second", "1994-07", "1994-07-01T00:00:00Z", true},
		{"a month does not overlap the next month's first day", "1994-07", "1994-08-01", false},
		{"a month does not overlap the next month's first second", "1994-07", "1994-08-01T00:00:00Z", false},
		{"a month does not overlap the previous month's last second", "1994-07", "1994-06-30T23:59:59Z", false},
		{"a month is in UTC: 20:59:59 in Buenos Aires is still July", "1994-07", "1994-07-31T20:59:59-03:00", true},
		{"a month is in UTC: 21:00 in Buenos Aires is August", "1994-07", "1994-07-31T21:00:00-03:00", false},
		{"a year overlaps two days in it", "1992", "1992-03-17/1992-03-18", true},
		{"a year overlaps an interval that starts in it", "1992", "1992-12-31/1993-06", true},
		{"a year does not overlap the next year", "1992", "1993", false},
		{"a day overlaps its month", "1994-07-18", "1994-07", true},
		{"a day overlaps its year", "1994-07-18", "1994", true},
		{"a day does not overlap the next day", "1994-07-18", "1994-07-19", false},
		{"open start up to June excludes July", "1994-07", "../1994-06", false},
		{"open start up to July includes July", "1994-07", "../1994-07", true},
		{"open start up to June includes 1994 as a year", "1994", "../1994-06", true},
		{"open end from a day in July includes July", "1994-07", "1994-07-18/..", true},
		{"open end includes a later year", "1995", "1994-07-18/..", true},
		{"open end excludes the day before", "1994-07-17", "1994-07-18/..", false},
		{"open end excludes June", "1994-06", "1994-07-18/..", false},
		{"both ends open include anything", "0001", "../..", true},
		{"an empty parameter includes anything", "1994-07-18", "", true},
		{"leap day overlaps February", "2024-02-29", "2024-02", true},
		{"leap day does not overlap March", "2024-02-29", "2024-03/..", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			record, err := ParseDate(tc.date)
			if err != nil {
				t.Fatal(err)
			}
			query, err := ParseInterval(tc.datetime)
			if err != nil {
				t.Fatal(err)
			}
			if got := record.Overlaps(query); got != tc.overlaps {
				t.Errorf("%q overlaps %q = %v, want %v", tc.date, tc.datetime, got, tc.overlaps)
			}
			if got := query.Overlaps(record); got != tc.overlaps {
				t.Errorf("overlap is not symmetric for %q and %q", tc.date, tc.datetime)
			}
			// The filter asks the same question of incidents.
			f := NewFilter()
			f.Span = query
			inc := &Incident{Point: orbPoint(-58.4, -34.6), Title: "x", Type: "attack", Date: tc.date}
			if got := f.Match(inc); got != tc.overlaps {
				t.Errorf("Filter{datetime=%q}.Match(incident dated %q) = %v, want %v", tc.datetime, tc.date, got, tc.overlaps)
			}
		})
	}
}

// TestDateSpans checks the spans records are found by: an incident's date,
// and a route's active_from and active_to, either of which may be absent.
func TestDateSpans(t *testing.T) {
	const open = ""
	cases := []struct {
		name       string
		r          Record
		start, end string // RFC 3339, or open
	}{
		{"incident dated by year", &Incident{Date: "1992"}, "1992-01-01T00:00:00Z", "1993-01-01T00:00:00Z"},
		{"incident dated by month", &Incident{Date: "1994-07"}, "1994-07-01T00:00:00Z", "1994-08-01T00:00:00Z"},
		{"incident dated by day", &Incident{Date: "1994-07-18"}, "1994-07-18T00:00:00Z", "1994-07-19T00:00:00Z"},
		{"route active from and to", &Route{ActiveFrom: "2005", ActiveTo: "2012-06"}, "2005-01-01T00:00:00Z", "2012-07-01T00:00:00Z"},
		{"route active from only has an open end", &Route{ActiveFrom: "2005-03"}, "2005-03-01T00:00:00Z", open},
		{"route active to only has an open start", &Route{ActiveTo: "2012"}, open, "2013-01-01T00:00:00Z"},
		{"route with neither is active at all times", &Route{}, open, open},
		{"route active within one day", &Route{ActiveFrom: "2010-05-01", ActiveTo: "2010-05-01"}, "2010-05-01T00:00:00Z", "2010-05-02T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rt, ok := tc.r.(*Route); ok {
				rt.Line = orbLine(-75.5, 10.4, -6.3, 36.5)
			}
			want := All
			if tc.start != open {
				want.Start = unix(t, tc.start)
			}
			if tc.end != open {
				want.End = unix(t, tc.end)
			}
			if got := tc.r.Keys().Span; got != want {
				t.Errorf("Keys().Span = %v, want %v", got, want)
			}
		})
	}

	// A route with an open end matches any later interval, and one with
	// neither end matches every interval.
	matches := []struct {
		name     string
		r        *Route
		datetime string
		want     bool
	}{
		{"open end matches a later year", &Route{ActiveFrom: "2005"}, "2020", true},
		{"open end does not match before it starts", &Route{ActiveFrom: "2005"}, "../2004", false},
		{"open start matches an earlier year", &Route{ActiveTo: "2012"}, "1990", true},
		{"open start does not match after it ends", &Route{ActiveTo: "2012"}, "2013-01-01T00:00:00Z", false},
		{"no dates match any instant", &Route{}, "1994-07-18T12:00:00Z", true},
		{"no dates match an open interval", &Route{}, "../1900", true},
	}
	for _, tc := range matches {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.Name, tc.r.Commodity, tc.r.Line = "x", "cocaine", orbLine(-75.5, 10.4, -6.3, 36.5)
			span, err := ParseInterval(tc.datetime)
			if err != nil {
				t.Fatal(err)
			}
			f := NewFilter()
			f.Span = span
			if got := f.Match(tc.r); got != tc.want {
				t.Errorf("datetime=%s matches route active %q..%q = %v, want %v", tc.datetime, tc.r.ActiveFrom, tc.r.ActiveTo, got, tc.want)
			}
		})
	}
}

// TestPlainDateIsTimeParse: the dates plainDate reads are those time.Parse
// reads with ParseDate's layouts, as the same times, among years, months
// and days at and past their limits, and strings that only look like
// dates.
func TestPlainDateIsTimeParse(t *testing.T) {
	var in []string
	for _, y := range []string{"0000", "0001", "1900", "1999", "2000", "2023", "2024", "2100", "9999"} {
		in = append(in, y)
		for m := 0; m <= 13; m++ {
			ym := fmt.Sprintf("%s-%02d", y, m)
			in = append(in, ym)
			for d := 0; d <= 32; d++ {
				in = append(in, fmt.Sprintf("%s-%02d", ym, d))
			}
		}
	}
	in = append(in, "", "+123", "-123", "12 4", "1e10", "2020-1-01", "2020-01-1 ", "2020/01/01", "2020-01-0x", "202O", "２０２０",
		"2020_01", "2020-+1", "2020-01--1", "2020-01-+1", "1994-07-18T00:00:00Z")
	layouts := map[int]string{4: "2006", 7: "2006-01", 10: "2006-01-02"}
	for _, s := range in {
		got, ok := plainDate(s)
		want, err := time.Parse(layouts[len(s)], s)
		if layouts[len(s)] == "" {
			err = fmt.Errorf("no layout")
		}
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("plainDate(%q) = %v, %v; time.Parse: %v, %v", s, got, ok, want, err)
		}
	}
}
