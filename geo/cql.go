package geo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
)

// Filter expressions of OGC API – Features Part 3 (CQL2 text, and the
// older "cql-text" of its drafts, which GDAL 3.6 sends): comparisons,
// IN, LIKE and ILIKE, BETWEEN, IS NULL, AND/OR/NOT, S_INTERSECTS with a
// bbox or a geometry, and T_INTERSECTS with a date, an instant or an
// interval. The store compiles an Expr to its own query; nothing here
// knows SQL.

// Filter languages accepted in filter-lang.
const (
	CQL2Text = "cql2-text"
	CQLText  = "cql-text"
)

// Limits of a filter expression.
const (
	MaxCQL      = 8192 // bytes of text
	maxCQLDepth = 64   // nesting of parentheses and NOT
)

// Expr is a parsed filter expression. Its String is CQL2 text that
// parses back to the same expression.
type Expr interface {
	String() string
	expr()
}

// Logic is AND or OR of two or more expressions.
type Logic struct {
	Op   string // "AND" or "OR"
	Args []Expr
}

// Not negates an expression.
type Not struct{ X Expr }

// Value is a literal: a string, a number or a boolean.
type Value struct {
	Kind byte // 's' string, 'n' number, 'b' boolean
	Str  string
	Num  float64
	Bool bool
}

// Compare is "property op value"; Op is one of = <> < <= > >=.
type Compare struct {
	Prop  string
	Op    string
	Value Value
}

// In is "property [NOT] IN (values)".
type In struct {
	Prop   string
	Values []Value
	Not    bool
}

// Like is "property [NOT] LIKE pattern": % any run, _ one character, \
// escapes. CaseI (ILIKE, or CASEI on both sides) ignores case and accents.
type Like struct {
	Prop    string
	Pattern string
	CaseI   bool
	Not     bool
}

// Between is "property [NOT] BETWEEN low AND high".
type Between struct {
	Prop      string
	Low, High Value
	Not       bool
}

// IsNull is "property IS [NOT] NULL".
type IsNull struct {
	Prop string
	Not  bool
}

// SIntersects is S_INTERSECTS(property, geometry); a BBOX literal is kept
// as a bound.
type SIntersects struct {
	Prop string
	Geom orb.Geometry // orb.Bound for BBOX, else a point, line or polygon
}

// TIntersects is T_INTERSECTS(property, temporal literal).
type TIntersects struct {
	Prop string
	Span Span
	Text string // the literal as written, for String
}

func (Logic) expr()       {}
func (Not) expr()         {}
func (Compare) expr()     {}
func (In) expr()          {}
func (Like) expr()        {}
func (Between) expr()     {}
func (IsNull) expr()      {}
func (SIntersects) expr() {}
func (TIntersects) expr() {}

// String implements Expr.
func (e Logic) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = "(" + a.String() + ")"
	}
	return strings.Join(parts, " "+e.Op+" ")
}

// String implements Expr.
func (e Not) String() string { return "NOT (" + e.X.String() + ")" }

// String implements Expr.
func (v Value) String() string {
	switch v.Kind {
	case 'n':
		return strconv.FormatFloat(v.Num, 'g', -1, 64)
	case 'b':
		if v.Bool {
			return "TRUE"
		}
		return "FALSE"
	}
	return quote(v.Str)
}

// String implements Expr.
func (e Compare) String() string { return quoteProp(e.Prop) + " " + e.Op + " " + e.Value.String() }

// String implements Expr.
func (e In) String() string {
	vs := make([]string, len(e.Values))
	for i, v := range e.Values {
		vs[i] = v.String()
	}
	return quoteProp(e.Prop) + not(e.Not) + " IN (" + strings.Join(vs, ", ") + ")"
}

// String implements Expr.
func (e Like) String() string {
	if e.CaseI {
		return "CASEI(" + quoteProp(e.Prop) + ")" + not(e.Not) + " LIKE CASEI(" + quote(e.Pattern) + ")"
	}
	return quoteProp(e.Prop) + not(e.Not) + " LIKE " + quote(e.Pattern)
}

// String implements Expr.
func (e Between) String() string {
	return quoteProp(e.Prop) + not(e.Not) + " BETWEEN " + e.Low.String() + " AND " + e.High.String()
}

// String implements Expr.
func (e IsNull) String() string { return quoteProp(e.Prop) + " IS" + not(e.Not) + " NULL" }

