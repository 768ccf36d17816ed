package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store/storetest"
)

// rtreeModel is what an R*Tree of the store's shape should hold: every
// entry's exact box by id.
type rtreeModel map[int64]orb.Bound

// rtreeSchema is the shape of coarse_boxes (migration 0019), boxes' until
// migration 0023 took its auxiliary columns.
const rtreeSchema = "USING rtree(id, minx, maxx, miny, maxy, +x0 REAL, +x1 REAL, +y0 REAL, +y1 REAL)"

// openRTreeDB opens a fresh store in the test's directory with a second
// R*Tree, ref, of the shape of coarse_boxes, to be filled row by row
// beside it.
func openRTreeDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "nexus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := db.write.Exec("CREATE VIRTUAL TABLE ref " + rtreeSchema); err != nil {
		t.Fatal(err)
	}
	return db
}

// randomEntries returns n entries of ids rid*2+part: points with every
// bit of their float64 mantissa, points crowded on a few places (many
// with the same box), small and huge boxes, the two parts of boxes across
// the antimeridian, and coordinates float32 cannot hold on either side.
func randomEntries(rng *rand.Rand, n int) []rtreeEntry {
	var out []rtreeEntry
	lon := func() float64 { return rng.Float64()*360 - 180 }
	lat := func() float64 { return rng.Float64()*180 - 90 }
	hot := []orb.Point{{30.5, 50.4}, {-0.1, 0.7}, {179.9, -16.8}, {0, 0}}
	for rid := int64(1); len(out) < n; rid++ {
		var boxes []orb.Bound
		switch k := rng.IntN(100); {
		case k < 55:
			p := orb.Point{lon(), lat()}
			boxes = []orb.Bound{p.Bound()}
		case k < 70:
			h := hot[rng.IntN(len(hot))]
			p := orb.Point{h[0] + float64(rng.IntN(5))*1e-7, h[1] - float64(rng.IntN(5))*1e-7}
			boxes = []orb.Bound{p.Bound()}
		case k < 85:
			x, y := lon(), lat()
			w, h := rng.Float64()*5, rng.Float64()*3
			boxes = []orb.Bound{{Min: orb.Point{max(x-w, -180), max(y-h, -90)}, Max: orb.Point{min(x+w, 180), min(y+h, 90)}}}
		case k < 95:
			y0 := lat()
			y1 := min(y0+rng.Float64()*4, 90)
			boxes = []orb.Bound{
				{Min: orb.Point{170 + rng.Float64()*10, y0}, Max: orb.Point{180, y1}},
				{Min: orb.Point{-180, y0}, Max: orb.Point{-180 + rng.Float64()*10, y1}},
			}
		case k < 96 && rng.IntN(5) == 0:
			boxes = []orb.Bound{
				{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}},
				{Min: orb.Point{-170.3, -80.1}, Max: orb.Point{169.7, 85.3}},
			}[rng.IntN(2):][:1]
		default:
			odd := []float64{0.1, -0.1, 0.7, -0.7, 1.0 / 3, -1.0 / 3, 179.99999999, -179.99999999, 89.9999999, -89.9999999, 0, 180, -180}
			a, b := odd[rng.IntN(len(odd))], odd[rng.IntN(len(odd))]
			c, d := odd[rng.IntN(len(odd))]/2, odd[rng.IntN(len(odd))]/2
			boxes = []orb.Bound{{Min: orb.Point{min(a, b), min(c, d)}, Max: orb.Point{max(a, b), max(c, d)}}}
		}
		if len(out)+len(boxes) > n {
			boxes = boxes[:1]
		}
		for part, b := range boxes {
			out = append(out, rtreeEntry{rid*2 + int64(part), b})
		}
	}
	return out
}

// modelOf is the model of the entries.
func modelOf(entries []rtreeEntry) rtreeModel {
	m := rtreeModel{}
	for _, e := range entries {
		m[e.id] = e.box
	}
	return m
}

