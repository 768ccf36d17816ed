package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"nexus/geo"
)

// WatchStore is what the API needs of the database for watch areas and
// their alerts; it is part of Store.
type WatchStore interface {
	// CreateWatch stores a new watch of owner at version 1, with a new
	// webhook secret returned this once; EINVALID for a watch that breaks
	// a rule.
	CreateWatch(ctx context.Context, owner string, w *geo.Watch) (geo.StoredWatch, error)
	// GetWatch returns a watch without its secret; ENOTFOUND.
	GetWatch(ctx context.Context, id string) (geo.StoredWatch, error)
	// ListWatches returns the watches of owner ("": every one), oldest
	// first; no codes.
	ListWatches(ctx context.Context, owner string) ([]geo.StoredWatch, error)
	// ReplaceWatch stores w as the watch's new state: EINVALID,
	// ENOTFOUND, ECONFLICT when expect > 0 and the version moved on.
	ReplaceWatch(ctx context.Context, actor, id string, expect int64, w *geo.Watch) (geo.StoredWatch, geo.Outcome, error)
	// DeleteWatch removes a watch with its alerts and deliveries:
	// ENOTFOUND, ECONFLICT as ReplaceWatch.
	DeleteWatch(ctx context.Context, actor, id string, expect int64) error
	// WatchHistory returns a watch's changes newest first and its owner,
	// deleted watches too; ENOTFOUND when the id never existed.
	WatchHistory(ctx context.Context, id string) ([]geo.Change, string, error)
	// Alerts pages alerts newest first; no codes.
	Alerts(ctx context.Context, q geo.AlertQuery) ([]geo.Alert, int64, error)
	// UnreadAlerts counts the unread alerts of each watch of owner; no
	// codes.
	UnreadAlerts(ctx context.Context, owner string) (map[string]int64, error)
	// MarkAlertsRead marks alerts of a watch read (all for nil seqs),
	// returning how many changed; no codes.
	MarkAlertsRead(ctx context.Context, watch string, seqs []int64) (int64, error)
	// Deliveries returns a watch's newest webhook deliveries with their
	// tries; no codes.
	Deliveries(ctx context.Context, watch string, limit int) ([]geo.DeliveryLog, error)
}

// watchRoutes registers the watch areas' endpoints. Every one needs a
// token: a watch belongs to the token's user.
func (s *Server) watchRoutes() {
	s.handle("GET /api/watches", read, s.listWatches)
	s.handle("POST /api/watches", read, s.createWatch)
	s.handle("GET /api/watches/{id}", read, s.getWatch)
	s.handle("PUT /api/watches/{id}", read, s.replaceWatch)
	s.handle("PATCH /api/watches/{id}", read, s.patchWatch)
	s.handle("DELETE /api/watches/{id}", read, s.deleteWatch)
	s.handle("GET /api/watches/{id}/history", read, s.watchHistory)
	s.handle("GET /api/watches/{id}/alerts", read, s.watchAlerts)
	s.handle("POST /api/watches/{id}/alerts/read", read, s.markAlertsRead)
	s.handle("GET /api/watches/{id}/deliveries", read, s.watchDeliveries)
	s.handle("GET /api/alerts", read, s.allAlerts)
}

// principalKey carries the caller into the websocket handler.
type principalKey struct{}

// PrincipalOf returns who made a request that the API authorised (the
// websocket hub asks it for the owner of a connection); anonymous when
// there was no token.
func PrincipalOf(ctx context.Context) geo.Principal {
	if p, ok := ctx.Value(principalKey{}).(geo.Principal); ok {
		return p
	}
	return anonymous
}

// user refuses anonymous callers: watches belong to a token's user.
func user(p geo.Principal) error {
	if p.Name == anonymous.Name || p.Name == "" {
		return errorf(geo.EUNAUTHORIZED, "watch areas belong to a user: send a token (Authorization: Bearer TOKEN)")
	}
	return nil
}

// ownWatch returns the watch id if the caller may see it: its owner or an
// admin. Anyone else gets the same 404 as for a watch that does not
// exist, so watches of others cannot be discovered.
func (s *Server) ownWatch(r *http.Request, p geo.Principal) (geo.StoredWatch, error) {
	if err := user(p); err != nil {
		return geo.StoredWatch{}, err
	}
	id := r.PathValue("id")
	st, err := s.cfg.Store.GetWatch(r.Context(), id)
	if err != nil {
		return st, err
	}
	if st.Owner != p.Name && p.Role != geo.RoleAdmin {
		return geo.StoredWatch{}, errorf(geo.ENOTFOUND, "no watch with id %q", clip(id))
	}
	return st, nil
}