// String implements Expr.
func (e SIntersects) String() string {
	if b, ok := e.Geom.(orb.Bound); ok {
		return fmt.Sprintf("S_INTERSECTS(%s, BBOX(%s, %s, %s, %s))", quoteProp(e.Prop), num(b.Min[0]), num(b.Min[1]), num(b.Max[0]), num(b.Max[1]))
	}
	return "S_INTERSECTS(" + quoteProp(e.Prop) + ", " + wkt.MarshalString(e.Geom) + ")"
}

// String implements Expr.
func (e TIntersects) String() string {
	return "T_INTERSECTS(" + quoteProp(e.Prop) + ", " + e.Text + ")"
}

func not(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteProp(p string) string {
	if isIdent(p) && !operators[strings.ToUpper(p)] {
		return p
	}
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(unicode.IsLetter(r) || r == '_' || (i > 0 && (unicode.IsDigit(r) || r == '.' || r == ':'))) {
			return false
		}
	}
	return s != ""
}

// operators cannot be bare property names; the names of functions can,
// when no parenthesis follows them.
var operators = map[string]bool{
	"AND": true, "OR": true, "NOT": true, "LIKE": true, "ILIKE": true, "IN": true, "BETWEEN": true, "IS": true,
	"NULL": true, "TRUE": true, "FALSE": true, "INTERSECTS": true, "ANYINTERACTS": true,
}

// Props lists the properties an expression names, each once.
func Props(e Expr) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(Expr)
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	walk = func(e Expr) {
		switch e := e.(type) {
		case Logic:
			for _, a := range e.Args {
				walk(a)
			}
		case Not:
			walk(e.X)
		case Compare:
			add(e.Prop)
		case In:
			add(e.Prop)
		case Like:
			add(e.Prop)
		case Between:
			add(e.Prop)
		case IsNull:
			add(e.Prop)
		case SIntersects:
			add(e.Prop)
		case TIntersects:
			add(e.Prop)
		}
	}
	walk(e)
	return out
}

// ParseCQL parses a filter in the language lang (CQL2Text, CQLText, or
// "" for CQL2Text). Errors are EMALFORMED, saying where and what was
// expected.
func ParseCQL(text, lang string) (Expr, error) {
	switch lang {
	case "", CQL2Text, CQLText:
	default:
		return nil, Errorf(EMALFORMED, "filter-lang must be %s or %s, got %q", CQL2Text, CQLText, lang)
	}
	if len(text) > MaxCQL {
		return nil, Errorf(EMALFORMED, "filter is %d bytes long, at most %d allowed", len(text), MaxCQL)
	}
	if !utf8.ValidString(text) {
		return nil, Errorf(EMALFORMED, "filter is not valid UTF-8")
	}
	if k := strings.IndexByte(text, 0); k >= 0 {
		// No stored text holds it, and PostgreSQL refuses it in a string.
		return nil, Errorf(EMALFORMED, "filter holds a NUL character at byte %d", k+1)
	}
	p := &cqlParser{src: text}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 1 {
		return nil, Errorf(EMALFORMED, "filter is empty")
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errorf(t, "expected AND, OR or the end of the filter")
	}
	return e, nil
}

// Tokens.
const (
	tEOF = iota
	tIdent
	tQuoted // "property"
	tString
	tNumber
	tOp // = <> != < <= > >=
	tLParen
	tRParen
	tComma
)

type token struct {
	kind int
	text string // identifiers upper-cased in up; strings unescaped
	up   string
	pos  int
	end  int
}

type cqlParser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *cqlParser) errorf(t token, format string, args ...any) error {
	at := "at the end"
	if t.kind != tEOF {
		at = fmt.Sprintf("at character %d (%q)", t.pos+1, clipCQL(p.src[t.pos:t.end], 30))
	}
	return Errorf(EMALFORMED, "filter: %s %s", fmt.Sprintf(format, args...), at)
}

