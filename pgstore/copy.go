package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/geo"
)

// copyBuf is the data of one COPY … FROM STDIN BINARY: the header, then
// each tuple as its field count and each field as its length and its
// bytes in the type's binary form (PostgreSQL's "COPY", binary format).
// The rows of a batch are appended to it as they are met, with no value
// boxed or planned on the way.
type copyBuf []byte

// copyHeader is the signature, the flags and the header extension length
// of the binary COPY format.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// pgEpoch is the zero of PostgreSQL's timestamps, 2000-01-01 UTC, in Unix
// microseconds.
const pgEpoch = 946684800000000

func newCopy(size int) copyBuf {
	return append(make(copyBuf, 0, size+len(copyHeader)+2), copyHeader...)
}

// reuseCopy is newCopy(size) in the room of c, a COPY's data already
// sent, when it has that room; else it is made with a quarter more, for
// the batches after, a little larger.
func reuseCopy(c copyBuf, size int) copyBuf {
	if cap(c) < size+len(copyHeader)+2 {
		return newCopy(size + size/4)
	}
	return append(c[:0], copyHeader...)
}

// tuple starts a tuple of n fields.
func (c *copyBuf) tuple(n int) { *c = binary.BigEndian.AppendUint16(*c, uint16(n)) }

func (c *copyBuf) null() { *c = binary.BigEndian.AppendUint32(*c, math.MaxUint32) }

func (c *copyBuf) int8(v int64) {
	*c = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(*c, 8), uint64(v))
}

func (c *copyBuf) float8(v float64) {
	*c = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(*c, 8), math.Float64bits(v))
}

func (c *copyBuf) bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	*c = append(binary.BigEndian.AppendUint32(*c, 1), b)
}

func (c *copyBuf) text(s string) {
	*c = append(binary.BigEndian.AppendUint32(*c, uint32(len(s))), s...)
}

// bytes appends a field in its binary form (bytea, a geometry's EWKB, a
// tsvector from tsvectorBinary); nil is NULL.
func (c *copyBuf) bytes(b []byte) {
	if b == nil {
		c.null()
		return
	}
	*c = append(binary.BigEndian.AppendUint32(*c, uint32(len(b))), b...)
}

// created appends the Feature of a record created, made from plain as
// created makes it.
func (c *copyBuf) created(plain []byte, id string, stamp []byte) {
	at := len(*c)
	*c = appendCreated(append(*c, 0, 0, 0, 0), plain, id, stamp)
	binary.BigEndian.PutUint32((*c)[at:], uint32(len(*c)-at-4))
}

// textOrNull appends a string, or NULL for "".
func (c *copyBuf) textOrNull(s string) {
	if s == "" {
		c.null()
		return
	}
	c.text(s)
}

func (c *copyBuf) time(t time.Time) { c.int8(t.UnixMicro() - pgEpoch) }

// copyIn sends the tuples of c to the columns of table.
func (tx *writeTx) copyIn(table string, cols []string, c copyBuf) error {
	return copyIn(tx.ctx, tx.Tx, table, cols, c)
}

// copyIn sends the tuples of c to the columns of table, in tx.
func copyIn(ctx context.Context, tx pgx.Tx, table string, cols []string, c copyBuf) error {
	c = binary.BigEndian.AppendUint16(c, math.MaxUint16) // the trailer: -1
	quoted := make([]string, len(cols))
	for i, col := range cols {
		quoted[i] = pgx.Identifier{col}.Sanitize()
	}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(c),
		"COPY "+pgx.Identifier{table}.Sanitize()+" ("+strings.Join(quoted, ", ")+") FROM STDIN BINARY")
	return err
}

// tsvectorWords appends to dst the lexemes of text (as lexemes makes
// them), sorted, each once: the words of a record's tsvector, as spans of
// folded, which holds the text folded after what it held.
func tsvectorWords(dst []span, folded []byte, text string) ([]span, []byte) {
	start := len(folded)
	folded = geo.AppendFold(folded, text)
	// Fold writes words of letters and digits, one space between two.
	for i := start; i < len(folded); {
		j := bytes.IndexByte(folded[i:], ' ')
		if j < 0 {
			j = len(folded) - i
		}
		w := folded[i : i+lexemeLen(folded[i:i+j])]
		var head [8]byte
		copy(head[:], w)
		dst = append(dst, span{int32(i), int32(i + len(w)), binary.BigEndian.Uint64(head[:])})
		i += j + 1
	}
	// In byte order: by their first eight bytes (no word holds a zero
	// byte, so the zeros after a shorter one put it first), then by the
	// rest. The few words of most records are sorted by insertion.
	compare := func(a, b span) int {
		if a.head != b.head {
			return cmp.Compare(a.head, b.head)
		}
		return bytes.Compare(a.of(folded), b.of(folded))
	}
	if len(dst) > 32 {
		slices.SortFunc(dst, compare)
	} else {
		for i := 1; i < len(dst); i++ {
			for j := i; j > 0 && (dst[j].head < dst[j-1].head || dst[j].head == dst[j-1].head && compare(dst[j], dst[j-1]) < 0); j-- {
				dst[j], dst[j-1] = dst[j-1], dst[j]
			}
		}
	}
	return slices.CompactFunc(dst, func(a, b span) bool { return a.head == b.head && bytes.Equal(a.of(folded), b.of(folded)) }), folded
}

// span is the bytes [from, to) of a buffer, and the first eight of them,
// big-endian, after zeros for fewer.
type span struct {
	from, to int32
	head     uint64
}

func (s span) of(b []byte) []byte { return b[s.from:s.to] }

// tsvectorSize is the length of appendTsvector of words.
func tsvectorSize(words []span) int {
	n := 4
	for _, w := range words {
		n += int(w.to-w.from) + 3
	}
	return n
}

// appendTsvector appends the binary form of the tsvector array_to_tsvector
// makes of words (from tsvectorWords, spans of folded): the lexemes in
// byte order, each once, without positions.
func appendTsvector(b []byte, words []span, folded []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(words)))
	for _, w := range words {
		b = append(b, w.of(folded)...)
		b = append(b, 0, 0, 0) // the end of the lexeme; no positions
	}
	return b
}
