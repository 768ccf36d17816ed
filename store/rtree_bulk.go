package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// rtreeEntry is one entry of an R*Tree of the store's shape (id, minx,
// maxx, miny, maxy; coarse_boxes also has the auxiliary columns x0, x1,
// y0, y1, which keep the box exactly as given, and boxes has none).
type rtreeEntry struct {
	id  int64
	box orb.Bound
}

// rtreeCell is a cell of an R*Tree node as SQLite stores it: an entry's
// id (in a leaf) or a child's node number, and the box in 32-bit floats
// (minx, maxx, miny, maxy), rounded outwards from the exact one.
type rtreeCell struct {
	id int64
	c  [4]float32
}

// rtreeCellBytes is the size of a cell on a node in bytes: the id and four
// 4-byte coordinates. rtreeMaxCells is SQLite's most cells on a node
// (RTREE_MAXCELLS).
const (
	rtreeCellBytes = 8 + 4*4
	rtreeMaxCells  = 51
)

// rtreeFill is how many cells a packed node below the root holds, of a
// node's capacity: four fifths. The room left takes the next inserts;
// full nodes would all split at once (three batches of 10 000 inserted
// after 200 000 took two to three times as long as in a tree filled row
// by row, and as long at four fifths).
func rtreeFill(capacity int) int { return max(3, capacity*4/5) }

