package store_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"nexus/store"
	"nexus/store/storetest"
)

// TestKillDuringImport kills a process in the middle of an import
// transaction (storetest.KillDuringImport), then checks SQLite's own
// structures: the file's integrity, the R*Tree, and one box, one set of
// keys and one full-text row for every record.
func TestKillDuringImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.db")
	child := func(t *testing.T) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "NEXUS_CHILD_DB="+path)
		return cmd
	}
	var db *store.DB
	reopen := func(t *testing.T) storetest.Engine {
		var err error
		if db, err = store.Open(path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	records := storetest.KillDuringImport(t, child, reopen)
	// SQLite's seqs have no gaps: one per record, from 1.
	if seq, err := db.LastSeq(context.Background()); err != nil || seq != int64(records) {
		t.Errorf("LastSeq %d (%v) for %d records", seq, err, records)
	}
	if got := scalar[string](t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Fatalf("integrity_check: %s", got)
	}
	if got := scalar[string](t, db, "SELECT rtreecheck('boxes')"); got != "ok" {
		t.Fatalf("rtreecheck: %s", got)
	}
	boxes := scalar[int](t, db, "SELECT count(*) FROM boxes")
	keys := scalar[int](t, db, "SELECT count(DISTINCT rid) FROM record_keys")
	text := scalar[int](t, db, "SELECT count(*) FROM fts")
	for what, n := range map[string]int{"boxes": boxes, "records with keys": keys, "full-text rows": text} {
		if n != records {
			t.Errorf("%d %s for %d records", n, what, records)
		}
	}
}

// TestImportChild is the child process of TestKillDuringImport. Without
// NEXUS_CHILD_DB it does nothing.
func TestImportChild(t *testing.T) {
	path := os.Getenv("NEXUS_CHILD_DB")
	if path == "" {
		return
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	storetest.ImportChild(t, db)
}
