package export

import "testing"

func TestInert(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`=HYPERLINK("http://x")`, `'=HYPERLINK("http://x")`},
		{"+1 555", "'+1 555"},
		{"-5 killed", "'-5 killed"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"Bogotá", "Bogotá"},
		{"", ""},
		{"a=b", "a=b"},
	} {
		if got := Inert(c.in); got != c.want {
			t.Errorf("Inert(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCSVNumbersStayNumbers(t *testing.T) {
	n := int64(-3)
	if got := csvValue(integer, &n); got != "-3" {
		t.Errorf("an integer cell is %q, want -3", got)
	}
	if got := csvValue(integer, (*int64)(nil)); got != "" {
		t.Errorf("an unknown count is %q, want an empty cell", got)
	}
	a, b := 0.1, 0.2
	if got := formatFloat(-(a + b)); got != "-0.30000000000000004" {
		t.Errorf("a coordinate is %q", got)
	}
}
