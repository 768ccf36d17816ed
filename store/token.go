package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"nexus/geo"
)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// tokenTime is how token times are stored: RFC 3339 in UTC to the
// second, so that they compare as text.
const tokenTime = "2006-01-02T15:04:05Z"

// CreateToken makes a new token for name with the role and returns it; only
// its hash is stored, so this is the one time it can be seen.
func (db *DB) CreateToken(ctx context.Context, name, role string) (string, error) {
	return db.CreateTokenUntil(ctx, name, role, time.Time{})
}

// CreateTokenUntil is CreateToken for a token that expires at the time
// given; the zero time never expires.
func (db *DB) CreateTokenUntil(ctx context.Context, name, role string, expires time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", geo.Errorf(geo.EINVALID, "a token needs a name of 1 to 100 characters")
	}
	if geo.RoleRank(role) == 0 {
		return "", geo.Errorf(geo.EINVALID, "role must be viewer, editor or admin; got %q", role)
	}
	var b [24]byte
	rand.Read(b[:])
	token := "nx_" + base64.RawURLEncoding.EncodeToString(b[:])
	var exp any
	if !expires.IsZero() {
		if !expires.After(db.Now()) {
			return "", geo.Errorf(geo.EINVALID, "the token would expire at %s, which is past", expires.UTC().Format(tokenTime))
		}
		exp = expires.UTC().Format(tokenTime)
	}
	_, err := db.write.ExecContext(ctx, "INSERT INTO tokens (name, role, hash, created, expires) VALUES (?,?,?,?,?)",
		name, role, hashToken(token), db.Now().UTC().Format(time.RFC3339), exp)
	if geo.ErrorCode(translate(err)) == geo.EDUPLICATE {
		return "", geo.Errorf(geo.EDUPLICATE, "a token named %q exists already", name)
	}
	return token, translate(err)
}

// Authenticate returns who holds the token, or EUNAUTHORIZED for a token
// that is not known, was revoked or has expired.
func (db *DB) Authenticate(ctx context.Context, token string) (geo.Principal, error) {
	var p geo.Principal
	err := db.read.QueryRowContext(ctx, "SELECT name, role FROM tokens WHERE hash = ? AND (expires IS NULL OR expires > ?)",
		hashToken(token), db.Now().UTC().Format(tokenTime)).Scan(&p.Name, &p.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "the token is not valid")
	}
	return p, err
}

// TokenCount returns how many tokens exist.
func (db *DB) TokenCount(ctx context.Context) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM tokens").Scan(&n)
	return n, err
}

// Tokens lists every token by name.
func (db *DB) Tokens(ctx context.Context) ([]geo.TokenInfo, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT name, role, created, expires FROM tokens ORDER BY name")
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	now := db.Now()
	out := []geo.TokenInfo{}
	for rows.Next() {
		var t geo.TokenInfo
		var created string
		var expires sql.NullString
		if err := rows.Scan(&t.Name, &t.Role, &created, &expires); err != nil {
			return nil, err
		}
		t.Created, _ = time.Parse(time.RFC3339, created)
		if expires.Valid {
			if e, err := time.Parse(tokenTime, expires.String); err == nil {
				t.Expires, t.Expired = &e, !e.After(now)
			}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken deletes the token of that name: it no longer authenticates.
// ENOTFOUND when there is none.
func (db *DB) RevokeToken(ctx context.Context, name string) error {
	res, err := db.write.ExecContext(ctx, "DELETE FROM tokens WHERE name = ?", name)
	if err != nil {
		return translate(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return geo.Errorf(geo.ENOTFOUND, "no token named %q", name)
	}
	return nil
}

// TokenValid reports whether the token of that name still authenticates:
// it exists and has not expired.
func (db *DB) TokenValid(ctx context.Context, name string) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM tokens WHERE name = ? AND (expires IS NULL OR expires > ?)",
		name, db.Now().UTC().Format(tokenTime)).Scan(&n)
	return n > 0, translate(err)
}
