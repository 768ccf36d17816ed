package store

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"modernc.org/sqlite"

	"nexus/geo"
)

// The corridor filters (near, near_route) take two steps in SQL: the
// R*Tree keeps the records whose box meets one of the corridor's boxes,
// then nexus_near(geom, corridor) measures each of those exactly along
// great circles (geo.Near). corridor is the distance in km (8 bytes) and
// the WKB of the point or path.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("nexus_near", 2, nearFunc)
}

// corridors caches compiled corridors by their SQL argument.
var corridors struct {
	sync.Mutex
	m map[string]*geo.Near
}

func nearArg(n *geo.Near) ([]byte, error) {
	var shape orb.Geometry = n.Path
	if n.Point != nil {
		shape = *n.Point
	}
	if shape == nil {
		return nil, fmt.Errorf("corridor %s has no shape: the filter was not resolved", n)
	}
	g, err := wkb.Marshal(shape)
	if err != nil {
		return nil, err
	}
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(g)), math.Float64bits(n.Km))
	return append(b, g...), nil
}

func nearFunc(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	geom, _ := args[0].([]byte)
	arg, _ := args[1].([]byte)
	if len(geom) == 0 {
		return int64(0), nil // a link: no place
	}
	if len(arg) < 9 {
		return nil, errors.New("nexus_near: bad corridor")
	}
	key := string(arg)
	corridors.Lock()
	n := corridors.m[key]
	corridors.Unlock()
	if n == nil {
		shape, err := wkb.Unmarshal(arg[8:])
		if err != nil {
			return nil, err
		}
		n = &geo.Near{Km: math.Float64frombits(binary.LittleEndian.Uint64(arg[:8]))}
		if p, ok := shape.(orb.Point); ok {
			n.Point = &p
		} else {
			n.Path = shape
		}
		corridors.Lock()
		if len(corridors.m) >= 256 || corridors.m == nil {
			corridors.m = map[string]*geo.Near{}
		}
		corridors.m[key] = n
		corridors.Unlock()
	}
	g, err := wkb.Unmarshal(geom)
	if err != nil {
		return nil, err
	}
	if n.Contains(g) {
		return int64(1), nil
	}
	return int64(0), nil
}

// nearCondition is the SQL condition of a corridor filter.
func nearCondition(n *geo.Near) (string, []any) {
	arg, err := nearArg(n)
	if err != nil {
		return "0", nil // an unresolved route selects nothing
	}
	var parts []string
	var args []any
	for _, b := range n.Boxes() {
		parts = append(parts, "SELECT id>>1 FROM boxes WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?")
		args = append(args, b.Max[0], b.Min[0], b.Max[1], b.Min[1])
	}
	return "r.rid IN (" + strings.Join(parts, " UNION ") + ") AND nexus_near(r.geom, ?)", append(args, arg)
}

// resolveNear fills in the path of a near_route corridor from the route.
func (db *DB) resolveNear(ctx context.Context, n *geo.Near) error {
	if n == nil || n.Route == "" || n.Path != nil {
		return nil
	}
	st, err := db.Get(ctx, geo.Routes, n.Route)
	if err != nil {
		return geo.Errorf(geo.EMALFORMED, "near_route: there is no route with id %q", n.Route)
	}
	r, err := geo.DecodeFeature(geo.Routes, st.Feature)
	if err != nil {
		return err
	}
	n.Path = r.Geometry()
	return nil
}
