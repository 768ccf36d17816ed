package api

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"

	"nexus/geo"
)

// responseWriter records the status and size of an answer, and turns the
// router's own plain-text 404 and 405 into problems. It passes Flush and
// Hijack through (streams and websockets need them).
type responseWriter struct {
	http.ResponseWriter
	s        *Server
	r        *http.Request
	status   int
	bytes    int64
	swallow  bool // the router's body is dropped: a problem was written instead
	hijacked bool
	inner    bool        // writes a problem for the router: no interception
	actor    string      // who made the request, for the log
	attrs    []slog.Attr // what the handler adds to the request's log line

	clientGone bool // a write to the client failed: it left or stalled
	logStatus  int  // the status to log and count instead of status (499)
}

// logAttrs adds attributes to the one log line of the request.
func logAttrs(w http.ResponseWriter, attrs ...slog.Attr) {
	if rw, ok := w.(*responseWriter); ok {
		rw.attrs = append(rw.attrs, attrs...)
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || w.hijacked {
		return
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if !w.inner && w.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		// No route matched: the router answers with http.Error. Answer
		// with a problem instead (keeping its Allow header).
		w.swallow = true
		err := errorf(geo.ENOTFOUND, "there is nothing at %s; the API starts at /api", clip(w.r.URL.Path))
		if code == http.StatusMethodNotAllowed {
			err = errorf(eMethod, "%s is not allowed here; allowed: %s", w.r.Method, w.Header().Get("Allow"))
		}
		inner := &responseWriter{ResponseWriter: w.ResponseWriter, s: w.s, r: w.r, inner: true}
		w.s.fail(inner, w.r, err)
		w.status, w.bytes = code, inner.bytes
		return
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	if err != nil {
		w.clientGone = true
	}
	return n, err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	w.FlushError()
}

// FlushError implements the interface http.ResponseController uses: a
// flush that reports a client that left or stalled.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err != nil {
		w.clientGone = true
	}
	return err
}

// Hijack implements http.Hijacker, for the websocket.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return c, brw, err
}

// Unwrap lets http.ResponseController reach the writer below.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func stack() string { return string(debug.Stack()) }

// anonymous is the caller without a token.
var anonymous = geo.Principal{Name: "anonymous"}

// bearer returns the token of the request: the Authorization header's
// Bearer credentials, or for the websocket only, ?token= (browsers cannot
// set headers on a websocket). ok is false for an Authorization header of
// another scheme.
func bearer(r *http.Request, need access) (token string, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", false
		}
		cred = strings.TrimSpace(cred)
		return cred, cred != ""
	}
	if need == live {
		return r.URL.Query().Get("token"), true
	}
	return "", true
}

// authorize says who is calling and whether they may: 401 without a token
// where one is needed or with one that is not known, 403 when the token's
// role is too low.
func (s *Server) authorize(r *http.Request, need access) (geo.Principal, error) {
	if need == open {
		return anonymous, nil
	}
	token, ok := bearer(r, need)
	if !ok {
		return anonymous, errorf(geo.EUNAUTHORIZED, "the Authorization header must be \"Bearer TOKEN\"")
	}
	if token == "" {
		switch {
		case need == write:
			return anonymous, errorf(geo.EUNAUTHORIZED, "changing data needs a token of an editor: Authorization: Bearer TOKEN")
		case need == manage:
			return anonymous, errorf(geo.EUNAUTHORIZED, "managing tokens needs a token of an admin: Authorization: Bearer TOKEN")
		case s.cfg.Private:
			return anonymous, errorf(geo.EUNAUTHORIZED, "this server is private: every request needs a token (Authorization: Bearer TOKEN)")
		}
		return anonymous, nil
	}
	p, err := s.cfg.Store.Authenticate(r.Context(), token)
	if err != nil {
		if geo.ErrorCode(err) == geo.EUNAUTHORIZED {
			return anonymous, errorf(geo.EUNAUTHORIZED, "the token is not valid")
		}
		return anonymous, err
	}
	want := geo.RoleViewer
	switch need {
	case write:
		want = geo.RoleEditor
	case manage:
		want = geo.RoleAdmin
	}
	if geo.RoleRank(p.Role) < geo.RoleRank(want) {
		return p, errorf(geo.EFORBIDDEN, "the token %q has the role %s; this needs %s or higher", p.Name, p.Role, want)
	}
	return p, nil
}
