package api

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"nexus/export"
	"nexus/geo"
)

// export answers GET /api/export.{geojson,gpkg,csv,kml} (or /api/export.geojson
// with f=): every record of the collections that matches, streamed from one
// snapshot of the database. The format names its collections: CSV one per
// file, the others all that are asked for.
func (s *Server) export(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	q := r.URL.Query()
	format, err := export.ParseFormat(strings.TrimPrefix(r.URL.Path, "/api/export."))
	if err != nil {
		return err
	}
	if fs, ok := q["f"]; ok {
		if len(fs) != 1 {
			return errorf(geo.EMALFORMED, "f is given %d times; give it once", len(fs))
		}
		if format, err = export.ParseFormat(fs[0]); err != nil {
			return err
		}
	}
	rest := cloneValues(q)
	rest.Del("f")
	if err := checkParams(rest, exportParams); err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	var asked []geo.Collection
	if q.Has("collections") {
		if asked, err = parseCollections(q); err != nil {
			return err
		}
	}
	cols, err := format.Collections(asked)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", format.MediaType())
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="nexus-export-%s.%s"`, time.Now().UTC().Format("20060102"), format))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return nil
	}
	release, err := s.exportSlot()
	if err != nil {
		return err
	}
	defer release()
	var n int64
	counter := &countWriter{w: s.streamWriter(w)}
	prov, err := export.Write(r.Context(), counter, s.cfg.Store, export.Request{
		Format:      format,
		Collections: cols,
		Filter:      f,
		Filters:     filterText(rest),
		Started: func(p export.Provenance) error {
			for _, c := range p.Counts {
				n += c
			}
			b, err := json.Marshal(p)
			if err != nil {
				return err
			}
			h.Set(ProvenanceHeader, asciiJSON(b))
			return nil
		},
	})
	logAttrs(w, slog.String("format", string(format)), slog.Int64("features", n), slog.Int64("body", counter.n))
	_ = prov
	return err
}

// ProvenanceHeader carries an export's provenance (filters, time, counts,
// licence, attribution) as JSON, for every format; a CSV has nowhere else
// to keep it without adding a row a reader would take for data.
const ProvenanceHeader = "Nexus-Provenance"

// filterText is the query as the user wrote it, for an export's
// provenance: each parameter's values joined with commas.
func filterText(q url.Values) map[string]string {
	out := map[string]string{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = strings.Join(q[k], ",")
	}
	return out
}

// asciiJSON escapes every non-ASCII character of JSON text as \uXXXX, so
// that it can travel in an HTTP header.
func asciiJSON(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\u%04x`, r)
		case r < 0x80:
			sb.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

// countWriter counts the bytes of a response body.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// exportSlot takes one of the MaxExports slots, or answers 503 at once:
// an export holds a database connection for as long as it streams, and
// the other requests need theirs.
func (s *Server) exportSlot() (release func(), err error) {
	select {
	case s.exports <- struct{}{}:
		return func() { <-s.exports }, nil
	default:
		return nil, errorf(eBusy, "%d exports are streaming already, the most this server runs at once; try again shortly", cap(s.exports))
	}
}

// streamWriter returns a writer that sends every write on to the client at
// once, each within StreamIdle: a client that stops reading is cut then,
// and the export's database connection is free again. The store buffers
// its output in large blocks, so this also sets the slowest transfer
// allowed, a block per StreamIdle.
func (s *Server) streamWriter(w http.ResponseWriter) io.Writer {
	return flushWriter{w: w, rc: http.NewResponseController(w), idle: s.cfg.StreamIdle}
}

type flushWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (f flushWriter) Write(b []byte) (int, error) {
	f.rc.SetWriteDeadline(time.Now().Add(f.idle))
	n, err := f.w.Write(b)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}