func clipCQL(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

func (p *cqlParser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsSpace(r):
			i += size
		case r == '(':
			p.toks = append(p.toks, token{kind: tLParen, text: "(", pos: i, end: i + 1})
			i++
		case r == ')':
			p.toks = append(p.toks, token{kind: tRParen, text: ")", pos: i, end: i + 1})
			i++
		case r == ',':
			p.toks = append(p.toks, token{kind: tComma, text: ",", pos: i, end: i + 1})
			i++
		case r == '=':
			p.toks = append(p.toks, token{kind: tOp, text: "=", pos: i, end: i + 1})
			i++
		case r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(s) && (s[i+1] == '=' || (r == '<' && s[i+1] == '>')) {
				op += string(s[i+1])
			}
			if op == "!" {
				return Errorf(EMALFORMED, "filter: unexpected '!' at character %d; not-equal is <>", i+1)
			}
			if op == "!=" {
				op = "<>"
			}
			p.toks = append(p.toks, token{kind: tOp, text: op, pos: i, end: i + len(op)})
			if op == "<>" && s[i] == '!' {
				i += 2
			} else {
				i += len(op)
			}
		case r == '\'' || r == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == byte(r) {
					if j+1 < len(s) && s[j+1] == byte(r) {
						b.WriteByte(byte(r))
						j += 2
						continue
					}
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return Errorf(EMALFORMED, "filter: the quote opened at character %d is never closed", i+1)
			}
			kind := tString
			if r == '"' {
				kind = tQuoted
			}
			p.toks = append(p.toks, token{kind: kind, text: b.String(), pos: i, end: j})
			i = j
		case r == '-' || r == '+' || r == '.' || unicode.IsDigit(r):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				((s[j] == '-' || s[j] == '+') && (s[j-1] == 'e' || s[j-1] == 'E'))) {
				j++
			}
			text := s[i:j]
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				return Errorf(EMALFORMED, "filter: %q at character %d is not a number", clipCQL(text, 30), i+1)
			}
			p.toks = append(p.toks, token{kind: tNumber, text: text, pos: i, end: j})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i + size
			for j < len(s) {
				r2, n := utf8.DecodeRuneInString(s[j:])
				if !(unicode.IsLetter(r2) || unicode.IsDigit(r2) || r2 == '_' || r2 == '.' || r2 == ':') {
					break
				}
				j += n
			}
			p.toks = append(p.toks, token{kind: tIdent, text: s[i:j], up: strings.ToUpper(s[i:j]), pos: i, end: j})
			i = j
		default:
			return Errorf(EMALFORMED, "filter: unexpected %q at character %d", r, i+1)
		}
	}
	p.toks = append(p.toks, token{kind: tEOF, pos: len(s), end: len(s)})
	return nil
}

func (p *cqlParser) peek() token { return p.toks[p.i] }

func (p *cqlParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// keyword consumes the keyword w if it comes next.
func (p *cqlParser) keyword(w string) bool {
	if t := p.peek(); t.kind == tIdent && t.up == w {
		p.i++
		return true
	}
	return false
}

func (p *cqlParser) expect(kind int, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, p.errorf(t, "expected %s", what)
	}
	return t, nil
}

func (p *cqlParser) enter() error {
	p.depth++
	if p.depth > maxCQLDepth {
		return p.errorf(p.peek(), "nested more than %d deep", maxCQLDepth)
	}
	return nil
}

func (p *cqlParser) or() (Expr, error) {
	return p.logic("OR", p.and)
}

func (p *cqlParser) and() (Expr, error) {
	return p.logic("AND", p.not)
}

func (p *cqlParser) logic(op string, sub func() (Expr, error)) (Expr, error) {
	first, err := sub()
	if err != nil {
		return nil, err
	}
	args := []Expr{first}
	for p.keyword(op) {
		e, err := sub()
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	if len(args) == 1 {
		return first, nil
	}
	return Logic{Op: op, Args: args}, nil
}

func (p *cqlParser) not() (Expr, error) {
	if p.keyword("NOT") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		x, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	}
	return p.primary()
}

func (p *cqlParser) primary() (Expr, error) {
	t := p.peek()
	if t.kind == tLParen {
		p.next()
		if err := p.enter(); err != nil {
			return nil, err
		}
		e, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return nil, err
		}
		return e, nil
	}
	if t.kind == tIdent {
		switch t.up {
		case "S_INTERSECTS", "INTERSECTS":
			return p.spatial()
		case "T_INTERSECTS", "ANYINTERACTS":
			return p.temporal()
		case "CASEI":
			return p.casei()
		}
	}
	return p.predicate()
}

// property reads a property name: an identifier or a "quoted" one.
func (p *cqlParser) property() (string, error) {
	t := p.next()
	switch {
	case t.kind == tQuoted && t.text != "":
		return t.text, nil
	case t.kind == tIdent && !operators[t.up] && p.peek().kind != tLParen:
		return t.text, nil
	}
	return "", p.errorf(t, "expected a property name")
}

