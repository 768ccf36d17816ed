package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/overview"
)

// MaxViewRecords is the most incidents /api/view sends as they are, read
// by id; beyond, the view is clustered.
const MaxViewRecords = 1000

// overviewView answers /api/view from the overview index: the incidents
// themselves when no more than MaxViewRecords match, otherwise one point
// per cell of the grid for the zoom (cells about 64 pixels wide), at the
// mean position of its incidents, with its count, its count by type and
// its dominant type.
func (s *Server) overviewView(w http.ResponseWriter, r *http.Request, ov Overview, f geo.Filter, zoom float64) error {
	ctx := r.Context()
	level := overview.Level(f.BBox, zoom, MaxViewFeatures)
	clusters, matched, err := ov.View(ctx, f, level)
	if err != nil {
		return err
	}
	var features [][]byte
	clustered := matched > MaxViewRecords
	if !clustered {
		refs, ok, err := ov.Select(ctx, f, MaxViewRecords)
		if err != nil {
			return err
		}
		if ok {
			features, err = s.viewFeatures(ctx, refs)
			if err != nil {
				return err
			}
			if features, err = shownAll(PrincipalOf(ctx), geo.Incidents, features); err != nil {
				return err
			}
			matched = int64(len(features))
		} else {
			clustered = true // more were written meanwhile
		}
	}
	if clustered {
		features = make([][]byte, 0, len(clusters))
		for _, c := range clusters[:min(len(clusters), MaxViewFeatures)] {
			features = append(features, overviewCluster(c))
		}
	}
	h := viewHead{Type: "FeatureCollection", Clustered: clustered, NumberMatched: matched, NumberReturned: len(features)}
	if clustered {
		h.Cell = overview.CellSize(level)
	}
	return writeFeatureCollection(w, h, features)
}

// overviewCluster encodes a cluster as a Feature: count, types (the
// non-zero counts by type) and dominant (the most frequent type).
func overviewCluster(c overview.Cluster) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"Feature","geometry":`...)
	b = geo.AppendGeometry(b, orb.Point{c.Lon, c.Lat})
	b = append(b, `,"properties":{"cluster":true,"count":`...)
	b = strconv.AppendInt(b, c.Count, 10)
	b = append(b, `,"dominant":"`...)
	b = append(b, c.Dominant()...)
	b = append(b, `","types":{`...)
	first := true
	for i, n := range c.ByType {
		if n == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, geo.IncidentTypes[i]...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, "}}}"...)
}

// overviewStats counts incidents through the overview index.
func overviewStats(ctx context.Context, ov Overview, f geo.Filter, by string) ([]geo.Count, error) {
	counts, err := ov.Stats(ctx, f, by)
	if err != nil {
		return nil, err
	}
	out := make([]geo.Count, len(counts))
	for i, c := range counts {
		out[i] = geo.Count{Key: c.Key, Count: c.Count}
	}
	return out, nil
}

// scanShare is the share of all incidents above which a box is read in
// storage order rather than through the spatial index (store.PageOnly):
// a page then reads at most limit/scanShare records.
const scanShare = 0.05

// itemsPage reads one page of items. Counting never costs more than the
// page: numberMatched (page.Matched, -1 when unknown) comes from the
// overview for incidents under every filter but corridors and filter
// expressions (a text's matches are read once, then kept); from the page
// itself when it holds every match; and
// from the store for routes, a small collection. The overview's count also
// says how to read a box.
func (s *Server) itemsPage(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int) (geo.Page, error) {
	ov := s.cfg.Overview
	switch {
	case ov == nil || c == geo.Routes:
		return s.cfg.Store.Query(ctx, c, f, after, limit)
	case !ov.Answers(ctx, f):
		return s.cfg.Store.PageOnly(ctx, c, f, after, limit, false)
	}
	matched, err := ov.Count(ctx, f)
	if err != nil {
		return geo.Page{}, err
	}
	scan := false
	if f.BBox != nil {
		var all int64
		if all, err = ov.Count(ctx, geo.NewFilter()); err != nil {
			return geo.Page{}, err
		}
		scan = float64(matched) >= scanShare*float64(all)
	}
	page, err := s.cfg.Store.PageOnly(ctx, c, f, after, limit, scan)
	page.Matched = matched
	return page, err
}
