package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"nexus/geo"
	"nexus/limit"
)

// Limits are the rate limits of one caller (a token, or an address
// without one). The zero Rate of each limits nothing. The websocket's
// limits are the hub's (live.Options).
type Limits struct {
	// Writes counts every request that changes something: creates,
	// updates, deletes, restores, imports, aliases, watches, tokens.
	Writes limit.Rate
	// Reads counts the reads that cost the most: export, view, stats and
	// history. Items, single records and tiles are not counted: a GIS
	// client pages a layer with them, and they are bounded by their limit.
	Reads limit.Rate
}

// Default rate limits, per caller: well above what the map does while
// the time slider plays (up to ten steps a second, each a view, two
// statistics and a subscribe) and what a script that writes does.
var (
	DefaultWriteRate = limit.Rate{PerSecond: 100, Burst: 200}
	DefaultReadRate  = limit.Rate{PerSecond: 100, Burst: 200}
)

// eTooMany is a caller over its rate limit: 429 with Retry-After.
const eTooMany = "too_many_requests"

// limited is a refusal for a rate limit, with the wait it asks for.
type limited struct {
	err   *geo.Error
	retry time.Duration
}

// Error implements error.
func (e *limited) Error() string { return e.err.Error() }

// Unwrap lets geo.ErrorCode and problemOf read the code and message.
func (e *limited) Unwrap() error { return e.err }

// tooMany returns the refusal of a caller over a limit.
func tooMany(what string, r limit.Rate, retry time.Duration) error {
	return &limited{
		err: geo.Errorf(eTooMany, "too many %s from this caller (the limit is %s a second, %d at once); try again in %d s",
			what, strconv.FormatFloat(r.PerSecond, 'f', -1, 64), r.Burst, limit.RetryAfter(retry)),
		retry: retry,
	}
}

// expensive are the read routes counted by the Reads limit.
var expensive = map[string]bool{
	"GET /api/view":  true,
	"GET /api/stats": true,
	"GET /api/collections/{c}/items/{id}/history": true,
}

// checkRate takes one event of the request's kind from the caller's
// budget, or refuses it.
func (s *Server) checkRate(r *http.Request, pattern string, p geo.Principal) error {
	token := ""
	if p.Role != "" {
		token = p.Name
	}
	caller := limit.Caller(token, ClientAddr(r))
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		if ok, retry := s.writes.Allow(caller); !ok {
			return tooMany("writes", s.writes.Rate(), retry)
		}
	case expensive[pattern] || strings.HasPrefix(pattern, "GET /api/export"):
		if ok, retry := s.reads.Allow(caller); !ok {
			return tooMany("exports, views, statistics and histories", s.reads.Rate(), retry)
		}
	}
	return nil
}

// addrKey holds the client's address in a request's context.
type addrKey struct{}

// ClientAddr is the address of the client that made the request: the
// peer's, or behind a trusted proxy the one X-Forwarded-For names.
func ClientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(addrKey{}).(string); ok {
		return a
	}
	return peerAddr(r)
}

// peerAddr is the address of the connection's other end.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// withClientAddr stores the client's address in the request's context.
// X-Forwarded-For is read only from a trusted proxy: from right to left,
// the first address that is not a trusted proxy is the client (the ones
// to its left were written by the client itself and prove nothing).
func (s *Server) withClientAddr(r *http.Request) *http.Request {
	addr := peerAddr(r)
	if len(s.cfg.TrustedProxies) > 0 && s.trusted(addr) {
		addr = forwardedFor(r.Header.Values("X-Forwarded-For"), addr, s.trusted)
	}
	return r.WithContext(context.WithValue(r.Context(), addrKey{}, addr))
}

// trusted reports whether addr is one of the trusted proxies.
func (s *Server) trusted(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the nearest hop: the first
// address not trusted is the client; peer when the header is absent or a
// hop cannot be read (a proxy we trust wrote nonsense: count it as itself).
func forwardedFor(values []string, peer string, trusted func(string) bool) string {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hopAddr(strings.TrimSpace(hops[i]))
		if !ok {
			return client
		}
		client = a
		if !trusted(a) {
			return a
		}
	}
	return client
}

// hopAddr reads one X-Forwarded-For entry: an address, with or without a
// port.
func hopAddr(h string) (string, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String(), true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().WithZone("").String(), true
	}
	return "", false
}

// ParseCIDRs reads a comma-separated list of CIDR prefixes; a bare address
// is a prefix of its full length.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix (e.g. 10.0.0.0/8)", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix (e.g. 10.0.0.0/8)", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
