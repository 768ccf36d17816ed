package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"nexus/geo"
	"nexus/ingest"
	"nexus/store"
	"nexus/store/storetest"
)

// An import into a store that holds no records is one load.
var _ ingest.Loader = (*store.DB)(nil)

// batchesOnly is the store as it is once it holds records: it offers an
// import no load, and the import writes batch by batch.
type batchesOnly struct{ db *store.DB }

func (b batchesOnly) ImportBatch(ctx context.Context, actor string, recs []geo.Record) ([]geo.ImportResult, error) {
	return b.db.ImportBatch(ctx, actor, recs)
}

func (b batchesOnly) PrepareBatch(actor string, recs []geo.Record) (func(context.Context) ([]geo.ImportResult, error), error) {
	return b.db.PrepareBatch(actor, recs)
}

// loaded is what one import left: its report, what another connection
// saw of the change log after each batch, the seqs the store announced,
// and the database.
type loaded struct {
	rep       ingest.Report
	seen      []int64
	announced []int64
	db        *store.DB
	path      string
}

// importInto imports the file into a new database through dst(db).
func importInto(t *testing.T, in string, dst func(*store.DB) ingest.Batcher) loaded {
	t.Helper()
	path := filepath.Join(t.TempDir(), "load.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	db.SetClock(func() time.Time { return clock })
	other, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	out := loaded{db: db, path: path}
	var mu sync.Mutex
	db.OnCommit(func(seq int64) {
		mu.Lock()
		out.announced = append(out.announced, seq)
		mu.Unlock()
	})
	ctx := context.Background()
	out.rep, err = ingest.Import(ctx, dst(db), strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch,
		Written: func(int64) {
			out.seen = append(out.seen, scalar[int64](t, other, "SELECT count(*) FROM changes"))
		}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dbState is a database's records, change log and the histories of the
// records written more than once, as clients read them, with each
// record's id replaced by its external_id, and the schema.
func dbState(t *testing.T, db *store.DB) (records, log, history, schema []string) {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	rows, err := db.ReadPool().Query("SELECT id, external_id FROM records")
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
	unID := func(s string) string {
		for id, ext := range ids {
			s = strings.ReplaceAll(s, id, "<"+ext+">")
		}
		return s
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
				records = append(records, unID(string(b)))
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
			c.Time.Format(time.RFC3339Nano), c.Before, c.After)))
	}
	for _, c := range changes {
		if versions[c.ID] < 2 || c.Version != 1 {
			continue
		}
		h, err := db.History(ctx, c.Collection, c.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range h.Changes {
			history = append(history, unID(fmt.Sprintf("history %s %s %d %s %s", c.ID, v.Op, v.Version, v.Before, v.After)))
		}
	}
	rows, err = db.ReadPool().Query("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		schema = append(schema, typ+" "+name+" "+sql)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return records, log, history, schema
}

// tableRows lists the rows of a table, in order.
func tableRows(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	rows, err := db.ReadPool().Query("SELECT * FROM " + table + " ORDER BY 1, 2, 3")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// textTerms lists each term of the full-text index with the number of
// records it is found in.
func textTerms(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, fts, row)"); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT term, doc FROM temp.terms ORDER BY term")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var terms []string
	for rows.Next() {
		var term string
		var n int64
		if err := rows.Scan(&term, &n); err != nil {
			t.Fatal(err)
		}
		terms = append(terms, fmt.Sprint(term, " ", n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(terms) == 0 {
		t.Fatal("the full-text index has no terms")
	}
	return terms
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

// TestLoadMatchesBatches: an import into an empty store is one load (one
// transaction; the boxes go into the R*Trees packed at its end). Nothing
// of it is seen by another connection until it ends, its last seq is
// announced once, and it leaves what the same import batch by batch
// leaves: the report, the records, their histories, the change log with
// its seqs, the schema, sound R*Trees, and the answers of queries that
// use the indexes.
func TestLoadMatchesBatches(t *testing.T) {
	t.Parallel()
	in, n := storetest.LoadInput(t)
	load := importInto(t, in, func(db *store.DB) ingest.Batcher { return db })
	batches := importInto(t, in, func(db *store.DB) ingest.Batcher { return batchesOnly{db} })

	if load.rep.Created != int64(n) || load.rep.RejectedCount != 1 || load.rep.Updated == 0 || load.rep.Unchanged == 0 {
		t.Fatalf("load report %+v", load.rep)
	}
	if fmt.Sprint(load.rep) != fmt.Sprint(batches.rep) {
		t.Errorf("reports differ:\nload    %+v\nbatches %+v", load.rep, batches.rep)
	}
	if len(load.seen) < 5 || load.seen[len(load.seen)-1] != 0 {
		t.Errorf("another connection saw %v change-log entries after the load's batches, want none before the end", load.seen)
	}
	if len(batches.seen) < 5 || batches.seen[0] == 0 {
		t.Errorf("another connection saw %v change-log entries after each batch of the batch-by-batch import", batches.seen)
	}
	last := scalar[int64](t, load.db, "SELECT max(seq) FROM changes")
	if len(load.announced) != 1 || load.announced[0] != last {
		t.Errorf("the load announced seqs %v, want its last, %d, once", load.announced, last)
	}

	loadRecs, loadLog, loadHistory, loadSchema := dbState(t, load.db)
	batchRecs, batchLog, batchHistory, batchSchema := dbState(t, batches.db)
	if len(loadRecs) != n {
		t.Fatalf("%d records after the load, want %d", len(loadRecs), n)
	}
	same(t, "records", loadRecs, batchRecs)
	same(t, "change log", loadLog, batchLog)
	same(t, "histories", loadHistory, batchHistory)
	same(t, "schema", loadSchema, batchSchema)
	same(t, "full-text terms", textTerms(t, load.path), textTerms(t, batches.path))
	for _, table := range []string{"actor_summary", "actor_countries", "actor_months", "actor_pairs"} {
		same(t, table, tableRows(t, load.db, table), tableRows(t, batches.db, table))
	}
	if len(loadHistory) == 0 {
		t.Error("no record has a history of several versions")
	}
	for _, q := range []string{"PRAGMA integrity_check", "SELECT rtreecheck('boxes')", "SELECT rtreecheck('coarse_boxes')"} {
		if got := scalar[string](t, load.db, q); got != "ok" {
			t.Errorf("%s: %s", q, got)
		}
	}
	for _, table := range []string{"boxes", "coarse_boxes", "record_keys", "fts", "actor_summary", "actor_countries", "actor_months", "actor_pairs"} {
		q := "SELECT count(*) FROM " + table
		if a, b := scalar[int64](t, load.db, q), scalar[int64](t, batches.db, q); a != b || (a == 0 && table != "actor_pairs") {
			t.Errorf("%d rows in %s after the load, %d after the batches", a, table, b)
		}
	}

	ctx := context.Background()
	filters := map[string]geo.Filter{}
	f := geo.NewFilter()
	f.Q = "cocaine"
	filters["q"] = f
	f = geo.NewFilter()
	f.BBox = &geo.BBox{W: -80, S: -10, E: -60, N: 15}
	filters["bbox"] = f
	f = geo.NewFilter()
	f.BBox = &geo.BBox{W: -80, S: -10, E: -60, N: 15}
	f.Exact = true
	filters["exact bbox"] = f
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

// TestLoadInterrupted: a load interrupted after some of its batches (the
// context cancelled) keeps nothing: no record, box, key, text or
// change-log entry, and the report counts nothing kept. Writes wait for
// the load, and go on after it. The next import loads the store again.
func TestLoadInterrupted(t *testing.T) {
	in, n := storetest.LoadInput(t)
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	written := 0
	waited := make(chan error, 1)
	rep, err := ingest.Import(ctx, db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch,
		Written: func(int64) {
			if written++; written == 3 {
				// A write begun during the load waits for it.
				go func() {
					_, err := db.ImportBatch(context.Background(), "other", storetest.NewSynth(2, "other:").Incidents(1))
					waited <- err
				}()
				once.Do(cancel)
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: %v", err)
	}
	if written < 3 || rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 0 {
		t.Fatalf("interrupted after %d batches, report %+v: want nothing kept", written, rep)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the write that waited for the load: %v", err)
	}
	for what, q := range map[string]string{
		"records": "SELECT count(*) FROM records", "boxes": "SELECT count(*) FROM boxes", "records with keys": "SELECT count(DISTINCT rid) FROM record_keys",
		"full-text rows": "SELECT count(*) FROM fts", "change-log entries": "SELECT count(*) FROM changes",
	} {
		if got := scalar[int64](t, db, q); got != 1 {
			t.Errorf("%d %s after the interrupted load and one write, want 1", got, what)
		}
	}
	if got := scalar[string](t, db, "PRAGMA integrity_check"); got != "ok" {
		t.Fatalf("integrity_check: %s", got)
	}

	// The store holds a record now: the next import goes batch by batch.
	rep, err = ingest.Import(context.Background(), db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch})
	if err != nil || rep.Created != int64(n) {
		t.Fatalf("import after the interrupted one: %v, %+v", err, rep)
	}
	if got := scalar[string](t, db, "SELECT rtreecheck('boxes')"); got != "ok" {
		t.Fatalf("rtreecheck: %s", got)
	}
}

// TestLoadBuildsIndexes: a load of records that name no external_id twice
// drops the records' secondary indexes and builds them before it
// commits: the schema is that of an import batch by batch, and a second
// import of the same file finds every record by its external_id.
func TestLoadBuildsIndexes(t *testing.T) {
	t.Parallel()
	var fs []string
	for _, r := range storetest.NewSynth(17, "distinct:").Incidents(300) {
		b, err := geo.EncodeFeature(r)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, string(b))
	}
	in := `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + "]}"
	load := importInto(t, in, func(db *store.DB) ingest.Batcher { return db })
	batches := importInto(t, in, func(db *store.DB) ingest.Batcher { return batchesOnly{db} })
	if load.rep.Created != 300 {
		t.Fatalf("load report %+v", load.rep)
	}
	_, _, _, loadSchema := dbState(t, load.db)
	_, _, _, batchSchema := dbState(t, batches.db)
	same(t, "schema", loadSchema, batchSchema)
	if got := scalar[string](t, load.db, "PRAGMA integrity_check"); got != "ok" {
		t.Errorf("integrity_check: %s", got)
	}
	rep, err := ingest.Import(context.Background(), load.db, strings.NewReader(in), ingest.Options{Actor: "loader", BatchSize: storetest.LoadBatch})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged != 300 || rep.Created != 0 || rep.Updated != 0 {
		t.Errorf("second import: %+v, want 300 unchanged", rep)
	}
}