// insertRowByRow fills an R*Tree with plain INSERTs, one row each, in
// the order given.
func insertRowByRow(t testing.TB, db *DB, table string, entries []rtreeEntry) {
	t.Helper()
	err := db.inTx(context.Background(), func(tx *writeTx) error {
		for _, e := range entries {
			b := e.box
			if _, err := tx.Exec("INSERT INTO "+table+" VALUES (?,?,?,?,?,?,?,?,?)", e.id, b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bulkLoad runs bulkLoadRTree in a write transaction of its own.
func bulkLoad(t testing.TB, db *DB, table string, entries []rtreeEntry) {
	t.Helper()
	err := db.inTx(context.Background(), func(tx *writeTx) error {
		return tx.bulkLoadRTree(table, slices.Clone(entries))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkRTree checks the table's structure with rtreecheck and the file's
// with integrity_check, that the table holds exactly the model's entries
// with their exact boxes in the auxiliary columns and 32-bit boxes that
// hold the exact ones, and that windows find what brute force over the
// model finds. With ref (ref filled row by row with the same entries),
// the 32-bit boxes must be ref's, and windows find the same in both.
// Unless full, only rtreecheck, the number of entries and the windows are
// checked.
func checkRTree(t *testing.T, db *DB, table string, m rtreeModel, rng *rand.Rand, ref, full bool) {
	t.Helper()
	var report string
	if err := db.read.QueryRow("SELECT rtreecheck(?)", table).Scan(&report); err != nil {
		t.Fatal(err)
	}
	if report != "ok" {
		t.Fatalf("rtreecheck(%s): %s", table, report)
	}
	if full {
		checkRTreeEntries(t, db, table, m, ref)
	} else if n := queryIDs(t, db.read, "SELECT count(*) FROM "+table+"_rowid"); len(n) != 1 || n[0] != int64(len(m)) {
		t.Fatalf("%v entries in %s, %d expected", n, table, len(m))
	}
	checkRTreeWindows(t, db, table, m, rng, ref)
}

// checkRTreeEntries is the full part of checkRTree: integrity_check, and
// every entry.
func checkRTreeEntries(t *testing.T, db *DB, table string, m rtreeModel, ref bool) {
	t.Helper()
	var integrity string // checks every R*Tree again, ref too
	if err := db.read.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil {
		t.Fatal(err)
	}
	if integrity != "ok" {
		t.Fatalf("integrity_check: %s", integrity)
	}

	type row struct {
		id     int64
		c      [4]float64 // minx, maxx, miny, maxy as SQLite gives them
		x0, x1 float64
		y0, y1 float64
	}
	read := func(tab string) map[int64]row {
		// The auxiliary columns are read from the table's rows
		// (reading them through the R*Tree takes a query each); the
		// windows below read them through the R*Tree.
		rows, err := db.read.Query("SELECT t.id, t.minx, t.maxx, t.miny, t.maxy, r.a0, r.a1, r.a2, r.a3 FROM " + tab + " t JOIN " + tab + "_rowid r ON r.rowid = t.id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]row{}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.c[0], &r.c[1], &r.c[2], &r.c[3], &r.x0, &r.x1, &r.y0, &r.y1); err != nil {
				t.Fatal(err)
			}
			if _, dup := out[r.id]; dup {
				t.Fatalf("%s: id %d twice", tab, r.id)
			}
			out[r.id] = r
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := read(table)
	if len(got) != len(m) {
		t.Fatalf("%d entries in %s, %d expected", len(got), table, len(m))
	}
	var byRow map[int64]row
	if ref {
		if byRow = read("ref"); len(byRow) != len(m) {
			t.Fatalf("%d entries in ref, %d expected", len(byRow), len(m))
		}
	}
	same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	for id, b := range m {
		r, ok := got[id]
		if !ok {
			t.Fatalf("entry %d missing from %s", id, table)
		}
		if !same(r.x0, b.Min[0]) || !same(r.x1, b.Max[0]) || !same(r.y0, b.Min[1]) || !same(r.y1, b.Max[1]) {
			t.Fatalf("entry %d: exact box %v %v %v %v, want %v", id, r.x0, r.x1, r.y0, r.y1, b)
		}
		if ref && r.c != byRow[id].c {
			t.Fatalf("entry %d: 32-bit box %v, row by row %v", id, r.c, byRow[id].c)
		}
		if r.c[0] > b.Min[0] || r.c[1] < b.Max[0] || r.c[2] > b.Min[1] || r.c[3] < b.Max[1] {
			t.Fatalf("entry %d: 32-bit box %v does not hold %v", id, r.c, b)
		}
	}
}

// checkRTreeWindows is the windows' part of checkRTree.
func checkRTreeWindows(t *testing.T, db *DB, table string, m rtreeModel, rng *rand.Rand, ref bool) {
	t.Helper()
	all := make([]rtreeEntry, 0, len(m)) // by id
	for id, b := range m {
		all = append(all, rtreeEntry{id, b})
	}
	slices.SortFunc(all, func(a, b rtreeEntry) int { return cmp.Compare(a.id, b.id) })
	// Fewer windows on a large tree: brute force costs the race
	// detector most there.
	k := 1
	if len(m) > 10000 {
		k = 4
	}
	windows := make([]orb.Bound, 0, 100)
	for range 60 / k {
		x, y := rng.Float64()*360-180, rng.Float64()*180-90
		w := []float64{0, 1e-6, 0.01, 1, 10}[rng.IntN(5)]
		windows = append(windows, orb.Bound{Min: orb.Point{x - w, y - w/2}, Max: orb.Point{x + w, y + w/2}})
	}
	for range 40 / k { // an entry's own box: the windows whose edges meet entries'
		if len(all) > 0 {
			windows = append(windows, all[rng.IntN(len(all))].box)
		}
	}
	const candidates = "SELECT id FROM %s WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ? ORDER BY id"
	const exact = "SELECT id FROM %s WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ? AND x0 <= ? AND x1 >= ? AND y0 <= ? AND y1 >= ? ORDER BY id"
	for _, w := range windows {
		args := []any{w.Max[0], w.Min[0], w.Max[1], w.Min[1]}
		if ref {
			if a, b := queryIDs(t, db.read, fmt.Sprintf(candidates, table), args...), queryIDs(t, db.read, fmt.Sprintf(candidates, "ref"), args...); !slices.Equal(a, b) {
				t.Fatalf("window %v: %d candidates in %s, %d row by row", w, len(a), table, len(b))
			}
		}
		args = append(args, args...)
		var want []int64
		for _, e := range all {
			b := e.box
			if b.Min[0] <= w.Max[0] && b.Max[0] >= w.Min[0] && b.Min[1] <= w.Max[1] && b.Max[1] >= w.Min[1] {
				want = append(want, e.id)
			}
		}
		if got := queryIDs(t, db.read, fmt.Sprintf(exact, table), args...); !slices.Equal(got, want) {
			t.Fatalf("window %v: %d entries in %s, brute force finds %d", w, len(got), table, len(want))
		}
	}
}

// queryIDs returns the ids a query selects.
func queryIDs(t testing.TB, q interface {
	Query(string, ...any) (*sql.Rows, error)
}, query string, args ...any) []int64 {
	t.Helper()
	rows, err := q.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBulkLoadRTree loads random entries into an empty coarse_boxes table and
// the same into ref row by row, checks both (checkRTree), then deletes,
// moves and adds entries row by row in both and checks them again.
func TestBulkLoadRTree(t *testing.T) {
	t.Parallel()
	// 51 fill the root as a leaf; 52 need two leaves; 2 602 need 66
	// leaves of 40 (rtreeFill), two nodes above them and a root.
	for _, n := range []int{0, 1, 51, 52, 2602, 100000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(n), 12))
			db := openRTreeDB(t)
			entries := randomEntries(rng, n)
			if len(entries) != n {
				t.Fatalf("%d entries made, %d asked for", len(entries), n)
			}
			bulkLoad(t, db, "coarse_boxes", entries)
			// A tree of 100 000 is checked against brute force only:
			// filling and reading a second one costs too much under
			// the race detector, and the smaller ones compare every
			// cell with SQLite's own.
			ref := n <= 10000
			if ref {
				shuffled := slices.Clone(entries)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				insertRowByRow(t, db, "ref", shuffled)
			}
			m := modelOf(entries)
			checkRTree(t, db, "coarse_boxes", m, rng, ref, true)

			if n > 0 {
				var depth int
				if err := db.read.QueryRow("SELECT rtreedepth(data) FROM coarse_boxes_node WHERE nodeno = 1").Scan(&depth); err != nil {
					t.Fatal(err)
				}
				// 100 000 take 2 500 leaves, 63 nodes above them, 2
				// above those and the root.
				want := map[int]int{1: 0, 51: 0, 52: 1, 2602: 2, 100000: 3}[n]
				if depth != want {
					t.Errorf("depth %d, want %d for %d entries", depth, want, n)
				}
			}

			// Row by row on the loaded tree, the same on ref.
			tables := []string{"coarse_boxes"}
			if ref {
				tables = append(tables, "ref")
			}
			ids := slices.Collect(func(yield func(int64) bool) {
				for id := range m {
					if !yield(id) {
						return
					}
				}
			})
			slices.Sort(ids)
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			del := ids[:min(len(ids)/3, 1000)]
			moved := ids[len(del):][:min((len(ids)-len(del))/4, 500)]
			added := randomEntries(rng, min(n/5+7, 1000))
			for i := range added {
				added[i].id += 1 << 40
			}
			err := db.inTx(context.Background(), func(tx *writeTx) error {
				for _, tab := range tables {
					for _, id := range del {
						if _, err := tx.Exec("DELETE FROM "+tab+" WHERE id = ?", id); err != nil {
							return err
						}
					}
					for k, id := range moved {
						b := added[k%len(added)].box
						if _, err := tx.Exec("UPDATE "+tab+" SET minx = ?, maxx = ?, miny = ?, maxy = ?, x0 = ?, x1 = ?, y0 = ?, y1 = ? WHERE id = ?",
							b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[0], b.Max[0], b.Min[1], b.Max[1], id); err != nil {
							return err
						}
					}
					for _, e := range added {
						b := e.box
						if _, err := tx.Exec("INSERT INTO "+tab+" VALUES (?,?,?,?,?,?,?,?,?)", e.id, b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range del {
				delete(m, id)
			}
			for k, id := range moved {
				m[id] = added[k%len(added)].box
			}
			for _, e := range added {
				m[e.id] = e.box
			}
			// The tree of 100 000, big for the race detector, is checked
			// whole once, after the load.
			checkRTree(t, db, "coarse_boxes", m, rng, ref, n <= 10000)
		})
	}
}

// TestBulkLoadRTreeRoundsOutwards loads boxes whose coordinates float32
// cannot hold, half of which the nearest float32 would move inwards (a
// minimum up, a maximum down): every entry must hold its exact box in its
// 32-bit one, and a window of an entry's exact box must find it.
func TestBulkLoadRTreeRoundsOutwards(t *testing.T) {
	db := openRTreeDB(t)
	rng := rand.New(rand.NewPCG(7, 7))
	var entries []rtreeEntry
	inwards := 0
	for i := range 3000 {
		x0, y0 := rng.Float64()*300-150, rng.Float64()*160-80
		x1, y1 := x0, y0
		if i%2 == 0 {
			x1, y1 = x0+rng.Float64(), y0+rng.Float64()
		}
		b := orb.Bound{Min: orb.Point{x0, y0}, Max: orb.Point{x1, y1}}
		if float64(float32(x0)) > x0 || float64(float32(x1)) < x1 || float64(float32(y0)) > y0 || float64(float32(y1)) < y1 {
			inwards++
		}
		entries = append(entries, rtreeEntry{int64(i), b})
	}
	if inwards < 1000 {
		t.Fatalf("only %d of the boxes would be rounded inwards to the nearest float32", inwards)
	}
	bulkLoad(t, db, "coarse_boxes", entries)
	const q = "SELECT count(*) FROM coarse_boxes WHERE id = ? AND minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ? AND minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"
	for _, e := range entries {
		b := e.box
		var found int
		// The cell holds the exact box, and the exact box as a window
		// finds it.
		if err := db.read.QueryRow(q, e.id, b.Min[0], b.Max[0], b.Min[1], b.Max[1], b.Max[0], b.Min[0], b.Max[1], b.Min[1]).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if found != 1 {
			t.Fatalf("entry %d: its 32-bit box does not hold %v", e.id, b)
		}
	}
	// Within the nodes, the parents' boxes hold the children's.
	var report string
	if err := db.read.QueryRow("SELECT rtreecheck('boxes')").Scan(&report); err != nil || report != "ok" {
		t.Fatalf("rtreecheck: %q %v", report, err)
	}
}

// TestBulkLoadRTreeInto covers the cases besides an empty boxes table:
// entries already in the table (inserted row by row then, in the same
// transaction as a query that read the tree), the other R*Tree
// (coarse_boxes), an id twice, a box that is no box, a name that is no
// plain table name, a table that is no R*Tree.
func TestBulkLoadRTreeInto(t *testing.T) {
	t.Parallel()
	t.Run("filled", func(t *testing.T) {
		db := openRTreeDB(t)
		rng := rand.New(rand.NewPCG(3, 3))
		entries := randomEntries(rng, 800)
		insertRowByRow(t, db, "coarse_boxes", entries[:100])
		err := db.inTx(context.Background(), func(tx *writeTx) error {
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM coarse_boxes WHERE minx <= 0").Scan(&n); err != nil {
				return err
			}
			return tx.bulkLoadRTree("coarse_boxes", slices.Clone(entries[100:]))
		})
		if err != nil {
			t.Fatal(err)
		}
		insertRowByRow(t, db, "ref", entries)
		checkRTree(t, db, "coarse_boxes", modelOf(entries), rng, true, true)
	})
	t.Run("coarse_boxes", func(t *testing.T) {
		db := openRTreeDB(t)
		rng := rand.New(rand.NewPCG(5, 5))
		entries := randomEntries(rng, 300)
		bulkLoad(t, db, "coarse_boxes", entries)
		insertRowByRow(t, db, "ref", entries)
		checkRTree(t, db, "coarse_boxes", modelOf(entries), rng, true, true)
		if n := queryIDs(t, db.read, "SELECT count(*) FROM boxes"); n[0] != 0 {
			t.Fatalf("%d entries in boxes, loaded into coarse_boxes", n[0])
		}
	})
	t.Run("read in the same transaction", func(t *testing.T) {
		db := openRTreeDB(t)
		rng := rand.New(rand.NewPCG(4, 4))
		entries := randomEntries(rng, 500)
		err := db.inTx(context.Background(), func(tx *writeTx) error {
			// The R*Tree reads its nodes through a blob handle that it
			// keeps open until the transaction ends.
			var n int
			if err := tx.QueryRow("SELECT count(*) FROM coarse_boxes WHERE minx <= 0").Scan(&n); err != nil {
				return err
			}
			if err := tx.bulkLoadRTree("coarse_boxes", slices.Clone(entries)); err != nil {
				return err
			}
			if err := tx.QueryRow("SELECT count(*) FROM coarse_boxes WHERE minx <= 180").Scan(&n); err != nil {
				return err
			}
			if n != len(entries) {
				return fmt.Errorf("%d entries read in the loading transaction, %d loaded", n, len(entries))
			}
			_, err := tx.Exec("INSERT INTO coarse_boxes VALUES (1, 0, 1, 0, 1, 0, 1, 0, 1)")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, rtreeEntry{1, orb.Bound{Max: orb.Point{1, 1}}})
		insertRowByRow(t, db, "ref", entries)
		checkRTree(t, db, "coarse_boxes", modelOf(entries), rng, true, true)
	})
	bad := map[string]struct {
		table   string
		entries []rtreeEntry
		want    string
	}{
		"id twice":         {"coarse_boxes", []rtreeEntry{{4, orb.Bound{}}, {5, orb.Bound{}}, {4, orb.Bound{}}}, "exists already"},
		"minimum above":    {"coarse_boxes", []rtreeEntry{{4, orb.Bound{Min: orb.Point{2, 0}, Max: orb.Point{1, 0}}}}, "no box"},
		"NaN":              {"coarse_boxes", []rtreeEntry{{4, orb.Bound{Min: orb.Point{0, math.NaN()}, Max: orb.Point{1, 1}}}}, "no box"},
		"not a plain name": {"boxes; DROP TABLE records", []rtreeEntry{{4, orb.Bound{}}}, "name"},
		"not an R*Tree":    {"records", []rtreeEntry{{4, orb.Bound{}}}, "not an R*Tree"},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			db := openRTreeDB(t)
			err := db.inTx(context.Background(), func(tx *writeTx) error { return tx.bulkLoadRTree(c.table, c.entries) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			var n int
			if err := db.read.QueryRow("SELECT count(*) FROM coarse_boxes_rowid").Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d rows after a failed load (%v)", n, err)
			}
			var report string
			if err := db.read.QueryRow("SELECT rtreecheck('boxes')").Scan(&report); err != nil || report != "ok" {
				t.Fatalf("rtreecheck: %q %v", report, err)
			}
		})
	}
}

// BenchmarkRTreeBulkLoad fills the boxes of 200 000 synthetic incidents
// into an empty R*Tree with bulkLoadRTree and, beside it, with row by row
// INSERTs in Z order (as an import batch writes them, here in one
// transaction), and prints both times, the size of the shadow tables of
// each, and how many window queries per second each tree answers.
func BenchmarkRTreeBulkLoad(b *testing.B) {
	b.ReportAllocs()
	const n = 200000
	recs := storetest.NewSynth(42, "bulk").Incidents(n)
	var entries []rtreeEntry
	for i, r := range recs {
		for part, box := range r.Keys().Boxes {
			entries = append(entries, rtreeEntry{int64(i+1)*2 + int64(part), box})
		}
	}
	dir := b.TempDir()
	type tree struct {
		name string
		load func(tx *writeTx, e []rtreeEntry) error
		took time.Duration // wall
		cpu  time.Duration
		db   *DB
	}
	trees := []*tree{
		{name: "bulk", load: func(tx *writeTx, e []rtreeEntry) error { return tx.bulkLoadRTree("boxes", e) }},
		{name: "row by row", load: func(tx *writeTx, e []rtreeEntry) error { return tx.insertRTreeRows("boxes", e, false) }},
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, t := range trees {
			if t.db != nil {
				if err := t.db.Close(); err != nil {
					b.Fatal(err)
				}
			}
			db, err := Open(filepath.Join(dir, fmt.Sprintf("%d-%d.db", i, k)))
			if err != nil {
				b.Fatal(err)
			}
			t.db = db
			e := slices.Clone(entries)
			start, cpu := time.Now(), cpuTime(b)
			if err := db.inTx(ctx, func(tx *writeTx) error { return t.load(tx, e) }); err != nil {
				b.Fatal(err)
			}
			t.took += time.Since(start)
			t.cpu += cpuTime(b) - cpu
		}
	}
	b.StopTimer()
	defer func() {
		for _, t := range trees {
			t.db.Close()
		}
	}()

	sizes := make([]string, len(trees))
	for k, t := range trees {
		var report string
		if err := t.db.read.QueryRow("SELECT rtreecheck('boxes')").Scan(&report); err != nil || report != "ok" {
			b.Fatalf("%s: rtreecheck: %q %v", t.name, report, err)
		}
		rows, err := t.db.read.Query("SELECT name, sum(pgsize) FROM dbstat WHERE name IN ('boxes_node', 'boxes_rowid', 'boxes_parent') GROUP BY name ORDER BY name")
		if err != nil {
			b.Fatal(err)
		}
		var total int64
		var parts []string
		for rows.Next() {
			var name string
			var size int64
			if err := rows.Scan(&name, &size); err != nil {
				b.Fatal(err)
			}
			total += size
			parts = append(parts, fmt.Sprintf("%s %.2f", strings.TrimPrefix(name, "boxes_"), float64(size)/1e6))
		}
		rows.Close()
		sizes[k] = fmt.Sprintf("%.2f MB (%s)", float64(total)/1e6, strings.Join(parts, ", "))
		b.ReportMetric(float64(total)/1e6, strings.ReplaceAll(t.name, " ", "-")+"-MB")
	}

	// Window queries, the same on both trees, in rounds that alternate
	// which tree goes first; the median round of each counts. A round is
	// timed by the CPU time of the process (the work of this benchmark
	// alone, where the wall clock also counts what else the machine runs).
	rng := rand.New(rand.NewPCG(1, 2))
	windows := make([]orb.Bound, 600)
	for i := range windows {
		x, y := rng.Float64()*360-180, rng.Float64()*180-90
		w := []float64{0, 0.5, 5}[i%3]
		windows[i] = orb.Bound{Min: orb.Point{x - w, y - w/2}, Max: orb.Point{x + w, y + w/2}}
	}
	const q = "SELECT count(*) FROM boxes WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"
	const rounds = 9
	found := make([]int64, len(trees))
	took := make([][]time.Duration, len(trees))
	for r := range rounds {
		for j := range trees {
			k := (j + r) % len(trees)
			stmt, err := trees[k].db.read.Prepare(q)
			if err != nil {
				b.Fatal(err)
			}
			var sum int64
			start := cpuTime(b)
			for _, w := range windows {
				var c int64
				if err := stmt.QueryRow(w.Max[0], w.Min[0], w.Max[1], w.Min[1]).Scan(&c); err != nil {
					b.Fatal(err)
				}
				sum += c
			}
			took[k] = append(took[k], cpuTime(b)-start)
			stmt.Close()
			found[k] = sum
		}
	}
	if found[0] != found[1] {
		b.Fatalf("the windows find %d entries in the bulk-loaded tree, %d in the other", found[0], found[1])
	}
	rate := make([]float64, len(trees))
	for k := range trees {
		slices.Sort(took[k])
		rate[k] = float64(len(windows)) / took[k][rounds/2].Seconds()
	}

	// What the next import batches cost, row by row into each tree: the
	// bulk-loaded one has full nodes, which the first inserts split.
	const batches = 3
	next := storetest.NewSynth(43, "next").Incidents(batches * geo.ImportBatchSize)
	after, afterCPU := make([]time.Duration, len(trees)), make([]time.Duration, len(trees))
	for j := range batches {
		var batch []rtreeEntry
		for i, r := range next[j*geo.ImportBatchSize : (j+1)*geo.ImportBatchSize] {
			for part, box := range r.Keys().Boxes {
				batch = append(batch, rtreeEntry{int64(n+j*geo.ImportBatchSize+i+1)*2 + int64(part), box})
			}
		}
		for i := range trees {
			k := (i + j) % len(trees)
			e := slices.Clone(batch)
			start, cpu := time.Now(), cpuTime(b)
			if err := trees[k].db.inTx(ctx, func(tx *writeTx) error { return tx.insertRTreeRows("boxes", e, false) }); err != nil {
				b.Fatal(err)
			}
			after[k] += time.Since(start)
			afterCPU[k] += cpuTime(b) - cpu
		}
	}
	for _, t := range trees {
		var report string
		if err := t.db.read.QueryRow("SELECT rtreecheck('boxes')").Scan(&report); err != nil || report != "ok" {
			b.Fatalf("%s, after more batches: rtreecheck: %q %v", t.name, report, err)
		}
	}

	bulk, rows := trees[0].took/time.Duration(b.N), trees[1].took/time.Duration(b.N)
	b.ReportMetric(bulk.Seconds(), "bulk-s")
	b.ReportMetric(rows.Seconds(), "row-by-row-s")
	b.ReportMetric(rows.Seconds()/bulk.Seconds(), "speedup")
	b.ReportMetric(rate[0], "bulk-windows/cpu-s")
	b.ReportMetric(rate[1], "row-by-row-windows/cpu-s")
	load, _ := os.ReadFile("/proc/loadavg")
	bulkCPU, rowsCPU := trees[0].cpu/time.Duration(b.N), trees[1].cpu/time.Duration(b.N)
	fmt.Printf("R*Tree of %d boxes (%d incidents), one transaction: bulk load %.3f s (%.3f s CPU), row by row in Z order %.3f s (%.3f s CPU): bulk %.1fx faster (%.1fx in CPU)\n",
		len(entries), n, bulk.Seconds(), bulkCPU.Seconds(), rows.Seconds(), rowsCPU.Seconds(), rows.Seconds()/bulk.Seconds(), rowsCPU.Seconds()/bulkCPU.Seconds())
	fmt.Printf("  shadow tables: bulk %s; row by row %s\n", sizes[0], sizes[1])
	fmt.Printf("  window queries (%d windows: points, 1°×0.5° and 10°×5°; %.1f entries each) per CPU second: bulk %.0f, row by row %.0f (%.2fx); load average %s",
		len(windows), float64(found[0])/float64(len(windows)), rate[0], rate[1], rate[0]/rate[1], load)
	fmt.Printf("  then %d batches of %d row by row: into the bulk-loaded tree %.3f s (%.3f s CPU), into the other %.3f s (%.3f s CPU): %.2fx the time (%.2fx the CPU)\n",
		batches, geo.ImportBatchSize, after[0].Seconds(), afterCPU[0].Seconds(), after[1].Seconds(), afterCPU[1].Seconds(),
		after[0].Seconds()/after[1].Seconds(), afterCPU[0].Seconds()/afterCPU[1].Seconds())
	b.ReportMetric(after[0].Seconds()/after[1].Seconds(), "next-batches-bulk/row-by-row")
}

// cpuTime is the CPU time the process has used, in user and system mode.
func cpuTime(tb testing.TB) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// TestBulkLoadRTreeWithoutAux loads random entries into the empty boxes
// table, which keeps no exact box, and then more into the filled one: the
// tree passes rtreecheck and integrity_check and holds the entries with
// the 32-bit boxes of an R*Tree of the same shape filled row by row, and
// windows find the same in both.
func TestBulkLoadRTreeWithoutAux(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	db := openRTreeDB(t)
	if _, err := db.write.Exec("CREATE VIRTUAL TABLE slim USING rtree(id, minx, maxx, miny, maxy)"); err != nil {
		t.Fatal(err)
	}
	entries := randomEntries(rng, 3000)
	first, more := entries[:2500], entries[2500:]
	for _, part := range [][]rtreeEntry{first, more} {
		bulkLoad(t, db, "boxes", part)
		if err := db.inTx(context.Background(), func(tx *writeTx) error {
			return tx.insertRTreeRows("slim", slices.Clone(part), false)
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"SELECT rtreecheck('boxes')", "PRAGMA integrity_check"} {
		var report string
		if err := db.read.QueryRow(q).Scan(&report); err != nil || report != "ok" {
			t.Fatalf("%s: %s %v", q, report, err)
		}
	}
	rows := func(table string) string {
		var s string
		if err := db.read.QueryRow("SELECT group_concat(r, ';') FROM (SELECT printf('%d %!.17g %!.17g %!.17g %!.17g', id, minx, maxx, miny, maxy) r FROM " + table + " ORDER BY id)").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got, want := rows("boxes"), rows("slim"); got != want || strings.Count(got, ";") != len(entries)-1 {
		t.Fatalf("boxes holds %d entries unlike the %d of the tree filled row by row", strings.Count(got, ";")+1, strings.Count(want, ";")+1)
	}
	for range 50 {
		x, y := rng.Float64()*360-180, rng.Float64()*180-90
		w, h := rng.Float64()*40, rng.Float64()*20
		const q = "SELECT id FROM %s WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ? ORDER BY id"
		args := []any{x + w, x, y + h, y}
		if got, want := queryIDs(t, db.read, fmt.Sprintf(q, "boxes"), args...), queryIDs(t, db.read, fmt.Sprintf(q, "slim"), args...); !slices.Equal(got, want) {
			t.Fatalf("window %v: boxes finds %d entries, the tree filled row by row %d", args, len(got), len(want))
		}
	}
}
