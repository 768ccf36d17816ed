package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"nexus/geo"
	"nexus/ingest"
)

// importTypes are the media types POST /api/import reads; the importer
// tells GeoJSON, GeoJSON sequences and CSV layouts apart by their content.
var importTypes = []string{typeGeoJSON, typeJSON, "text/csv", typeGeoJSONs, "application/x-ndjson", "application/octet-stream"}

// importData answers POST /api/import: the body (GeoJSON or CSV, of any
// size) is streamed into the importer, and the report is the answer.
// Records with an external_id already stored update it.
func (s *Server) importData(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return err
	}
	if err := checkMediaType(r, importTypes...); err != nil {
		return err
	}
	opt := ingest.Options{Actor: p.Name, MaxFeature: s.cfg.MaxFeature}
	if s.cfg.Geocoder != nil {
		opt.Geocode = s.cfg.Geocoder.Place
	}
	if accepts(r, typeNDJSON) {
		return s.importWithProgress(w, r, opt)
	}
	rep, err := s.runImport(w, r, opt)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, typeJSON, rep)
}

// runImport streams the request body into the importer and logs what it
// did. An error after some records were kept says so.
func (s *Server) runImport(w http.ResponseWriter, r *http.Request, opt ingest.Options) (ingest.Report, error) {
	body := &idleReader{r: r.Body, rc: http.NewResponseController(w), idle: s.cfg.StreamIdle}
	rep, err := ingest.Import(r.Context(), s.cfg.Store, bufio.NewReaderSize(body, 64<<10), opt)
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout))
	logAttrs(w, slog.String("format", rep.Format), slog.Int64("created", rep.Created), slog.Int64("updated", rep.Updated),
		slog.Int64("unchanged", rep.Unchanged), slog.Int64("rejected", rep.RejectedCount))
	if rep.Rejected == nil {
		rep.Rejected = []ingest.Rejected{}
	}
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
			return rep, errorf(code, "%s; before that, %d records were created, %d updated and %d left unchanged, and they are kept",
				geo.ErrorMessage(err), rep.Created, rep.Updated, rep.Unchanged)
		}
		return rep, err
	}
	return rep, nil
}

// typeNDJSON is newline-delimited JSON: the import's progress stream.
const typeNDJSON = "application/x-ndjson"

// progressEvery is how often an import with progress reports it.
const progressEvery = 250 * time.Millisecond

// importProgress is one line of an import's progress stream.
type importProgress struct {
	Type    string         `json:"type"`              // "progress", "report" or "error"
	Bytes   int64          `json:"bytes"`             // of the body read so far
	Rows    int64          `json:"rows"`              // rows or features written, left unchanged or rejected so far
	Report  *ingest.Report `json:"report,omitempty"`  // the last line of an import that ended
	Problem *Problem       `json:"problem,omitempty"` // the last line of an import that failed
}

// importWithProgress answers an import whose client accepts
// application/x-ndjson: while the body is still arriving, a progress line
// every quarter second (bytes read, rows done), then one line with the
// report, or with the problem that ended the import. The status is 200
// once the import has started: a failure is the last line.
func (s *Server) importWithProgress(w http.ResponseWriter, r *http.Request, opt ingest.Options) error {
	rc := http.NewResponseController(w)
	// Answer while the body is read: HTTP/1.1 needs telling.
	_ = rc.EnableFullDuplex()
	var read, rows atomic.Int64
	opt.Progress = read.Store
	opt.Written = rows.Store
	h := w.Header()
	h.Set("Content-Type", typeNDJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	line := func(p importProgress) {
		p.Bytes, p.Rows = read.Load(), rows.Load()
		rc.SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout))
		enc.Encode(p)
		rc.Flush()
	}
	line(importProgress{Type: "progress"})
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				line(importProgress{Type: "progress"})
			}
		}
	}()
	rep, err := s.runImport(w, r, opt)
	close(stop)
	<-stopped
	if err != nil {
		if r.Context().Err() != nil || errors.Is(err, errClientClosed) {
			return nil // the client went away: nobody reads the answer
		}
		p := problemOf(err)
		if p.Status >= 500 {
			s.log.Error("import failed", "err", err)
		}
		line(importProgress{Type: "error", Problem: &p})
		return nil
	}
	line(importProgress{Type: "report", Report: &rep})
	return nil
}

// accepts reports whether the request's Accept header names the media
// type with a q above 0.
func accepts(r *http.Request, mediaType string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || !strings.EqualFold(mt, mediaType) {
			continue
		}
		if q, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v <= 0 {
				return false
			}
		}
		return true
	}
	return false
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
