package store_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"nexus/geo"
)

// TestTokensStoredHashed shows that the database keeps only the tokens'
// hashes: not in the rows, nor anywhere in the files.
func TestTokensStoredHashed(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, name := range []string{"ana", "eve", "vic"} {
		tok, err := db.CreateToken(ctx, name, geo.RoleViewer)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok
	}

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
}
