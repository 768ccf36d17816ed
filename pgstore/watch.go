package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// watchChanges is the pseudo-collection of watches in their history.
const watchChanges geo.Collection = "watches"

// deliveryLease is how long a server holds the deliveries it took to try:
// no other server takes them meanwhile. A server that stops during a try
// leaves the delivery to be taken again once the lease ends.
const deliveryLease = 2 * time.Minute

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
		var since int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&since); err != nil {
			return err
		}
		out = geo.StoredWatch{ID: w.ID, Owner: owner, Version: 1, Since: since, Feature: feature}
		var secret *string
		if w.Webhook != "" {
			out.Secret = newSecret()
			secret = &out.Secret
		}
		if _, err := tx.Exec(ctx, "INSERT INTO watches (id, owner, version, since, feature, secret) VALUES ($1, $2, 1, $3, $4, $5)",
			w.ID, owner, since, feature, secret); err != nil {
			return err
		}
		return tx.logWatch(geo.Change{ID: w.ID, Op: geo.OpCreate, Version: 1, Actor: owner, After: feature}, owner)
	})
	return out, err
}

// logWatch writes one entry of the watches' change log.
func (tx *writeTx) logWatch(c geo.Change, owner string) error {
	_, err := tx.Exec(tx.ctx, "INSERT INTO watch_changes (id, owner, op, version, actor, time, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		c.ID, owner, c.Op, c.Version, c.Actor, tx.now, nullBytes(c.Before), nullBytes(c.After))
	return err
}

type currentWatch struct {
	owner   string
	version int64
	since   int64
	feature []byte
	secret  *string
}

func (tx *writeTx) currentWatch(id string, expect int64) (currentWatch, error) {
	var cur currentWatch
	err := tx.QueryRow(tx.ctx, "SELECT owner, version, since, feature, secret FROM watches WHERE id = $1 FOR UPDATE", id).Scan(&cur.owner, &cur.version, &cur.since, &cur.feature, &cur.secret)
	if errors.Is(err, pgx.ErrNoRows) {
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
		out = geo.StoredWatch{ID: id, Owner: cur.owner, Version: cur.version, Since: cur.since, Feature: cur.feature}
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
			secret = nil
		case w.Webhook != old.Webhook || secret == nil:
			out.Secret = newSecret()
			secret = &out.Secret
		}
		if _, err := tx.Exec(ctx, "UPDATE watches SET version = $1, feature = $2, secret = $3 WHERE id = $4", w.Version, feature, secret, id); err != nil {
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
		if _, err := tx.Exec(ctx, `WITH d AS (DELETE FROM deliveries WHERE watch = $1), a AS (DELETE FROM alerts WHERE watch = $1)
			DELETE FROM watches WHERE id = $1`, id); err != nil {
			return err
		}
		return tx.logWatch(geo.Change{ID: id, Op: geo.OpDelete, Version: cur.version + 1, Actor: actor, Before: cur.feature}, cur.owner)
	})
}

// GetWatch returns one watch (without its secret).
func (db *DB) GetWatch(ctx context.Context, id string) (geo.StoredWatch, error) {
	s := geo.StoredWatch{ID: id}
	err := db.pool.QueryRow(ctx, "SELECT owner, version, since, feature FROM watches WHERE id = $1", id).Scan(&s.Owner, &s.Version, &s.Since, &s.Feature)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, noWatch(id)
	}
	return s, translate(err)
}

// ListWatches returns the watches of owner, or every watch for "", oldest
// first.
func (db *DB) ListWatches(ctx context.Context, owner string) ([]geo.StoredWatch, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, owner, version, since, feature FROM watches WHERE $1 = '' OR owner = $1 ORDER BY wid", owner)
	if err != nil {
		return nil, translate(err)
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
	return out, translate(rows.Err())
}

// WatchHistory returns every change of one watch, newest first, and its
// owner. It answers for deleted watches too.
func (db *DB) WatchHistory(ctx context.Context, id string) ([]geo.Change, string, error) {
	rows, err := db.pool.Query(ctx, "SELECT seq, id, owner, op, version, actor, time, before, after FROM watch_changes WHERE id = $1 ORDER BY seq DESC", id)
	if err != nil {
		return nil, "", translate(err)
	}
	defer rows.Close()
	var out []geo.Change
	var owner string
	for rows.Next() {
		c := geo.Change{Collection: watchChanges}
		var before, after []byte
		if err := rows.Scan(&c.Seq, &c.ID, &owner, &c.Op, &c.Version, &c.Actor, &c.Time, &before, &after); err != nil {
			return nil, "", err
		}
		c.Time = c.Time.UTC()
		c.Before, c.After = before, after
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err)
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
	var out []geo.WatchState
	last := after
	err := db.snapshot(ctx, func(tx pgx.Tx) error {
		out = nil
		var max int64
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM watch_changes").Scan(&max); err != nil {
			return err
		}
		if max <= after {
			return nil
		}
		var rows pgx.Rows
		var err error
		if after == 0 {
			rows, err = tx.Query(ctx, "SELECT w.id, w.owner, w.since, w.feature FROM watches w")
		} else {
			rows, err = tx.Query(ctx, `SELECT c.id, c.owner, coalesce(w.since, 0), w.feature
				FROM (SELECT DISTINCT id, owner FROM watch_changes WHERE seq > $1 AND seq <= $2) c LEFT JOIN watches w ON w.id = c.id`, after, max)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s geo.WatchState
			var feature []byte
			if err := rows.Scan(&s.ID, &s.Owner, &s.Since, &feature); err != nil {
				return err
			}
			if feature != nil {
				if s.Watch, err = geo.DecodeWatch(feature); err != nil {
					return err
				}
			}
			out = append(out, s)
		}
		last = max
		return rows.Err()
	})
	return out, last, err
}

