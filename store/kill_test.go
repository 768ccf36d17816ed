package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nexus/geo"
	"nexus/store"
)

// TestKillDuringImport kills a process in the middle of an import
// transaction and shows that the database keeps every committed batch and
// nothing of the interrupted one.
func TestKillDuringImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportChild$", "-test.count=1")
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

	// The child prints "begin N" from inside the write transaction of batch
	// N (from its clock, which the store reads after BEGIN) and "committed N"
	// when ImportBatch has returned. Kill it once a transaction has begun
	// after three batches have committed, a moment later so that the kill
	// lands among the batch's writes (a batch takes longer than that).
	committed, killedIn := 0, 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		var n int
		if _, err := fmt.Sscanf(line, "committed %d", &n); err == nil {
			committed = n
		} else if _, err := fmt.Sscanf(line, "begin %d", &n); err == nil && committed >= 3 && killedIn == 0 {
			time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killedIn = n
		}
	}
	// Lines written before the kill are still read above, up to EOF.
	werr := cmd.Wait()
	if killedIn == 0 {
		t.Fatalf("the child ended before it was killed (%v): %s", werr, stderr.String())
	}
	t.Logf("killed in the transaction of batch %d; %d batches reported committed (%v)", killedIn, committed, werr)

	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := scalar[string](t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Fatalf("integrity_check: %s", got)
	}
	if got := scalar[string](t, db, "SELECT rtreecheck('boxes')"); got != "ok" {
		t.Fatalf("rtreecheck: %s", got)
	}
	records := scalar[int](t, db, "SELECT count(*) FROM records")
	changes := scalar[int](t, db, "SELECT count(*) FROM changes")
	boxes := scalar[int](t, db, "SELECT count(*) FROM boxes")
	keys := scalar[int](t, db, "SELECT count(DISTINCT rid) FROM record_keys")
	text := scalar[int](t, db, "SELECT count(*) FROM fts")
	t.Logf("after the kill: %d records, %d change-log entries, %d boxes, %d records with keys, %d full-text rows", records, changes, boxes, keys, text)
	switch {
	case records%childBatch != 0:
		t.Errorf("%d records is not a whole number of batches of %d", records, childBatch)
	case records < committed*childBatch:
		t.Errorf("%d records, but %d batches of %d were reported committed", records, committed, childBatch)
	case records > (killedIn-1)*childBatch:
		// Batch killedIn can only be there if its commit beat the kill.
		t.Logf("the interrupted batch %d committed before the kill landed", killedIn)
	}
	for what, n := range map[string]int{"change-log entries": changes, "boxes": boxes, "records with keys": keys, "full-text rows": text} {
		if n != records {
			t.Errorf("%d %s for %d records", n, what, records)
		}
	}
	// Every entry of the log reads back, its Features from the payloads
	// that committed with it, and says what the record holds.
	log, err := db.Changes(context.Background(), 0, records+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != records {
		t.Fatalf("%d entries read back for %d records", len(log), records)
	}
	for i, c := range log {
		got, err := db.Get(context.Background(), geo.Incidents, c.ID)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if c.Seq != int64(i+1) || !bytes.Equal(got.Feature, c.After) {
			t.Fatalf("entry %d (seq %d) says %.80s, the record holds %.80s", i, c.Seq, c.After, got.Feature)
		}
	}
}

// childBatch is how many records each import batch of the child holds.
const childBatch = 2000

// TestImportChild is the child process of TestKillDuringImport: it imports
// synthetic incidents batch after batch until it is killed. Without
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
	batch := 1
	db.Now = func() time.Time {
		fmt.Printf("begin %d\n", batch)
		return time.Now().UTC()
	}
	gen := newSynth(1, "child")
	for ; batch <= 200; batch++ {
		if _, err := db.ImportBatch(context.Background(), "child", gen.incidents(childBatch)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", batch)
	}
	t.Fatal("not killed after 200 batches")
}
