package pgstore

import (
	"context"

	"nexus/geo"
)

// Resolve prepares a filter for matching, as the SQLite engine does:
// country names become codes (a name no country answers to is refused,
// naming the closest ones); the actors it names are expanded to the stored
// names one of whose words begins with them, then to every spelling the
// alias table knows; and a near_route corridor gets the route's path.
func (db *DB) Resolve(ctx context.Context, f *geo.Filter) error {
	if err := f.ResolveCountries(db.Countries); err != nil {
		return err
	}
	if err := db.resolveNear(ctx, f.Near, f.Exact); err != nil {
		return err
	}
	a, err := db.Aliases(ctx)
	if err != nil {
		return err
	}
	f.ResolveActors(a)
	return db.actorPrefixes(ctx, f, a)
}

// resolveNear fills in the path of a near_route corridor from the route:
// for a filter that is not exact, the path viewers see of it.
func (db *DB) resolveNear(ctx context.Context, n *geo.Near, exact bool) error {
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
	if !exact {
		r = geo.Coarsened(r)
	}
	n.Path = r.Geometry()
	return nil
}

// actorPrefixes expands the filter's actors that are prefixes of words of
// stored actor names (geo.Filter.ExpandActorPrefixes).
func (db *DB) actorPrefixes(ctx context.Context, f *geo.Filter, aliases *geo.Aliases) error {
	return f.ExpandActorPrefixes(aliases, func(add func(name string) error) error {
		rows, err := db.pool.Query(ctx, "SELECT DISTINCT value FROM record_keys WHERE key = 'actor'")
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			if err := add(name); err != nil {
				return err
			}
		}
		return translate(rows.Err())
	})
}
