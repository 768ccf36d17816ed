package main

import (
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"sort"

	"nexus/geocode"
)

// Output

func writeData(w *geocode.Encoder, cs *countries, admins []*admin, places []place, order []int, es []entry, t *topology, ss *shapeSet) {

	// Countries.
	w.Uvarint(uint64(len(cs.list)))
	for _, c := range cs.list {
		w.Str(c.code)
		w.Str(c.name)
		w.Uvarint(uint64(c.parent + 1))
		if c.hasPt {
			w.Uvarint(1)
			w.Micro(c.lon)
			w.Micro(c.lat)
		} else {
			w.Uvarint(0)
		}
		w.Uvarint(uint64(c.pop))
	}
	keys := make([]string, 0, len(cs.keys))
	for k := range cs.keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	w.Uvarint(uint64(len(keys)))
	for _, k := range keys {
		w.Str(k)
		w.Uvarint(uint64(cs.keys[k]))
	}

	// Admin areas.
	w.Uvarint(uint64(len(admins)))
	for _, a := range admins {
		w.Str(a.code)
		w.Str(a.name)
		w.Uvarint(uint64(a.country))
		w.Micro(a.lon)
		w.Micro(a.lat)
		w.Uvarint(uint64(a.pop))
		w.Uvarint(uint64(a.rankPop))
		forms := adminForms(a.name)
		w.Uvarint(uint64(len(forms)))
		for _, f := range forms {
			w.Str(f)
		}
		w.Uvarint(uint64(a.level))
		w.Uvarint(uint64(a.parent + 1))
	}

	// Places, in k-d order, column by column; positions delta-coded (the
	// k-d order keeps neighbours near).
	w.Uvarint(uint64(len(places)))
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Str(places[i].name)
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].country))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].admin + 1))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		var x, y int64
		for _, i := range order {
			px, py := int64(math.Round(places[i].lon*1e5)), int64(math.Round(places[i].lat*1e5))
			c.Varint(px - x)
			c.Varint(py - y)
			x, y = px, py
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Uvarint(uint64(places[i].pop))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Byte(places[i].flags)
		}
	})
	zooms := labelZooms(places)
	w.Column(func(c *geocode.Encoder) {
		for _, i := range order {
			c.Byte(zooms[i])
		}
	})

	// Name index: keys front-coded against the previous one, in columns.
	w.Uvarint(uint64(len(es)))
	w.Column(func(c *geocode.Encoder) {
		prev := ""
		for _, e := range es {
			n := 0
			for n < len(prev) && n < len(e.key) && prev[n] == e.key[n] {
				n++
			}
			c.Uvarint(uint64(n))
			c.Uvarint(uint64(len(e.key) - n))
			prev = e.key
		}
	})
	w.Column(func(c *geocode.Encoder) {
		prev := ""
		for _, e := range es {
			n := 0
			for n < len(prev) && n < len(e.key) && prev[n] == e.key[n] {
				n++
			}
			c.Raw(e.key[n:])
			prev = e.key
		}
	})
	w.Column(func(c *geocode.Encoder) {
		for _, e := range es {
			c.Uvarint(uint64(e.ref))
		}
	})

	// Admin-0 shapes: the plane polylines, each with the countries it
	// bounds, positions on the topology's quantization grid, delta-coded.
	sx, sy := t.Transform.Scale[0], t.Transform.Scale[1]
	tx, ty := t.Transform.Translate[0], t.Transform.Translate[1]
	w.Float(sx)
	w.Float(sy)
	w.Float(tx)
	w.Float(ty)
	edges := 0
	for _, l := range ss.lines {
		edges += (len(l.pts) - 1) * ((len(l.countries) + 1) / 2)
	}
	w.Uvarint(uint64(edges))
	w.Uvarint(uint64(len(ss.lines)))
	w.Column(func(c *geocode.Encoder) {
		for _, l := range ss.lines {
			c.Uvarint(uint64(len(l.countries)))
			for _, k := range l.countries {
				c.Uvarint(uint64(k))
			}
			c.Uvarint(uint64(len(l.pts)))
		}
	})
	w.Column(func(c *geocode.Encoder) {
		var x, y int64
		for _, l := range ss.lines {
			for _, p := range l.pts {
				px, py := int64(math.Round((p[0]-tx)/sx)), int64(math.Round((p[1]-ty)/sy))
				c.Varint(px - x)
				c.Varint(py - y)
				x, y = px, py
			}
		}
	})
}

func writeGzip(path string, data []byte) (int, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	// Write beside and rename, so a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return 0, err
	}
	return buf.Len(), os.Rename(tmp, path)
}
