package storetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"nexus/geo"
)

// ChildBatch is how many records each import batch of ImportChild holds.
const ChildBatch = 2000

// KillDuringImport kills a process in the middle of an import transaction
// and shows that the database keeps every committed batch and nothing of
// the interrupted one, and that its change log reads back whole. child
// returns the command of the child process, not started: the engine's test
// binary running ImportChild on a fresh database. reopen opens that
// database after the kill. It returns how many records survived, for the
// engine's own checks of its indexes.
func KillDuringImport(t *testing.T, child func(t *testing.T) *exec.Cmd, reopen func(t *testing.T) Engine) int {
	cmd := child(t)
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
	// N (from its clock, which the engine reads after BEGIN) and "committed N"
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

	db := reopen(t)
	ctx := context.Background()
	records := int(countAll(t, db))
	t.Logf("after the kill: %d records", records)
	switch {
	case records%ChildBatch != 0:
		t.Errorf("%d records is not a whole number of batches of %d", records, ChildBatch)
	case records < committed*ChildBatch:
		t.Errorf("%d records, but %d batches of %d were reported committed", records, committed, ChildBatch)
	case records > (killedIn-1)*ChildBatch:
		// Batch killedIn can only be there if its commit beat the kill.
		t.Logf("the interrupted batch %d committed before the kill landed", killedIn)
	}
	// Every entry of the log reads back, its Features whole, and says what
	// the record holds; there is one entry per record.
	log, err := db.Changes(ctx, 0, records+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != records {
		t.Fatalf("%d entries read back for %d records", len(log), records)
	}
	if seq := lastSeq(t, db); len(log) > 0 && seq != log[len(log)-1].Seq {
		t.Errorf("LastSeq %d, the last entry's seq %d", seq, log[len(log)-1].Seq)
	}
	var prev int64
	for i, c := range log {
		got, err := db.Get(ctx, geo.Incidents, c.ID)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if c.Seq <= prev || !bytes.Equal(got.Feature, c.After) {
			t.Fatalf("entry %d (seq %d after %d) says %.80s, the record holds %.80s", i, c.Seq, prev, c.After, got.Feature)
		}
		prev = c.Seq
	}
	return records
}

// ImportChild is the child process of KillDuringImport: it imports
// synthetic incidents into db batch after batch until it is killed,
// printing "begin N" on standard output from the clock (which the engine
// must read inside the write transaction) and "committed N" after each
// batch.
func ImportChild(t *testing.T, db Engine) {
	batch := 1
	db.SetClock(func() time.Time {
		fmt.Printf("begin %d\n", batch)
		return time.Now().UTC()
	})
	gen := NewSynth(1, "child")
	for ; batch <= 200; batch++ {
		if _, err := db.ImportBatch(context.Background(), "child", gen.Incidents(ChildBatch)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", batch)
	}
	t.Fatal("not killed after 200 batches")
}
