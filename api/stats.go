package api

import (
	"net/http"

	"nexus/geo"
)

// stats answers GET /api/stats?by=: counts under the same filters as items.
func (s *Server) stats(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, statsParams); err != nil {
		return err
	}
	by, err := parseBy(q)
	if err != nil {
		return err
	}
	c, err := parseCollectionParam(q)
	if err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	var counts []geo.Count
	if ov := s.cfg.Overview; ov != nil && c == geo.Incidents && ov.Answers(r.Context(), f) {
		counts, err = overviewStats(r.Context(), ov, f, by)
	} else {
		counts, err = s.cfg.Store.Stats(r.Context(), c, f, by)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, typeJSON, map[string]any{"by": by, "collection": c, "counts": counts})
}
