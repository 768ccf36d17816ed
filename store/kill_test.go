package store_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"nexus/geo"
	"nexus/ingest"
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

// TestKillDuringLoad kills a process in the middle of the first import
// into an empty store, which is one load (one transaction): the database
// keeps nothing of it, passes integrity_check, and takes the next import.
func TestKillDuringLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NEXUS_CHILD_DB="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	written := 0
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "written %d", &written); err == nil && written >= 3 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	werr := cmd.Wait()
	if written < 3 {
		t.Fatalf("the child ended before it was killed (%v): %s", werr, stderr.String())
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := scalar[string](t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Fatalf("integrity_check: %s", got)
	}
	for _, table := range []string{"records", "changes", "boxes", "record_keys", "fts"} {
		if n := scalar[int64](t, db, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("%d rows in %s after a load killed after %d batches, want none", n, table, written)
		}
	}
	res, err := db.ImportBatch(context.Background(), "after", storetest.NewSynth(3, "after:").Incidents(10))
	if err != nil || len(res) != 10 {
		t.Fatalf("import after the kill: %v", err)
	}
}

// TestLoadChild is the child process of TestKillDuringLoad: it imports
// endless synthetic GeoJSON into an empty store, printing "written N"
// after each batch, until it is killed. Without NEXUS_CHILD_DB it does
// nothing.
func TestLoadChild(t *testing.T) {
	path := os.Getenv("NEXUS_CHILD_DB")
	if path == "" {
		return
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	go func() {
		gen := storetest.NewSynth(1, "load:")
		w.Write([]byte(`{"type":"FeatureCollection","features":[`))
		for sep := ""; ; {
			for _, rec := range gen.Incidents(100) {
				b, err := geo.EncodeFeature(rec)
				if err != nil {
					w.CloseWithError(err)
					return
				}
				if _, err := w.Write(append([]byte(sep), b...)); err != nil {
					return
				}
				sep = ",\n"
			}
		}
	}()
	batches := 0
	_, err = ingest.Import(context.Background(), db, r, ingest.Options{Actor: "child", BatchSize: storetest.ChildBatch,
		Written: func(int64) {
			batches++
			fmt.Printf("written %d\n", batches)
		}})
	t.Fatalf("not killed: %v", err)
}
