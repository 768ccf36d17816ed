package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"

	"nexus/geo"
	"nexus/store"
)

// filter reads the filter parameters and resolves them against the
// database: actor names are expanded to every spelling the alias table
// knows, so actor=Hizballah finds what actor=Hezbollah finds.
func (s *Server) filter(ctx context.Context, q url.Values) (geo.Filter, error) {
	f, err := parseFilter(q)
	if err != nil {
		return f, err
	}
	return f, s.cfg.Store.Resolve(ctx, &f)
}

// aliasList answers GET /api/aliases: the table, by canonical name.
func (s *Server) aliasList(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
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
func (s *Server) aliasPut(w http.ResponseWriter, r *http.Request, p store.Principal) error {
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
func (s *Server) aliasDelete(w http.ResponseWriter, r *http.Request, _ store.Principal) error {
	if err := s.cfg.Store.DeleteAlias(r.Context(), r.PathValue("alias")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// mergeActors adds up counts by actor under their canonical names, so
// one actor is one bucket whatever the spellings of its records.
func mergeActors(a *geo.Aliases, counts []store.Count) []store.Count {
	idx := map[string]int{}
	out := []store.Count{}
	for _, c := range counts {
		name := a.Canonical(c.Key)
		k := geo.ActorKey(name)
		if i, ok := idx[k]; ok {
			out[i].Count += c.Count
			continue
		}
		idx[k] = len(out)
		out = append(out, store.Count{Key: name, Count: c.Count})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}
