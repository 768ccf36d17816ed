package geocode

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Encoder writes the geocode.bin format that decode reads, primitive by
// primitive: unsigned and zig-zag varints, length-prefixed strings and
// columns, coordinates in units of 1e-5 degree. The reference-data build
// (data/reference/gen) lays out the file's sections with it, so the two
// sides of the format live together.
type Encoder struct{ b bytes.Buffer }

// NewEncoder returns an encoder that has written the format's magic.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.b.WriteString(magic)
	return e
}

// Bytes returns what was written.
func (e *Encoder) Bytes() []byte { return e.b.Bytes() }

// Uvarint writes an unsigned varint.
func (e *Encoder) Uvarint(v uint64) { e.b.Write(binary.AppendUvarint(nil, v)) }

// Varint writes a zig-zag varint.
func (e *Encoder) Varint(v int64) { e.b.Write(binary.AppendVarint(nil, v)) }

// Str writes a length-prefixed string.
func (e *Encoder) Str(s string) {
	e.Uvarint(uint64(len(s)))
	e.b.WriteString(s)
}

// Float writes a float64 by its bits.
func (e *Encoder) Float(f float64) { e.Uvarint(math.Float64bits(f)) }

// Micro writes degrees in units of 1e-5 degree (about a metre).
func (e *Encoder) Micro(deg float64) { e.Varint(int64(math.Round(deg * 1e5))) }

// Byte writes one byte.
func (e *Encoder) Byte(c byte) { e.b.WriteByte(c) }

// Raw writes bytes as they are, without a length: the reader knows where
// they end from another column.
func (e *Encoder) Raw(s string) { e.b.WriteString(s) }

// Column writes what f writes as one length-prefixed block: values of one
// kind side by side compress better.
func (e *Encoder) Column(f func(c *Encoder)) {
	var c Encoder
	f(&c)
	e.Uvarint(uint64(c.b.Len()))
	e.b.Write(c.b.Bytes())
}
