package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"nexus/geo"
)

// dumpChunk is how many change-log entries Dump reads at a time.
const dumpChunk = 1000

// Dump passes every row of the database to fn, kind after kind in the
// order of geo.RowKinds, from one snapshot. Indexes, full text and actor
// summaries are left out: Load rebuilds them.
func (db *DB) Dump(ctx context.Context, fn func(geo.Row) error) error {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	each := func(query string, scan func(*sql.Rows) (geo.Row, error)) error {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return translate(err)
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
	parse := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	if err := each("SELECT collection, id, version, feature FROM records ORDER BY rid", func(rows *sql.Rows) (geo.Row, error) {
		var s geo.Stored
		if err := rows.Scan(&s.Collection, &s.ID, &s.Version, &s.Feature); err != nil {
			return geo.Row{}, err
		}
		var err error
		s.Feature, err = unpack(nil, s.Feature)
		return geo.Row{Record: &s}, err
	}); err != nil {
		return err
	}
	for after := int64(0); ; {
		rows, err := tx.QueryContext(ctx, "SELECT "+changeColumns+" FROM changes c WHERE c.seq > ? ORDER BY c.seq LIMIT ?", after, dumpChunk)
		if err != nil {
			return translate(err)
		}
		changes, err := db.scanChanges(ctx, tx, rows)
		if err != nil {
			return err
		}
		for i := range changes {
			if err := fn(geo.Row{Change: &changes[i]}); err != nil {
				return err
			}
		}
		if len(changes) < dumpChunk {
			break
		}
		after = changes[len(changes)-1].Seq
	}
	if err := each("SELECT name, role, hash, created, expires FROM tokens ORDER BY name", func(rows *sql.Rows) (geo.Row, error) {
		var k geo.TokenRow
		var created string
		var expires sql.NullString
		if err := rows.Scan(&k.Name, &k.Role, &k.Hash, &created, &expires); err != nil {
			return geo.Row{}, err
		}
		k.Created = parse(created)
		if expires.Valid {
			k.Expires = parse(expires.String)
		}
		return geo.Row{Token: &k}, nil
	}); err != nil {
		return err
	}
	if err := each("SELECT alias, name, source, actor, updated FROM aliases ORDER BY key", func(rows *sql.Rows) (geo.Row, error) {
		var a geo.AliasRow
		var updated string
		err := rows.Scan(&a.Alias.Alias, &a.Name, &a.Source, &a.Actor, &updated)
		a.Updated = parse(updated)
		return geo.Row{Alias: &a}, err
	}); err != nil {
		return err
	}
	if err := each("SELECT id, owner, version, since, feature, secret FROM watches ORDER BY wid", func(rows *sql.Rows) (geo.Row, error) {
		var w geo.StoredWatch
		var secret sql.NullString
		err := rows.Scan(&w.ID, &w.Owner, &w.Version, &w.Since, &w.Feature, &secret)
		w.Secret = secret.String
		return geo.Row{Watch: &w}, err
	}); err != nil {
		return err
	}
	if err := each("SELECT seq, id, owner, op, version, actor, time, before, after FROM watch_changes ORDER BY seq", func(rows *sql.Rows) (geo.Row, error) {
		var c geo.WatchChange
		var t string
		var before, after []byte
		err := rows.Scan(&c.Seq, &c.ID, &c.Owner, &c.Op, &c.Version, &c.Actor, &t, &before, &after)
		c.Collection, c.Time, c.Before, c.After = watchChanges, parse(t), before, after
		return geo.Row{WatchChange: &c}, err
	}); err != nil {
		return err
	}
	if err := each("SELECT watch, seq, event, collection, record, time, feature, read FROM alerts ORDER BY aid", func(rows *sql.Rows) (geo.Row, error) {
		var a geo.Alert
		var t string
		var feature []byte
		err := rows.Scan(&a.Watch, &a.Seq, &a.Event, &a.Collection, &a.ID, &t, &feature, &a.Read)
		a.Time, a.Feature = parse(t), feature
		return geo.Row{Alert: &a}, err
	}); err != nil {
		return err
	}
	if err := each("SELECT watch, seq, url, body, state, attempts, next_at, created FROM deliveries ORDER BY did", func(rows *sql.Rows) (geo.Row, error) {
		var d geo.DeliveryRow
		var next int64
		var created string
		err := rows.Scan(&d.Watch, &d.Seq, &d.URL, &d.Body, &d.State, &d.Attempts, &next, &created)
		d.NextAt, d.Created = time.UnixMilli(next).UTC(), parse(created)
		return geo.Row{Delivery: &d}, err
	}); err != nil {
		return err
	}
	if err := each(`SELECT d.watch, d.seq, a.attempt, a.time, a.status, a.error, a.duration
		FROM delivery_attempts a JOIN deliveries d ON d.did = a.did ORDER BY a.did, a.attempt`, func(rows *sql.Rows) (geo.Row, error) {
		var a geo.AttemptRow
		var t string
		var ms int64
		err := rows.Scan(&a.Watch, &a.Seq, &a.Attempt.Attempt, &t, &a.Status, &a.Error, &ms)
		a.Time, a.Duration = parse(t), time.Duration(ms)*time.Millisecond
		return geo.Row{Attempt: &a}, err
	}); err != nil {
		return err
	}
	var cursor int64
	if err := tx.QueryRowContext(ctx, "SELECT seq FROM alert_cursor").Scan(&cursor); err != nil {
		return translate(err)
	}
	return fn(geo.Row{AlertCursor: &cursor})
}

// Load writes the rows of a dump (another database's Dump, of this
// engine or another) into this database, which must hold no record,
// change, token, alias or watch (EINVALID otherwise), in one transaction:
// ids, versions, seqs, times and bytes are kept, and the indexes, full
// text and actor summaries are built as the records go in.
func (db *DB) Load(ctx context.Context, dump func(ctx context.Context, fn func(geo.Row) error) error) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		var n int64
		if err := tx.QueryRow(`SELECT (SELECT count(*) FROM records) + (SELECT count(*) FROM changes) + (SELECT count(*) FROM tokens)
			+ (SELECT count(*) FROM aliases) + (SELECT count(*) FROM watches) + (SELECT count(*) FROM watch_changes)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return geo.Errorf(geo.EINVALID, "the database %s is not empty: load into a new one", db.path)
		}
		format := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
		return dump(ctx, func(r geo.Row) error {
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
				var blob []byte
				if blob, err = tx.pack(s.Feature); err == nil {
					err = tx.write(0, rec, blob)
				}
			case r.Change != nil:
				c := r.Change
				_, err = tx.Exec("INSERT INTO changes (seq, collection, id, op, version, actor, time, before, after) VALUES (?,?,?,?,?,?,?,?,?)",
					c.Seq, string(c.Collection), c.ID, c.Op, c.Version, c.Actor, format(c.Time), nullBytes(c.Before), nullBytes(c.After))
				tx.lastSeq = max(tx.lastSeq, c.Seq)
			case r.Token != nil:
				k := r.Token
				var expires any
				if !k.Expires.IsZero() {
					expires = k.Expires.UTC().Format(tokenTime)
				}
				_, err = tx.Exec("INSERT INTO tokens (name, role, hash, created, expires) VALUES (?,?,?,?,?)",
					k.Name, k.Role, k.Hash, k.Created.UTC().Format(time.RFC3339), expires)
			case r.Alias != nil:
				a := r.Alias
				_, err = tx.Exec("INSERT INTO aliases (key, alias, name, source, actor, updated) VALUES (?,?,?,?,?,?)",
					geo.ActorKey(a.Alias.Alias), a.Alias.Alias, a.Name, a.Source, a.Actor, format(a.Updated))
			case r.Watch != nil:
				w := r.Watch
				var secret any
				if w.Secret != "" {
					secret = w.Secret
				}
				_, err = tx.Exec("INSERT INTO watches (id, owner, version, since, feature, secret) VALUES (?,?,?,?,?,?)",
					w.ID, w.Owner, w.Version, w.Since, w.Feature, secret)
			case r.WatchChange != nil:
				c := r.WatchChange
				_, err = tx.Exec("INSERT INTO watch_changes (seq, id, owner, op, version, actor, time, before, after) VALUES (?,?,?,?,?,?,?,?,?)",
					c.Seq, c.ID, c.Owner, c.Op, c.Version, c.Actor, format(c.Time), nullBytes(c.Before), nullBytes(c.After))
			case r.Alert != nil:
				a := r.Alert
				_, err = tx.Exec("INSERT INTO alerts (watch, seq, event, collection, record, time, feature, read) VALUES (?,?,?,?,?,?,?,?)",
					a.Watch, a.Seq, a.Event, string(a.Collection), a.ID, format(a.Time), nullBytes(a.Feature), a.Read)
			case r.Delivery != nil:
				d := r.Delivery
				_, err = tx.Exec("INSERT INTO deliveries (watch, seq, url, body, state, attempts, next_at, created) VALUES (?,?,?,?,?,?,?,?)",
					d.Watch, d.Seq, d.URL, d.Body, d.State, d.Attempts, d.NextAt.UnixMilli(), format(d.Created))
			case r.Attempt != nil:
				a := r.Attempt
				_, err = tx.Exec(`INSERT INTO delivery_attempts (did, attempt, time, status, error, duration)
					SELECT did, ?, ?, ?, ?, ? FROM deliveries WHERE watch = ? AND seq = ?`,
					a.Attempt.Attempt, format(a.Time), a.Status, a.Error, a.Duration.Milliseconds(), a.Watch, a.Seq)
			case r.AlertCursor != nil:
				_, err = tx.Exec("UPDATE alert_cursor SET seq = ?", *r.AlertCursor)
			default:
				err = geo.Errorf(geo.EINVALID, "an empty row in the dump")
			}
			return err
		})
	})
}
