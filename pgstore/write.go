package pgstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
)

// prepare validates and normalises a record before it is written.
func (db *DB) prepare(r geo.Record) error {
	r.Normalize(db.CountryOf)
	return r.Validate()
}

// Create stores a new record as version 1 and logs it, in one transaction.
// A record whose external_id is taken fails with EDUPLICATE.
func (db *DB) Create(ctx context.Context, actor string, r geo.Record) (geo.Stored, error) {
	if err := db.prepare(r); err != nil {
		return geo.Stored{}, err
	}
	var out geo.Stored
	err := db.inTx(ctx, func(tx *writeTx) error {
		var err error
		out, err = tx.create(actor, r)
		return err
	})
	return out, err
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
		_, err := tx.Exec(tx.ctx, "UPDATE changes SET restored = $1 WHERE seq = $2", version, tx.lastSeq)
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
		if _, err := tx.Exec(tx.ctx, `WITH b AS (DELETE FROM record_boxes WHERE rid = $1), k AS (DELETE FROM record_keys WHERE rid = $1)
			DELETE FROM records WHERE rid = $1`, cur.rid); err != nil {
			return err
		}
		return tx.log(geo.Change{Collection: c, ID: id, Op: geo.OpDelete, Version: cur.version + 1, Actor: actor, Before: cur.feature})
	})
}

// writeTx is one write transaction; it remembers the last seq it logged.
type writeTx struct {
	pgx.Tx
	ctx      context.Context
	db       *DB
	now      time.Time
	locked   bool // holds the change log's lock
	lastSeq  int64
	notified bool     // lastSeq was announced on the change channel
	load     *load    // the load the transaction is a savepoint of; nil if none
	keys     []keyRow // in a load: the keys written, held until its end
	replaced []int64  // in a load: the rids of the records replaced
}

// inTx runs f in one write transaction, announces its last seq on the
// change channel, commits, then tells this server's listeners (the other
// servers hear the NOTIFY, which PostgreSQL delivers at the commit).
func (db *DB) inTx(ctx context.Context, f func(*writeTx) error) error {
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	tx := &writeTx{Tx: ptx, ctx: ctx, db: db, now: db.Now().UTC().Truncate(time.Millisecond)}
	if err := f(tx); err != nil {
		ptx.Rollback(context.Background())
		return translate(err)
	}
	if tx.lastSeq > 0 && !tx.notified {
		if _, err := ptx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, strconv.FormatInt(tx.lastSeq, 10)); err != nil {
			ptx.Rollback(context.Background())
			return translate(err)
		}
	}
	if err := ptx.Commit(ctx); err != nil {
		if unreachable(err) {
			// The commit may have reached the database before it went.
			return &geo.Error{Code: geo.EUNAVAILABLE, Message: "the database went away during the commit: the write may have been kept; look for it before you try again"}
		}
		return translate(err)
	}
	if tx.lastSeq > 0 {
		db.committed(tx.lastSeq)
	}
	return nil
}

// current is the stored state of one record inside a write transaction,
// locked until the transaction ends.
type current struct {
	rid     int64
	version int64
	feature []byte
}

func (tx *writeTx) current(c geo.Collection, id string) (current, error) {
	var cur current
	err := tx.QueryRow(tx.ctx, "SELECT rid, version, feature FROM records WHERE id = $1 AND collection = $2 FOR UPDATE", id, string(c)).Scan(&cur.rid, &cur.version, &cur.feature)
	if errors.Is(err, pgx.ErrNoRows) {
		return cur, geo.Errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	}
	return cur, err
}

func (tx *writeTx) create(actor string, r geo.Record) (geo.Stored, error) {
	m := r.Base()
	m.ID, m.Version, m.Created, m.Updated = geo.NewID(), 1, tx.now, tx.now
	feature, err := geo.EncodeFeature(r)
	if err != nil {
		return geo.Stored{}, err
	}
	if err := tx.write(0, r, feature); err != nil {
		return geo.Stored{}, err
	}
	return geo.Stored{Collection: r.Collection(), ID: m.ID, Version: 1, Feature: feature},
		tx.log(geo.Change{Collection: r.Collection(), ID: m.ID, Op: geo.OpCreate, Version: 1, Actor: actor, After: feature})
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
	if err := tx.write(cur.rid, r, feature); err != nil {
		return geo.Stored{}, "", err
	}
	err = tx.log(geo.Change{Collection: r.Collection(), ID: id, Op: geo.OpUpdate, Version: m.Version, Actor: actor, Before: cur.feature, After: feature})
	return geo.Stored{Collection: r.Collection(), ID: id, Version: m.Version, Feature: feature}, geo.Updated, err
}

// row is what the records table holds of a record besides its ids, its
// geometries, words, hash and Feature, and its index entries.
type row struct {
	ext   string // external_id, "" for none (NULL)
	kind  string
	t0    int64
	t1    int64
	boxes []indexBox
	keys  [][2]string // (key, value), without duplicates in any case
}