// bulkLoadRTree writes the entries into the R*Tree table (one of the
// store's shape, see rtreeEntry) in one go when the table is empty: the
// tree is packed in memory (sort-tile-recursive: nodes of boxes near each
// other, filled to rtreeFill) and its nodes, the entries' rows with their
// exact boxes and the nodes' parents go straight into the table's shadow
// tables (<table>_node, <table>_rowid, <table>_parent), as SQLite's own
// R*Tree code would read and keep them; later INSERT, UPDATE and DELETE
// work on it as on a tree filled row by row. The coordinates of the
// nodes are SQLite's: each box rounded outwards to 32-bit floats, as an
// INSERT rounds it, so that a query finds exactly what it finds in a tree
// filled row by row.
//
// When the table already holds entries, they are inserted row by row
// instead, in Z order (bulkLoadRTree is never wrong, only slower then).
// An id given twice, or one already in the table, fails with SQLite's
// constraint error, and a box whose minimum exceeds its maximum (or is
// NaN) fails before anything is written. The entries are reordered.
func (tx *writeTx) bulkLoadRTree(table string, entries []rtreeEntry) error {
	if !plainName(table) {
		return fmt.Errorf("store: R*Tree name %q", table)
	}
	if len(entries) == 0 {
		return nil
	}
	cells := make([]rtreeCell, len(entries))
	for i, e := range entries {
		b := e.box
		if !(b.Min[0] <= b.Max[0] && b.Min[1] <= b.Max[1]) {
			return fmt.Errorf("store: R*Tree %s: entry %d has no box: %v", table, e.id, b)
		}
		cells[i] = rtreeCell{int64(i), [4]float32{rtreeDown(b.Min[0]), rtreeUp(b.Max[0]), rtreeDown(b.Min[1]), rtreeUp(b.Max[1])}}
	}
	var cols int
	if err := tx.QueryRow("SELECT count(*) FROM pragma_table_info(?)", table+"_rowid").Scan(&cols); err != nil {
		return err
	}
	aux := cols == 6 // the exact box kept beside the 32-bit one (coarse_boxes), or not (boxes)
	if cols != 2 && !aux {
		return fmt.Errorf("store: %s is not an R*Tree of two dimensions, with four auxiliary columns or none", table)
	}
	var filled bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM "` + table + `_rowid")`).Scan(&filled); err != nil {
		return err
	}
	if filled {
		return tx.insertRTreeRows(table, entries, aux)
	}
	// The node size is the root's: SQLite sets it when the table is
	// made (the page size less 64 bytes, at most 51 cells).
	var nodeSize int
	if err := tx.QueryRow(`SELECT length(data) FROM "` + table + `_node" WHERE nodeno = 1`).Scan(&nodeSize); err != nil {
		return err
	}
	capacity := min((nodeSize-4)/rtreeCellBytes, rtreeMaxCells)
	if capacity < 3 {
		return fmt.Errorf("store: R*Tree %s has nodes of %d bytes", table, nodeSize)
	}

	// levels[0] are the leaves, each a run of cells; the last level is
	// the root alone, as full as it may be. The cells of a level above
	// the leaves name their child by its place in the level below until
	// the nodes are numbered.
	var levels [][][]rtreeCell
	level := cells
	for {
		m := rtreeFill(capacity)
		if len(level) <= capacity {
			m = capacity
		}
		nodes := strPack(level, m)
		levels = append(levels, nodes)
		if len(nodes) == 1 {
			break
		}
		up := make([]rtreeCell, len(nodes))
		for i, n := range nodes {
			up[i] = rtreeCell{int64(i), cellsBound(n)}
		}
		level = up
	}

	// Nodes are numbered from the root (1) down, level by level, each
	// level in the order of its parents' cells: a level's nodes lie side
	// by side in the table, the leaves in their packed order.
	depth := len(levels) - 1
	type placed struct {
		entry int   // its place in entries
		node  int64 // the leaf it is on
	}
	rows := make([]placed, 0, len(entries))
	order := []int{0}    // the nodes of the level, by number
	number := []int64{1} // the number of each node of the level
	var nodeRows, parentRows []any
	next := int64(2)
	for l := depth; l >= 0; l-- {
		var below []int
		var belowNumber []int64
		if l > 0 {
			belowNumber = make([]int64, len(levels[l-1]))
		}
		for _, i := range order {
			n := levels[l][i]
			if l > 0 {
				for k := range n {
					child := int(n[k].id)
					belowNumber[child] = next
					below = append(below, child)
					parentRows = append(parentRows, next, number[i])
					n[k].id = next
					next++
				}
			}
			if l == 0 {
				for k := range n {
					rows = append(rows, placed{int(n[k].id), number[i]})
					n[k].id = entries[n[k].id].id
				}
			}
			head := 0
			if l == depth {
				head = depth
			}
			nodeRows = append(nodeRows, number[i], encodeNode(nodeSize, head, n))
		}
		if l > 0 {
			order, number = below, belowNumber
		}
	}

	// The entries' rows (rows, filled with the leaves), in the order of
	// their ids (the table's key), with their leaf and exact box.
	slices.SortFunc(rows, func(a, b placed) int { return cmp.Compare(entries[a.entry].id, entries[b.entry].id) })
	rowidCols := 2
	if aux {
		rowidCols = 6
	}
	rowidRows := make([]any, 0, rowidCols*len(rows))
	for _, r := range rows {
		e := entries[r.entry]
		rowidRows = append(rowidRows, e.id, r.node)
		if aux {
			rowidRows = append(rowidRows, e.box.Min[0], e.box.Max[0], e.box.Min[1], e.box.Max[1])
		}
	}

	// The empty root (and whatever an emptied tree kept) makes way.
	if _, err := tx.Exec(`DELETE FROM "` + table + `_node"`); err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM "` + table + `_parent"`); err != nil {
		return err
	}
	if _, err := tx.insertRows(`INSERT INTO "`+table+`_node" (nodeno, data)`, 2, nodeRows); err != nil {
		return err
	}
	if _, err := tx.insertRows(`INSERT INTO "`+table+`_parent" (nodeno, parentnode)`, 2, parentRows); err != nil {
		return err
	}
	q := `INSERT INTO "` + table + `_rowid" (rowid, nodeno)`
	if aux {
		q = `INSERT INTO "` + table + `_rowid" (rowid, nodeno, a0, a1, a2, a3)`
	}
	_, err := tx.insertRows(q, rowidCols, rowidRows)
	return err
}

// insertRTreeRows inserts the entries through the R*Tree table itself, in
// Z order, so that neighbouring inserts touch the same nodes; with aux,
// each with its exact box in the auxiliary columns.
func (tx *writeTx) insertRTreeRows(table string, entries []rtreeEntry, aux bool) error {
	z := make([]uint64, len(entries))
	idx := make([]int, len(entries))
	for i, e := range entries {
		z[i], idx[i] = zOrder(e.box.Center()), i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(z[a], z[b]) })
	cols := 5
	if aux {
		cols = 9
	}
	args := make([]any, 0, cols*len(entries))
	for _, i := range idx {
		b := entries[i].box
		args = append(args, entries[i].id, b.Min[0], b.Max[0], b.Min[1], b.Max[1])
		if aux {
			args = append(args, b.Min[0], b.Max[0], b.Min[1], b.Max[1])
		}
	}
	_, err := tx.insertRows(`INSERT INTO "`+table+`"`, cols, args)
	return err
}

