package geo

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestParseCQL(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"equality", "type = 'seizure'", "type = 'seizure'"},
		{"as GDAL 3.6 sends it", "(type = 'seizure') AND (killed > 0)", "(type = 'seizure') AND (killed > 0)"},
		{"keywords in any case", "type='a' and not killed<=3 or country <> 'CO'", "((type = 'a') AND (NOT (killed <= 3))) OR (country <> 'CO')"},
		{"not equal as !=", "country != 'CO'", "country <> 'CO'"},
		{"literal first is turned around", "3 < killed", "killed > 3"},
		{"in", "country IN ('CO', 'MX')", "country IN ('CO', 'MX')"},
		{"not in", "country NOT IN ('CO')", "country NOT IN ('CO')"},
		{"like", "title LIKE 'Bomb%'", "title LIKE 'Bomb%'"},
		{"ilike", "title ILIKE '%bogotá%'", "CASEI(title) LIKE CASEI('%bogotá%')"},
		{"casei", "CASEI(title) LIKE CASEI('%x%')", "CASEI(title) LIKE CASEI('%x%')"},
		{"casei equality", "CASEI(place) = CASEI('50%')", `CASEI(place) LIKE CASEI('50\%')`},
		{"quotes inside strings", "title = 'O''Brien'", "title = 'O''Brien'"},
		{"quoted property", `"type" = 'plot'`, "type = 'plot'"},
		{"between", "killed BETWEEN 1 AND 10", "killed BETWEEN 1 AND 10"},
		{"is null", "killed IS NULL", "killed IS NULL"},
		{"is not null", "killed IS NOT NULL", "killed IS NOT NULL"},
		{"date literal", "date >= DATE('2018-01-01')", "date >= '2018-01-01'"},
		{"a property named like a function", "bbox = 1 AND " + `"DATE"` + " = 2", `(bbox = 1) AND (DATE = 2)`},
		{"bbox", "S_INTERSECTS(geometry, BBOX(-80, -5, -60, 12.5))", "S_INTERSECTS(geometry, BBOX(-80, -5, -60, 12.5))"},
		{"polygon", "S_INTERSECTS(geometry, POLYGON((-80 0, -70 0, -70 10, -80 10, -80 0)))", "S_INTERSECTS(geometry, POLYGON((-80 0,-70 0,-70 10,-80 10,-80 0)))"},
		{"older intersects", "geometry INTERSECTS ENVELOPE(-80, -60, 12.5, -5)", "S_INTERSECTS(geometry, BBOX(-80, -5, -60, 12.5))"},
		{"interval", "T_INTERSECTS(date, INTERVAL('2018-01-01', '..'))", "T_INTERSECTS(date, INTERVAL('2018-01-01', '..'))"},
		{"instant", "T_INTERSECTS(date, DATE('2018-02'))", "T_INTERSECTS(date, DATE('2018-02'))"},
		{"older anyinteracts", "date ANYINTERACTS '2018/2019'", "T_INTERSECTS(date, INTERVAL('2018', '2019'))"},
		{"booleans", "sensitive = TRUE", "sensitive = TRUE"},
		{"numbers", "killed > -1.5e2", "killed > -150"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseCQL(c.in, CQL2Text)
			if err != nil {
				t.Fatalf("ParseCQL(%q): %v", c.in, err)
			}
			if got := e.String(); got != c.want {
				t.Fatalf("ParseCQL(%q) = %s, want %s", c.in, got, c.want)
			}
			again, err := ParseCQL(e.String(), CQLText)
			if err != nil || again.String() != e.String() {
				t.Fatalf("%s does not parse back to itself: %v %v", e, again, err)
			}
		})
	}
}

func TestParseCQLErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"type = ", "expected a value"},
		{"type = 'a", "never closed"},
		{"type 'a'", "expected a comparison"},
		{"(type = 'a'", "expected ')'"},
		{"type = 'a' AND", "expected a property name"},
		{"type = 'a' 'b'", "expected AND, OR"},
		{"S_INTERSECTS(geometry, BBOX(1, 2, 3))", "four numbers"},
		{"S_INTERSECTS(geometry, POINT(200 0))", "longitude"},
		{"S_INTERSECTS(geometry, BBOX(10, 0, -10, 5))", "antimeridian"},
		{"T_INTERSECTS(date, DATE('2018-13'))", "valid date"},
		{"T_INTERSECTS(date, INTERVAL('2019', '2018'))", "ends before"},
		{"killed > 1e999", "not a number"},
		{"date(1) = 2", "property name"},
		{"and = 1", "property name"},
		{strings.Repeat("NOT ", 100) + "x = 1", "nested"},
		{strings.Repeat("(", 100) + "x = 1" + strings.Repeat(")", 100), "nested"},
		{"x = 1 ; DROP TABLE records", "unexpected"},
	} {
		_, err := ParseCQL(c.in, CQLText)
		if err == nil || ErrorCode(err) != EMALFORMED || !strings.Contains(ErrorMessage(err), c.want) {
			t.Errorf("ParseCQL(%q) = %v; want EMALFORMED saying %q", c.in, err, c.want)
		}
	}
	if _, err := ParseCQL("x = 1", "cql2-json"); err == nil {
		t.Error("cql2-json was accepted")
	}
}

func TestCQLProps(t *testing.T) {
	e, err := ParseCQL("(type = 'a' OR killed > 1) AND NOT type IN ('b') AND S_INTERSECTS(geometry, BBOX(0,0,1,1))", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(Props(e), ","); got != "type,killed,geometry" {
		t.Errorf("Props = %s", got)
	}
	s := e.(Logic).Args[2].(SIntersects)
	if b, ok := s.Geom.(orb.Bound); !ok || b.Max != (orb.Point{1, 1}) {
		t.Errorf("BBOX read as %v", s.Geom)
	}
}

// FuzzParseCQL: no input crashes the parser, and whatever parses prints
// as text that parses back to the same expression.
func FuzzParseCQL(f *testing.F) {
	for _, s := range []string{
		"type = 'seizure' AND killed > 0", "(type = 'seizure') AND (killed > 0)", "country IN ('CO','MX')",
		"title ILIKE '%bogot%'", "NOT (killed IS NULL)", "killed BETWEEN 1 AND 3",
		"S_INTERSECTS(geometry, POLYGON((-80 0, -70 0, -70 10, -80 10, -80 0)))",
		"T_INTERSECTS(date, INTERVAL('2018-01-01', '..'))", "CASEI(place) = CASEI('x')", `"a b" = 'c'`,
		"geometry INTERSECTS ENVELOPE(-80, -60, 12.5, -5)", "date ANYINTERACTS '2018/..'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseCQL(s, CQLText)
		if err != nil {
			if ErrorCode(err) != EMALFORMED {
				t.Fatalf("ParseCQL(%q): error code %q", s, ErrorCode(err))
			}
			return
		}
		text := e.String()
		again, err := ParseCQL(text, CQL2Text)
		if err != nil {
			t.Fatalf("%q parsed as %s, which does not parse: %v", s, text, err)
		}
		if again.String() != text {
			t.Fatalf("%q parsed as %s, which parses as %s", s, text, again.String())
		}
	})
}
