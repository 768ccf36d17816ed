package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"nexus/geo"
	"nexus/ingest"
	"nexus/internal/pgtest"
	"nexus/pgstore"
	"nexus/store/storetest"
)

// An import into an empty database loads it in one transaction.
var _ ingest.Loader = (*pgstore.DB)(nil)

// batchesOnly is a store that offers an import no load: it writes batch
// by batch, as a store that holds records does.
type batchesOnly struct{ db *pgstore.DB }

func (b batchesOnly) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	return b.db.ImportBatch(ctx, actor, recs)
}

func (b batchesOnly) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	return b.db.PrepareBatch(actor, recs)
}

// imported is what one import left: its report, what another connection
// saw of the change log after each batch, the frames a subscriber on a
// second server got, and the database.
type imported struct {
	rep     ingest.Report
	seen    []int64 // change-log entries committed, after each batch; -1 while a load holds the log
	frames  []string
	db      *pgstore.DB
	url     string
	indexes []string
}

// importInto imports the file into a new database through dst(db), with
// a subscriber on a second server on the same database, and waits until
// the subscriber has every change.
func importInto(t *testing.T, in string, dst func(*pgstore.DB) ingest.Batcher) imported {
	t.Helper()
	url := pgtest.DB(t)
	a, b := startServer(t, url), startServer(t, url)
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a.db.Now = func() time.Time { return clock }
	ws := b.subscribe(t, 0)
	other := openURL(t, url)
	out := imported{db: a.db, url: url}
	ctx := context.Background()
	var err error
	out.rep, err = ingest.Import(ctx, dst(a.db), strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch,
		Written: func(int64) {
			n := int64(-1)
			err := pgx.BeginFunc(ctx, other.Pool(), func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '100ms'"); err != nil {
					return err
				}
				return tx.QueryRow(ctx, "SELECT count(*) FROM changes").Scan(&n)
			})
			if pgErr := (*pgconn.PgError)(nil); err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "55P03") {
				t.Error(err)
			}
			out.seen = append(out.seen, n)
		}})
	if err != nil {
		t.Fatal(err)
	}
	last, err := a.db.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(0); seq < last; {
		f := readFrame(t, ws)
		if f.Type != "change" {
			t.Fatalf("frame %+v", f)
		}
		if f.Seq <= seq {
			t.Fatalf("frame of seq %d after seq %d", f.Seq, seq)
		}
		seq = f.Seq
		out.frames = append(out.frames, fmt.Sprintf("%d %s %s %s %s", f.Seq, f.Op, f.Collection, f.ID, f.Feature))
	}
	out.indexes = indexDefs(t, a.db)
	return out
}

// indexDefs are the definitions of the database's indexes.
func indexDefs(t *testing.T, db *pgstore.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
	if err != nil {
		t.Fatal(err)
	}
	defs := []string{}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return defs
}

// state is a database's records, change log and the histories of the
// records written more than once, as clients read them, with each
// record's id replaced by its external_id.
func state(t *testing.T, db *pgstore.DB) (records, log, history []string, ids map[string]string) {
	t.Helper()
	ctx := context.Background()
	ids = map[string]string{}
	rows, err := db.Pool().Query(ctx, "SELECT id, external_id FROM records")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, ext string
		if err := rows.Scan(&id, &ext); err != nil {
			t.Fatal(err)
		}
		ids[id] = ext
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
		var after int64
		for {
			f := geo.NewFilter()
			f.Exact = true
			p, err := db.Query(ctx, c, f, after, 500)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range p.Features {
				records = append(records, unID(string(b), ids))
			}
			if p.Next == 0 {
				break
			}
			after = p.Next
		}
	}
	changes, err := db.Changes(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]int{}
	for _, c := range changes {
		versions[c.ID]++
		log = append(log, unID(fmt.Sprintf("%d %s %s %s %d %s %s %s %s", c.Seq, c.Collection, c.ID, c.Op, c.Version, c.Actor,
			c.Time.Format(time.RFC3339Nano), c.Before, c.After), ids))
	}
	// The histories of the records written more than once.
	for _, c := range changes {
		if versions[c.ID] < 2 || c.Version != 1 {
			continue
		}
		h, err := db.History(ctx, c.Collection, c.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range h.Changes {
			history = append(history, unID(fmt.Sprintf("history %s %s %d %s %s", c.ID, v.Op, v.Version, v.Before, v.After), ids))
		}
	}
	return records, log, history, ids
}