// rowOf is a record's row; its boxes and keys are appended to those
// given, whose room they take first.
func rowOf(r geo.Record, k geo.Keys, boxes []indexBox, keys [][2]string) row {
	out := row{ext: k.ExternalID, kind: k.Kind, t0: k.Span.Start, t1: k.Span.End, boxes: appendIndexBoxes(boxes, r, k.Boxes), keys: keys}
	add := func(key string, values []string) {
		first := len(out.keys)
		for _, v := range values {
			if !slices.ContainsFunc(out.keys[first:], func(kv [2]string) bool { return sameLower(kv[1], v) }) {
				out.keys = append(out.keys, [2]string{key, v})
			}
		}
	}
	add("actor", k.Actors)
	add("country", k.Countries)
	return out
}

// sameLower reports whether strings.ToLower(a) == strings.ToLower(b),
// without making either when both are ASCII (where it is EqualFold).
func sameLower(a, b string) bool {
	if isASCII(a) && isASCII(b) {
		return strings.EqualFold(a, b)
	}
	return strings.ToLower(a) == strings.ToLower(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// nullText is s as a query argument, NULL for "".
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// maxLexeme is the longest word the full-text index keeps, in bytes
// (PostgreSQL's limit is 2047); a longer word is kept by its beginning.
const maxLexeme = 2000

// lexemes are the words of a record's text as the full-text index holds
// them: folded and split by geo.Words, the rule the in-memory matchers
// use, so that both find the same records.
func lexemes(text string) []string {
	words := geo.Words(text)
	for i, w := range words {
		words[i] = w[:lexemeLen(w)]
	}
	return words
}

// lexemeLen is the length of a word cut to maxLexeme bytes at a character
// boundary.
func lexemeLen[W string | []byte](w W) int {
	if len(w) <= maxLexeme {
		return len(w)
	}
	n := maxLexeme
	for n > 0 && !utf8.RuneStart(w[n]) {
		n--
	}
	return n
}

// contentHash hashes what a record says, leaving out the fields the server
// sets (id, version, times): equal hashes mean an import has nothing to
// change.
func contentHash(r geo.Record) ([]byte, error) {
	sum, _, err := contentHashOf(r)
	return sum, err
}

// contentHashOf is contentHash, and the Feature with a zero Meta it is
// the hash of.
func contentHashOf(r geo.Record) (sum, plain []byte, err error) {
	m := r.Base()
	saved := *m
	*m = geo.Meta{}
	plain, err = geo.EncodeFeature(r)
	*m = saved
	if err != nil {
		return nil, nil, err
	}
	h := sha256.Sum256(plain)
	return h[:16], plain, nil
}

// write inserts (rid 0) or replaces the record row and its index entries,
// in one statement (two for a replacement).
func (tx *writeTx) write(rid int64, r geo.Record, feature []byte) error {
	k := r.Keys()
	rw := rowOf(r, k, nil, nil)
	words := lexemes(k.Text)
	hash, err := contentHash(r)
	if err != nil {
		return err
	}
	var geom, coarse []byte // WKB; nil for a link, and coarse for a record not sensitive
	if g := r.Geometry(); g != nil {
		if geom, err = wkb.Marshal(g); err != nil {
			return err
		}
		if geo.IsSensitive(r) {
			if coarse, err = wkb.Marshal(geo.Coarsened(r).Geometry()); err != nil {
				return err
			}
		}
	}
	var a args
	if rid == 0 {
		head := "WITH r AS (INSERT INTO records (collection, id, external_id, kind, t0, t1, version, geom, coarse, words, hash, feature) VALUES (" +
			a.add(string(r.Collection())) + ", " + a.add(r.Base().ID) + ", " + a.add(nullText(rw.ext)) + ", " + a.add(rw.kind) + ", " +
			a.add(rw.t0) + ", " + a.add(rw.t1) + ", " + a.add(r.Base().Version) + ", ST_GeomFromWKB(" + a.add(geom) + ", 4326), ST_GeomFromWKB(" +
			a.add(coarse) + ", 4326), array_to_tsvector(" +
			a.add(words) + "::text[]), " + a.add(hash) + ", " + a.add(feature) + ") RETURNING rid)"
		return tx.QueryRow(tx.ctx, head+indexCTEs(rw, &a)+" SELECT rid FROM r", a...).Scan(&rid)
	}
	if _, err := tx.Exec(tx.ctx, "WITH b AS (DELETE FROM record_boxes WHERE rid = $1) DELETE FROM record_keys WHERE rid = $1", rid); err != nil {
		return err
	}
	head := "WITH r AS (UPDATE records SET external_id = " + a.add(nullText(rw.ext)) + ", kind = " + a.add(rw.kind) + ", t0 = " + a.add(rw.t0) +
		", t1 = " + a.add(rw.t1) + ", version = " + a.add(r.Base().Version) + ", geom = ST_GeomFromWKB(" + a.add(geom) +
		", 4326), coarse = ST_GeomFromWKB(" + a.add(coarse) + ", 4326), words = array_to_tsvector(" + a.add(words) + "::text[]), hash = " + a.add(hash) + ", feature = " + a.add(feature) +
		" WHERE rid = " + a.add(rid) + " RETURNING rid)"
	return tx.QueryRow(tx.ctx, head+indexCTEs(rw, &a)+" SELECT rid FROM r", a...).Scan(&rid)
}

// indexCTEs are the clauses that write a record's boxes and keys, for the
// record row of the CTE r.
func indexCTEs(rw row, a *args) string {
	var q string
	if len(rw.boxes) > 0 {
		n := len(rw.boxes)
		x0, x1, y0, y1 := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		editors, viewers := make([]bool, n), make([]bool, n)
		for i, b := range rw.boxes {
			x0[i], x1[i], y0[i], y1[i] = b.Min[0], b.Max[0], b.Min[1], b.Max[1]
			editors[i], viewers[i] = b.editors, b.viewers
		}
		q += ", b AS (INSERT INTO record_boxes (rid, box, x0, x1, y0, y1, editors, viewers) SELECT r.rid, ST_MakeEnvelope(u.a, u.c, u.b, u.d, 4326), u.a, u.b, u.c, u.d, u.e, u.v FROM r, unnest(" +
			a.add(x0) + "::float8[], " + a.add(x1) + "::float8[], " + a.add(y0) + "::float8[], " + a.add(y1) + "::float8[], " +
			a.add(editors) + "::boolean[], " + a.add(viewers) + "::boolean[]) AS u(a, b, c, d, e, v))"
	}
	if len(rw.keys) > 0 {
		keys, values, lvalues := make([]string, len(rw.keys)), make([]string, len(rw.keys)), make([]string, len(rw.keys))
		for i, kv := range rw.keys {
			keys[i], values[i], lvalues[i] = kv[0], kv[1], lowerASCII(kv[1])
		}
		q += ", k AS (INSERT INTO record_keys (key, value, lvalue, rid) SELECT u.k, u.v, u.l, r.rid FROM r, unnest(" +
			a.add(keys) + "::text[], " + a.add(values) + "::text[], " + a.add(lvalues) + "::text[]) AS u(k, v, l))"
	}
	return q
}

// log writes one change-log entry.
//
// PostgreSQL hands out a sequence's numbers when they are asked for, not
// when their transactions commit: a transaction that took seq 7 may commit
// after one that took seq 8. A follower that read 8 and resumed "after 8"
// would never see 7. So the first entry of a transaction takes a
// transaction-level advisory lock, held until the commit (PostgreSQL
// releases it after the commit is visible): seqs are taken, and become
// visible, in one order, and every reader of "seq > N" sees a prefix of
// the log. The lock covers only the end of a write, from its first log
// entry to its commit; the records' own writes still run side by side.
// (Reading only below pg_snapshot_xmin would not do: an old transaction
// may take a seq after a young one did, and commit before it.)
//
// The entry of a create or an update leaves after NULL: the record row
// holds that version (see currentAfter). The entry of the version before,
// which did the same, is given its after, c.Before, in the same statement.
func (tx *writeTx) log(c geo.Change) error {
	lock := "(SELECT $9::bigint) AS l"
	if !tx.locked {
		lock = "(SELECT pg_advisory_xact_lock($9)) AS l"
	}
	err := tx.QueryRow(tx.ctx, "WITH p AS ("+fillAfter("$2", "$7")+" AND $3 <> 'create'), "+
		"c AS (INSERT INTO changes (collection, id, op, version, actor, time, before) SELECT $1, $2, $3, $4, $5, $6, $7 FROM "+lock+
		" RETURNING seq) SELECT seq, pg_notify($8, seq::text) FROM c",
		string(c.Collection), c.ID, c.Op, c.Version, c.Actor, tx.now, nullBytes(c.Before), channel, lockLog).Scan(&tx.lastSeq, nil)
	tx.locked, tx.notified = true, true
	return err
}

// currentAfter is the after of a change-log entry c: an entry of a create
// or an update whose after is NULL is that of the record's current
// version, which the record row r holds. Only the entry of a record's
// current version has it NULL: when the record is replaced or deleted,
// the entry is given the feature it had (fillAfter), in the transaction
// that replaces it, so that every snapshot reads each entry's after as it
// was written.
const currentAfter = "coalesce(c.after, r.feature)"

// currentJoin joins the record row of the entries whose after it holds.
const currentJoin = "changes c LEFT JOIN records r ON c.after IS NULL AND c.op <> 'delete' AND r.id = c.id"

// fillAfter is the statement that gives the entry of the current version
// of the record id its after, the record's feature before the change that
// replaces or deletes it.
func fillAfter(id, feature string) string {
	return "UPDATE changes SET after = " + feature + " WHERE id = " + id + " AND after IS NULL AND op <> 'delete'"
}

// lowerASCII puts the ASCII letters of s in lower case, leaving the rest:
// key values compare as SQLite's NOCASE compares them.
func lowerASCII(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

func nullBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
