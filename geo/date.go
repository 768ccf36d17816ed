package geo

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Open ends of a time span, in Unix seconds.
const (
	MinTime int64 = math.MinInt64 // an interval open at its start
	MaxTime int64 = math.MaxInt64 // an interval open at its end
)

// Span is a half-open interval of time [Start, End) in Unix seconds.
// Start may be MinTime and End MaxTime for open ends.
type Span struct {
	Start, End int64
}

// All is the span of all time.
var All = Span{MinTime, MaxTime}

// Overlaps reports whether the two spans share at least one second.
func (s Span) Overlaps(o Span) bool {
	return s.Start < o.End && o.Start < s.End
}

// ParseDate parses a partial date, "YYYY", "YYYY-MM" or "YYYY-MM-DD", and
// returns the span it covers: a year, a month or a day (UTC).
func ParseDate(s string) (Span, error) {
	if t, ok := plainDate(s); ok {
		return dateSpan(t, len(s)), nil
	}
	var layout string
	switch len(s) {
	case 4:
		layout = "2006"
	case 7:
		layout = "2006-01"
	case 10:
		layout = "2006-01-02"
	default:
		return Span{}, fmt.Errorf("%q is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD", s)
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return Span{}, fmt.Errorf("%q is not a valid date of the form %s", s, strings.NewReplacer("2006", "YYYY", "01", "MM", "02", "DD").Replace(layout))
	}
	return dateSpan(t, len(s)), nil
}

// dateSpan is the span of the date t written with n characters: a year,
// a month or a day.
func dateSpan(t time.Time, n int) Span {
	var end time.Time
	switch n {
	case 4:
		end = t.AddDate(1, 0, 0)
	case 7:
		end = t.AddDate(0, 1, 0)
	default:
		end = t.AddDate(0, 0, 1)
	}
	return Span{t.Unix(), end.Unix()}
}

// plainDate reads a valid date "YYYY", "YYYY-MM" or "YYYY-MM-DD" as
// time.Parse reads it with ParseDate's layouts, without its generality;
// ok is false for anything else, which time.Parse tells apart.
func plainDate(s string) (t time.Time, ok bool) {
	year, month, day, ok := plainDateFields(s)
	if !ok {
		return t, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), true
}

// plainDateFields are the year, month and day of a date plainDate
// reads; a year or a month has its first month or day.
func plainDateFields(s string) (year, month, day int, ok bool) {
	if len(s) != 4 && len(s) != 7 && len(s) != 10 {
		return 0, 0, 0, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok = num(0, 4)
	month, day = 1, 1
	if ok && len(s) >= 7 {
		month, ok = num(5, 2)
		ok = ok && s[4] == '-' && 1 <= month && month <= 12
	}
	if ok && len(s) == 10 {
		day, ok = num(8, 2)
		ok = ok && s[7] == '-' && 1 <= day && day <= daysIn(month, year)
	}
	return year, month, day, ok
}

// daysIn is the number of days of the month (1 to 12) of the year, in
// the proleptic Gregorian calendar.
func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return int(monthDays[month])
}

var monthDays = [13]uint8{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// ParseInstant parses one end of a datetime parameter: a partial date (its
// whole span) or an RFC 3339 timestamp (one second).
func ParseInstant(s string) (Span, error) {
	if len(s) > 10 {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return Span{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date YYYY[-MM[-DD]]", s)
		}
		return Span{t.Unix(), t.Unix() + 1}, nil
	}
	return ParseDate(s)
}

// ParseInterval parses the OGC datetime parameter: an instant, or an
// interval "a/b", "../b", "a/.." (an empty end is open too). Each end may be
// a partial date or an RFC 3339 time; the interval covers both ends whole.
func ParseInterval(s string) (Span, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return All, nil
	}
	a, b, isInterval := strings.Cut(s, "/")
	if !isInterval {
		return ParseInstant(s)
	}
	span := All
	if a != ".." && a != "" {
		sa, err := ParseInstant(a)
		if err != nil {
			return Span{}, err
		}
		span.Start = sa.Start
	}
	if b != ".." && b != "" {
		sb, err := ParseInstant(b)
		if err != nil {
			return Span{}, err
		}
		span.End = sb.End
	}
	if span.Start >= span.End {
		return Span{}, fmt.Errorf("interval %q ends before it starts", s)
	}
	return span, nil
}
