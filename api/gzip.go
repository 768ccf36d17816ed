package api

import (
	"bufio"
	"compress/gzip"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Every JSON answer (items, view, stats, export, history, problems) is
// gzip-compressed for clients that accept it: GeoJSON shrinks about
// tenfold. Answers the handler encodes itself (the basemap), empty ones
// and small ones are sent as they are.

// minGzip is the smallest answer worth compressing, in bytes, when the
// handler says its length.
const minGzip = 1024

// compressible are the media types compressed.
var compressible = map[string]bool{
	"application/json":                 true,
	"application/geo+json":             true,
	"application/problem+json":         true,
	"application/vnd.oai.openapi+json": true,
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// gzipWriter compresses an answer when, at its first write, its headers
// say it should be.
type gzipWriter struct {
	http.ResponseWriter
	accept  bool // the client takes gzip
	decided bool
	zw      *gzip.Writer
}

func newGzipWriter(w http.ResponseWriter, r *http.Request) *gzipWriter {
	return &gzipWriter{ResponseWriter: w, accept: r.Method != http.MethodHead && acceptsGzip(r)}
}

// decide looks at the headers once, before they are sent.
func (g *gzipWriter) decide(status int) {
	if g.decided {
		return
	}
	g.decided = true
	h := g.Header()
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if !compressible[mt] {
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if !g.accept || h.Get("Content-Encoding") != "" || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < minGzip {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	g.zw = gzipWriters.Get().(*gzip.Writer)
	g.zw.Reset(g.ResponseWriter)
}

// WriteHeader implements http.ResponseWriter.
func (g *gzipWriter) WriteHeader(code int) {
	if code >= 200 {
		g.decide(code)
	}
	g.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

// Flush implements http.Flusher: what was written so far leaves,
// compressed.
func (g *gzipWriter) Flush() { g.FlushError() }

// FlushError is Flush reporting a client that left or stalled, for
// http.ResponseController.
func (g *gzipWriter) FlushError() error {
	if g.zw != nil {
		if err := g.zw.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker, for the websocket.
func (g *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	g.decided = true
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the writer below.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// close ends the compressed stream.
func (g *gzipWriter) close() {
	if g.zw == nil {
		return
	}
	g.zw.Close()
	g.zw.Reset(nil)
	gzipWriters.Put(g.zw)
	g.zw = nil
}