func watchURL(r *http.Request, id string) string {
	return baseURL(r) + "/api/watches/" + url.PathEscape(id)
}

// writeWatch writes a stored watch as a Feature with its links and its
// version as the ETag; a secret just made is added once, beside them.
func writeWatch(w http.ResponseWriter, r *http.Request, status int, st geo.StoredWatch) error {
	self := watchURL(r, st.ID)
	links, err := marshal([]Link{
		{Href: self, Rel: "self", Type: typeGeoJSON, Title: "This watch"},
		{Href: self + "/alerts", Rel: "alerts", Type: typeJSON, Title: "Its alerts, newest first"},
		{Href: self + "/history", Rel: "version-history", Type: typeJSON, Title: "Every version of this watch"},
	})
	if err != nil {
		return err
	}
	feat := bytes.TrimRight(st.Feature, " \n\r\t")
	body := make([]byte, 0, len(feat)+len(links)+128)
	body = append(body, feat[:len(feat)-1]...)
	if st.Secret != "" {
		body = append(body, `,"webhook_secret":`...)
		sec, _ := json.Marshal(st.Secret)
		body = append(body, sec...)
	}
	body = append(body, `,"links":`...)
	body = append(body, links...)
	body = append(body, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", typeGeoJSON)
	h.Set("ETag", etag(st.Version))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

// listWatches answers GET /api/watches: the caller's watches (an admin's:
// every watch) as a FeatureCollection, with the unread alerts of each.
func (s *Server) listWatches(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := user(p); err != nil {
		return err
	}
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return err
	}
	owner := p.Name
	if p.Role == geo.RoleAdmin {
		owner = ""
	}
	list, err := s.cfg.Store.ListWatches(r.Context(), owner)
	if err != nil {
		return err
	}
	unread, err := s.cfg.Store.UnreadAlerts(r.Context(), owner)
	if err != nil {
		return err
	}
	feats := make([]json.RawMessage, len(list))
	for i, st := range list {
		feats[i] = st.Feature
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeGeoJSON, map[string]any{
		"type":           "FeatureCollection",
		"numberReturned": len(feats),
		"features":       feats,
		"unread":         unread,
		"links":          []Link{{Href: baseURL(r) + "/api/watches", Rel: "self", Type: typeGeoJSON, Title: "Your watch areas"}},
	})
}

// readWatch reads and checks the body of POST or PUT: one watch Feature.
func (s *Server) readWatch(w http.ResponseWriter, r *http.Request) (*geo.Watch, error) {
	if err := checkMediaType(r, typeGeoJSON, typeJSON); err != nil {
		return nil, err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return s.decodeWatch(body)
}

// decodeWatch decodes a watch, drops what a GET added (links), and checks
// its rules and the webhook policy of this server.
func (s *Server) decodeWatch(body []byte) (*geo.Watch, error) {
	if bytes.Contains(body, []byte(`"links"`)) || bytes.Contains(body, []byte(`"webhook_secret"`)) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err == nil && m != nil {
			delete(m, "links")
			delete(m, "webhook_secret")
			if b, err := json.Marshal(m); err == nil {
				body = b
			}
		}
	}
	wt, err := geo.DecodeWatch(body)
	if err != nil {
		return nil, err
	}
	if err := wt.Validate(); err != nil {
		return nil, err
	}
	if wt.Webhook != "" && !s.cfg.PrivateWebhooks {
		u, _ := url.Parse(wt.Webhook)
		if u.Scheme != "https" {
			return nil, fieldError("webhook", "must be an https URL")
		}
		host := strings.Trim(u.Hostname(), "[]")
		if a, err := netip.ParseAddr(host); (err == nil && !geo.PublicAddr(a)) || strings.EqualFold(host, "localhost") {
			return nil, fieldError("webhook", "must point to a public address, not %s", clip(host))
		}
	}
	return wt, nil
}

// createWatch answers POST /api/watches: 201, Location and the stored
// watch, with the webhook's secret this once.
func (s *Server) createWatch(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := user(p); err != nil {
		return err
	}
	wt, err := s.readWatch(w, r)
	if err != nil {
		return err
	}
	st, err := s.cfg.Store.CreateWatch(r.Context(), p.Name, wt)
	if err != nil {
		return err
	}
	logAttrs(w, slog.String("watch", st.ID))
	w.Header().Set("Location", watchURL(r, st.ID))
	return writeWatch(w, r, http.StatusCreated, st)
}

// getWatch answers GET of one watch.
func (s *Server) getWatch(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, err := s.ownWatch(r, p)
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(st.Version) {
		w.Header().Set("ETag", etag(st.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return writeWatch(w, r, http.StatusOK, st)
}

// checkWatchID refuses a body whose id is not the one in the address.
func checkWatchID(wt *geo.Watch, id string) error {
	if wt.ID != "" && wt.ID != id {
		return fieldError("id", "is %q but the address names %q; a watch's id cannot change", clip(wt.ID), clip(id))
	}
	return nil
}

// watchTarget is the watch a write names, the caller's own, and the
// version its If-Match expects (0: any).
func (s *Server) watchTarget(r *http.Request, p geo.Principal) (geo.StoredWatch, int64, error) {
	st, err := s.ownWatch(r, p)
	if err != nil {
		return st, 0, err
	}
	expect, err := parseIfMatch(r.Header.Get("If-Match"))
	return st, expect, err
}

// putWatch stores wt as the next version of the watch st, expected at
// version expect, and answers with it.
func (s *Server) putWatch(w http.ResponseWriter, r *http.Request, p geo.Principal, st geo.StoredWatch, expect int64, wt *geo.Watch) error {
	if err := checkWatchID(wt, st.ID); err != nil {
		return err
	}
	out, outcome, err := s.cfg.Store.ReplaceWatch(r.Context(), p.Name, st.ID, expect, wt)
	if err != nil {
		return err
	}
	logAttrs(w, slog.String("outcome", string(outcome)))
	return writeWatch(w, r, http.StatusOK, out)
}

// replaceWatch answers PUT: the body replaces the watch; with If-Match,
// only if it is still at that version.
func (s *Server) replaceWatch(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, expect, err := s.watchTarget(r, p)
	if err != nil {
		return err
	}
	wt, err := s.readWatch(w, r)
	if err != nil {
		return err
	}
	return s.putWatch(w, r, p, st, expect, wt)
}

// patchWatch answers PATCH: a JSON merge patch (RFC 7396) of the stored
// watch, written only if nobody changed it meanwhile.
func (s *Server) patchWatch(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, expect, err := s.watchTarget(r, p)
	if err != nil {
		return err
	}
	patch, err := s.readPatch(w, r)
	if err != nil {
		return err
	}
	if expect > 0 && st.Version != expect {
		return errorf(geo.ECONFLICT, "the watch is at version %d, not %d: someone changed it since you read it; read it again and re-apply your change", st.Version, expect)
	}
	merged, err := applyPatch(st.Feature, patch)
	if err != nil {
		return err
	}
	wt, err := s.decodeWatch(merged)
	if err != nil {
		return err
	}
	if expect == 0 {
		expect = st.Version
	}
	return s.putWatch(w, r, p, st, expect, wt)
}

// deleteWatch answers DELETE: 204; its alerts and deliveries go with it.
func (s *Server) deleteWatch(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, expect, err := s.watchTarget(r, p)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteWatch(r.Context(), p.Name, st.ID, expect); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// watchHistory answers GET .../history: every version of the watch,
// newest first; for the owner and admins, deleted watches included.
func (s *Server) watchHistory(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := user(p); err != nil {
		return err
	}
	id := r.PathValue("id")
	changes, owner, err := s.cfg.Store.WatchHistory(r.Context(), id)
	if err != nil {
		return err
	}
	if owner != p.Name && p.Role != geo.RoleAdmin {
		return errorf(geo.ENOTFOUND, "no watch with id %q", clip(id))
	}
	self := watchURL(r, id)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"id":      id,
		"history": changes,
		"links": []Link{
			{Href: self + "/history", Rel: "self", Type: typeJSON, Title: "This history"},
			{Href: self, Rel: "latest-version", Type: typeGeoJSON, Title: "The watch as it is now"},
		},
	})
}

// alertParams reads limit, before (a seq: the next page's cursor) and
// unread=true|false.
func alertParams(q url.Values) (geo.AlertQuery, error) {
	var aq geo.AlertQuery
	if err := checkParams(q, []string{"limit", "before", "unread"}); err != nil {
		return aq, err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return aq, err
	}
	aq.Limit = min(limit, 1000)
	if s, err := single(q, "before"); err != nil {
		return aq, err
	} else if s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return aq, errorf(geo.EMALFORMED, "before must be a seq, a whole number of 1 or more; got %q", clip(s))
		}
		aq.Before = n
	}
	switch s, err := single(q, "unread"); {
	case err != nil:
		return aq, err
	case s == "true":
		aq.Unread = true
	case s == "" || s == "false":
	default:
		return aq, errorf(geo.EMALFORMED, "unread must be true or false; got %q", clip(s))
	}
	return aq, nil
}

// writeAlerts writes a page of alerts with a next link.
func writeAlerts(w http.ResponseWriter, r *http.Request, base string, alerts []geo.Alert, next int64, unread int64) error {
	links := []Link{{Href: base + encodeQuery(r.URL.Query()), Rel: "self", Type: typeJSON, Title: "This page"}}
	if next > 0 {
		q := cloneValues(r.URL.Query())
		q.Set("before", strconv.FormatInt(next, 10))
		links = append(links, Link{Href: base + encodeQuery(q), Rel: "next", Type: typeJSON, Title: "Older alerts"})
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"alerts":         alerts,
		"numberReturned": len(alerts),
		"unread":         unread,
		"links":          links,
	})
}

