package store

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// A change payload holds the before and after Features of a run of
// change-log entries written by one import batch, deflated together: the
// Features of one batch share most of their text, so together they take a
// fraction of their separate size. Entry i of the run is part i.
//
// Layout before deflation, per part: uvarint length of before, before,
// uvarint length of after, after.

// payloadParts is how many change-log entries share one payload: enough for
// deflate to find the repetitions, few enough that reading one entry (a
// record's history) inflates little.
const payloadParts = 256

// payloadWriter builds one payload.
type payloadWriter struct {
	raw   []byte
	parts int
	buf   bytes.Buffer
	zw    *flate.Writer
}

func (p *payloadWriter) add(before, after []byte) int {
	p.raw = binary.AppendUvarint(p.raw, uint64(len(before)))
	p.raw = append(p.raw, before...)
	p.raw = binary.AppendUvarint(p.raw, uint64(len(after)))
	p.raw = append(p.raw, after...)
	p.parts++
	return p.parts - 1
}

// finish returns the deflated payload and resets the writer.
func (p *payloadWriter) finish() ([]byte, error) {
	p.buf.Reset()
	if p.zw == nil {
		zw, err := flate.NewWriter(&p.buf, flate.BestSpeed)
		if err != nil {
			return nil, err
		}
		p.zw = zw
	} else {
		p.zw.Reset(&p.buf)
	}
	if _, err := p.zw.Write(p.raw); err != nil {
		return nil, err
	}
	if err := p.zw.Close(); err != nil {
		return nil, err
	}
	p.raw, p.parts = p.raw[:0], 0
	return bytes.Clone(p.buf.Bytes()), nil
}

// payloadEntry is one part of a payload.
type payloadEntry struct{ before, after []byte }

// decodePayload inflates a payload into its parts. The parts share one
// buffer and must not be modified.
func decodePayload(data []byte) ([]payloadEntry, error) {
	raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("change payload: %w", err)
	}
	var out []payloadEntry
	next := func() ([]byte, error) {
		n, k := binary.Uvarint(raw)
		if k <= 0 || uint64(len(raw)-k) < n {
			return nil, errors.New("change payload: truncated part")
		}
		b := raw[k : k+int(n) : k+int(n)]
		raw = raw[k+int(n):]
		if n == 0 {
			return nil, nil
		}
		return b, nil
	}
	for len(raw) > 0 {
		var e payloadEntry
		if e.before, err = next(); err != nil {
			return nil, err
		}
		if e.after, err = next(); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// payloadCache keeps the last few inflated payloads: the live hub and
// resuming clients read the entries of one payload in a few calls.
type payloadCache struct {
	mu    sync.Mutex
	ids   [4]int64
	parts [4][]payloadEntry
	next  int
}

func (c *payloadCache) get(id int64) []payloadEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, have := range c.ids {
		if have == id && c.parts[i] != nil {
			return c.parts[i]
		}
	}
	return nil
}

func (c *payloadCache) put(id int64, parts []payloadEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[c.next], c.parts[c.next] = id, parts
	c.next = (c.next + 1) % len(c.ids)
}

// payload returns the parts of one payload, from the cache or the database
// through q (a pooled read or a transaction).
func (db *DB) payload(ctx context.Context, q queryer, id int64) ([]payloadEntry, error) {
	if parts := db.payloads.get(id); parts != nil {
		return parts, nil
	}
	var data []byte
	if err := q.QueryRowContext(ctx, "SELECT data FROM change_payloads WHERE id = ?", id).Scan(&data); err != nil {
		return nil, fmt.Errorf("change payload %d: %w", id, err)
	}
	parts, err := decodePayload(data)
	if err != nil {
		return nil, err
	}
	db.payloads.put(id, parts)
	return parts, nil
}
