package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"nexus/geo"
)

// watchChanges is the pseudo-collection of watches in their history.
const watchChanges geo.Collection = "watches"

func newSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
}

func noWatch(id string) error {
	return geo.Errorf(geo.ENOTFOUND, "no watch with id %q", id)
}

// CreateWatch stores a new watch owned by owner, as version 1. A watch
// with a webhook gets a new signing secret, returned this once.
func (db *DB) CreateWatch(ctx context.Context, owner string, w *geo.Watch) (geo.StoredWatch, error) {
	if err := w.Validate(); err != nil {
		return geo.StoredWatch{}, err
	}
	var out geo.StoredWatch
	err := db.inTx(ctx, func(tx *writeTx) error {
		w.ID, w.Owner, w.Version, w.Created, w.Updated = geo.NewID(), owner, 1, tx.now, tx.now
		feature, err := geo.EncodeWatch(w)
		if err != nil {
			return err
		}
		var since sql.NullInt64
		if err := tx.QueryRow("SELECT max(seq) FROM changes").Scan(&since); err != nil {
			return err
		}
		out = geo.StoredWatch{ID: w.ID, Owner: owner, Version: 1, Since: since.Int64, Feature: feature}
		var secret any
		if w.Webhook != "" {
			out.Secret = newSecret()
			secret = out.Secret
		}
		if _, err := tx.Exec("INSERT INTO watches (id, owner, version, since, feature, secret) VALUES (?,?,?,?,?,?)",
			w.ID, owner, 1, since.Int64, feature, secret); err != nil {
			return err
		}
		return tx.logWatch(geo.Change{ID: w.ID, Op: geo.OpCreate, Version: 1, Actor: owner, After: feature}, owner)
	})
	return out, err
}

// logWatch writes one entry of the watches' change log.
func (tx *writeTx) logWatch(c geo.Change, owner string) error {
	_, err := tx.Exec("INSERT INTO watch_changes (id, owner, op, version, actor, time, before, after) VALUES (?,?,?,?,?,?,?,?)",
		c.ID, owner, c.Op, c.Version, c.Actor, tx.now.Format(time.RFC3339Nano), nullBytes(c.Before), nullBytes(c.After))
	return err
}

type currentWatch struct {
	owner   string
	version int64
	feature []byte
	secret  sql.NullString
}

func (tx *writeTx) currentWatch(id string, expect int64) (currentWatch, error) {
	var cur currentWatch
	err := tx.QueryRow("SELECT owner, version, feature, secret FROM watches WHERE id = ?", id).Scan(&cur.owner, &cur.version, &cur.feature, &cur.secret)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, noWatch(id)
	} else if err != nil {
		return cur, err
	}
	if expect > 0 && cur.version != expect {
		return cur, geo.Errorf(geo.ECONFLICT, "the watch is at version %d, not %d: someone changed it since you read it; read it again and re-apply your change", cur.version, expect)
	}
	return cur, nil
}

// ReplaceWatch stores w as the new state of the watch id, keeping its
// owner. With expect > 0 it fails with ECONFLICT unless the stored version
// is expect. A new or changed webhook URL gets a new secret, returned
// this once; a replacement that changes nothing writes nothing.
func (db *DB) ReplaceWatch(ctx context.Context, actor, id string, expect int64, w *geo.Watch) (geo.StoredWatch, geo.Outcome, error) {
	if err := w.Validate(); err != nil {
		return geo.StoredWatch{}, "", err
	}
	var out geo.StoredWatch
	var outcome geo.Outcome
	err := db.inTx(ctx, func(tx *writeTx) error {
		cur, err := tx.currentWatch(id, expect)
		if err != nil {
			return err
		}
		old, err := geo.DecodeWatch(cur.feature)
		if err != nil {
			return err
		}
		w.ID, w.Owner, w.Meta = id, cur.owner, old.Meta
		same, err := geo.EncodeWatch(w)
		if err != nil {
			return err
		}
		var since int64
		if err := tx.QueryRow("SELECT since FROM watches WHERE id = ?", id).Scan(&since); err != nil {
			return err
		}
		out = geo.StoredWatch{ID: id, Owner: cur.owner, Version: cur.version, Since: since, Feature: cur.feature}
		if string(same) == string(cur.feature) {
			outcome = geo.Unchanged
			return nil
		}
		w.Version, w.Updated = cur.version+1, tx.now
		feature, err := geo.EncodeWatch(w)
		if err != nil {
			return err
		}
		secret := cur.secret
		switch {
		case w.Webhook == "":
			secret = sql.NullString{}
		case w.Webhook != old.Webhook || !secret.Valid:
			out.Secret = newSecret()
			secret = sql.NullString{String: out.Secret, Valid: true}
		}
		if _, err := tx.Exec("UPDATE watches SET version = ?, feature = ?, secret = ? WHERE id = ?", w.Version, feature, secret, id); err != nil {
			return err
		}
		out.Version, out.Feature, outcome = w.Version, feature, geo.Updated
		return tx.logWatch(geo.Change{ID: id, Op: geo.OpUpdate, Version: w.Version, Actor: actor, Before: cur.feature, After: feature}, cur.owner)
	})
	return out, outcome, err
}