// predicate reads what follows a property: a comparison, [NOT] LIKE,
// ILIKE, IN, BETWEEN, IS [NOT] NULL, or the older infix forms
// INTERSECTS and ANYINTERACTS. A literal on the left of a comparison is
// turned around.
func (p *cqlParser) predicate() (Expr, error) {
	if t := p.peek(); t.kind == tString || t.kind == tNumber || (t.kind == tIdent && (t.up == "TRUE" || t.up == "FALSE")) {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		op, err := p.expect(tOp, "a comparison operator (=, <>, <, <=, >, >=)")
		if err != nil {
			return nil, err
		}
		prop, err := p.property()
		if err != nil {
			return nil, err
		}
		flip := map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
		return Compare{Prop: prop, Op: flip[op.text], Value: v}, nil
	}
	prop, err := p.property()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tOp {
		p.next()
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		return Compare{Prop: prop, Op: t.text, Value: v}, nil
	}
	negated := p.keyword("NOT")
	switch t := p.next(); {
	case t.kind == tIdent && (t.up == "LIKE" || t.up == "ILIKE"):
		s, err := p.expect(tString, "a quoted pattern")
		if err != nil {
			return nil, err
		}
		return Like{Prop: prop, Pattern: s.text, CaseI: t.up == "ILIKE", Not: negated}, nil
	case t.kind == tIdent && t.up == "IN":
		if _, err := p.expect(tLParen, "'(' and a list of values"); err != nil {
			return nil, err
		}
		var vs []Value
		for {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if vs = append(vs, v); len(vs) > MaxItems {
				return nil, p.errorf(p.peek(), "IN lists more than %d values", MaxItems)
			}
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tRParen, "',' or ')'"); err != nil {
				return nil, err
			}
			return In{Prop: prop, Values: vs, Not: negated}, nil
		}
	case t.kind == tIdent && t.up == "BETWEEN":
		lo, err := p.value()
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, p.errorf(p.peek(), "expected AND between the two ends of BETWEEN")
		}
		hi, err := p.value()
		if err != nil {
			return nil, err
		}
		return Between{Prop: prop, Low: lo, High: hi, Not: negated}, nil
	case t.kind == tIdent && t.up == "IS" && !negated:
		isNot := p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, p.errorf(p.peek(), "expected NULL after IS")
		}
		return IsNull{Prop: prop, Not: isNot}, nil
	case t.kind == tIdent && t.up == "INTERSECTS" && !negated:
		g, err := p.geometry()
		if err != nil {
			return nil, err
		}
		return SIntersects{Prop: prop, Geom: g}, nil
	case t.kind == tIdent && t.up == "ANYINTERACTS" && !negated:
		text, span, err := p.temporalLiteral()
		if err != nil {
			return nil, err
		}
		return TIntersects{Prop: prop, Span: span, Text: text}, nil
	default:
		return nil, p.errorf(t, "expected a comparison (=, <>, <, <=, >, >=), LIKE, ILIKE, IN, BETWEEN or IS NULL after property %q", prop)
	}
}

// casei reads CASEI(property) [NOT] LIKE CASEI('pattern'), CQL2's
// case-insensitive LIKE.
func (p *cqlParser) casei() (Expr, error) {
	p.next()
	if _, err := p.expect(tLParen, "'('"); err != nil {
		return nil, err
	}
	prop, err := p.property()
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return nil, err
	}
	negated := p.keyword("NOT")
	if !p.keyword("LIKE") {
		if t := p.peek(); t.kind == tOp && t.text == "=" && !negated {
			// CASEI(p) = CASEI('x') is a LIKE without wildcards.
			p.next()
		} else {
			return nil, p.errorf(p.peek(), "expected LIKE after CASEI(%s)", prop)
		}
		s, err := p.caseiString()
		if err != nil {
			return nil, err
		}
		return Like{Prop: prop, Pattern: escapeLike(s), CaseI: true}, nil
	}
	s, err := p.caseiString()
	if err != nil {
		return nil, err
	}
	return Like{Prop: prop, Pattern: s, CaseI: true, Not: negated}, nil
}

func (p *cqlParser) caseiString() (string, error) {
	wrapped := p.keyword("CASEI")
	if wrapped {
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return "", err
		}
	}
	s, err := p.expect(tString, "a quoted pattern")
	if err != nil {
		return "", err
	}
	if wrapped {
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return "", err
		}
	}
	return s.text, nil
}

