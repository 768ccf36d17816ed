package store

import (
	"context"

	"nexus/geo"
)

// actorPrefixes expands the filter's actors that are prefixes of words of
// stored actor names (geo.Filter.ExpandActorPrefixes), reading the names
// records use from the actor summary the writes keep (a row per name and
// collection), not from every record's keys.
func (db *DB) actorPrefixes(ctx context.Context, f *geo.Filter, aliases *geo.Aliases) error {
	return f.ExpandActorPrefixes(aliases, func(add func(name string) error) error {
		rows, err := db.read.QueryContext(ctx, "SELECT DISTINCT actor FROM actor_summary")
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
		return rows.Err()
	})
}
