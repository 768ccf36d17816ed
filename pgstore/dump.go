package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// dumpChunk is how many change-log entries Dump reads at a time.
const dumpChunk = 1000

// Dump passes every row of the database to fn, kind after kind in the
// order of geo.RowKinds, from one snapshot. Indexes, full text and the
// boxes are left out: Load rebuilds them.
func (db *DB) Dump(ctx context.Context, fn func(geo.Row) error) error {
	return db.snapshot(ctx, func(tx pgx.Tx) error {
		each := func(query string, scan func(pgx.Rows) (geo.Row, error)) error {
			rows, err := tx.Query(ctx, query)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				r, err := scan(rows)
				if err != nil {
					return err
				}
				if err := fn(r); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		if err := each("SELECT collection, id, version, feature FROM records ORDER BY rid", func(rows pgx.Rows) (geo.Row, error) {
			var s geo.Stored
			var c string
			err := rows.Scan(&c, &s.ID, &s.Version, &s.Feature)
			s.Collection = geo.Collection(c)
			return geo.Row{Record: &s}, err
		}); err != nil {
			return err
		}
		for after := int64(0); ; {
			rows, err := tx.Query(ctx, "SELECT c.seq, c.collection, c.id, c.op, c.version, c.actor, c.time, c.before, "+currentAfter+" FROM "+currentJoin+" WHERE c.seq > $1 ORDER BY c.seq LIMIT $2", after, dumpChunk)
			if err != nil {
				return err
			}
			var chunk []geo.Change
			for rows.Next() {
				var c geo.Change
				var coll string
				var before, after []byte
				if err := rows.Scan(&c.Seq, &coll, &c.ID, &c.Op, &c.Version, &c.Actor, &c.Time, &before, &after); err != nil {
					rows.Close()
					return err
				}
				c.Collection, c.Time, c.Before, c.After = geo.Collection(coll), c.Time.UTC(), before, after
				chunk = append(chunk, c)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := range chunk {
				if err := fn(geo.Row{Change: &chunk[i]}); err != nil {
					return err
				}
			}
			if len(chunk) < dumpChunk {
				break
			}
			after = chunk[len(chunk)-1].Seq
		}
		if err := each("SELECT name, role, hash, created, expires FROM tokens ORDER BY name", func(rows pgx.Rows) (geo.Row, error) {
			var k geo.TokenRow
			var expires *time.Time
			err := rows.Scan(&k.Name, &k.Role, &k.Hash, &k.Created, &expires)
			k.Created = k.Created.UTC()
			if expires != nil {
				k.Expires = expires.UTC()
			}
			return geo.Row{Token: &k}, err
		}); err != nil {
			return err
		}
		if err := each("SELECT alias, name, source, actor, updated FROM aliases ORDER BY key", func(rows pgx.Rows) (geo.Row, error) {
			var a geo.AliasRow
			err := rows.Scan(&a.Alias.Alias, &a.Name, &a.Source, &a.Actor, &a.Updated)
			a.Updated = a.Updated.UTC()
			return geo.Row{Alias: &a}, err
		}); err != nil {
			return err
		}
		if err := each("SELECT id, owner, version, since, feature, coalesce(secret, '') FROM watches ORDER BY wid", func(rows pgx.Rows) (geo.Row, error) {
			var w geo.StoredWatch
			err := rows.Scan(&w.ID, &w.Owner, &w.Version, &w.Since, &w.Feature, &w.Secret)
			return geo.Row{Watch: &w}, err
		}); err != nil {
			return err
		}
		if err := each("SELECT seq, id, owner, op, version, actor, time, before, after FROM watch_changes ORDER BY seq", func(rows pgx.Rows) (geo.Row, error) {
			var c geo.WatchChange
			var before, after []byte
			err := rows.Scan(&c.Seq, &c.ID, &c.Owner, &c.Op, &c.Version, &c.Actor, &c.Time, &before, &after)
			c.Collection, c.Time, c.Before, c.After = watchChanges, c.Time.UTC(), before, after
			return geo.Row{WatchChange: &c}, err
		}); err != nil {
			return err
		}
		if err := each("SELECT watch, seq, event, collection, record, time, feature, read FROM alerts ORDER BY aid", func(rows pgx.Rows) (geo.Row, error) {
			var a geo.Alert
			var coll string
			var feature []byte
			err := rows.Scan(&a.Watch, &a.Seq, &a.Event, &coll, &a.ID, &a.Time, &feature, &a.Read)
			a.Collection, a.Time, a.Feature = geo.Collection(coll), a.Time.UTC(), feature
			return geo.Row{Alert: &a}, err
		}); err != nil {
			return err
		}
		if err := each("SELECT watch, seq, url, body, state, attempts, next_at, created FROM deliveries ORDER BY did", func(rows pgx.Rows) (geo.Row, error) {
			var d geo.DeliveryRow
			var next int64
			err := rows.Scan(&d.Watch, &d.Seq, &d.URL, &d.Body, &d.State, &d.Attempts, &next, &d.Created)
			d.NextAt, d.Created = time.UnixMilli(next).UTC(), d.Created.UTC()
			return geo.Row{Delivery: &d}, err
		}); err != nil {
			return err
		}
		if err := each(`SELECT d.watch, d.seq, a.attempt, a.time, a.status, a.error, a.duration
			FROM delivery_attempts a JOIN deliveries d ON d.did = a.did ORDER BY a.did, a.attempt`, func(rows pgx.Rows) (geo.Row, error) {
			var a geo.AttemptRow
			var ms int64
			err := rows.Scan(&a.Watch, &a.Seq, &a.Attempt.Attempt, &a.Time, &a.Status, &a.Error, &ms)
			a.Time, a.Duration = a.Time.UTC(), time.Duration(ms)*time.Millisecond
			return geo.Row{Attempt: &a}, err
		}); err != nil {
			return err
		}
		var cursor int64
		if err := tx.QueryRow(ctx, "SELECT seq FROM alert_cursor").Scan(&cursor); err != nil {
			return err
		}
		return fn(geo.Row{AlertCursor: &cursor})
	})
}

// Load writes the rows of a dump (another database's Dump, of this engine
// or another) into this database, which must hold no record, change,
// token, alias or watch (EINVALID otherwise), in one transaction: ids,
// versions, seqs, times (to the microsecond) and bytes are kept, the
// indexes are built as the records go in, and the sequences move past the
// seqs loaded.
func (db *DB) Load(ctx context.Context, dump func(ctx context.Context, fn func(geo.Row) error) error) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM changes) + (SELECT count(*) FROM tokens)
			+ (SELECT count(*) FROM aliases) + (SELECT count(*) FROM watches) + (SELECT count(*) FROM watch_changes)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return geo.Errorf(geo.EINVALID, "the database is not empty: load into a new one")
		}
		var watchSeq int64
		aliases := false
		err := dump(ctx, func(r geo.Row) error {
			var err error
			switch {
			case r.Record != nil:
				s := r.Record
				rec, derr := geo.DecodeFeature(s.Collection, s.Feature)
				if derr != nil {
					return fmt.Errorf("record %s %s: %w", s.Collection, s.ID, derr)
				}
				if m := rec.Base(); m.ID != s.ID || m.Version != s.Version {
					return fmt.Errorf("record %s %s: its Feature says id %s version %d", s.Collection, s.ID, m.ID, m.Version)
				}
				err = tx.write(0, rec, s.Feature)
			case r.Change != nil:
				c := r.Change
				_, err = tx.Exec(ctx, "INSERT INTO changes (seq, collection, id, op, version, actor, time, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
					c.Seq, string(c.Collection), c.ID, c.Op, c.Version, c.Actor, c.Time, nullBytes(c.Before), nullBytes(c.After))
				tx.lastSeq = max(tx.lastSeq, c.Seq)
			case r.Token != nil:
				k := r.Token
				var expires *time.Time
				if !k.Expires.IsZero() {
					expires = &k.Expires
				}
				_, err = tx.Exec(ctx, "INSERT INTO tokens (name, role, hash, created, expires) VALUES ($1, $2, $3, $4, $5)",
					k.Name, k.Role, k.Hash, k.Created, expires)
			case r.Alias != nil:
				a := r.Alias
				_, err = tx.Exec(ctx, "INSERT INTO aliases (key, alias, name, source, actor, updated) VALUES ($1, $2, $3, $4, $5, $6)",
					geo.ActorKey(a.Alias.Alias), a.Alias.Alias, a.Name, a.Source, a.Actor, a.Updated)
				aliases = true
			case r.Watch != nil:
				w := r.Watch
				var secret *string
				if w.Secret != "" {
					secret = &w.Secret
				}
				_, err = tx.Exec(ctx, "INSERT INTO watches (id, owner, version, since, feature, secret) VALUES ($1, $2, $3, $4, $5, $6)",
					w.ID, w.Owner, w.Version, w.Since, w.Feature, secret)
			case r.WatchChange != nil:
				c := r.WatchChange
				_, err = tx.Exec(ctx, "INSERT INTO watch_changes (seq, id, owner, op, version, actor, time, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
					c.Seq, c.ID, c.Owner, c.Op, c.Version, c.Actor, c.Time, nullBytes(c.Before), nullBytes(c.After))
				watchSeq = max(watchSeq, c.Seq)
			case r.Alert != nil:
				a := r.Alert
				_, err = tx.Exec(ctx, "INSERT INTO alerts (watch, seq, event, collection, record, time, feature, read) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
					a.Watch, a.Seq, a.Event, string(a.Collection), a.ID, a.Time, nullBytes(a.Feature), a.Read)
			case r.Delivery != nil:
				d := r.Delivery
				_, err = tx.Exec(ctx, "INSERT INTO deliveries (watch, seq, url, body, state, attempts, next_at, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
					d.Watch, d.Seq, d.URL, d.Body, d.State, d.Attempts, d.NextAt.UnixMilli(), d.Created)
			case r.Attempt != nil:
				a := r.Attempt
				_, err = tx.Exec(ctx, `INSERT INTO delivery_attempts (did, attempt, time, status, error, duration)
					SELECT did, $1, $2, $3, $4, $5 FROM deliveries WHERE watch = $6 AND seq = $7`,
					a.Attempt.Attempt, a.Time, a.Status, a.Error, a.Duration.Milliseconds(), a.Watch, a.Seq)
			case r.AlertCursor != nil:
				_, err = tx.Exec(ctx, "UPDATE alert_cursor SET seq = $1", *r.AlertCursor)
			default:
				err = geo.Errorf(geo.EINVALID, "an empty row in the dump")
			}
			return err
		})
		if err != nil {
			return err
		}
		// The sequences go on after the seqs loaded.
		for table, seq := range map[string]int64{"changes": tx.lastSeq, "watch_changes": watchSeq} {
			if seq > 0 {
				if _, err := tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence($1, 'seq'), $2)", table, seq); err != nil {
					return err
				}
			}
		}
		if aliases {
			_, err = tx.Exec(ctx, "UPDATE alias_version SET n = n + 1")
		}
		return err
	})
}
