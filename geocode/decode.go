package geocode

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"nexus/geo"
)

// magic opens geocode.bin; Encoder writes it first (encode.go).
const magic = "nexus-geocode/7\n"

// reader reads the primitives of the geocode.bin format, remembering the
// first error.
type reader struct {
	b      []byte
	err    error
	parent *reader // of a column, which reports there too
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or corrupt at %s", what)
	}
	if r.parent != nil && r.parent.err == nil {
		r.parent.err = r.err
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length and checks it against what is left, so that corrupt
// data cannot make the decoder allocate without bound.
func (r *reader) count(what string) int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail(what)
		return 0
	}
	return int(n)
}

// column returns a reader of the next length-prefixed block. Its errors
// land in r.
func (r *reader) column() *reader {
	n := r.count("column")
	c := &reader{b: r.b[:n], parent: r}
	r.b = r.b[n:]
	return c
}

func (r *reader) bytes() []byte {
	n := r.count("string")
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) str() string { return string(r.bytes()) }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) float() float64 { return math.Float64frombits(r.uvarint()) }

func (r *reader) micro() float64 { return float64(r.varint()) / 1e5 }

func decode(gz []byte) (*Gazetteer, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	// The gzip trailer holds the size (mod 2³²): read into one buffer.
	size := 0
	if len(gz) >= 4 {
		size = int(binary.LittleEndian.Uint32(gz[len(gz)-4:]))
	}
	raw := make([]byte, 0, size+1)
	if raw, err = readAll(zr, raw); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, []byte(magic)) {
		return nil, errors.New("not a geocode.bin of this version: rebuild with data/reference/build.sh")
	}
	r := &reader{b: raw[len(magic):]}
	g := &Gazetteer{countryKeys: map[string]uint16{}}

	// Countries.
	nc := r.count("countries")
	if nc > math.MaxUint16 {
		return nil, errors.New("too many countries")
	}
	g.countries = make([]countryRec, nc)
	for i := range g.countries {
		c := &g.countries[i]
		c.code = r.str()
		c.name = r.str()
		c.parent = int(r.uvarint()) - 1
		if r.uvarint() == 1 {
			c.hasPoint = true
			c.lon, c.lat = r.micro(), r.micro()
		}
		c.pop = int64(r.uvarint())
	}
	for i := range g.countries {
		if p := g.countries[i].parent; p >= 0 && p < nc {
			g.countries[p].deps = append(g.countries[p].deps, uint16(i))
		}
	}
	for i := range g.countries {
		c := &g.countries[i]
		c.family = append([]uint16{uint16(i)}, c.deps...)
	}
	nk := r.count("country keys")
	for range nk {
		k := r.str()
		c := r.uvarint()
		if c >= uint64(nc) {
			r.fail("country key")
			break
		}
		g.countryKeys[k] = uint16(c)
	}

	// Admin areas.
	na := r.count("admin areas")
	if na >= math.MaxUint16 {
		return nil, errors.New("too many admin areas")
	}
	g.admins = make([]adminRec, na)
	for i := range g.admins {
		a := &g.admins[i]
		a.code = r.str()
		a.name = r.str()
		a.country = uint16(min(r.uvarint(), uint64(nc-1)))
		a.lon, a.lat = r.micro(), r.micro()
		a.pop = int64(r.uvarint())
		a.rankPop = int64(r.uvarint())
		a.forms = make([]string, r.count("admin forms"))
		for j := range a.forms {
			a.forms[j] = r.str()
		}
		a.level = uint8(r.uvarint())
		a.parent = int(r.uvarint()) - 1
		if a.parent >= na {
			r.fail("admin parent")
		}
		if _, code, ok := strings.Cut(a.code, "."); ok {
			a.hint = geo.Fold(code)
		}
	}

	// Places, column by column.
	np := r.count("places")
	g.placeOff = make([]uint32, np+1)
	g.placeCC = make([]uint16, np)
	g.placeAdmin = make([]uint16, np)
	g.placeLon = make([]int32, np)
	g.placeLat = make([]int32, np)
	g.placePop = make([]uint32, np)
	g.placeFlags = make([]uint8, np)
	g.placeVec = make([][3]float32, np)
	var names strings.Builder
	names.Grow(np * 10)
	c := r.column()
	for i := range np {
		names.Write(c.bytes())
		g.placeOff[i+1] = uint32(names.Len())
	}
	g.placeNames = names.String()
	c = r.column()
	for i := range np {
		g.placeCC[i] = uint16(min(c.uvarint(), uint64(nc-1)))
	}
	c = r.column()
	for i := range np {
		g.placeAdmin[i] = uint16(min(c.uvarint(), uint64(na)))
	}
	c = r.column()
	var x, y int64
	for i := range np {
		x += c.varint()
		y += c.varint()
		g.placeLon[i], g.placeLat[i] = int32(x), int32(y)
		g.placeVec[i] = unitVec(float64(x)/1e5, float64(y)/1e5)
	}
	c = r.column()
	for i := range np {
		g.placePop[i] = uint32(min(c.uvarint(), math.MaxUint32))
	}
	c = r.column()
	for i := range np {
		g.placeFlags[i] = c.byte()
	}
	g.placeLabel = make([]uint8, np)
	c = r.column()
	for i := range np {
		g.placeLabel[i] = c.byte()
	}

	// Name index: front-coded keys, in columns.
	ne := r.count("names")
	g.keyOff = make([]uint32, ne+1)
	g.keyRef = make([]uint32, ne)
	lens, suffixes, refs := r.column(), r.column(), r.column()
	var keys strings.Builder
	keys.Grow(2 * len(suffixes.b))
	prev := 0 // start of the previous key in keys
	for i := range ne {
		shared, n := int(lens.uvarint()), lens.uvarint()
		start := keys.Len()
		if shared > start-prev || n > uint64(len(suffixes.b)) {
			r.fail("name key")
			break
		}
		keys.WriteString(keys.String()[prev : prev+shared])
		keys.Write(suffixes.b[:n])
		suffixes.b = suffixes.b[n:]
		g.keyOff[i+1] = uint32(keys.Len())
		ref := refs.uvarint()
		if ref>>1 >= uint64(np+na+nc) {
			r.fail("name ref")
			break
		}
		g.keyRef[i] = uint32(ref)
		prev = start
	}
	g.keys = keys.String()

	// Shapes.
	if r.err == nil {
		g.shapes.build(r, nc)
	}
	if r.err != nil {
		return nil, r.err
	}
	return g, nil
}

// readAll is io.ReadAll into buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func unitVec(lon, lat float64) [3]float32 {
	lo, la := lon*math.Pi/180, lat*math.Pi/180
	return [3]float32{
		float32(math.Cos(la) * math.Cos(lo)),
		float32(math.Cos(la) * math.Sin(lo)),
		float32(math.Sin(la)),
	}
}