// unID replaces every record id in s by its external_id.
func unID(s string, ids map[string]string) string {
	for id, ext := range ids {
		if strings.Contains(s, id) {
			s = strings.ReplaceAll(s, id, "<"+ext+">")
		}
	}
	return s
}

// TestLoadMatchesBatches: an import into an empty store is one load (one
// transaction; the indexes are dropped and built again after the rows).
// Nothing of it is seen by another connection until it ends, and it
// leaves what the same import batch by batch leaves: the report, the
// records, their histories, the change log with its seqs, the frames a
// subscriber on another server gets, the indexes, and the answers of
// queries that use them.
func TestLoadMatchesBatches(t *testing.T) {
	in, n := storetest.LoadInput(t)
	var ahead atomic.Int64
	pgstore.SetPlannedAhead(func() { ahead.Add(1) })
	defer pgstore.SetPlannedAhead(func() {})
	load := importInto(t, in, func(db *pgstore.DB) ingest.Batcher { return db })
	// The batches that name no record of a batch before them, the first
	// one revising a record of its own, are worked out as they are
	// prepared; the others as they are written.
	rows := load.rep.Created + load.rep.Updated + load.rep.Unchanged + load.rep.RejectedCount
	if batches := (rows + storetest.LoadBatch - 1) / storetest.LoadBatch; ahead.Load() < 4 || ahead.Load() >= batches {
		t.Errorf("%d of %d batches worked out as they were prepared", ahead.Load(), batches)
	}
	// The load leaves the planner the statistics of what it loaded.
	var analyzed int
	if err := load.db.Pool().QueryRow(context.Background(), `SELECT count(DISTINCT tablename) FROM pg_stats
		WHERE schemaname = 'public' AND tablename IN ('records', 'record_boxes', 'record_keys', 'changes')`).Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if analyzed != 4 {
		t.Errorf("statistics of %d of the 4 loaded tables", analyzed)
	}
	batches := importInto(t, in, func(db *pgstore.DB) ingest.Batcher { return batchesOnly{db} })

	if load.rep.Created != int64(n) || load.rep.RejectedCount != 1 || load.rep.Updated == 0 || load.rep.Unchanged == 0 {
		t.Fatalf("load report %+v", load.rep)
	}
	if fmt.Sprint(load.rep) != fmt.Sprint(batches.rep) {
		t.Errorf("reports differ:\nload    %+v\nbatches %+v", load.rep, batches.rep)
	}
	if len(load.seen) < 5 || slices.Max(load.seen) > 0 {
		t.Errorf("another connection saw %v change-log entries after the load's batches, want none before the end", load.seen)
	}
	if len(batches.seen) < 5 || batches.seen[0] == 0 {
		t.Errorf("another connection saw %v change-log entries after each batch of the batch-by-batch import", batches.seen)
	}

	loadRecs, loadLog, loadHistory, loadIDs := state(t, load.db)
	batchRecs, batchLog, batchHistory, batchIDs := state(t, batches.db)
	if len(loadRecs) != n || len(loadIDs) != n {
		t.Fatalf("%d records (%d ids) after the load, want %d", len(loadRecs), len(loadIDs), n)
	}
	same(t, "records", loadRecs, batchRecs)
	same(t, "change log", loadLog, batchLog)
	same(t, "histories", loadHistory, batchHistory)
	if len(loadHistory) == 0 {
		t.Error("no record has a history of several versions")
	}
	for i := range load.frames {
		load.frames[i] = unID(load.frames[i], loadIDs)
	}
	for i := range batches.frames {
		batches.frames[i] = unID(batches.frames[i], batchIDs)
	}
	if len(load.frames) != len(loadLog) {
		t.Errorf("%d frames for %d changes", len(load.frames), len(loadLog))
	}
	same(t, "live frames", load.frames, batches.frames)
	same(t, "indexes", load.indexes, batches.indexes)
	// The keys the load holds to its end are those of each record's last
	// version, as the batches leave them.
	loadKeys, batchKeys := keyRows(t, load.db), keyRows(t, batches.db)
	if len(loadKeys) < n {
		t.Errorf("%d keys after the load of %d records", len(loadKeys), n)
	}
	same(t, "keys", loadKeys, batchKeys)

	ctx := context.Background()
	filters := map[string]geo.Filter{}
	f := geo.NewFilter()
	f.Q = "cocaine"
	filters["q"] = f
	f = geo.NewFilter()
	f.BBox = &geo.BBox{W: -80, S: -10, E: -60, N: 15}
	filters["bbox"] = f
	f = geo.NewFilter()
	f.BBox = &geo.BBox{W: 170, S: -60, E: -170, N: 60}
	filters["bbox across the antimeridian"] = f
	f = geo.NewFilter()
	f.Actors = []string{"FARC"}
	f.Countries = []string{"CO"}
	filters["actor and country"] = f
	f = geo.NewFilter()
	f.Span = geo.Span{Start: time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), End: time.Date(2020, 12, 31, 0, 0, 0, 0, time.UTC).Unix()}
	filters["datetime"] = f
	for name, f := range filters {
		for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
			a, err := load.db.Count(ctx, c, f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := batches.db.Count(ctx, c, f)
			if err != nil {
				t.Fatal(err)
			}
			if a != b {
				t.Errorf("%s %s: %d after the load, %d after the batches", name, c, a, b)
			}
		}
	}
}

