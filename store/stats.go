package store

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"nexus/geo"
)

// secondsPerDay is the length of a day in Unix seconds.
const secondsPerDay = 86400

// Stats counts the records of the collection matching the filter by
// country, type (for routes: commodity), actor (each record once per actor
// under its canonical name, whatever spellings it lists), month (of the start) or
// period, largest first (months and periods in time order). A period is
// what an incident's date names at its precision: "year:2018" for a
// record dated 2018, "month:2018-02" for one dated 2018-02, "day:2018-02"
// for those dated to a day of February 2018; so a histogram can count a
// month by the records that overlap it and show the imprecise apart.
func (db *DB) Stats(ctx context.Context, c geo.Collection, f geo.Filter, by string) ([]geo.Count, error) {
	cond, args := where(c, f)
	var q string
	switch by {
	case "country", "actor":
		q = "SELECT k.value, count(*) FROM records r JOIN record_keys k ON k.rid = r.rid AND k.key = ? WHERE " + cond + " GROUP BY k.value COLLATE NOCASE"
		args = append([]any{by}, args...)
	case "type":
		q = "SELECT r.kind, count(*) FROM records r WHERE " + cond + " GROUP BY r.kind"
	case "month":
		q = "SELECT strftime('%Y-%m', r.t0, 'unixepoch'), count(*) FROM records r WHERE " + cond + " AND r.t0 > -62135596800 GROUP BY 1"
	case "period":
		if c != geo.Incidents {
			return nil, geo.Errorf(geo.EMALFORMED, "by=period counts incidents, whose date has one precision; routes have spans")
		}
		q = `SELECT CASE WHEN r.t1 - r.t0 > 31 * ` + strconv.Itoa(secondsPerDay) + ` THEN 'year:' || strftime('%Y', r.t0, 'unixepoch')
			WHEN r.t1 - r.t0 > ` + strconv.Itoa(secondsPerDay) + ` THEN 'month:' || strftime('%Y-%m', r.t0, 'unixepoch')
			ELSE 'day:' || strftime('%Y-%m', r.t0, 'unixepoch') END, count(*)
			FROM records r WHERE ` + cond + ` AND r.t0 > -62135596800 GROUP BY 1`
	default:
		return nil, geo.Errorf(geo.EMALFORMED, "by must be one of %s; got %q", strings.Join(geo.StatsBy, ", "), geo.Clip(by))
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
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
		return nil, err
	}
	rows.Close()
	if by == "actor" {
		if out, err = db.actorCounts(ctx, out, f, cond, args[1:]); err != nil {
			return nil, err
		}
	}
	if by == "period" {
		// By the period's start, then the widest first.
		sort.Slice(out, func(i, j int) bool {
			ki, kj := periodKey(out[i].Key), periodKey(out[j].Key)
			return ki < kj
		})
	} else if by == "month" {
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	} else {
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
// each record once (geo.MergeActorCounts); cond and args select the matching
// records.
func (db *DB) actorCounts(ctx context.Context, bySpelling []geo.Count, f geo.Filter, cond string, args []any) ([]geo.Count, error) {
	a := f.Aliases
	if a == nil {
		var err error
		if a, err = db.Aliases(ctx); err != nil {
			return nil, err
		}
	}
	return geo.MergeActorCounts(a, bySpelling, func(spellings []string) (int64, error) {
		q := "SELECT count(*) - count(DISTINCT r.rid) FROM records r JOIN record_keys k ON k.rid = r.rid AND k.key = 'actor' AND k.value IN (" + placeholders(len(spellings)) + ") WHERE " + cond
		in := make([]any, 0, len(spellings)+len(args))
		for _, s := range spellings {
			in = append(in, s)
		}
		var twice int64
		err := db.read.QueryRowContext(ctx, q, append(in, args...)...).Scan(&twice)
		return twice, translate(err)
	})
}

// Clusters groups the incidents matching the filter into grid cells of
// cell degrees, for drawing a dense view without sending every point.
func (db *DB) Clusters(ctx context.Context, f geo.Filter, cell float64) ([]geo.Cluster, error) {
	cond, args := where(geo.Incidents, f)
	q := `SELECT CAST((r.x + 180) / ? AS INTEGER) AS gx, CAST((r.y + 90) / ? AS INTEGER) AS gy, r.kind, count(*), sum(r.x), sum(r.y)
		FROM records r WHERE ` + cond + ` GROUP BY gx, gy, r.kind`
	rows, err := db.read.QueryContext(ctx, q, append([]any{cell, cell}, args...)...)
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
		a := cells[k]
		if a == nil {
			a = &acc{Cluster: geo.Cluster{Types: map[string]int64{}}}
			cells[k] = a
			order = append(order, k)
		}
		a.Count += n
		a.Types[kind] += n
		a.sx += sx
		a.sy += sy
	}
	out := make([]geo.Cluster, 0, len(order))
	for _, k := range order {
		a := cells[k]
		a.Lon, a.Lat = a.sx/float64(a.Count), a.sy/float64(a.Count)
		out = append(out, a.Cluster)
	}
	return out, rows.Err()
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
