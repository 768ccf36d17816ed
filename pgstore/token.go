package pgstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken makes a new token for name with the role and returns it; only
// its hash is stored, so this is the one time it can be seen.
func (db *DB) CreateToken(ctx context.Context, name, role string) (string, error) {
	return db.CreateTokenUntil(ctx, name, role, time.Time{})
}

// CreateTokenUntil is CreateToken for a token that expires at the time
// given (kept to the second, as on SQLite); the zero time never expires.
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
	var exp *time.Time
	if !expires.IsZero() {
		if !expires.After(db.Now()) {
			return "", geo.Errorf(geo.EINVALID, "the token would expire at %s, which is past", expires.UTC().Format(time.RFC3339))
		}
		e := expires.UTC().Truncate(time.Second)
		exp = &e
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO tokens (name, role, hash, created, expires) VALUES ($1, $2, $3, $4, $5)",
		name, role, hashToken(token), db.Now().UTC().Truncate(time.Second), exp)
	if geo.ErrorCode(translate(err)) == geo.EDUPLICATE {
		return "", geo.Errorf(geo.EDUPLICATE, "a token named %q exists already", name)
	}
	return token, translate(err)
}

// Authenticate returns who holds the token, or EUNAUTHORIZED for a token
// that is not known, was revoked or has expired. Every server reads the
// one table: a token revoked through one stops on all.
func (db *DB) Authenticate(ctx context.Context, token string) (geo.Principal, error) {
	var p geo.Principal
	err := db.pool.QueryRow(ctx, "SELECT name, role FROM tokens WHERE hash = $1 AND (expires IS NULL OR expires > $2)",
		hashToken(token), db.Now().UTC()).Scan(&p.Name, &p.Role)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "the token is not valid")
	}
	return p, translate(err)
}

// TokenCount returns how many tokens exist.
func (db *DB) TokenCount(ctx context.Context) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, "SELECT count(*) FROM tokens").Scan(&n)
	return n, translate(err)
}

// Tokens lists every token by name.
func (db *DB) Tokens(ctx context.Context) ([]geo.TokenInfo, error) {
	rows, err := db.pool.Query(ctx, "SELECT name, role, created, expires FROM tokens ORDER BY name")
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	now := db.Now()
	out := []geo.TokenInfo{}
	for rows.Next() {
		var t geo.TokenInfo
		var expires *time.Time
		if err := rows.Scan(&t.Name, &t.Role, &t.Created, &expires); err != nil {
			return nil, err
		}
		t.Created = t.Created.UTC()
		if expires != nil {
			e := expires.UTC()
			t.Expires, t.Expired = &e, !e.After(now)
		}
		out = append(out, t)
	}
	return out, translate(rows.Err())
}

// RevokeToken deletes the token of that name: it no longer authenticates,
// on any server, and the revocation is announced on the token channel at
// the commit, so that every server closes the token's websockets
// (FollowTokens). ENOTFOUND when there is none.
func (db *DB) RevokeToken(ctx context.Context, name string) error {
	rows, err := db.pool.Query(ctx, "WITH d AS (DELETE FROM tokens WHERE name = $1 RETURNING name) SELECT pg_notify($2, name) FROM d", name, tokenChannel)
	if err != nil {
		return translate(err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	if rows.CommandTag().RowsAffected() == 0 {
		return geo.Errorf(geo.ENOTFOUND, "no token named %q", name)
	}
	return nil
}

// TokenValid reports whether the token of that name still authenticates:
// it exists and has not expired.
func (db *DB) TokenValid(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM tokens WHERE name = $1 AND (expires IS NULL OR expires > $2))",
		name, db.Now().UTC()).Scan(&ok)
	return ok, translate(err)
}
