package api

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"nexus/geo"
	"nexus/ingest"
	"nexus/store"
)

// importTypes are the media types POST /api/import reads; the importer
// tells GeoJSON, GeoJSON sequences and CSV layouts apart by their content.
var importTypes = []string{typeGeoJSON, typeJSON, "text/csv", typeGeoJSONs, "application/x-ndjson", "application/octet-stream"}

// importData answers POST /api/import: the body (GeoJSON or CSV, of any
// size) is streamed into the importer, and the report is the answer.
// Records with an external_id already stored update it.
func (s *Server) importData(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return err
	}
	if err := checkMediaType(r, importTypes...); err != nil {
		return err
	}
	opt := ingest.Options{Actor: p.Name}
	if s.cfg.Geocoder != nil {
		opt.Geocode = s.cfg.Geocoder.Place
	}
	body := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.cfg.StreamIdle}
	rep, err := ingest.Import(r.Context(), s.cfg.Store, bufio.NewReaderSize(body, 64<<10), opt)
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout))
	logAttrs(w, slog.String("format", rep.Format), slog.Int64("created", rep.Created), slog.Int64("updated", rep.Updated),
		slog.Int64("unchanged", rep.Unchanged), slog.Int64("rejected", rep.RejectedCount))
	if err != nil && body.err != nil {
		// The body stopped: the client left, or stalled past StreamIdle.
		var ne net.Error
		if errors.As(body.err, &ne) && ne.Timeout() {
			err = errorf(eSlowBody, "the body stopped arriving for %s", s.cfg.StreamIdle)
		} else {
			err = errClientClosed
		}
	}
	if err != nil {
		if code := geo.ErrorCode(err); code != geo.EINTERNAL && rep.Created+rep.Updated+rep.Unchanged > 0 {
			return errorf(code, "%s; before that, %d records were created, %d updated and %d left unchanged, and they are kept",
				geo.ErrorMessage(err), rep.Created, rep.Updated, rep.Unchanged)
		}
		return err
	}
	if rep.Rejected == nil {
		rep.Rejected = []ingest.Rejected{}
	}
	return writeJSON(w, http.StatusOK, typeJSON, rep)
}

// idleReader reads a request body that must keep arriving: each read has
// StreamIdle to bring data. It remembers the first error that was not
// the body's end.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	err  error
}

func (b *idleReader) Read(p []byte) (int, error) {
	b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}