// DeleteWatch removes the watch id with its alerts and deliveries,
// keeping its last state in its history.
func (db *DB) DeleteWatch(ctx context.Context, actor, id string, expect int64) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		cur, err := tx.currentWatch(id, expect)
		if err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM delivery_attempts WHERE did IN (SELECT did FROM deliveries WHERE watch = ?)",
			"DELETE FROM deliveries WHERE watch = ?",
			"DELETE FROM alerts WHERE watch = ?",
			"DELETE FROM watches WHERE id = ?",
		} {
			if _, err := tx.Exec(q, id); err != nil {
				return err
			}
		}
		return tx.logWatch(geo.Change{ID: id, Op: geo.OpDelete, Version: cur.version + 1, Actor: actor, Before: cur.feature}, cur.owner)
	})
}

// GetWatch returns one watch (without its secret).
func (db *DB) GetWatch(ctx context.Context, id string) (geo.StoredWatch, error) {
	s := geo.StoredWatch{ID: id}
	err := db.read.QueryRowContext(ctx, "SELECT owner, version, since, feature FROM watches WHERE id = ?", id).Scan(&s.Owner, &s.Version, &s.Since, &s.Feature)
	if errors.Is(err, sql.ErrNoRows) {
		return s, noWatch(id)
	}
	return s, err
}

