package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"nexus/geo"
	"nexus/limit"
)

// Codes the HTTP layer adds to those of geo. They become statuses in
// status, like every other code.
const (
	// eMethod is a method the resource does not allow.
	eMethod = "method_not_allowed"
	// eUnavailable is a service this server was started without (the
	// gazetteer) or a database that does not answer.
	eUnavailable = "unavailable"
	// eTimeout is a request that ran out of its time budget.
	eTimeout = "timeout"
	// eBusy is a limit on work running at once (exports): try again soon.
	eBusy = "busy"
	// eSlowBody is a request body that stopped arriving.
	eSlowBody = "request_timeout"
)

// errClientClosed says the client went away in the middle of its request
// (an upload cut short): nobody reads the answer, and the log says 499.
var errClientClosed = errors.New("the client closed the connection")

// status is the one place where error codes become HTTP statuses.
func status(code string) int {
	switch code {
	case geo.EMALFORMED:
		return http.StatusBadRequest
	case geo.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case geo.EFORBIDDEN:
		return http.StatusForbidden
	case geo.ENOTFOUND:
		return http.StatusNotFound
	case eMethod:
		return http.StatusMethodNotAllowed
	case geo.EDUPLICATE:
		return http.StatusConflict
	case geo.ECONFLICT:
		return http.StatusPreconditionFailed
	case geo.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case geo.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case geo.EINVALID:
		return http.StatusUnprocessableEntity
	case geo.EFULL:
		return http.StatusInsufficientStorage
	case eSlowBody:
		return http.StatusRequestTimeout
	case eTooMany:
		return http.StatusTooManyRequests
	case eUnavailable, eTimeout, eBusy:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// StatusClientClosed is logged and counted for a request whose client
// went away before its answer was ready.
const StatusClientClosed = 499

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail"`
	Errors []geo.FieldError `json:"errors,omitempty"`
}

// problemOf turns an error into the problem a client sees. Internal errors
// get a generic detail; their text is for the log only.
func problemOf(err error) Problem {
	code := geo.ErrorCode(err)
	st := status(code)
	p := Problem{Type: "about:blank", Title: http.StatusText(st), Status: st}
	var e *geo.Error
	if st == http.StatusInternalServerError || !errors.As(err, &e) {
		p.Detail = "internal error; the server log has the details"
		return p
	}
	p.Detail = e.Message
	if p.Detail == "" {
		p.Detail = e.Error()
	}
	p.Errors = e.Fields
	return p
}

// fail writes err as application/problem+json. It is the only writer of
// error responses: every handler returns its error here.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if (r.Context().Err() != nil && errors.Is(err, context.Canceled)) || errors.Is(err, errClientClosed) {
		// The client went away before the answer: nobody reads it. 499
		// (nginx's "client closed request") keeps it out of the 5xx.
		w.WriteHeader(StatusClientClosed)
		return
	}
	p := problemOf(err)
	if code := geo.ErrorCode(err); code == eBusy || code == eTimeout {
		s.log.Warn("request refused", "method", r.Method, "route", routeOf(r), "status", p.Status, "err", err)
	} else if p.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "route", routeOf(r), "status", p.Status, "err", err)
	}
	h := w.Header()
	switch p.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="nexus"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "5")
	case http.StatusTooManyRequests:
		var l *limited
		if errors.As(err, &l) {
			h.Set("Retry-After", strconv.Itoa(limit.RetryAfter(l.retry)))
		}
	}
	for _, k := range []string{"ETag", "Last-Modified", "Content-Encoding", "Content-Disposition", "Content-Length"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	body, _ := json.Marshal(p)
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(p.Status)
	w.Write(append(body, '\n'))
}

// errorf is shorthand for a *geo.Error with a code and message.
func errorf(code, format string, args ...any) error {
	return geo.Errorf(code, format, args...)
}

// fieldError is an EINVALID error naming one field.
func fieldError(field, format string, args ...any) error {
	e := geo.Errorf(geo.EINVALID, "invalid feature")
	e.Fields = []geo.FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}
	return e
}
