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

// Roles, from least to most trusted.
const (
	RoleViewer = "viewer"
	RoleEditor = "editor"
	RoleAdmin  = "admin"
)

// RoleRank orders the roles; an unknown role ranks 0.
func RoleRank(role string) int {
	switch role {
	case RoleViewer:
		return 1
	case RoleEditor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Principal is who a token belongs to.
type Principal struct {
	Name string
	Role string
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateToken makes a new token for name with the role and returns it; only
// its hash is stored, so this is the one time it can be seen.
func (db *DB) CreateToken(ctx context.Context, name, role string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", geo.Errorf(geo.EINVALID, "a token needs a name of 1 to 100 characters")
	}
	if RoleRank(role) == 0 {
		return "", geo.Errorf(geo.EINVALID, "role must be viewer, editor or admin; got %q", role)
	}
	var b [24]byte
	rand.Read(b[:])
	token := "nx_" + base64.RawURLEncoding.EncodeToString(b[:])
	_, err := db.write.ExecContext(ctx, "INSERT INTO tokens (name, role, hash, created) VALUES (?,?,?,?)",
		name, role, hashToken(token), db.Now().UTC().Format(time.RFC3339))
	if geo.ErrorCode(translate(err)) == geo.ECONFLICT {
		return "", geo.Errorf(geo.ECONFLICT, "a token named %q exists already", name)
	}
	return token, translate(err)
}

// Authenticate returns who holds the token, or EUNAUTHORIZED.
func (db *DB) Authenticate(ctx context.Context, token string) (Principal, error) {
	var p Principal
	err := db.read.QueryRowContext(ctx, "SELECT name, role FROM tokens WHERE hash = ?", hashToken(token)).Scan(&p.Name, &p.Role)
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
