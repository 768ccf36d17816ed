package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store"
)

// TestFullTextIsFolded: the full-text index holds text folded by geo.Fold,
// so every word of a query begins a word of the text whatever its case and
// accents, in the database as in memory; a
// database of the first schema (text indexed as it was, by SQLite's own
// tokenizer) is re-indexed when it is opened.
func TestFullTextIsFolded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nexus.db")
	inc := &geo.Incident{Point: orb.Point{-74.08, 4.6}, Title: "Car bomb in BOGOTÁ", Type: "attack", Date: "2019-01-17", Place: "Ṣan‘ā’ street, D.C."}
	inc.Normalize(nil)
	feature, err := geo.EncodeFeature(inc)
	if err != nil {
		t.Fatal(err)
	}
	// A database of the first schema, its index holding the text as it was.
	first, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{string(first), nil},
		{"INSERT INTO records (rid, collection, id, kind, t0, t1, version, geom, feature) VALUES (7, 'incidents', 'a1', 'attack', 0, 1, 1, x'00', ?)", []any{feature}},
		{"INSERT INTO fts (rowid, text) VALUES (7, 'unfolded')", nil},
		{"PRAGMA user_version = 1", nil},
	} {
		if _, err := raw.Exec(q.sql, q.args...); err != nil {
			t.Fatalf("%.60s: %v", q.sql, err)
		}
	}
	raw.Close()

	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Create(ctx, "test", &geo.Incident{Point: orb.Point{2.35, 48.85}, Title: "Arrest in Besançon", Type: "arrest", Date: "2020"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q      string
		bogota bool // the first record matches
		n      int64
	}{
		{"bogota", true, 1}, {"Bogotá car", true, 1}, {"bogo", true, 1}, {"ota", false, 0}, {"unfolded", false, 0},
		{"sana", true, 1}, {"d.c.", true, 1}, {"san", true, 1}, {"BESANCON", false, 1}, {"besan", false, 1}, {"ancon", false, 0},
	} {
		f := geo.NewFilter()
		f.Q = tc.q
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.n {
			t.Errorf("q=%q matches %d, want %d", tc.q, n, tc.n)
		}
		if got := f.Match(inc); got != tc.bogota {
			t.Errorf("q=%q: in memory the Bogotá record matches: %v, want %v", tc.q, got, tc.bogota)
		}
	}
}
