package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"nexus/geo"
)

// items answers GET /api/collections/{c}/items: one page of features, with
// numberReturned, numberMatched when it is known cheaply (see itemsPage),
// and a next link that repeats every query parameter with the cursor of
// the next page.
func (s *Server) items(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := checkParams(q, itemsParams); err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	if f.CQL != nil {
		if err := geo.CheckCQL(f.CQL, []geo.Collection{c}); err != nil {
			return err
		}
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	after, err := parseCursor(q)
	if err != nil {
		return err
	}
	page, err := s.itemsPage(r.Context(), c, f, after, limit)
	if err != nil {
		return err
	}
	var matched *int64
	if page.Matched >= 0 {
		matched = &page.Matched
	}
	base := baseURL(r) + "/api/collections/" + string(c)
	links := []Link{
		{Href: base + "/items" + encodeQuery(q), Rel: "self", Type: typeGeoJSON, Title: "This page"},
		{Href: base, Rel: "collection", Type: typeJSON, Title: "The collection"},
	}
	if page.Next != 0 {
		next := cloneValues(q)
		next.Set("cursor", strconv.FormatInt(page.Next, 10))
		links = append(links, Link{Href: base + "/items" + encodeQuery(next), Rel: "next", Type: typeGeoJSON, Title: "The next page"})
	}
	return writeFeatureCollection(w, struct {
		Type           string `json:"type"`
		NumberMatched  *int64 `json:"numberMatched,omitempty"`
		NumberReturned int    `json:"numberReturned"`
		TimeStamp      string `json:"timeStamp"`
		Links          []Link `json:"links"`
	}{"FeatureCollection", matched, len(page.Features), time.Now().UTC().Format(time.RFC3339), links}, page.Features)
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// encodeQuery is "?"+q.Encode(), or "" for no parameters. Commas stay
// readable.
func encodeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + string(bytes.ReplaceAll([]byte(q.Encode()), []byte("%2C"), []byte(",")))
}

// itemURL is the address of one record.
func itemURL(r *http.Request, c geo.Collection, id string) string {
	return baseURL(r) + "/api/collections/" + string(c) + "/items/" + url.PathEscape(id)
}

// writeFeature writes a stored record as a Feature with its links, and
// its version as the ETag.
func writeFeature(w http.ResponseWriter, r *http.Request, status int, st geo.Stored) error {
	self := itemURL(r, st.Collection, st.ID)
	links, err := marshal([]Link{
		{Href: self, Rel: "self", Type: typeGeoJSON, Title: "This record"},
		{Href: baseURL(r) + "/api/collections/" + string(st.Collection), Rel: "collection", Type: typeJSON, Title: "The collection"},
		{Href: self + "/history", Rel: "version-history", Type: typeJSON, Title: "Every version of this record"},
	})
	if err != nil {
		return err
	}
	feat := bytes.TrimRight(st.Feature, " \n\r\t")
	if len(feat) == 0 || feat[len(feat)-1] != '}' {
		return errors.New("stored feature is not a JSON object")
	}
	body := make([]byte, 0, len(feat)+len(links)+16)
	body = append(body, feat[:len(feat)-1]...)
	body = append(body, `,"links":`...)
	body = append(body, links...)
	body = append(body, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", typeGeoJSON)
	h.Set("ETag", etag(st.Version))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// item answers GET of one record.
func (s *Server) item(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	if err := checkParams(r.URL.Query(), []string{"f", "crs"}); err != nil {
		return err
	}
	st, err := s.cfg.Store.Get(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	// Viewers and editors see a sensitive record differently.
	w.Header().Add("Vary", "Authorization")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag(st.Version) {
		w.Header().Set("ETag", etag(st.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if st.Feature, err = shown(p, c, st.Feature); err != nil {
		return err
	}
	return writeFeature(w, r, http.StatusOK, st)
}

// checkMediaType refuses a body whose Content-Type is not one of types
// (parameters aside; a charset must be UTF-8).
func checkMediaType(r *http.Request, types ...string) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil {
		for _, t := range types {
			if mt == t {
				if cs, ok := params["charset"]; ok && !equalFold(cs, "utf-8") && !equalFold(cs, "utf8") {
					return errorf(geo.EUNSUPPORTED, "the body must be UTF-8, not %s", clip(cs))
				}
				return nil
			}
		}
	}
	if ct == "" {
		ct = "none"
	}
	return errorf(geo.EUNSUPPORTED, "Content-Type must be one of %v; got %s", types, clip(ct))
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// readBody reads a body of at most the Feature limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := errorf(geo.ETOOLARGE, "the body is larger than the limit of %d bytes for one feature", s.cfg.MaxFeature)
	if r.ContentLength > s.cfg.MaxFeature {
		return nil, tooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxFeature))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, errorf(geo.EMALFORMED, "the body could not be read: %v", err)
	case len(bytes.TrimSpace(b)) == 0:
		return nil, errorf(geo.EMALFORMED, "the body is empty; send a GeoJSON Feature")
	}
	return b, nil
}

// decodeFeature reads a Feature for the collection. The links a GET gave
// it are dropped, so a client can send back what it read; everything else
// is decoded strictly by geo.DecodeFeature.
func decodeFeature(c geo.Collection, body []byte) (geo.Record, error) {
	if bytes.Contains(body, []byte(`"links"`)) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err == nil && m != nil {
			if _, ok := m["links"]; ok {
				delete(m, "links")
				if b, err := json.Marshal(m); err == nil {
					body = b
				}
			}
		}
	}
	return geo.DecodeFeature(c, body)
}

// createItem answers POST: 201, Location and the stored Feature.
func (s *Server) createItem(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	rec, err := s.readFeature(w, r, c)
	if err != nil {
		return err
	}
	st, err := s.cfg.Store.Create(r.Context(), p.Name, rec)
	if err != nil {
		return duplicate(err, rec)
	}
	logAttrs(w, slog.String("id", st.ID))
	w.Header().Set("Location", itemURL(r, c, st.ID))
	return writeFeature(w, r, http.StatusCreated, st)
}

func duplicateMessage(rec geo.Record) string {
	if ext := rec.Keys().ExternalID; ext != "" {
		return "another record has the external_id " + strconv.Quote(ext)
	}
	return "another record has the same key"
}

// duplicate names the key of a write refused with EDUPLICATE: another
// record holds its external_id. Other errors pass as they are.
func duplicate(err error, rec geo.Record) error {
	if geo.ErrorCode(err) == geo.EDUPLICATE {
		return errorf(geo.EDUPLICATE, "%s", duplicateMessage(rec))
	}
	return err
}

// checkID refuses a body whose id is not the one in the address.
func checkID(rec geo.Record, id string) error {
	if got := rec.Base().ID; got != "" && got != id {
		return fieldError("id", "is %q but the address names %q; a record's id cannot change", clip(got), clip(id))
	}
	return nil
}

// replaceItem answers PUT: the body replaces the record; with If-Match,
// only if the record is still at that version.
func (s *Server) replaceItem(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, id, expect, err := writeTarget(r)
	if err != nil {
		return err
	}
	rec, err := s.readFeature(w, r, c)
	if err != nil {
		return err
	}
	if err := checkID(rec, id); err != nil {
		return err
	}
	st, outcome, err := s.cfg.Store.Replace(r.Context(), p.Name, id, expect, rec)
	if err != nil {
		return duplicate(err, rec)
	}
	logAttrs(w, slog.String("outcome", string(outcome)))
	return writeFeature(w, r, http.StatusOK, st)
}

// patchItem answers PATCH: a JSON merge patch (RFC 7396) applied to the
// stored Feature. The write expects the version read (or If-Match's), so a
// change made by someone else in between is a 412, never lost.
func (s *Server) patchItem(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, id, expect, err := writeTarget(r)
	if err != nil {
		return err
	}
	patch, err := s.readPatch(w, r)
	if err != nil {
		return err
	}
	// Without If-Match the patch applies to whatever version is current:
	// when another write lands between the read and the write, it is
	// applied again to the newer version, never answered 412.
	for attempt := 1; ; attempt++ {
		cur, err := s.cfg.Store.Get(r.Context(), c, id)
		if err != nil {
			return err
		}
		if expect > 0 && cur.Version != expect {
			return errorf(geo.ECONFLICT, "the record is at version %d, not %d: someone changed it since you read it; read it again and re-apply your change", cur.Version, expect)
		}
		merged, err := applyPatch(cur.Feature, patch)
		if err != nil {
			return err
		}
		rec, err := decodeFeature(c, merged)
		if err != nil {
			return err
		}
		if err := checkID(rec, id); err != nil {
			return err
		}
		st, outcome, err := s.cfg.Store.Replace(r.Context(), p.Name, id, cur.Version, rec)
		if err == nil {
			logAttrs(w, slog.String("outcome", string(outcome)))
			return writeFeature(w, r, http.StatusOK, st)
		}
		if expect == 0 && geo.ErrorCode(err) == geo.ECONFLICT {
			if now, gerr := s.cfg.Store.Get(r.Context(), c, id); gerr == nil && now.Version != cur.Version {
				if attempt < maxPatchAttempts {
					continue // the version moved on: patch the newer one
				}
				return errorf(eBusy, "the record changed %d times while this patch was applied; try again", attempt)
			}
		}
		return duplicate(err, rec)
	}
}

// maxPatchAttempts is how often a PATCH without If-Match is applied again
// to a record that keeps changing under it.
const maxPatchAttempts = 20

// decodeJSON reads one JSON value, keeping numbers as they were written
// (json.Number) so coordinates come back as the same float64.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errorf(geo.EMALFORMED, "malformed JSON: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errorf(geo.EMALFORMED, "malformed JSON: unexpected data after the JSON value")
	}
	return v, nil
}

// readPatch reads the body of a PATCH: a JSON merge patch (RFC 7396).
func (s *Server) readPatch(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := checkMediaType(r, typePatch, typeJSON); err != nil {
		w.Header().Set("Accept-Patch", typePatch)
		return nil, err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return decodeJSON(body)
}

// applyPatch returns the stored JSON document with the merge patch applied.
func applyPatch(stored []byte, patch any) ([]byte, error) {
	doc, err := decodeJSON(stored)
	if err != nil {
		return nil, err
	}
	return json.Marshal(mergePatch(doc, patch))
}

// mergePatch applies an RFC 7396 JSON merge patch to target: members of
// an object patch replace, or with null remove, those of the target,
// recursively; any other patch replaces the target.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// deleteItem answers DELETE: 204; with If-Match, only if the record is
// still at that version.
func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, id, expect, err := writeTarget(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.Delete(r.Context(), p.Name, c, id, expect); err != nil {
		return err // a delete conflicts only on the version: ECONFLICT, 412
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// History paging, in changes.
const (
	DefaultHistoryLimit = 20
	MaxHistoryLimit     = 100
)

// historyEntry is one change as a reader sees it: the token name that
// made it only for editors.
type historyEntry struct {
	Seq        int64           `json:"seq"`
	Collection geo.Collection  `json:"collection"`
	ID         string          `json:"id"`
	Op         string          `json:"op"`
	Version    int64           `json:"version"`
	Actor      string          `json:"actor,omitempty"`
	Time       time.Time       `json:"time"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Restored   int64           `json:"restored,omitempty"` // the earlier version this change restored
}

// history answers GET .../history: the changes of the record, newest
// first, a page at a time (limit, and the next link's cursor), with when,
// the record before and after and, for editors, who. The history of a
// deleted record is for editors only: to others it is not found, as the
// record.
func (s *Server) history(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := checkParams(q, []string{"limit", "cursor", "f"}); err != nil {
		return err
	}
	limit, err := parseLimitOf(q, DefaultHistoryLimit, MaxHistoryLimit)
	if err != nil {
		return err
	}
	before, err := parseCursor(q)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	page, err := s.cfg.Store.History(r.Context(), c, id, before, limit)
	if err != nil {
		return err
	}
	if page.Deleted && !p.Editor() {
		return errorf(geo.ENOTFOUND, "no %s with id %q", strings.TrimSuffix(string(c), "s"), id)
	}
	current := false // the record is sensitive now
	if !p.Editor() && !page.Deleted {
		st, err := s.cfg.Store.Get(r.Context(), c, id)
		if err != nil {
			return err
		}
		if current, err = geo.SensitiveFeature(c, st.Feature); err != nil {
			return err
		}
	}
	entries := make([]historyEntry, len(page.Changes))
	for i, ch := range page.Changes {
		if ch.Before, err = shownVersion(p, c, ch.Before, current); err != nil {
			return err
		}
		if ch.After, err = shownVersion(p, c, ch.After, current); err != nil {
			return err
		}
		entries[i] = historyEntry{ch.Seq, ch.Collection, ch.ID, ch.Op, ch.Version, ch.Actor, ch.Time, ch.Before, ch.After, ch.Restored}
		if !p.Editor() {
			entries[i].Actor = ""
		}
	}
	self := itemURL(r, c, id)
	links := []Link{
		{Href: self + "/history" + encodeQuery(q), Rel: "self", Type: typeJSON, Title: "This page of the history"},
		{Href: self, Rel: "latest-version", Type: typeGeoJSON, Title: "The record as it is now"},
	}
	if page.Next != 0 {
		next := cloneValues(q)
		next.Set("cursor", strconv.FormatInt(page.Next, 10))
		links = append(links, Link{Href: self + "/history" + encodeQuery(next), Rel: "next", Type: typeJSON, Title: "Older changes"})
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{
		"collection":     c,
		"id":             id,
		"numberReturned": len(entries),
		"history":        entries,
		"links":          links,
	})
}

// restore answers POST .../restore?version=N: a new version of the record
// whose content is version N's (If-Match as for PUT, optional), and whose
// history entry says it restored N.
func (s *Server) restore(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	c, id, expect, err := writeTarget(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if err := checkParams(q, []string{"version"}); err != nil {
		return err
	}
	vs := q["version"]
	if len(vs) != 1 {
		return errorf(geo.EMALFORMED, "restore needs one version=N, the version to restore (the record's history lists them)")
	}
	version, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || version < 1 {
		return errorf(geo.EMALFORMED, "version must be a version number of the record (1, 2, …), got %q", clip(vs[0]))
	}
	rec, err := s.versionOf(r, c, id, version)
	if err != nil {
		return err
	}
	st, outcome, err := s.cfg.Store.Restore(r.Context(), p.Name, id, expect, version, rec)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return errorf(geo.ENOTFOUND, "the %s %q was deleted; create it again from its version %d instead", strings.TrimSuffix(string(c), "s"), id, version)
		}
		return duplicate(err, rec)
	}
	logAttrs(w, slog.String("outcome", string(outcome)), slog.Int64("restored", version))
	return writeFeature(w, r, http.StatusOK, st)
}

// versionOf reads version N of a record from its history.
func (s *Server) versionOf(r *http.Request, c geo.Collection, id string, version int64) (geo.Record, error) {
	noun := strings.TrimSuffix(string(c), "s")
	var before int64
	for {
		page, err := s.cfg.Store.History(r.Context(), c, id, before, MaxHistoryLimit)
		if err != nil {
			return nil, err
		}
		for _, ch := range page.Changes {
			switch {
			case ch.Version > version:
				continue
			case ch.Version < version:
				return nil, errorf(geo.ENOTFOUND, "the %s %q has no version %d; its history lists the versions", noun, id, version)
			case len(ch.After) == 0:
				return nil, errorf(geo.EINVALID, "version %d of the %s %q is its deletion; restore a version before it", version, noun, id)
			}
			return geo.DecodeFeature(c, ch.After)
		}
		if page.Next == 0 {
			return nil, errorf(geo.ENOTFOUND, "the %s %q has no version %d; its history lists the versions", noun, id, version)
		}
		before = page.Next
	}
}

// writeTarget reads what PUT, PATCH and DELETE address: the collection, the
// id, and the version If-Match expects (0 when absent).
func writeTarget(r *http.Request) (geo.Collection, string, int64, error) {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return "", "", 0, err
	}
	expect, err := parseIfMatch(r.Header.Get("If-Match"))
	return c, r.PathValue("id"), expect, err
}

// readFeature reads the body of POST or PUT: one GeoJSON Feature of the
// collection, within the body limit.
func (s *Server) readFeature(w http.ResponseWriter, r *http.Request, c geo.Collection) (geo.Record, error) {
	if err := checkMediaType(r, typeGeoJSON, typeJSON); err != nil {
		return nil, err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	return decodeFeature(c, body)
}