// escapeLike makes a literal match only itself as a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// value reads a literal: 'string', number, TRUE or FALSE, or DATE('…')
// and TIMESTAMP('…'), which compare as their text.
func (p *cqlParser) value() (Value, error) {
	t := p.next()
	switch {
	case t.kind == tString:
		return Value{Kind: 's', Str: t.text}, nil
	case t.kind == tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{}, p.errorf(t, "expected a finite number")
		}
		return Value{Kind: 'n', Num: f}, nil
	case t.kind == tIdent && (t.up == "TRUE" || t.up == "FALSE"):
		return Value{Kind: 'b', Bool: t.up == "TRUE"}, nil
	case t.kind == tIdent && (t.up == "DATE" || t.up == "TIMESTAMP"):
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return Value{}, err
		}
		s, err := p.expect(tString, "a quoted date or time")
		if err != nil {
			return Value{}, err
		}
		if _, err := ParseInstant(s.text); err != nil {
			return Value{}, p.errorf(s, "%v", err)
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return Value{}, err
		}
		return Value{Kind: 's', Str: s.text}, nil
	}
	return Value{}, p.errorf(t, "expected a value: a 'quoted string', a number, TRUE or FALSE")
}

// spatial reads S_INTERSECTS(property, geometry).
func (p *cqlParser) spatial() (Expr, error) {
	var g orb.Geometry
	prop, err := p.call(func() (err error) {
		g, err = p.geometry()
		return err
	})
	if err != nil {
		return nil, err
	}
	return SIntersects{Prop: prop, Geom: g}, nil
}

// call reads the arguments of a spatial or temporal predicate, after its
// name: (property, literal), the literal read by literal. It returns the
// property.
func (p *cqlParser) call(literal func() error) (string, error) {
	p.next()
	if _, err := p.expect(tLParen, "'('"); err != nil {
		return "", err
	}
	prop, err := p.property()
	if err != nil {
		return "", err
	}
	if _, err := p.expect(tComma, "','"); err != nil {
		return "", err
	}
	if err := literal(); err != nil {
		return "", err
	}
	if _, err := p.expect(tRParen, "')'"); err != nil {
		return "", err
	}
	return prop, nil
}

// geometry reads BBOX(w, s, e, n) (ENVELOPE of older drafts, as w, e, n,
// s) or a WKT point, line or polygon, checking every coordinate.
func (p *cqlParser) geometry() (orb.Geometry, error) {
	t := p.next()
	if t.kind != tIdent {
		return nil, p.errorf(t, "expected a geometry: BBOX(w, s, e, n) or WKT such as POLYGON((…))")
	}
	switch t.up {
	case "BBOX", "ENVELOPE":
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return nil, err
		}
		var v []float64
		for {
			n, err := p.expect(tNumber, "a number")
			if err != nil {
				return nil, err
			}
			f, _ := strconv.ParseFloat(n.text, 64)
			v = append(v, f)
			if p.peek().kind == tComma {
				p.next()
				continue
			}
			if _, err := p.expect(tRParen, "',' or ')'"); err != nil {
				return nil, err
			}
			break
		}
		if len(v) == 6 {
			v = []float64{v[0], v[1], v[3], v[4]}
		}
		if len(v) != 4 {
			return nil, p.errorf(t, "BBOX takes four numbers w, s, e, n")
		}
		if t.up == "ENVELOPE" {
			v = []float64{v[0], v[3], v[1], v[2]}
		}
		b := BBox{W: v[0], S: v[1], E: v[2], N: v[3]}
		if err := b.Check(); err != nil {
			return nil, p.errorf(t, "%v", err)
		}
		if b.W > b.E {
			return nil, p.errorf(t, "BBOX west %v is east of east %v; split a box across the antimeridian in two with OR", b.W, b.E)
		}
		return orb.Bound{Min: orb.Point{b.W, b.S}, Max: orb.Point{b.E, b.N}}, nil
	case "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON":
		// The WKT runs to the parenthesis that closes its first one.
		if p.peek().kind != tLParen {
			return nil, p.errorf(p.peek(), "expected '(' after %s", t.up)
		}
		depth, end := 0, 0
		for {
			u := p.next()
			switch u.kind {
			case tLParen:
				depth++
			case tRParen:
				depth--
			case tEOF:
				return nil, p.errorf(u, "the geometry %s is not closed", t.up)
			case tNumber, tComma:
			default:
				return nil, p.errorf(u, "expected coordinates in %s", t.up)
			}
			if depth == 0 {
				end = u.end
				break
			}
		}
		g, err := wkt.Unmarshal(p.src[t.pos:end])
		if err != nil {
			return nil, p.errorf(t, "not a valid %s: %v", t.up, err)
		}
		var bad error
		EachVertex(g, func(q orb.Point) {
			if _, fe := CheckPoint(q, "geometry"); fe != nil && bad == nil {
				bad = p.errorf(t, "%s", fe.Message)
			}
		})
		if bad != nil {
			return nil, bad
		}
		if isEmpty(g) {
			return nil, p.errorf(t, "the geometry %s is empty", t.up)
		}
		if !ringsClosed(g) {
			return nil, p.errorf(t, "every ring of a %s must be closed: at least 4 points, the last the same as the first", t.up)
		}
		return g, nil
	}
	return nil, p.errorf(t, "expected a geometry: BBOX(w, s, e, n) or WKT such as POLYGON((…))")
}

