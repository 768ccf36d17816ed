package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"nexus/geo"
)

// current is the stored state of one record inside a write transaction.
type current struct {
	rid     int64
	version int64
	feature []byte // the Feature
	blob    []byte // as stored: packed (compress.go) or not
}

// prepare validates and normalises a record before it is written.
func (db *DB) prepare(r geo.Record) error {
	r.Normalize(db.CountryOf)
	return r.Validate()
}

// Create stores a new record as version 1 and logs it, in one transaction
// that creates from other writers at the same moment may share (group.go).
func (db *DB) Create(ctx context.Context, actor string, r geo.Record) (geo.Stored, error) {
	if err := db.prepare(r); err != nil {
		return geo.Stored{}, err
	}
	return db.create(ctx, actor, r)
}

// Replace stores r as the new state of the record id. With expect > 0 it
// fails with ECONFLICT unless the stored version is expect. A replacement
// that changes nothing writes nothing and returns the stored record.
func (db *DB) Replace(ctx context.Context, actor, id string, expect int64, r geo.Record) (geo.Stored, geo.Outcome, error) {
	return db.replace(ctx, actor, id, expect, r, nil)
}

// Restore stores r, the content of the record's earlier version, as its
// new state, as Replace does, and the change log names that version: the
// history says the new version restored it. A record whose content is
// that version's already writes nothing.
func (db *DB) Restore(ctx context.Context, actor, id string, expect, version int64, r geo.Record) (geo.Stored, geo.Outcome, error) {
	return db.replace(ctx, actor, id, expect, r, func(tx *writeTx) error {
		_, err := tx.Exec("UPDATE changes SET restored = ? WHERE seq = ?", version, tx.lastSeq)
		return err
	})
}

// replace is Replace, with then run in the same transaction after a
// replacement that wrote a new version.
func (db *DB) replace(ctx context.Context, actor, id string, expect int64, r geo.Record, then func(*writeTx) error) (geo.Stored, geo.Outcome, error) {
	if err := db.prepare(r); err != nil {
		return geo.Stored{}, "", err
	}
	var out geo.Stored
	var outcome geo.Outcome
	err := db.inTx(ctx, func(tx *writeTx) error {
		cur, err := tx.current(r.Collection(), id)
		if err != nil {
			return err
		}
		if expect > 0 && cur.version != expect {
			return staleVersion(cur.version, expect)
		}
		if out, outcome, err = tx.update(actor, id, cur, r); err != nil || outcome != geo.Updated || then == nil {
			return err
		}
		return then(tx)
	})
	return out, outcome, err
}

// staleVersion is the ECONFLICT of a write that expected a version the
// record has moved on from.
func staleVersion(version, expect int64) error {
	return geo.Errorf(geo.ECONFLICT, "the record is at version %d, not %d: someone changed it since you read it; read it again and re-apply your change", version, expect)
}

// Delete removes the record id, keeping its last state in the change log.
func (db *DB) Delete(ctx context.Context, actor string, c geo.Collection, id string, expect int64) error {
	return db.inTx(ctx, func(tx *writeTx) error {
		cur, err := tx.current(c, id)
		if err != nil {
			return err
		}
		if expect > 0 && cur.version != expect {
			return staleVersion(cur.version, expect)
		}
		old, err := geo.DecodeFeature(c, cur.feature)
		if err != nil {
			return err
		}
		if err := tx.unindex(removed{cur.rid, c, old.Keys()}); err != nil {
			return err
		}
		if _, err := tx.Exec("DELETE FROM records WHERE rid = ?", cur.rid); err != nil {
			return err
		}
		return tx.log(geo.Change{Collection: c, ID: id, Op: geo.OpDelete, Version: cur.version + 1, Actor: actor, Before: cur.blob})
	})
}

