package api

import (
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"

	"nexus/geo"
	"nexus/overview"
)

// Vector tiles (OGC API – Tiles, Mapbox Vector Tile 2.1) of incidents and
// routes in the WebMercatorQuad tile matrix set, under the filters of
// items. A tile whose box holds more than MaxTilePoints incidents carries
// clusters instead: a point per grid cell at the mean position of its
// incidents, with their count and most frequent type.
const (
	MaxTileZoom   = 22   // deepest zoom level served
	MaxTilePoints = 2000 // incidents in one tile before it carries clusters
	MaxTileRoutes = 5000 // routes in one tile
	tileCells     = 16   // clusters per tile side
	tileBuffer    = 1.0 / 32
	typeMVT       = "application/vnd.mapbox-vector-tile"
)

var tileParams = filterParams

// tile answers GET /api/collections/{c}/tiles/WebMercatorQuad/{z}/{y}/{x}.
func (s *Server) tile(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	c, err := geo.ParseCollection(r.PathValue("c"))
	if err != nil {
		return err
	}
	if c == geo.Links {
		return errorf(geo.ENOTFOUND, "links have no geometry, so no tiles; there are tiles of incidents and routes")
	}
	if tms := r.PathValue("tms"); tms != "WebMercatorQuad" {
		return errorf(geo.ENOTFOUND, "no tile matrix set %q; there is WebMercatorQuad", clip(tms))
	}
	var zyx [3]uint64
	for i, name := range []string{"z", "y", "x"} {
		n, err := strconv.ParseUint(r.PathValue(name), 10, 32)
		if err != nil {
			return errorf(geo.ENOTFOUND, "no tile %s/%s/%s: %s must be a whole number", r.PathValue("z"), r.PathValue("y"), r.PathValue("x"), name)
		}
		zyx[i] = n
	}
	z, y, x := zyx[0], zyx[1], zyx[2]
	if z > MaxTileZoom || x >= 1<<z || y >= 1<<z {
		return errorf(geo.ENOTFOUND, "no tile %d/%d/%d in WebMercatorQuad: zoom goes to %d, and row and column to 2^zoom - 1", z, y, x, MaxTileZoom)
	}
	q := r.URL.Query()
	if err := checkParams(q, tileParams); err != nil {
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
	t := maptile.New(uint32(x), uint32(y), maptile.Zoom(z))
	f = tileFilter(f, t)
	var layer *mvt.Layer
	if c == geo.Incidents {
		layer, err = s.incidentLayer(r, f, t)
	} else {
		layer, err = s.routeLayer(r, f)
	}
	if err != nil {
		return err
	}
	n := len(layer.Features)
	layer.ProjectToTile(t)
	layer.Clip(mvt.MapboxGLDefaultExtentBound)
	layer.RemoveEmpty(0, 0)
	body, err := mvt.Marshal(mvt.Layers{layer})
	if err != nil {
		return err
	}
	logAttrs(w, slog.Int("features", n))
	w.Header().Set("Content-Type", typeMVT)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
	return nil
}

// tileFilter adds the tile's box, with a small buffer so that symbols on
// its edge are drawn whole, to the filter.
func tileFilter(f geo.Filter, t maptile.Tile) geo.Filter {
	b := t.Bound(tileBuffer)
	b.Min[0], b.Max[0] = math.Max(b.Min[0], -180), math.Min(b.Max[0], 180)
	b.Min[1], b.Max[1] = math.Max(b.Min[1], -90), math.Min(b.Max[1], 90)
	if f.BBox == nil {
		f.BBox = &geo.BBox{W: b.Min[0], S: b.Min[1], E: b.Max[0], N: b.Max[1]}
		return f
	}
	box := geo.SIntersects{Prop: "geometry", Geom: b}
	if f.CQL == nil {
		f.CQL = box
	} else {
		f.CQL = geo.Logic{Op: "AND", Args: []geo.Expr{f.CQL, box}}
	}
	return f
}

// incidentLayer is the incidents of the tile, or their clusters when
// there are more than MaxTilePoints.
func (s *Server) incidentLayer(r *http.Request, f geo.Filter, t maptile.Tile) (*mvt.Layer, error) {
	ctx := r.Context()
	layer := &mvt.Layer{Name: string(geo.Incidents), Version: 2, Extent: mvt.DefaultExtent}
	ov := s.cfg.Overview
	useIndex := ov != nil && ov.Answers(ctx, f)
	var n int64
	var err error
	if useIndex {
		n, err = ov.Count(ctx, f)
	} else {
		n, err = s.cfg.Store.Count(ctx, geo.Incidents, f)
	}
	if err != nil {
		return nil, err
	}
	if n > MaxTilePoints {
		// A grid of about tileCells × tileCells cells over the tile.
		level := min(int(t.Z)+4, overview.MaxLevel)
		if useIndex {
			clusters, _, err := ov.View(ctx, f, level)
			if err != nil {
				return nil, err
			}
			for _, c := range clusters {
				layer.Features = append(layer.Features, tileCluster(c.Lon, c.Lat, c.Count, c.Dominant()))
			}
			return layer, nil
		}
		clusters, err := s.cfg.Store.Clusters(ctx, f, overview.CellSize(level))
		if err != nil {
			return nil, err
		}
		for _, c := range clusters {
			dominant, most := "", int64(-1)
			for _, typ := range geo.IncidentTypes {
				if c.Types[typ] > most {
					dominant, most = typ, c.Types[typ]
				}
			}
			layer.Features = append(layer.Features, tileCluster(c.Lon, c.Lat, c.Count, dominant))
		}
		return layer, nil
	}
	page, err := s.cfg.Store.Query(ctx, geo.Incidents, f, 0, MaxTilePoints)
	if err != nil {
		return nil, err
	}
	for _, raw := range page.Features {
		rec, err := geo.DecodeFeature(geo.Incidents, raw)
		if err != nil {
			return nil, err
		}
		inc := rec.(*geo.Incident)
		ft := geojson.NewFeature(inc.Point)
		ft.Properties = geojson.Properties{
			"id": inc.ID, "title": inc.Title, "type": inc.Type, "date": inc.Date,
		}
		for k, v := range map[string]string{"country": inc.Country, "precision": inc.Precision, "place": inc.Place} {
			if v != "" {
				ft.Properties[k] = v
			}
		}
		if inc.Killed != nil {
			ft.Properties["killed"] = *inc.Killed
		}
		if inc.Wounded != nil {
			ft.Properties["wounded"] = *inc.Wounded
		}
		if len(inc.Actors) > 0 {
			b, _ := json.Marshal(inc.Actors)
			ft.Properties["actors"] = string(b)
		}
		layer.Features = append(layer.Features, ft)
	}
	return layer, nil
}

func tileCluster(lon, lat float64, count int64, dominant string) *geojson.Feature {
	ft := geojson.NewFeature(orb.Point{lon, lat})
	ft.Properties = geojson.Properties{"count": count, "type": dominant}
	return ft
}

// routeLayer is the routes that cross the tile.
func (s *Server) routeLayer(r *http.Request, f geo.Filter) (*mvt.Layer, error) {
	layer := &mvt.Layer{Name: string(geo.Routes), Version: 2, Extent: mvt.DefaultExtent}
	page, err := s.cfg.Store.Query(r.Context(), geo.Routes, f, 0, MaxTileRoutes)
	if err != nil {
		return nil, err
	}
	for _, raw := range page.Features {
		rec, err := geo.DecodeFeature(geo.Routes, raw)
		if err != nil {
			return nil, err
		}
		rt := rec.(*geo.Route)
		ft := geojson.NewFeature(rt.Line)
		ft.Properties = geojson.Properties{"id": rt.ID, "name": rt.Name, "commodity": rt.Commodity}
		for k, v := range map[string]string{"mode": rt.Mode, "confidence": rt.Confidence, "active_from": rt.ActiveFrom, "active_to": rt.ActiveTo} {
			if v != "" {
				ft.Properties[k] = v
			}
		}
		layer.Features = append(layer.Features, ft)
	}
	return layer, nil
}