// strPack cuts the cells into nodes of at most m cells by sort-tile-
// recursive packing: sorted by the centres' x, the cells are cut into
// about √(nodes) vertical slices; each slice, sorted by y, into nodes.
// The nodes share the cells evenly (their sizes differ by one at most),
// so that none is left nearly empty. The nodes are runs of cells, whose
// order changes.
func strPack(cells []rtreeCell, m int) [][]rtreeCell {
	n := len(cells)
	nodes := (n + m - 1) / m
	if nodes <= 1 {
		return [][]rtreeCell{cells}
	}
	size := func(i int) int { // cells on node i
		if i < n%nodes {
			return n/nodes + 1
		}
		return n / nodes
	}
	slices.SortFunc(cells, func(a, b rtreeCell) int { return cmpCentre(a, b, 0) })
	slicesN := int(math.Ceil(math.Sqrt(float64(nodes))))
	out := make([][]rtreeCell, 0, nodes)
	node, start := 0, 0
	for s := range slicesN {
		count := nodes / slicesN
		if s < nodes%slicesN {
			count++
		}
		end := start
		for i := node; i < node+count; i++ {
			end += size(i)
		}
		part := cells[start:end]
		slices.SortFunc(part, func(a, b rtreeCell) int { return cmpCentre(a, b, 2) })
		for i := node; i < node+count; i++ {
			k := size(i)
			out = append(out, part[:k:k])
			part = part[k:]
		}
		node, start = node+count, end
	}
	return out
}

// cmpCentre orders cells by the centre of their boxes along x (axis 0) or
// y (axis 2), then by id, so that the packing depends on nothing else.
func cmpCentre(a, b rtreeCell, axis int) int {
	ca := float64(a.c[axis]) + float64(a.c[axis+1])
	cb := float64(b.c[axis]) + float64(b.c[axis+1])
	if c := cmp.Compare(ca, cb); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// cellsBound is the box of a node's cells.
func cellsBound(cells []rtreeCell) [4]float32 {
	b := cells[0].c
	for _, c := range cells[1:] {
		b[0], b[1] = min(b[0], c.c[0]), max(b[1], c.c[1])
		b[2], b[3] = min(b[2], c.c[2]), max(b[3], c.c[3])
	}
	return b
}

// encodeNode is a node as SQLite stores it: size bytes, of which the first
// two hold the depth of the tree on the root (0 elsewhere), the next two
// the number of cells, then the cells (big-endian id and coordinates);
// the rest are zeros.
func encodeNode(size, depth int, cells []rtreeCell) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint16(b, uint16(depth))
	binary.BigEndian.PutUint16(b[2:], uint16(len(cells)))
	p := b[4:]
	for _, c := range cells {
		binary.BigEndian.PutUint64(p, uint64(c.id))
		for k, v := range c.c {
			binary.BigEndian.PutUint32(p[8+4*k:], math.Float32bits(v))
		}
		p = p[rtreeCellBytes:]
	}
	return b
}

// Rounding of SQLite's R*Tree (RNDTOWARDS, RNDAWAY): a float64 that a
// float32 cannot hold is moved by one part in 2^23 before it is rounded.
const (
	rtreeTowards = 1.0 - 1.0/8388608.0
	rtreeAway    = 1.0 + 1.0/8388608.0
)

// rtreeDown is the float32 a box's minimum is stored as: never above it
// (SQLite's rtreeValueDown).
func rtreeDown(d float64) float32 {
	f := float32(d)
	if float64(f) > d {
		if d < 0 {
			f = float32(d * rtreeAway)
		} else {
			f = float32(d * rtreeTowards)
		}
	}
	return f
}

// rtreeUp is the float32 a box's maximum is stored as: never below it
// (SQLite's rtreeValueUp).
func rtreeUp(d float64) float32 {
	f := float32(d)
	if float64(f) < d {
		if d < 0 {
			f = float32(d * rtreeTowards)
		} else {
			f = float32(d * rtreeAway)
		}
	}
	return f
}

// plainName reports whether a table's name is lower-case letters and
// underscores, safe to put in SQL as it is.
func plainName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}