// writeTx is one write transaction; it remembers the last seq it logged.
type writeTx struct {
	*sql.Tx
	db      *DB
	now     time.Time
	lastSeq int64
	stmts   map[string]*sql.Stmt
	// pending is the dictionary this transaction made, which writes
	// pack with after its commit.
	pending *dictionary
	// recheck holds the actors (and collections) whose earliest start or
	// latest end went with a removed or replaced record: the widest span
	// removed, read again before the commit.
	recheck map[[2]string]*actorSpan
	// load is the load the transaction is, nil for any other.
	load *load
}

// stmt returns the statement prepared once for this transaction. An import
// batch runs the same few statements thousands of times; parsing them anew
// each time took a third of its time. They close with the transaction.
func (tx *writeTx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	s, err := tx.Tx.Prepare(query)
	if err != nil {
		return nil, err
	}
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = s
	return s, nil
}

// Exec is sql.Tx.Exec through the transaction's prepared statements.
func (tx *writeTx) Exec(query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.Exec(args...)
}

// Query is sql.Tx.Query through the transaction's prepared statements.
func (tx *writeTx) Query(query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.Query(args...)
}

// QueryRow is sql.Tx.QueryRow through the transaction's prepared statements.
func (tx *writeTx) QueryRow(query string, args ...any) *sql.Row {
	s, err := tx.stmt(query)
	if err != nil {
		return tx.Tx.QueryRow(query, args...) // reports the same error from Scan
	}
	return s.QueryRow(args...)
}

// inTx runs f in one write transaction, commits, then tells the listeners.
func (db *DB) inTx(ctx context.Context, f func(*writeTx) error) error {
	return db.inTxAt(ctx, time.Time{}, f)
}

// inTxAt is inTx with the time the transaction stamps its writes with
// given; the zero time means the clock's now.
func (db *DB) inTxAt(ctx context.Context, now time.Time, f func(*writeTx) error) (err error) {
	if err := db.gate.acquire(ctx); err != nil {
		return err
	}
	defer func() { db.wrote(err) }()
	defer db.gate.release()
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	if now.IsZero() {
		now = db.Now().UTC().Truncate(time.Millisecond)
	}
	tx := &writeTx{Tx: sqlTx, db: db, now: now}
	err = f(tx)
	if err == nil {
		err = tx.recheckSummary()
	}
	if err != nil {
		sqlTx.Rollback()
		return translate(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return translate(err)
	}
	if tx.pending != nil {
		db.dict.Store(tx.pending)
	}
	if tx.lastSeq > 0 {
		db.committed(tx.lastSeq)
	}
	return nil
}

func (tx *writeTx) current(c geo.Collection, id string) (current, error) {
	var cur current
	err := tx.QueryRow("SELECT rid, version, feature FROM records WHERE id = ? AND collection = ?", id, string(c)).Scan(&cur.rid, &cur.version, &cur.blob)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	}
	if err != nil {
		return cur, err
	}
	cur.feature, err = unpack(nil, cur.blob)
	return cur, err
}

// dictionary returns the dictionary to pack these Features with: the
// database's, or else (or, with grow, when the database's is small and
// these are many) a new one made of them, stored in this transaction.
func (tx *writeTx) dictionary(features [][]byte, grow bool) (*dictionary, error) {
	d := tx.pending
	if d == nil {
		d = tx.db.dict.Load()
	}
	if d != nil && (!grow || len(d.data) >= dictTarget/2) {
		return d, nil
	}
	total := 0
	for _, f := range features {
		total += len(f)
	}
	if d != nil && total < dictTarget {
		return d, nil
	}
	nd := makeDictionary(features)
	if nd == nil {
		return d, nil
	}
	if _, err := tx.Exec("INSERT OR IGNORE INTO dictionaries (key, data) VALUES (?, ?)", nd.key, nd.data); err != nil {
		return nil, err
	}
	tx.pending = nd
	return nd, nil
}

// pack returns the packed form of a Feature, to be stored.
func (tx *writeTx) pack(feature []byte) ([]byte, error) {
	d, err := tx.dictionary([][]byte{feature}, false)
	if err != nil {
		return nil, err
	}
	return packFeature(d, feature), nil
}

