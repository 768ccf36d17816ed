package geo

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes spoken by every layer. The HTTP layer maps each to one status.
const (
	EMALFORMED    = "malformed"    // the input cannot be parsed at all
	EINVALID      = "invalid"      // parsed, but breaks a rule of the data model
	ENOTFOUND     = "not_found"    // no such record
	ECONFLICT     = "conflict"     // the expected version moved on
	EDUPLICATE    = "duplicate"    // another record (or token) holds the same key: an external_id, a name
	EUNAUTHORIZED = "unauthorized" // no token, or a token that is not known
	EFORBIDDEN    = "forbidden"    // the token's role is too low
	ETOOLARGE     = "too_large"    // the input exceeds a size limit
	EUNSUPPORTED  = "unsupported"  // the media type or format is not one we read
	EINTERNAL     = "internal"     // our fault; details are logged, never shown
	EFULL         = "full"         // the storage has no room left: nothing of the write was kept
)

// FieldError names one field of a record and the rule it breaks.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the error type of Nexus: a code, a human message, and for
// invalid records the fields and rules they break.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
}

// Error implements the error interface.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	if e.Message == "" {
		return strings.Join(parts, "; ")
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of an *Error in err's chain; other
// errors are internal and get a generic message.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Error()
	}
	return "internal error"
}

// invalid collects field errors while a record is validated.
type invalid struct{ fields []FieldError }

func (v *invalid) add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *invalid) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "invalid record", Fields: v.fields}
}

// EUNAVAILABLE says that the database (or another service a request
// needs) does not answer now, as while PostgreSQL restarts: nothing of the
// request was done, and it may be tried again. HTTP answers it 503.
const EUNAVAILABLE = "unavailable"
