package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"nexus/geo"
)

// tokens answers GET /api/tokens (admin): every token's name, role,
// creation and expiry; never the secrets, which are not kept.
func (s *Server) tokens(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return err
	}
	list, err := s.cfg.Store.Tokens(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"tokens": list})
}

// tokenRequest is the body of POST /api/tokens: expires is an RFC 3339
// time, or expires_in a duration such as "720h"; neither, never.
type tokenRequest struct {
	Name      string `json:"name"`
	Role      string `json:"role"`
	Expires   string `json:"expires"`
	ExpiresIn string `json:"expires_in"`
}

// createToken answers POST /api/tokens (admin): 201 with the new token,
// shown this once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if err := checkMediaType(r, typeJSON); err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var req tokenRequest
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		return errorf(geo.EMALFORMED, "the body must be {\"name\":…,\"role\":\"viewer|editor|admin\",\"expires\":RFC 3339 time or \"expires_in\":\"720h\"}: %v", err)
	}
	expires, err := parseExpiry(req.Expires, req.ExpiresIn, time.Now())
	if err != nil {
		return err
	}
	token, err := s.cfg.Store.CreateTokenUntil(r.Context(), req.Name, req.Role, expires)
	if err != nil {
		return err
	}
	out := map[string]any{"name": strings.TrimSpace(req.Name), "role": req.Role, "token": token, "expires": nil}
	if !expires.IsZero() {
		out["expires"] = expires.UTC().Format(time.RFC3339)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, typeJSON, out)
}

// parseExpiry reads when a new token expires: an RFC 3339 time or a
// duration from now; the zero time for never.
func parseExpiry(at, in string, now time.Time) (time.Time, error) {
	switch {
	case at != "" && in != "":
		return time.Time{}, errorf(geo.EMALFORMED, "give expires or expires_in, not both")
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, fieldError("expires", "must be an RFC 3339 time such as 2027-01-31T00:00:00Z, got %q", clip(at))
		}
		return t, nil
	case in != "":
		d, err := time.ParseDuration(in)
		if err != nil || d <= 0 {
			return time.Time{}, fieldError("expires_in", "must be a positive duration such as 720h, got %q", clip(in))
		}
		return now.Add(d), nil
	}
	return time.Time{}, nil
}

// revokeToken answers DELETE /api/tokens/{name} (admin): 204; the token no
// longer authenticates, and its websockets are closed at once (4001).
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	name := r.PathValue("name")
	if err := s.cfg.Store.RevokeToken(r.Context(), name); err != nil {
		return err
	}
	if s.cfg.Revoked != nil {
		s.cfg.Revoked(name)
	}
	logAttrs(w, slog.String("token", name))
	w.WriteHeader(http.StatusNoContent)
	return nil
}