func (tx *writeTx) create(actor string, r geo.Record) (geo.Stored, error) {
	m := r.Base()
	m.ID, m.Version, m.Created, m.Updated = geo.NewID(), 1, tx.now, tx.now
	feature, err := geo.EncodeFeature(r)
	if err != nil {
		return geo.Stored{}, err
	}
	blob, err := tx.pack(feature)
	if err != nil {
		return geo.Stored{}, err
	}
	if err := tx.write(0, r, blob); err != nil {
		return geo.Stored{}, err
	}
	return geo.Stored{Collection: r.Collection(), ID: m.ID, Version: 1, Feature: feature}, tx.log(geo.Change{Collection: r.Collection(), ID: m.ID, Op: geo.OpCreate, Version: 1, Actor: actor})
}

func (tx *writeTx) update(actor, id string, cur current, r geo.Record) (geo.Stored, geo.Outcome, error) {
	old, err := geo.DecodeFeature(r.Collection(), cur.feature)
	if err != nil {
		return geo.Stored{}, "", err
	}
	m := r.Base()
	// Encode with the stored meta first: equal bytes mean nothing changed.
	*m = *old.Base()
	same, err := geo.EncodeFeature(r)
	if err != nil {
		return geo.Stored{}, "", err
	}
	if string(same) == string(cur.feature) {
		return geo.Stored{Collection: r.Collection(), ID: id, Version: cur.version, Feature: cur.feature}, geo.Unchanged, nil
	}
	m.Version, m.Updated = cur.version+1, tx.now
	feature, err := geo.EncodeFeature(r)
	if err != nil {
		return geo.Stored{}, "", err
	}
	blob, err := tx.pack(feature)
	if err != nil {
		return geo.Stored{}, "", err
	}
	if err := tx.unindex(removed{cur.rid, r.Collection(), old.Keys()}); err != nil {
		return geo.Stored{}, "", err
	}
	if err := tx.write(cur.rid, r, blob); err != nil {
		return geo.Stored{}, "", err
	}
	err = tx.log(geo.Change{Collection: r.Collection(), ID: id, Op: geo.OpUpdate, Version: m.Version, Actor: actor, Before: cur.blob})
	return geo.Stored{Collection: r.Collection(), ID: id, Version: m.Version, Feature: feature}, geo.Updated, err
}

