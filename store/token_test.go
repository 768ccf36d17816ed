package store_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"nexus/geo"
)

// TestTokens shows that tokens authenticate, that the database keeps only
// their hashes, and the errors of a bad token, name or role.
func TestTokens(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, tc := range []struct{ name, role string }{
		{"ana", geo.RoleAdmin},
		{"eve", geo.RoleEditor},
		{"vic", geo.RoleViewer},
	} {
		tok, err := db.CreateToken(ctx, tc.name, tc.role)
		if err != nil || len(tok) < 20 {
			t.Fatalf("CreateToken(%s): %q, %v", tc.name, tok, err)
		}
		tokens[tc.name] = tok
		p, err := db.Authenticate(ctx, tok)
		if err != nil || p.Name != tc.name || p.Role != tc.role {
			t.Fatalf("Authenticate(%s's token) = %+v, %v", tc.name, p, err)
		}
	}

	for _, tc := range []struct {
		name string
		run  func() error
		code string
	}{
		{"wrong token", func() error { _, err := db.Authenticate(ctx, tokens["ana"]+"x"); return err }, geo.EUNAUTHORIZED},
		{"empty token", func() error { _, err := db.Authenticate(ctx, ""); return err }, geo.EUNAUTHORIZED},
		{"duplicate name", func() error { _, err := db.CreateToken(ctx, "ana", geo.RoleViewer); return err }, geo.EDUPLICATE},
		{"bad role", func() error { _, err := db.CreateToken(ctx, "zed", "root"); return err }, geo.EINVALID},
		{"empty role", func() error { _, err := db.CreateToken(ctx, "zed", ""); return err }, geo.EINVALID},
		{"blank name", func() error { _, err := db.CreateToken(ctx, " ", geo.RoleViewer); return err }, geo.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.run(), tc.code) })
	}

	t.Run("only hashes are stored", func(t *testing.T) {
		rows, err := db.ReadPool().Query("SELECT name, role, hash, created FROM tokens")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var name, role, created string
			var hash []byte
			if err := rows.Scan(&name, &role, &hash, &created); err != nil {
				t.Fatal(err)
			}
			n++
			for _, tok := range tokens {
				for _, col := range [][]byte{[]byte(name), []byte(role), hash, []byte(created)} {
					if bytes.Contains(col, []byte(tok)) {
						t.Errorf("the tokens row of %s holds a plaintext token", name)
					}
				}
			}
		}
		if n != len(tokens) {
			t.Errorf("%d token rows, want %d", n, len(tokens))
		}
		// Nor anywhere in the files: the database and its write-ahead log.
		var files []byte
		for _, suffix := range []string{"", "-wal"} {
			b, err := os.ReadFile(db.Path() + suffix)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, b...)
		}
		for name, tok := range tokens {
			if bytes.Contains(files, []byte(tok)) {
				t.Errorf("the database files hold %s's token in plain text", name)
			}
		}
		if !bytes.Contains(files, []byte("ana")) {
			t.Error("the scan did not see the token names: it reads the wrong files")
		}
	})
}
