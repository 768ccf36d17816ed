package pgstore

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"nexus/geo"
)

// secondsPerDay is the length of a day in Unix seconds.
const secondsPerDay = 86400

// yearOne is 0001-01-01 in Unix seconds: dates before it have no month.
const yearOne = "-62135596800"

// Stats counts the records of the collection matching the filter by
// country, type (for routes: commodity), actor, month (of the start) or
// period, largest first (months and periods in time order), as the SQLite
// engine does.
func (db *DB) Stats(ctx context.Context, c geo.Collection, f geo.Filter, by string) ([]geo.Count, error) {
	var a args
	var q string
	month := func(col string) string { return "to_char(to_timestamp(" + col + ") AT TIME ZONE 'UTC', 'YYYY-MM')" }
	switch by {
	case "country", "actor":
		key := a.add(by)
		cond, err := where(c, f, &a)
		if err != nil {
			return nil, err
		}
		q = "SELECT min(k.value), count(*) FROM records r JOIN record_keys k ON k.rid = r.rid AND k.key = " + key + " WHERE " + cond + " GROUP BY k.lvalue"
	case "type", "month", "period":
		cond, err := where(c, f, &a)
		if err != nil {
			return nil, err
		}
		switch by {
		case "type":
			q = "SELECT r.kind, count(*) FROM records r WHERE " + cond + " GROUP BY r.kind"
		case "month":
			q = "SELECT " + month("r.t0") + ", count(*) FROM records r WHERE " + cond + " AND r.t0 > " + yearOne + " GROUP BY 1"
		default:
			if c != geo.Incidents {
				return nil, geo.Errorf(geo.EMALFORMED, "by=period counts incidents, whose date has one precision; routes have spans")
			}
			q = `SELECT CASE WHEN r.t1 - r.t0 > 31 * ` + strconv.Itoa(secondsPerDay) + ` THEN 'year:' || to_char(to_timestamp(r.t0) AT TIME ZONE 'UTC', 'YYYY')
				WHEN r.t1 - r.t0 > ` + strconv.Itoa(secondsPerDay) + ` THEN 'month:' || ` + month("r.t0") + `
				ELSE 'day:' || ` + month("r.t0") + ` END, count(*)
				FROM records r WHERE ` + cond + ` AND r.t0 > ` + yearOne + ` GROUP BY 1`
		}
	default:
		return nil, geo.Errorf(geo.EMALFORMED, "by must be one of %s; got %q", strings.Join(geo.StatsBy, ", "), geo.Clip(by))
	}
	rows, err := db.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []geo.Count{}
	for rows.Next() {
		var c geo.Count
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	rows.Close()
	if by == "actor" {
		if out, err = db.actorCounts(ctx, c, f, out); err != nil {
			return nil, err
		}
	}
	switch by {
	case "period":
		sort.Slice(out, func(i, j int) bool { return periodKey(out[i].Key) < periodKey(out[j].Key) })
	case "month":
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	default:
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Count != out[j].Count {
				return out[i].Count > out[j].Count
			}
			return out[i].Key < out[j].Key
		})
	}
	return out, nil
}

// actorCounts merges counts by spelling into counts by canonical actor,
// each record once (geo.MergeActorCounts).
func (db *DB) actorCounts(ctx context.Context, c geo.Collection, f geo.Filter, bySpelling []geo.Count) ([]geo.Count, error) {
	al := f.Aliases
	if al == nil {
		var err error
		if al, err = db.Aliases(ctx); err != nil {
			return nil, err
		}
	}
	return geo.MergeActorCounts(al, bySpelling, func(spellings []string) (int64, error) {
		var a args
		in := a.add(lowered(spellings))
		cond, err := where(c, f, &a)
		if err != nil {
			return 0, err
		}
		var twice int64
		err = db.pool.QueryRow(ctx, "SELECT count(*) - count(DISTINCT r.rid) FROM records r JOIN record_keys k ON k.rid = r.rid AND k.key = 'actor' AND k.lvalue = ANY("+in+") WHERE "+cond, a...).Scan(&twice)
		return twice, translate(err)
	})
}

// periodKey orders periods by their start, the widest first: "year:2018"
// before "month:2018-01" before "day:2018-01".
func periodKey(k string) string {
	kind, when, _ := strings.Cut(k, ":")
	switch kind {
	case "year":
		return when + "-00~0"
	case "month":
		return when + "~1"
	}
	return when + "~2"
}

// Clusters groups the incidents matching the filter into grid cells of
// cell degrees, for drawing a dense view without sending every point. A
// sensitive incident counts at its coarse point, for everyone, as it does
// on the SQLite engine and in the overview.
func (db *DB) Clusters(ctx context.Context, f geo.Filter, cell float64) ([]geo.Cluster, error) {
	var a args
	cs := a.add(cell)
	cond, err := where(geo.Incidents, f, &a)
	if err != nil {
		return nil, err
	}
	g := geomFor(false)
	q := `SELECT trunc((ST_X(` + g + `) + 180) / ` + cs + `)::bigint AS gx, trunc((ST_Y(` + g + `) + 90) / ` + cs + `)::bigint AS gy, r.kind, count(*), sum(ST_X(` + g + `)), sum(ST_Y(` + g + `))
		FROM records r WHERE ` + cond + ` AND r.geom IS NOT NULL GROUP BY gx, gy, r.kind ORDER BY gx, gy, r.kind`
	rows, err := db.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	type cellKey struct{ x, y int64 }
	type acc struct {
		geo.Cluster
		sx, sy float64
	}
	cells := map[cellKey]*acc{}
	var order []cellKey
	for rows.Next() {
		var k cellKey
		var kind string
		var n int64
		var sx, sy float64
		if err := rows.Scan(&k.x, &k.y, &kind, &n, &sx, &sy); err != nil {
			return nil, err
		}
		c := cells[k]
		if c == nil {
			c = &acc{Cluster: geo.Cluster{Types: map[string]int64{}}}
			cells[k] = c
			order = append(order, k)
		}
		c.Count += n
		c.Types[kind] += n
		c.sx += sx
		c.sy += sy
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	out := make([]geo.Cluster, 0, len(order))
	for _, k := range order {
		c := cells[k]
		c.Lon, c.Lat = c.sx/float64(c.Count), c.sy/float64(c.Count)
		out = append(out, c.Cluster)
	}
	return out, nil
}