// write inserts (rid 0) or replaces the record row and its index entries;
// blob is the record's Feature as stored (packed or not).
func (tx *writeTx) write(rid int64, r geo.Record, blob []byte) error {
	k := r.Keys()
	row, err := recordRow(r, k, blob)
	if err != nil {
		return err
	}
	if rid == 0 {
		res, err := tx.Exec(`INSERT INTO records (collection, id, external_id, kind, t0, t1, x, y, version, geom, feature, src)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, append([]any{string(r.Collection()), r.Base().ID}, row...)...)
		if err != nil {
			return err
		}
		if rid, err = res.LastInsertId(); err != nil {
			return err
		}
	} else if _, err := tx.Exec(`UPDATE records SET external_id = ?, kind = ?, t0 = ?, t1 = ?, x = ?, y = ?, version = ?, geom = ?, feature = ?, src = ? WHERE rid = ?`,
		append(row, rid)...); err != nil {
		return err
	}
	for part, b := range k.Boxes {
		if _, err := tx.Exec("INSERT INTO boxes VALUES (?,?,?,?,?)", rid*2+int64(part), b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
			return err
		}
	}
	for part, b := range coarseBoxes(r) {
		if _, err := tx.Exec("INSERT INTO coarse_boxes VALUES (?,?,?,?,?,?,?,?,?)",
			rid*2+int64(part), b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	var actors, countries []string
	for _, kv := range keyValues(k) {
		lk := kv[0] + "\x00" + strings.ToLower(kv[1])
		if seen[lk] {
			continue
		}
		seen[lk] = true
		if _, err := tx.Exec("INSERT INTO record_keys (key, value, rid) VALUES (?,?,?)", kv[0], kv[1], rid); err != nil {
			return err
		}
		if kv[0] == "actor" {
			actors = append(actors, kv[1])
		} else {
			countries = append(countries, kv[1])
		}
	}
	if err := tx.summarize(r.Collection(), actors, countries, k.Span); err != nil {
		return err
	}
	_, err = tx.Exec("INSERT INTO fts (rowid, text) VALUES (?, ?)", rid, ftsText(k))
	return err
}

func keyValues(k geo.Keys) [][2]string {
	kv := make([][2]string, 0, len(k.Actors)+len(k.Countries))
	for _, a := range k.Actors {
		kv = append(kv, [2]string{"actor", a})
	}
	for _, c := range k.Countries {
		kv = append(kv, [2]string{"country", c})
	}
	return kv
}

// removed is a stored record whose index entries are to be removed: its
// rid, and the keys of its stored Feature, which its entries were made of.
type removed struct {
	rid  int64
	coll geo.Collection
	keys geo.Keys
}

// distinctKeys returns the key rows (key, value) of a record as the writes
// index them: each once, case aside, the first spelling kept.
func distinctKeys(k geo.Keys) [][2]string {
	all := keyValues(k)
	out := all[:0]
	lower := make([]string, 0, len(all))
next:
	for _, kv := range all {
		l := strings.ToLower(kv[1])
		for i, have := range out {
			if have[0] == kv[0] && lower[i] == l {
				continue next
			}
		}
		out, lower = append(out, kv), append(lower, l)
	}
	return out
}

// unindex removes a record's entries from the boxes, keys and full text.
func (tx *writeTx) unindex(g removed) error {
	if err := tx.unsummarize(g); err != nil {
		return err
	}
	rid := g.rid
	if _, err := tx.Exec("DELETE FROM boxes WHERE id IN (?, ?)", rid*2, rid*2+1); err != nil {
		return err
	}
	if _, err := tx.Exec("DELETE FROM coarse_boxes WHERE id IN (?, ?)", rid*2, rid*2+1); err != nil {
		return err
	}
	for _, kv := range distinctKeys(g.keys) {
		if _, err := tx.Exec("DELETE FROM record_keys WHERE key = ? AND value = ? AND rid = ?", kv[0], kv[1], rid); err != nil {
			return err
		}
	}
	_, err := tx.Exec("DELETE FROM fts WHERE rowid = ?", rid)
	return err
}

// log writes one change-log entry. It keeps the Feature the change
// replaced (Before); the one it wrote is the record's until the next
// change keeps it (see changeColumns), so c.After is left out.
func (tx *writeTx) log(c geo.Change) error {
	res, err := tx.Exec("INSERT INTO changes (collection, id, op, version, actor, time, before, after) VALUES (?,?,?,?,?,?,?,?)",
		string(c.Collection), c.ID, c.Op, c.Version, c.Actor, changeTime(tx.now), nullBytes(c.Before), nullBytes(c.After))
	if err != nil {
		return err
	}
	tx.lastSeq, err = res.LastInsertId()
	return err
}

// changeTime is how the change log keeps the time of a change: Unix
// milliseconds as a varint blob, 6 bytes where RFC 3339 text took 24.
// Rows written before keep their text; parseChangeTime reads both.
func changeTime(t time.Time) []byte {
	return binary.AppendVarint(nil, t.UnixMilli())
}

// parseChangeTime reads the time column of the change log.
func parseChangeTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case []byte:
		ms, n := binary.Varint(v)
		if n != len(v) || n <= 0 {
			return time.Time{}, fmt.Errorf("a change's time %x is not a varint", v)
		}
		return time.UnixMilli(ms).UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, v)
	}
	return time.Time{}, fmt.Errorf("a change's time is %T", v)
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
