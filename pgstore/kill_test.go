package pgstore_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"nexus/internal/pgtest"
	"nexus/pgstore"
	"nexus/store/storetest"
)

// childEnv names the database the child process of TestKillDuringImport
// imports into.
const childEnv = "NEXUS_CHILD_PG"

// TestKillDuringImport kills a client process in the middle of an import
// transaction (storetest.KillDuringImport): PostgreSQL rolls the
// interrupted batch back whole. Then it checks the engine's own tables:
// every record has its geometry, its bounding boxes and its keys, and
// nothing of the interrupted batch is left in them.
func TestKillDuringImport(t *testing.T) {
	url := pgtest.DB(t)
	child := func(t *testing.T) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+url)
		return cmd
	}
	var db *pgstore.DB
	reopen := func(t *testing.T) storetest.Engine {
		db = openURL(t, url)
		return db
	}
	records := storetest.KillDuringImport(t, child, reopen)
	ctx := context.Background()
	for what, q := range map[string]string{
		"records with a geometry":     "SELECT count(*) FROM records WHERE geom IS NOT NULL",
		"records with a bounding box": "SELECT count(DISTINCT rid) FROM record_boxes",
		"records with keys":           "SELECT count(DISTINCT rid) FROM record_keys",
		"records with words":          "SELECT count(*) FROM records WHERE words <> ''::tsvector",
		"entries of the change log":   "SELECT count(*) FROM changes",
	} {
		var n int
		if err := db.Pool().QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n != records {
			t.Errorf("%d %s for %d records", n, what, records)
		}
	}
}

// TestImportChild is the child process of TestKillDuringImport. Without
// NEXUS_CHILD_PG it does nothing.
func TestImportChild(t *testing.T) {
	url := os.Getenv(childEnv)
	if url == "" {
		return
	}
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	storetest.ImportChild(t, db)
}
