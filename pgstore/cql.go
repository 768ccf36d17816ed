package pgstore

import (
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
)

// Filter expressions (geo.Expr, OGC API – Features Part 3) become SQL
// here. Properties are read from the stored Feature as jsonb, and compared
// by the rules the SQLite engine follows (json_extract's values under
// SQLite's ordering): numbers and booleans (as 0 and 1) compare as
// numbers, strings as text, and a number is less than any string; a
// missing or null property is unknown. A list property holds a condition
// when one of its items does.

// props is a record's properties as jsonb.
const props = "(convert_from(r.feature, 'UTF8')::jsonb -> 'properties')"

// cqlSQL compiles an expression for the records of one collection.
type cqlSQL struct {
	c     geo.Collection
	exact bool // sensitive records are tested by their exact geometry
	a     *args
}

func compileCQL(c geo.Collection, e geo.Expr, exact bool, a *args) (string, error) {
	q := &cqlSQL{c: c, exact: exact, a: a}
	return q.expr(e), nil
}

// column is the SQL (jsonb) of a scalar property, and whether it is a
// list; "" for a property the collection does not have.
func (q *cqlSQL) column(prop string) (sql string, isList bool) {
	qa, ok := geo.QueryableOf(q.c, prop)
	if !ok {
		return "", false
	}
	switch {
	case prop == "id":
		return "to_jsonb(r.id)", false
	case prop == "external_id":
		return "to_jsonb(r.external_id)", false
	case prop == "version":
		return "to_jsonb(r.version)", false
	case prop == "type" && q.c == geo.Incidents, prop == "commodity" && q.c == geo.Routes, prop == "relation" && q.c == geo.Links:
		return "to_jsonb(r.kind)", false
	}
	if qa.Type == "boolean" {
		// A flag left out is false, as the SQLite engine reads it.
		return "coalesce(" + props + " -> " + q.a.add(prop) + ", 'false'::jsonb)", false
	}
	return "(" + props + " -> " + q.a.add(prop) + ")", qa.Type == "array"
}

// test applies a condition on a property's value (jsonb); on a list, it
// holds when it holds for an item.
func (q *cqlSQL) test(prop string, cond func(v string) string) string {
	col, isList := q.column(prop)
	if col == "" {
		return "NULL"
	}
	if isList {
		return "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(" + col + ") = 'array' THEN " + col + " ELSE '[]' END) AS j(v) WHERE " + cond("j.v") + ")"
	}
	return cond(col)
}

// rank orders the kinds of value as SQLite does: numbers (and booleans)
// before text; NULL for a missing or null value.
func rank(v string) string {
	return "(CASE jsonb_typeof(" + v + ") WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'null' THEN NULL WHEN NULL THEN NULL ELSE 2 END)"
}

// number is a value as a number.
func number(v string) string {
	return "(CASE jsonb_typeof(" + v + ") WHEN 'number' THEN (" + v + " #>> '{}')::float8 WHEN 'boolean' THEN (CASE WHEN " + v + " = 'true' THEN 1 ELSE 0 END) END)"
}

// text is a value as text: a string's characters, or the JSON of a list
// or an object.
func text(v string) string {
	return "(CASE jsonb_typeof(" + v + ") WHEN 'string' THEN " + v + " #>> '{}' ELSE " + v + "::text END)"
}

// compare is "v op literal".
func (q *cqlSQL) compare(v, op string, lit geo.Value) string {
	var r, cmp string
	switch lit.Kind {
	case 'n', 'b':
		n := lit.Num
		if lit.Kind == 'b' {
			n = 0
			if lit.Bool {
				n = 1
			}
		}
		r, cmp = "1", number(v)+" "+op+" "+q.a.add(n)+"::float8"
	default:
		r, cmp = "2", text(v)+" "+op+" "+q.a.add(lit.Str)+"::text COLLATE \"C\""
	}
	return "(CASE " + rank(v) + " WHEN " + r + " THEN " + cmp + " ELSE " + rank(v) + " " + op + " " + r + " END)"
}

// likePattern rewrites a CQL2 pattern (%, _, \ escaping the next
// character, a trailing \ standing for itself) in PostgreSQL's LIKE
// syntax with \ as the escape.
func likePattern(p string) string {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs):
			i++
			if n := rs[i]; n == '%' || n == '_' || n == '\\' {
				b.WriteRune('\\')
			}
			b.WriteRune(rs[i])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (q *cqlSQL) expr(e geo.Expr) string {
	switch e := e.(type) {
	case geo.Logic:
		parts := make([]string, len(e.Args))
		for i, a := range e.Args {
			parts[i] = "(" + q.expr(a) + ")"
		}
		return strings.Join(parts, " "+e.Op+" ")
	case geo.Not:
		return "NOT (" + q.expr(e.X) + ")"
	case geo.Compare:
		return q.test(e.Prop, func(v string) string { return q.compare(v, e.Op, e.Value) })
	case geo.In:
		cond := q.test(e.Prop, func(v string) string {
			ps := make([]string, len(e.Values))
			for i, x := range e.Values {
				ps[i] = q.compare(v, "=", x)
			}
			return "(" + strings.Join(ps, " OR ") + ")"
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.Like:
		cond := q.test(e.Prop, func(v string) string {
			if e.CaseI {
				return "lower(unaccent(" + text(v) + ")) LIKE " + q.a.add(likePattern(geo.FoldCase(e.Pattern)))
			}
			return text(v) + " LIKE " + q.a.add(likePattern(e.Pattern))
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.Between:
		cond := q.test(e.Prop, func(v string) string {
			return "(" + q.compare(v, ">=", e.Low) + " AND " + q.compare(v, "<=", e.High) + ")"
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.IsNull:
		col, isList := q.column(e.Prop)
		if col == "" {
			col = "NULL::jsonb"
		}
		isNull := "(" + col + " IS NULL OR jsonb_typeof(" + col + ") = 'null')"
		if isList {
			isNull = "(coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(" + col + ") = 'array' THEN " + col + " END), 0) = 0)"
		}
		if e.Not {
			return "NOT " + isNull
		}
		return isNull
	case geo.SIntersects:
		if _, ok := geo.QueryableOf(q.c, e.Prop); !ok {
			return "NULL"
		}
		b := e.Geom.Bound()
		w, s, east, n := q.a.add(b.Min[0]), q.a.add(b.Min[1]), q.a.add(b.Max[0]), q.a.add(b.Max[1])
		box := "r.rid IN (SELECT rid FROM record_boxes WHERE box && ST_MakeEnvelope(" + w + ", " + s + ", " + east + ", " + n + ", 4326)" +
			" AND x0 <= " + east + " AND x1 >= " + w + " AND y0 <= " + n + " AND y1 >= " + s + " AND " + boxesFor(q.exact) + ")"
		if _, isBox := e.Geom.(orb.Bound); isBox && q.c == geo.Incidents {
			return box // a point meets a box when its box does
		}
		g := e.Geom
		if bound, isBox := g.(orb.Bound); isBox {
			g = bound.ToPolygon()
		}
		wb, err := wkb.Marshal(g)
		if err != nil {
			return "false"
		}
		return box + " AND ST_Intersects(" + geomFor(q.exact) + ", ST_GeomFromWKB(" + q.a.add(wb) + ", 4326))"
	case geo.TIntersects:
		if _, ok := geo.QueryableOf(q.c, e.Prop); !ok {
			return "NULL"
		}
		return "r.t1 > " + q.a.add(e.Span.Start) + " AND r.t0 < " + q.a.add(e.Span.End)
	}
	return "false"
}