// keyRows are the rows of record_keys, each with its record's
// external_id, in order.
func keyRows(t *testing.T, db *pgstore.DB) []string {
	t.Helper()
	rows, err := db.Pool().Query(context.Background(), `SELECT r.external_id || ' ' || k.key || ' ' || k.value || ' ' || k.lvalue
		FROM record_keys k JOIN records r ON r.rid = k.rid ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// same fails the test where two lists differ.
func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d after the load, %d after the batches", what, len(got), len(want))
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%s differ at %d:\nload    %s\nbatches %s", what, i, got[i], want[i])
			return
		}
	}
}

// TestLoadInterrupted: a load interrupted after some of its batches (the
// context cancelled) keeps nothing: no record, box, key or change-log
// entry, no frame for a subscriber, the indexes as they were, and the
// report counts nothing kept. The next import loads the store again.
func TestLoadInterrupted(t *testing.T) {
	in, n := storetest.LoadInput(t)
	url := pgtest.DB(t)
	a, b := startServer(t, url), startServer(t, url)
	before := indexDefs(t, a.db)
	ws := b.subscribe(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	written := 0
	rep, err := ingest.Import(ctx, a.db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch,
		Written: func(int64) {
			if written++; written == 3 {
				once.Do(cancel)
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v", err)
	}
	if written < 3 || rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 0 {
		t.Fatalf("interrupted after %d batches, report %+v: want nothing kept", written, rep)
	}
	bg := context.Background()
	for what, q := range map[string]string{
		"records": "SELECT count(*) FROM records", "boxes": "SELECT count(*) FROM record_boxes",
		"keys": "SELECT count(*) FROM record_keys", "change-log entries": "SELECT count(*) FROM changes",
	} {
		var got int64
		if err := a.db.Pool().QueryRow(bg, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != 0 {
			t.Errorf("%d %s after the interrupted load", got, what)
		}
	}
	same(t, "indexes", indexDefs(t, a.db), before)

	rep, err = ingest.Import(bg, a.db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch})
	if err != nil || rep.Created != int64(n) {
		t.Fatalf("import after the interrupted one: %v, %+v", err, rep)
	}
	// The subscriber's first frame is the next import's first change.
	var seq int64
	var id string
	if err := a.db.Pool().QueryRow(bg, "SELECT seq, id FROM changes ORDER BY seq LIMIT 1").Scan(&seq, &id); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, ws); f.Type != "change" || f.Seq != seq || f.ID != id {
		t.Fatalf("first frame %+v, want the change of seq %d to %s", f, seq, id)
	}
}

// loadChildEnv names the database the child process of TestKillDuringLoad
// loads.
const loadChildEnv = "NEXUS_LOAD_CHILD_PG"

// loadChildCommitEnv makes the child stop after its commit instead
// (TestKillAfterLoadCommit).
const loadChildCommitEnv = "NEXUS_LOAD_CHILD_COMMIT"

// TestKillDuringLoad kills (SIGKILL) a process in the middle of a load,
// after three of its batches are written: PostgreSQL rolls the whole load
// back, the dropped indexes included. Nothing is left in any table, the
// indexes are those of a new database, and the same file loads again.
func TestKillDuringLoad(t *testing.T) {
	url := pgtest.DB(t)
	db := openURL(t, url)
	before := indexDefs(t, db)
	killLoadChild(t, url, "written 3")
	ctx := context.Background()
	// The server ends the child's session once it notices the socket closed.
	for {
		var n int
		if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'nexus' AND xact_start IS NOT NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for what, q := range map[string]string{
		"records": "SELECT count(*) FROM records", "boxes": "SELECT count(*) FROM record_boxes",
		"keys": "SELECT count(*) FROM record_keys", "change-log entries": "SELECT count(*) FROM changes",
	} {
		var got int64
		if err := db.Pool().QueryRow(ctx, q).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != 0 {
			t.Errorf("%d %s after the killed load", got, what)
		}
	}
	same(t, "indexes", indexDefs(t, db), before)
	in, n := storetest.LoadInput(t)
	rep, err := ingest.Import(ctx, db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch})
	if err != nil || rep.Created != int64(n) {
		t.Fatalf("import after the killed one: %v, %+v", err, rep)
	}
}

// TestKillAfterLoadCommit kills (SIGKILL) a process whose load has
// committed and has not built its indexes yet: what it imported is kept,
// and the next server to open the database builds the indexes, so that
// the database has those of a new one and nothing pending.
func TestKillAfterLoadCommit(t *testing.T) {
	url := pgtest.DB(t)
	before := indexDefs(t, openURL(t, url))
	killLoadChild(t, url, "committed", loadChildCommitEnv+"=1")
	ctx := context.Background()
	_, n := storetest.LoadInput(t)
	db := openURL(t, url)
	var records, pending int
	if err := db.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM pending_indexes)").Scan(&records, &pending); err != nil {
		t.Fatal(err)
	}
	if records != n || pending != 0 {
		t.Errorf("after the kill and a new server: %d records (want %d), %d indexes pending", records, n, pending)
	}
	same(t, "indexes", indexDefs(t, db), before)
}

// killLoadChild runs TestLoadChild on the database at url, with env
// added to its environment, and kills it (SIGKILL) when it says line.
func killLoadChild(t *testing.T, url, line string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadChild$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), loadChildEnv+"="+url), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if sc.Text() == line {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			return
		}
	}
	cmd.Wait()
	t.Fatalf("the child ended before it said %q: %s", line, stderr.String())
}

// TestLoadChild is the child process of TestKillDuringLoad and
// TestKillAfterLoadCommit: it loads the file of the load tests, says
// "written N" after each batch, and stops (without ending) after the
// third, or after its commit with NEXUS_LOAD_CHILD_COMMIT. Without
// NEXUS_LOAD_CHILD_PG it does nothing.
func TestLoadChild(t *testing.T) {
	url := os.Getenv(loadChildEnv)
	if url == "" {
		return
	}
	db, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(loadChildCommitEnv) != "" {
		pgstore.SetAfterLoadCommit(func() {
			fmt.Println("committed")
			select {} // until killed
		})
	}
	in, _ := storetest.LoadInput(t)
	batches := 0
	_, err = ingest.Import(context.Background(), db, strings.NewReader(in), ingest.Options{Actor: "child", BatchSize: storetest.LoadBatch,
		Written: func(int64) {
			batches++
			fmt.Printf("written %d\n", batches)
			if batches == 3 && os.Getenv(loadChildCommitEnv) == "" {
				select {} // until killed
			}
		}})
	t.Fatalf("the load ended: %v", err)
}
