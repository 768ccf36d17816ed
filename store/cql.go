package store

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"modernc.org/sqlite"

	"nexus/geo"
)

// Filter expressions (geo.Expr, OGC API – Features Part 3) become SQL
// here. Properties are read from the stored Feature with json_extract;
// the indexed columns (kind, id, external_id, version, the time span and
// the R*Tree of boxes) are used where a property has one. LIKE and the
// exact geometric test are Go functions registered with SQLite.

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("nexus_like", 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := args[0].(string)
		if !ok {
			if args[0] == nil {
				return nil, nil
			}
			s = fmt.Sprint(args[0])
		}
		pattern, _ := args[1].(string)
		caseI, _ := args[2].(int64)
		return geo.MatchLike(s, pattern, caseI != 0), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("nexus_intersects", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		a, ok1 := args[0].([]byte)
		b, ok2 := args[1].([]byte)
		if !ok1 || !ok2 {
			return false, nil
		}
		ga, err := wkb.Unmarshal(a)
		if err != nil {
			return false, nil
		}
		gb, err := regions.get(b)
		if err != nil {
			return false, nil
		}
		return geo.Intersects(ga, gb), nil
	})
}

// regions caches the decoded geometries of filters: the same WKB comes
// with every row of a query.
var regions = &regionCache{m: map[string]orb.Geometry{}}

type regionCache struct {
	mu sync.Mutex
	m  map[string]orb.Geometry
}

func (c *regionCache) get(b []byte) (orb.Geometry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.m[string(b)]; ok {
		return g, nil
	}
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	if len(c.m) >= 64 {
		clear(c.m)
	}
	c.m[string(b)] = g
	return g, nil
}

// cqlSQL compiles an expression for the records of one collection. A
// property the collection does not have is NULL.
type cqlSQL struct {
	c     geo.Collection
	exact bool // sensitive records are tested by their exact geometry
	args  []any
}

func compileCQL(c geo.Collection, e geo.Expr, exact bool) (string, []any) {
	q := &cqlSQL{c: c, exact: exact}
	return q.expr(e), q.args
}

// column is the SQL of a scalar property, and whether it is a list.
func (q *cqlSQL) column(prop string) (sql string, isList bool) {
	qa, ok := geo.QueryableOf(q.c, prop)
	if !ok {
		return "NULL", false
	}
	switch {
	case prop == "id":
		return "r.id", false
	case prop == "external_id":
		return "r.external_id", false
	case prop == "version":
		return "r.version", false
	case prop == "type" && q.c == geo.Incidents, prop == "commodity" && q.c == geo.Routes, prop == "relation" && q.c == geo.Links:
		return "r.kind", false
	case qa.Type == "array":
		return "json_extract(nexus_feature(r.feature), '$.properties." + prop + "')", true
	case qa.Type == "boolean":
		return "coalesce(json_extract(nexus_feature(r.feature), '$.properties." + prop + "'), 0)", false
	}
	return "json_extract(nexus_feature(r.feature), '$.properties." + prop + "')", false
}

// test applies a condition on a property's value: on a list, it holds
// when it holds for any item.
func (q *cqlSQL) test(prop string, cond func(value string) string) string {
	col, isList := q.column(prop)
	if isList {
		return "EXISTS (SELECT 1 FROM json_each(nexus_feature(r.feature), '$.properties." + prop + "') j WHERE " + cond("j.value") + ")"
	}
	return cond(col)
}

func (q *cqlSQL) value(v geo.Value) string {
	switch v.Kind {
	case 'n':
		if v.Num == float64(int64(v.Num)) {
			q.args = append(q.args, int64(v.Num))
		} else {
			q.args = append(q.args, v.Num)
		}
	case 'b':
		b := int64(0)
		if v.Bool {
			b = 1
		}
		q.args = append(q.args, b)
	default:
		q.args = append(q.args, v.Str)
	}
	return "?"
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
		// A comparison with an unknown (null) value is neither true nor
		// false; NOT of it selects nothing, as in CQL2.
		return "NOT (" + q.expr(e.X) + ")"
	case geo.Compare:
		return q.test(e.Prop, func(v string) string { return v + " " + e.Op + " " + q.value(e.Value) })
	case geo.In:
		cond := q.test(e.Prop, func(v string) string {
			ps := make([]string, len(e.Values))
			for i, x := range e.Values {
				ps[i] = q.value(x)
			}
			return v + " IN (" + strings.Join(ps, ", ") + ")"
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.Like:
		cond := q.test(e.Prop, func(v string) string {
			caseI := int64(0)
			if e.CaseI {
				caseI = 1
			}
			q.args = append(q.args, e.Pattern, caseI)
			return "nexus_like(" + v + ", ?, ?)"
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.Between:
		cond := q.test(e.Prop, func(v string) string {
			lo := q.value(e.Low)
			return v + " BETWEEN " + lo + " AND " + q.value(e.High)
		})
		if e.Not {
			return "NOT (" + cond + ")"
		}
		return cond
	case geo.IsNull:
		col, isList := q.column(e.Prop)
		if isList {
			col = "nullif(json_array_length(" + col + "), 0)" // an empty list is null
		}
		if e.Not {
			return col + " IS NOT NULL"
		}
		return col + " IS NULL"
	case geo.SIntersects:
		if _, ok := geo.QueryableOf(q.c, e.Prop); !ok {
			return "NULL"
		}
		c, a := boxCondition(e.Geom.Bound())
		rids, args := boxRids(q.exact, []string{c}, [][]any{a})
		box := "r.rid IN (" + rids + ")"
		q.args = append(q.args, args...)
		if _, isBox := e.Geom.(orb.Bound); isBox && q.c == geo.Incidents {
			return box // a point meets a box when its box does
		}
		g := e.Geom
		if bound, isBox := g.(orb.Bound); isBox {
			g = bound.ToPolygon()
		}
		w, err := wkb.Marshal(g)
		if err != nil {
			return "0"
		}
		q.args = append(q.args, w)
		return box + " AND nexus_intersects(" + geomColumn(q.exact) + ", ?)"
	case geo.TIntersects:
		if _, ok := geo.QueryableOf(q.c, e.Prop); !ok {
			return "NULL"
		}
		q.args = append(q.args, e.Span.Start, e.Span.End)
		return "r.t1 > ? AND r.t0 < ?"
	}
	return "0"
}
