package api

import (
	"context"
	"net/http"
	"time"

	tiles "nexus/basemap"
	"nexus/geo"
	"nexus/geocode"
)

// config answers GET /api/config: what the map needs to know. Its seq,
// when live updates are followed, is the last change the hub has sent:
// every change up to it is in what the map loads next, so the map may
// load at once and subscribe with since=seq rather than wait for the
// websocket's hello first.
func (s *Server) config(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
	var role any
	if p.Role != "" {
		role = p.Role
	}
	out := map[string]any{
		"tiles":       s.cfg.Tiles,
		"private":     s.cfg.Private,
		"role":        role,
		"attribution": geocode.Attribution + " " + tiles.Attribution,
		"sample":      s.cfg.Sample,
	}
	// 0 is also the hub's seq before it has read the log: the map then
	// waits for the hello.
	if ls := s.cfg.LiveStats; ls != nil && ls.Seq() > 0 {
		out["seq"] = ls.Seq()
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, out)
}

// vocabulary answers GET /api/vocabulary: the values of the enumerations
// of the data model and the dimensions of stats, from their one definition
// in geo, so that the map's forms, filters and legend offer what the
// server accepts.
func (s *Server) vocabulary(w http.ResponseWriter, _ *http.Request, _ geo.Principal) error {
	w.Header().Set("Cache-Control", "no-cache")
	return writeJSON(w, http.StatusOK, typeJSON, map[string][]string{
		"type":       geo.IncidentTypes,
		"commodity":  geo.Commodities,
		"mode":       geo.Modes,
		"confidence": geo.Confidences,
		"precision":  geo.Precisions,
		"stats_by":   geo.StatsBy,
	})
}

// healthz answers 200 when the database answers, else 503.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Store.Ping(ctx); err != nil {
		s.log.Error("health check", "err", err)
		if geo.ErrorCode(err) == geo.EFULL {
			return errorf(eUnavailable, "not ready: the database answers but writes fail, it has no room left (the disk, or its size limit, is full)")
		}
		return errorf(eUnavailable, "the database does not answer")
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, typeJSON, map[string]string{"status": "ok"})
}