// ringsClosed reports whether every ring of a polygon in g is closed, as
// OGC's simple features require (PostGIS refuses any other).
func ringsClosed(g orb.Geometry) bool {
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	case orb.Collection:
		for _, c := range g {
			if !ringsClosed(c) {
				return false
			}
		}
	}
	for _, poly := range polys {
		for _, r := range poly {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				return false
			}
		}
	}
	return true
}

func isEmpty(g orb.Geometry) bool {
	n := 0
	EachVertex(g, func(orb.Point) { n++ })
	return n == 0
}

// temporal reads T_INTERSECTS(property, temporal literal).
func (p *cqlParser) temporal() (Expr, error) {
	var text string
	var span Span
	prop, err := p.call(func() (err error) {
		text, span, err = p.temporalLiteral()
		return err
	})
	if err != nil {
		return nil, err
	}
	return TIntersects{Prop: prop, Span: span, Text: text}, nil
}

// temporalLiteral reads DATE('…'), TIMESTAMP('…'), INTERVAL('a', 'b')
// with '..' for an open end, or a bare 'string' instant or a/b interval.
func (p *cqlParser) temporalLiteral() (string, Span, error) {
	t := p.next()
	switch {
	case t.kind == tString && strings.TrimSpace(t.text) != "":
		span, err := ParseInterval(t.text)
		if err != nil {
			return "", span, p.errorf(t, "%v", err)
		}
		if !strings.Contains(t.text, "/") {
			// ParseInterval forgives spaces round an instant; TIMESTAMP does not.
			return "TIMESTAMP(" + quote(strings.TrimSpace(t.text)) + ")", span, nil
		}
		a, b, _ := strings.Cut(t.text, "/")
		if a = strings.TrimSpace(a); a == "" {
			a = ".." // an empty end is open
		}
		if b = strings.TrimSpace(b); b == "" {
			b = ".."
		}
		return "INTERVAL(" + quote(a) + ", " + quote(b) + ")", span, nil
	case t.kind == tIdent && (t.up == "DATE" || t.up == "TIMESTAMP"):
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return "", Span{}, err
		}
		s, err := p.expect(tString, "a quoted date or time")
		if err != nil {
			return "", Span{}, err
		}
		span, err := ParseInstant(s.text)
		if err != nil {
			return "", span, p.errorf(s, "%v", err)
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return "", Span{}, err
		}
		return t.up + "(" + quote(s.text) + ")", span, nil
	case t.kind == tIdent && t.up == "INTERVAL":
		if _, err := p.expect(tLParen, "'('"); err != nil {
			return "", Span{}, err
		}
		a, err := p.expect(tString, "a quoted start, or '..'")
		if err != nil {
			return "", Span{}, err
		}
		if _, err := p.expect(tComma, "','"); err != nil {
			return "", Span{}, err
		}
		b, err := p.expect(tString, "a quoted end, or '..'")
		if err != nil {
			return "", Span{}, err
		}
		if _, err := p.expect(tRParen, "')'"); err != nil {
			return "", Span{}, err
		}
		if a.text == "" || b.text == "" || strings.Contains(a.text, "/") || strings.Contains(b.text, "/") {
			return "", Span{}, p.errorf(a, "INTERVAL takes two instants, '..' for an open end")
		}
		span, err := ParseInterval(a.text + "/" + b.text)
		if err != nil {
			return "", span, p.errorf(a, "%v", err)
		}
		return "INTERVAL(" + quote(a.text) + ", " + quote(b.text) + ")", span, nil
	}
	return "", Span{}, p.errorf(t, "expected a date, a timestamp or an interval: DATE('2018-02-01'), TIMESTAMP('2018-02-01T10:00:00Z'), INTERVAL('2018-01-01', '..')")
}