// AlertCursor returns the last change-log seq whose alerts are stored.
func (db *DB) AlertCursor(ctx context.Context) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, "SELECT seq FROM alert_cursor").Scan(&seq)
	return seq, translate(err)
}

// SaveAlerts stores the alerts of the changes after the cursor up to
// through, their webhook deliveries, and moves the cursor to through, in
// one transaction. Every server runs an evaluator over the one log; the
// cursor's row lock makes them take turns, and an evaluator whose alerts
// another stored already (the cursor is at or past through, or past one
// of its alerts) stores nothing and is told false: it goes on from the
// cursor. So each alert and each delivery is stored once.
func (db *DB) SaveAlerts(ctx context.Context, through int64, alerts []geo.Alert, deliveries []geo.Delivery) (bool, error) {
	saved := false
	err := db.inTx(ctx, func(tx *writeTx) error {
		var cursor int64
		if err := tx.QueryRow(ctx, "SELECT seq FROM alert_cursor FOR UPDATE").Scan(&cursor); err != nil {
			return err
		}
		if cursor >= through {
			return nil
		}
		for _, a := range alerts {
			if a.Seq <= cursor {
				return nil
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE alert_cursor SET seq = $1", through); err != nil {
			return err
		}
		if len(alerts) > 0 {
			rows := make([][]any, len(alerts))
			for i, a := range alerts {
				rows[i] = []any{a.Watch, a.Seq, a.Event, string(a.Collection), a.ID, a.Time.UTC(), nullBytes(a.Feature)}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"alerts"}, []string{"watch", "seq", "event", "collection", "record", "time", "feature"}, pgx.CopyFromRows(rows)); err != nil {
				return err
			}
		}
		for _, d := range deliveries {
			if _, err := tx.Exec(ctx, "INSERT INTO deliveries (watch, seq, url, body, state, next_at, created) VALUES ($1, $2, $3, $4, 'pending', $5, $6)",
				d.Watch, d.Seq, d.URL, d.Body, tx.now.UnixMilli(), tx.now); err != nil {
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
	var a args
	conds := []string{"true"}
	if q.Watch != "" {
		conds = append(conds, "a.watch = "+a.add(q.Watch))
	}
	if q.Owner != "" {
		conds = append(conds, "a.watch IN (SELECT id FROM watches WHERE owner = "+a.add(q.Owner)+")")
	}
	if q.Before > 0 {
		conds = append(conds, "a.seq < "+a.add(q.Before))
	}
	if q.Unread {
		conds = append(conds, "NOT a.read")
	}
	rows, err := db.pool.Query(ctx, "SELECT a.watch, a.seq, a.event, a.collection, a.record, a.time, a.read, a.feature FROM alerts a WHERE "+
		strings.Join(conds, " AND ")+" ORDER BY a.seq DESC, a.watch LIMIT "+a.add(q.Limit+1), a...)
	if err != nil {
		return nil, 0, translate(err)
	}
	defer rows.Close()
	out := []geo.Alert{}
	var next int64
	for rows.Next() {
		var al geo.Alert
		var feature []byte
		if err := rows.Scan(&al.Watch, &al.Seq, &al.Event, &al.Collection, &al.ID, &al.Time, &al.Read, &feature); err != nil {
			return nil, 0, err
		}
		if len(out) == q.Limit {
			next = out[len(out)-1].Seq
			break
		}
		al.Time = al.Time.UTC()
		al.Feature = feature
		out = append(out, al)
	}
	return out, next, translate(rows.Err())
}

// UnreadAlerts counts the unread alerts of each watch of owner ("": of
// every watch).
func (db *DB) UnreadAlerts(ctx context.Context, owner string) (map[string]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT watch, count(*) FROM alerts WHERE NOT read
		AND ($1 = '' OR watch IN (SELECT id FROM watches WHERE owner = $1)) GROUP BY watch`, owner)
	if err != nil {
		return nil, translate(err)
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
	return out, translate(rows.Err())
}

// MarkAlertsRead marks alerts of a watch read: those with the given seqs,
// or all of them when seqs is nil. It returns how many changed.
func (db *DB) MarkAlertsRead(ctx context.Context, watch string, seqs []int64) (int64, error) {
	var tag interface{ RowsAffected() int64 }
	var err error
	if seqs == nil {
		tag, err = db.pool.Exec(ctx, "UPDATE alerts SET read = true WHERE watch = $1 AND NOT read", watch)
	} else {
		tag, err = db.pool.Exec(ctx, "UPDATE alerts SET read = true WHERE watch = $1 AND seq = ANY($2) AND NOT read", watch, seqs)
	}
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}

// DueDeliveries takes up to limit pending deliveries whose next try is due
// at now, the earliest first, with their watch's secret. Taking them
// moves their next try a lease ahead (rows another server is taking are
// skipped), so that each is tried by one server: RecordAttempt then sets
// the real state.
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]geo.Delivery, error) {
	const perWatch = 16
	var out []geo.Delivery
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `WITH due AS (
				SELECT did FROM (SELECT did, next_at, row_number() OVER (PARTITION BY watch ORDER BY next_at, did) AS n
					FROM deliveries WHERE state = 'pending' AND next_at <= $1) d
				WHERE d.n <= $2 ORDER BY d.next_at, d.did LIMIT $3),
			taken AS (
				SELECT d.did FROM deliveries d JOIN due ON due.did = d.did WHERE d.state = 'pending' AND d.next_at <= $1 FOR UPDATE OF d SKIP LOCKED),
			moved AS (
				UPDATE deliveries d SET next_at = $4 FROM taken WHERE d.did = taken.did RETURNING d.did, d.watch, d.seq, d.url, d.body, d.attempts, d.next_at)
			SELECT m.did, m.watch, m.seq, m.url, m.body, coalesce(w.secret, ''), m.attempts FROM moved m JOIN watches w ON w.id = m.watch ORDER BY m.did`,
			now.UnixMilli(), perWatch, limit, now.Add(deliveryLease).UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d geo.Delivery
			if err := rows.Scan(&d.DID, &d.Watch, &d.Seq, &d.URL, &d.Body, &d.Secret, &d.Attempts); err != nil {
				return err
			}
			out = append(out, d)
		}
		return rows.Err()
	})
	return out, translate(err)
}

// RecordAttempt logs a try of a delivery and sets its state; a pending
// delivery is tried again at next.
func (db *DB) RecordAttempt(ctx context.Context, did int64, a geo.Attempt, state string, next time.Time) error {
	return translate(pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE deliveries SET attempts = $1, state = $2, next_at = $3 WHERE did = $4", a.Attempt, state, next.UnixMilli(), did)
		if err != nil || tag.RowsAffected() == 0 {
			return err // the watch was deleted meanwhile
		}
		_, err = tx.Exec(ctx, "INSERT INTO delivery_attempts (did, attempt, time, status, error, duration) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
			did, a.Attempt, a.Time.UTC(), a.Status, a.Error, a.Duration.Milliseconds())
		return err
	}))
}

// Deliveries returns the newest deliveries of a watch, up to limit, each
// with its tries in order.
func (db *DB) Deliveries(ctx context.Context, watch string, limit int) ([]geo.DeliveryLog, error) {
	rows, err := db.pool.Query(ctx, `SELECT d.did, d.seq, d.url, d.state, d.created, a.attempt, a.time, a.status, a.error
		FROM (SELECT * FROM deliveries WHERE watch = $1 ORDER BY seq DESC LIMIT $2) d
		LEFT JOIN delivery_attempts a ON a.did = d.did ORDER BY d.seq DESC, a.attempt`, watch, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := []geo.DeliveryLog{}
	last := int64(-1)
	for rows.Next() {
		var did int64
		var d geo.DeliveryLog
		var attempt, status *int32
		var at *time.Time
		var msg *string
		if err := rows.Scan(&did, &d.Seq, &d.URL, &d.State, &d.Created, &attempt, &at, &status, &msg); err != nil {
			return nil, err
		}
		if did != last {
			d.Created = d.Created.UTC()
			d.Attempts = []geo.Attempt{}
			out = append(out, d)
			last = did
		}
		if attempt != nil {
			cur := &out[len(out)-1]
			cur.Attempts = append(cur.Attempts, geo.Attempt{Attempt: int(*attempt), Time: at.UTC(), Status: int(*status), Error: *msg})
		}
	}
	return out, translate(rows.Err())
}
