package store

import (
	"context"
	"sort"
	"strings"

	"nexus/geo"
)

// Count is one bucket of a statistic.
type Count struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Stats counts the records of the collection matching the filter by
// country, type (for routes: commodity), actor or month, largest first
// (months in time order).
func (db *DB) Stats(ctx context.Context, c geo.Collection, f geo.Filter, by string) ([]Count, error) {
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
	default:
		return nil, geo.Errorf(geo.EMALFORMED, "by must be one of %s; got %q", strings.Join(geo.StatsBy, ", "), geo.Clip(by))
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []Count{}
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Key, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if by == "month" {
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	} else {
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].Count != out[j].Count {
				return out[i].Count > out[j].Count
			}
			return out[i].Key < out[j].Key
		})
	}
	return out, rows.Err()
}

// Cluster is a group of incidents in one grid cell.
type Cluster struct {
	Lon, Lat float64          // mean position of the incidents
	Count    int64            // how many
	Types    map[string]int64 // how many of each type
}

// Clusters groups the incidents matching the filter into grid cells of
// cell degrees, for drawing a dense view without sending every point.
func (db *DB) Clusters(ctx context.Context, f geo.Filter, cell float64) ([]Cluster, error) {
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
		Cluster
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
			a = &acc{Cluster: Cluster{Types: map[string]int64{}}}
			cells[k] = a
			order = append(order, k)
		}
		a.Count += n
		a.Types[kind] += n
		a.sx += sx
		a.sy += sy
	}
	out := make([]Cluster, 0, len(order))
	for _, k := range order {
		a := cells[k]
		a.Lon, a.Lat = a.sx/float64(a.Count), a.sy/float64(a.Count)
		out = append(out, a.Cluster)
	}
	return out, rows.Err()
}
