package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"nexus/geo"
)

// filter reads the filter parameters and resolves them against the
// database: actor names are expanded to every spelling the alias table
// knows, so actor=Hizballah finds what actor=Hezbollah finds.
func (s *Server) filter(ctx context.Context, q url.Values) (geo.Filter, error) {
	f, err := parseFilter(q)
	if err != nil {
		return f, err
	}
	// Editors see and filter on sensitive records' exact geometry.
	f.Exact = PrincipalOf(ctx).Editor()
	return f, s.cfg.Store.Resolve(ctx, &f)
}

// aliasList answers GET /api/aliases: the table, by canonical name.
func (s *Server) aliasList(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if err := checkParams(r.URL.Query(), []string{"f"}); err != nil {
		return err
	}
	a, err := s.cfg.Store.Aliases(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"aliases": a.List()})
}

// aliasPut answers POST /api/aliases with {"alias","name","source"}: 201
// for a new alias, 200 when an existing one now points at the name.
func (s *Server) aliasPut(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	if err := checkMediaType(r, typeJSON); err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	var a geo.Alias
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&a); err != nil {
		return errorf(geo.EMALFORMED, "the body must be one JSON object {\"alias\", \"name\", \"source\"}: %v", err)
	}
	if d.More() {
		return errorf(geo.EMALFORMED, "the body must be one JSON object")
	}
	stored, created, err := s.cfg.Store.PutAlias(r.Context(), p.Name, a)
	if err != nil {
		return err
	}
	st := http.StatusOK
	if created {
		st = http.StatusCreated
		w.Header().Set("Location", baseURL(r)+"/api/aliases/"+url.PathEscape(stored.Alias))
	}
	return writeJSON(w, st, typeJSON, stored)
}

// aliasDelete answers DELETE /api/aliases/{alias}: 204.
func (s *Server) aliasDelete(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if err := s.cfg.Store.DeleteAlias(r.Context(), r.PathValue("alias")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// actorsParams are the query parameters of /api/actors.
var actorsParams = []string{"q", "limit", "f"}

// actors answers GET /api/actors: every actor named by a record, under
// its canonical name, with its counts per collection, first and last seen
// and countries, most records first. q keeps the actors whose name, an
// alias or a spelling of their records contains it (case and accents
// aside); limit caps the list.
func (s *Server) actors(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, actorsParams); err != nil {
		return err
	}
	text, err := single(q, "q")
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	list, err := s.cfg.Store.Actors(r.Context())
	if err != nil {
		return err
	}
	matched := list
	if text = geo.ActorKey(text); text != "" {
		aliases, err := s.cfg.Store.Aliases(r.Context())
		if err != nil {
			return err
		}
		matched = matched[:0:0]
		for _, a := range list {
			for _, n := range append(aliases.Spellings(a.Name), a.Spellings...) {
				if strings.Contains(geo.ActorKey(n), text) {
					matched = append(matched, a)
					break
				}
			}
		}
	}
	n := len(matched)
	if len(matched) > limit {
		matched = matched[:limit]
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"numberMatched": n, "actors": matched})
}

// ProfileRecords is how many records of each collection an actor profile
// lists; numberMatched says how many there are in all.
const ProfileRecords = 200

// ProfileThrough is how many connecting records a profile lists per neighbour.
const ProfileThrough = 20

// profileRecords is one collection's part of a profile.
type profileRecords struct {
	NumberMatched int64             `json:"numberMatched"`
	Features      []json.RawMessage `json:"features"`
}

// actorProfile answers GET /api/actors/{name}: the actor under its
// canonical name, its spellings, its incidents, routes and links, its
// countries, a monthly timeline of its incidents, and its neighbours with
// the records that connect them. Any spelling finds the profile.
func (s *Server) actorProfile(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	if err := checkParams(r.URL.Query(), []string{"f"}); err != nil {
		return err
	}
	ctx := r.Context()
	aliases, err := s.cfg.Store.Aliases(ctx)
	if err != nil {
		return err
	}
	asked := strings.TrimSpace(r.PathValue("name"))
	if asked == "" || len(asked) > 4*geo.MaxTitle {
		return errorf(geo.EMALFORMED, "an actor name is 1 to %d characters", geo.MaxTitle)
	}
	name := aliases.Canonical(asked)
	f := geo.NewFilter()
	f.Actors = []string{name}
	f.ResolveActors(aliases)
	prof := map[string]any{"name": name, "spellings": aliases.Spellings(name)}
	list, err := s.cfg.Store.Actors(ctx)
	if err != nil {
		return err
	}
	var sum *geo.ActorSummary
	for _, a := range list {
		if geo.ActorKey(a.Name) == geo.ActorKey(name) {
			sum = a
		}
	}
	if sum == nil {
		return errorf(geo.ENOTFOUND, "no record names the actor %q", clip(asked))
	}
	prof["counts"] = map[string]int64{"incidents": sum.Incidents, "routes": sum.Routes, "links": sum.Links}
	prof["first_seen"], prof["last_seen"], prof["countries"] = sum.FirstSeen, sum.LastSeen, sum.Countries
	for c, n := range map[geo.Collection]int64{geo.Incidents: sum.Incidents, geo.Routes: sum.Routes, geo.Links: sum.Links} {
		features, err := s.cfg.Store.ActorRecords(ctx, c, f.Actors, ProfileRecords)
		if err == nil {
			features, err = shownAll(PrincipalOf(ctx), c, features)
		}
		if err != nil {
			return err
		}
		pr := profileRecords{NumberMatched: n, Features: make([]json.RawMessage, len(features))}
		for i, b := range features {
			pr.Features[i] = b
		}
		prof[string(c)] = pr
	}
	timeline, err := s.cfg.Store.ActorTimeline(ctx, f.Actors)
	if err != nil {
		return err
	}
	prof["timeline"] = timeline
	neighbours, err := s.cfg.Store.Neighbours(ctx, f.Actors, ProfileThrough)
	if err != nil {
		return err
	}
	prof["neighbours"] = neighbours
	return writeJSON(w, http.StatusOK, typeJSON, prof)
}
