package geocode

import (
	"bytes"
	"math"
	"testing"
)

// TestEncoderRoundTrip: what the encoder writes, the decoder's reader reads
// back, column by column; a cut anywhere is an error, never a panic.
func TestEncoderRoundTrip(t *testing.T) {
	e := NewEncoder()
	e.Uvarint(0)
	e.Uvarint(math.MaxUint64)
	e.Varint(-1 << 40)
	e.Str("Bogotá, D.C.")
	e.Float(-0.125)
	e.Micro(-74.08175)
	e.Column(func(c *Encoder) {
		c.Byte(7)
		c.Raw("abc")
		c.Column(func(cc *Encoder) { cc.Str("") })
	})
	e.Str("after")
	data := e.Bytes()
	if !bytes.HasPrefix(data, []byte(magic)) {
		t.Fatalf("no magic at the start of %q", data)
	}
	r := &reader{b: data[len(magic):]}
	if v := r.uvarint(); v != 0 {
		t.Errorf("uvarint = %d", v)
	}
	if v := r.uvarint(); v != math.MaxUint64 {
		t.Errorf("uvarint = %d", v)
	}
	if v := r.varint(); v != -1<<40 {
		t.Errorf("varint = %d", v)
	}
	if s := r.str(); s != "Bogotá, D.C." {
		t.Errorf("str = %q", s)
	}
	if f := r.float(); f != -0.125 {
		t.Errorf("float = %v", f)
	}
	if d := r.micro(); d != -74.08175 {
		t.Errorf("micro = %v", d)
	}
	c := r.column()
	if b := c.byte(); b != 7 {
		t.Errorf("byte = %d", b)
	}
	if raw := string(c.b[:3]); raw != "abc" {
		t.Errorf("raw = %q", raw)
	}
	c.b = c.b[3:]
	if s := c.column().str(); s != "" || len(c.b) != 0 {
		t.Errorf("inner column = %q, %d bytes left", s, len(c.b))
	}
	if s := r.str(); s != "after" || r.err != nil || len(r.b) != 0 {
		t.Errorf("str after the column = %q (err %v, %d bytes left)", s, r.err, len(r.b))
	}

	body := data[len(magic):]
	for cut := range len(body) {
		r := &reader{b: body[:cut]}
		r.uvarint()
		r.uvarint()
		r.varint()
		r.str()
		r.float()
		r.micro()
		c := r.column()
		c.byte()
		r.str()
		if r.err == nil {
			t.Errorf("cut at %d of %d: no error", cut, len(body))
		}
	}
}
