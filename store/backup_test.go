package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"nexus/store"
	"nexus/store/storetest"
)

// TestBackupWhileWriting copies the database while another goroutine keeps
// creating records: each copy opens, is intact, and is one consistent
// snapshot taken between the seqs seen before and after the copy.
func TestBackupWhileWriting(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	storetest.ImportAll(t, db, "loader", storetest.NewSynth(3, "backup").Incidents(3000)) // so that a copy takes a while

	stop, started, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		gen := storetest.NewSynth(4, "writer")
		for first := true; ; first = false {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := db.Create(ctx, "writer", gen.Incident()); err != nil {
				done <- err
				return
			}
			if first {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatal(err)
	}

	// A copy taken while nothing happened to commit would show nothing, so
	// copy until one was taken across writes (the first, in practice).
	overlapped := 0
	for attempt := 1; attempt <= 5 && overlapped == 0; attempt++ {
		seq0, err := db.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), fmt.Sprintf("copy%d.db", attempt))
		if err := db.Backup(ctx, out); err != nil {
			t.Fatal(err)
		}
		seq1, err := db.LastSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if seq1 > seq0 {
			overlapped++
		}
		checkCopy(t, out, seq0, seq1)
		// Writing to an existing file is refused rather than overwriting it.
		if err := db.Backup(ctx, out); err == nil {
			t.Error("a second backup to the same file succeeded")
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if overlapped == 0 {
		t.Fatal("no write committed while any of 5 backups ran; the test shows nothing")
	}
}

// checkCopy opens a copy and checks that it is intact and one snapshot.
func checkCopy(t *testing.T, path string, seq0, seq1 int64) {
	t.Helper()
	cp, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if got := scalar[string](t, cp, "PRAGMA integrity_check"); got != "ok" {
		t.Fatalf("integrity_check of the copy: %s", got)
	}
	if got := scalar[string](t, cp, "SELECT rtreecheck('boxes')"); got != "ok" {
		t.Fatalf("rtreecheck of the copy: %s", got)
	}
	records := scalar[int64](t, cp, "SELECT count(*) FROM records")
	changes := scalar[int64](t, cp, "SELECT count(*) FROM changes")
	boxes := scalar[int64](t, cp, "SELECT count(*) FROM boxes")
	seq, err := cp.LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("source seq %d before and %d after the backup; the copy has seq %d, %d records, %d entries, %d boxes", seq0, seq1, seq, records, changes, boxes)
	// Every write here creates one record and one entry, so a consistent
	// snapshot holds as many records as entries and boxes.
	if records != changes || records != seq || boxes != records {
		t.Errorf("the copy is not one snapshot: %d records, %d entries, last seq %d, %d boxes", records, changes, seq, boxes)
	}
	if seq < seq0 || seq > seq1 {
		t.Errorf("the copy's seq %d is not between %d and %d", seq, seq0, seq1)
	}
}