// watchAlerts answers GET /api/watches/{id}/alerts: newest first.
func (s *Server) watchAlerts(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, err := s.ownWatch(r, p)
	if err != nil {
		return err
	}
	aq, err := alertParams(r.URL.Query())
	if err != nil {
		return err
	}
	aq.Watch = st.ID
	alerts, next, err := s.cfg.Store.Alerts(r.Context(), aq)
	if err != nil {
		return err
	}
	unread, err := s.cfg.Store.UnreadAlerts(r.Context(), st.Owner)
	if err != nil {
		return err
	}
	return writeAlerts(w, r, watchURL(r, st.ID)+"/alerts", alerts, next, unread[st.ID])
}

// allAlerts answers GET /api/alerts: the alerts of every watch of the
// caller, newest first.
func (s *Server) allAlerts(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := user(p); err != nil {
		return err
	}
	aq, err := alertParams(r.URL.Query())
	if err != nil {
		return err
	}
	aq.Owner = p.Name
	alerts, next, err := s.cfg.Store.Alerts(r.Context(), aq)
	if err != nil {
		return err
	}
	unread, err := s.cfg.Store.UnreadAlerts(r.Context(), p.Name)
	if err != nil {
		return err
	}
	var total int64
	for _, n := range unread {
		total += n
	}
	return writeAlerts(w, r, baseURL(r)+"/api/alerts", alerts, next, total)
}