// ListWatches returns the watches of owner, or every watch for "", oldest
// first.
func (db *DB) ListWatches(ctx context.Context, owner string) ([]geo.StoredWatch, error) {
	q := "SELECT id, owner, version, since, feature FROM watches"
	var args []any
	if owner != "" {
		q += " WHERE owner = ?"
		args = append(args, owner)
	}
	rows, err := db.read.QueryContext(ctx, q+" ORDER BY wid", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []geo.StoredWatch{}
	for rows.Next() {
		var s geo.StoredWatch
		if err := rows.Scan(&s.ID, &s.Owner, &s.Version, &s.Since, &s.Feature); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// WatchHistory returns every change of one watch, newest first, and its
// owner. It answers for deleted watches too.
func (db *DB) WatchHistory(ctx context.Context, id string) ([]geo.Change, string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT seq, id, owner, op, version, actor, time, before, after FROM watch_changes WHERE id = ? ORDER BY seq DESC", id)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []geo.Change
	var owner string
	for rows.Next() {
		c := geo.Change{Collection: watchChanges}
		var t string
		var before, after []byte
		if err := rows.Scan(&c.Seq, &c.ID, &owner, &c.Op, &c.Version, &c.Actor, &t, &before, &after); err != nil {
			return nil, "", err
		}
		c.Before, c.After = before, after
		c.Time, _ = time.Parse(time.RFC3339Nano, t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) == 0 {
		return nil, "", noWatch(id)
	}
	return out, owner, nil
}

// WatchesAfter returns the current state of every watch changed after the
// watches' change-log seq after (with after 0: every watch), and the seq
// they are current to. Deleted watches come with a nil Watch.
func (db *DB) WatchesAfter(ctx context.Context, after int64) ([]geo.WatchState, int64, error) {
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, after, err
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM watch_changes").Scan(&last); err != nil {
		return nil, after, err
	}
	if last.Int64 <= after {
		return nil, after, nil
	}
	var rows *sql.Rows
	if after == 0 {
		rows, err = tx.QueryContext(ctx, "SELECT w.id, w.owner, w.since, w.feature FROM watches w")
	} else {
		rows, err = tx.QueryContext(ctx, `SELECT c.id, c.owner, coalesce(w.since, 0), w.feature
			FROM (SELECT DISTINCT id, owner FROM watch_changes WHERE seq > ? AND seq <= ?) c LEFT JOIN watches w ON w.id = c.id`, after, last.Int64)
	}
	if err != nil {
		return nil, after, err
	}
	defer rows.Close()
	var out []geo.WatchState
	for rows.Next() {
		var s geo.WatchState
		var feature []byte
		if err := rows.Scan(&s.ID, &s.Owner, &s.Since, &feature); err != nil {
			return nil, after, err
		}
		if feature != nil {
			if s.Watch, err = geo.DecodeWatch(feature); err != nil {
				return nil, after, err
			}
		}
		out = append(out, s)
	}
	return out, last.Int64, rows.Err()
}

// AlertCursor returns the last change-log seq whose alerts are stored.
func (db *DB) AlertCursor(ctx context.Context) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, "SELECT seq FROM alert_cursor").Scan(&seq)
	return seq, err
}

// SaveAlerts stores the alerts of the changes after the cursor up to
// through, their webhook deliveries, and moves the cursor to through, in
// one transaction: what is stored and where the evaluator goes on from
// cannot part. It goes before other waiting writes, so an alert waits for
// at most the write in progress. It returns false, storing nothing, when the cursor is not
// before through (another evaluator got there first).
func (db *DB) SaveAlerts(ctx context.Context, through int64, alerts []geo.Alert, deliveries []geo.Delivery) (bool, error) {
	saved := false
	err := db.inTx(urgent(ctx), func(tx *writeTx) error {
		res, err := tx.Exec("UPDATE alert_cursor SET seq = ? WHERE seq < ?", through, through)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for _, a := range alerts {
			if _, err := tx.Exec("INSERT INTO alerts (watch, seq, event, collection, record, time, feature) VALUES (?,?,?,?,?,?,?)",
				a.Watch, a.Seq, a.Event, string(a.Collection), a.ID, a.Time.UTC().Format(time.RFC3339Nano), nullBytes(a.Feature)); err != nil {
				return err
			}
		}
		for _, d := range deliveries {
			if _, err := tx.Exec("INSERT INTO deliveries (watch, seq, url, body, state, next_at, created) VALUES (?,?,?,?,'pending',?,?)",
				d.Watch, d.Seq, d.URL, d.Body, tx.now.UnixMilli(), tx.now.Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
		saved = true
		return nil
	})
	return saved, err
}

// Alerts returns alerts newest first, and the cursor (a seq) of the next
// page, 0 when there is none.
func (db *DB) Alerts(ctx context.Context, q geo.AlertQuery) ([]geo.Alert, int64, error) {
	conds := []string{"1"}
	var args []any
	if q.Watch != "" {
		conds = append(conds, "a.watch = ?")
		args = append(args, q.Watch)
	}
	if q.Owner != "" {
		conds = append(conds, "a.watch IN (SELECT id FROM watches WHERE owner = ?)")
		args = append(args, q.Owner)
	}
	if q.Before > 0 {
		conds = append(conds, "a.seq < ?")
		args = append(args, q.Before)
	}
	if q.Unread {
		conds = append(conds, "a.read = 0")
	}
	args = append(args, q.Limit+1)
	rows, err := db.read.QueryContext(ctx, "SELECT a.watch, a.seq, a.event, a.collection, a.record, a.time, a.read, a.feature FROM alerts a WHERE "+
		strings.Join(conds, " AND ")+" ORDER BY a.seq DESC, a.watch LIMIT ?", args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []geo.Alert{}
	var next int64
	for rows.Next() {
		var a geo.Alert
		var t string
		var feature []byte
		if err := rows.Scan(&a.Watch, &a.Seq, &a.Event, &a.Collection, &a.ID, &t, &a.Read, &feature); err != nil {
			return nil, 0, err
		}
		if len(out) == q.Limit {
			next = out[len(out)-1].Seq
			break
		}
		a.Time, _ = time.Parse(time.RFC3339Nano, t)
		a.Feature = feature
		out = append(out, a)
	}
	return out, next, rows.Err()
}

// UnreadAlerts counts the unread alerts of each watch of owner ("": of
// every watch).
func (db *DB) UnreadAlerts(ctx context.Context, owner string) (map[string]int64, error) {
	q := "SELECT watch, count(*) FROM alerts WHERE read = 0"
	var args []any
	if owner != "" {
		q += " AND watch IN (SELECT id FROM watches WHERE owner = ?)"
		args = append(args, owner)
	}
	rows, err := db.read.QueryContext(ctx, q+" GROUP BY watch", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var w string
		var n int64
		if err := rows.Scan(&w, &n); err != nil {
			return nil, err
		}
		out[w] = n
	}
	return out, rows.Err()
}

// MarkAlertsRead marks alerts of a watch read: those with the given seqs,
// or all of them when seqs is nil. It returns how many changed.
func (db *DB) MarkAlertsRead(ctx context.Context, watch string, seqs []int64) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *writeTx) error {
		if seqs == nil {
			res, err := tx.Exec("UPDATE alerts SET read = 1 WHERE watch = ? AND read = 0", watch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		}
		for _, s := range seqs {
			res, err := tx.Exec("UPDATE alerts SET read = 1 WHERE watch = ? AND seq = ? AND read = 0", watch, s)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// DueDeliveries returns up to limit pending deliveries whose next try is
// due at now, the earliest first, with their watch's secret.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]geo.Delivery, error) {
	// At most perWatch of each watch: a dead endpoint with a long backlog
	// does not crowd the others out of the answer.
	const perWatch = 16
	rows, err := db.read.QueryContext(ctx, `SELECT d.did, d.watch, d.seq, d.url, d.body, coalesce(w.secret, ''), d.attempts
		FROM (SELECT *, row_number() OVER (PARTITION BY watch ORDER BY next_at, did) AS n
		      FROM deliveries WHERE state = 'pending' AND next_at <= ?) d
		JOIN watches w ON w.id = d.watch
		WHERE d.n <= ? ORDER BY d.next_at, d.did LIMIT ?`, now.UnixMilli(), perWatch, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []geo.Delivery
	for rows.Next() {
		var d geo.Delivery
		if err := rows.Scan(&d.DID, &d.Watch, &d.Seq, &d.URL, &d.Body, &d.Secret, &d.Attempts); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RecordAttempt logs a try of a delivery and sets its state; a pending
// delivery is tried again at next.
func (db *DB) RecordAttempt(ctx context.Context, did int64, a geo.Attempt, state string, next time.Time) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		res, err := tx.Exec("UPDATE deliveries SET attempts = ?, state = ?, next_at = ? WHERE did = ?", a.Attempt, state, next.UnixMilli(), did)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // the watch was deleted meanwhile
		}
		_, err = tx.Exec("INSERT INTO delivery_attempts (did, attempt, time, status, error, duration) VALUES (?,?,?,?,?,?)",
			did, a.Attempt, a.Time.UTC().Format(time.RFC3339Nano), a.Status, a.Error, a.Duration.Milliseconds())
		return err
	})
}

// Deliveries returns the newest deliveries of a watch, up to limit, each
// with its tries in order.
func (db *DB) Deliveries(ctx context.Context, watch string, limit int) ([]geo.DeliveryLog, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT d.did, d.seq, d.url, d.state, d.created, a.attempt, a.time, a.status, a.error
		FROM (SELECT * FROM deliveries WHERE watch = ? ORDER BY seq DESC LIMIT ?) d
		LEFT JOIN delivery_attempts a ON a.did = d.did ORDER BY d.seq DESC, a.attempt`, watch, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []geo.DeliveryLog{}
	last := int64(-1)
	for rows.Next() {
		var did int64
		var d geo.DeliveryLog
		var created string
		var attempt, status sql.NullInt64
		var at, msg sql.NullString
		if err := rows.Scan(&did, &d.Seq, &d.URL, &d.State, &created, &attempt, &at, &status, &msg); err != nil {
			return nil, err
		}
		if did != last {
			d.Created, _ = time.Parse(time.RFC3339Nano, created)
			d.Attempts = []geo.Attempt{}
			out = append(out, d)
			last = did
		}
		if attempt.Valid {
			t, _ := time.Parse(time.RFC3339Nano, at.String)
			cur := &out[len(out)-1]
			cur.Attempts = append(cur.Attempts, geo.Attempt{Attempt: int(attempt.Int64), Time: t, Status: int(status.Int64), Error: msg.String})
		}
	}
	return out, rows.Err()
}