// markAlertsRead answers POST .../alerts/read: the body {"seq":[…]} marks
// those alerts read; {} or no body marks every alert of the watch.
func (s *Server) markAlertsRead(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, err := s.ownWatch(r, p)
	if err != nil {
		return err
	}
	var body struct {
		Seq []int64 `json:"seq"`
	}
	if r.ContentLength != 0 {
		if err := checkMediaType(r, typeJSON); err != nil {
			return err
		}
		b, err := s.readBody(w, r)
		if err != nil && geo.ErrorCode(err) != geo.EMALFORMED {
			return err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			d := json.NewDecoder(bytes.NewReader(b))
			d.DisallowUnknownFields()
			if err := d.Decode(&body); err != nil {
				return errorf(geo.EMALFORMED, `the body must be {"seq":[…]} (or empty, for every alert): %v`, err)
			}
			if len(body.Seq) > 10000 {
				return errorf(geo.ETOOLARGE, "at most 10000 seqs at a time")
			}
		}
	}
	n, err := s.cfg.Store.MarkAlertsRead(r.Context(), st.ID, body.Seq)
	if err != nil {
		return err
	}
	unread, err := s.cfg.Store.UnreadAlerts(r.Context(), st.Owner)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"marked": n, "unread": unread[st.ID]})
}

// watchDeliveries answers GET .../deliveries: the newest webhook
// deliveries of the watch with every try.
func (s *Server) watchDeliveries(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	st, err := s.ownWatch(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := checkParams(q, []string{"limit"}); err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	log, err := s.cfg.Store.Deliveries(r.Context(), st.ID, min(limit, 1000))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"deliveries": log})
}
