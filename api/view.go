package api

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/paulmach/orb"

	"nexus/geo"
)

// MaxViewFeatures is the most features /api/view sends: incidents
// themselves up to this many, cluster points beyond.
const MaxViewFeatures = 5000

// view answers GET /api/view?bbox=&zoom=: the incidents in a map view.
// When no more than MaxViewFeatures match they come as they are
// ("clustered": false); otherwise as cluster points of a grid whose cell
// is about 64 pixels at the zoom ("clustered": true), each with its count
// and its count by type. Either way numberMatched is the number of
// incidents that match.
func (s *Server) view(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, viewParams); err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	zoom, err := parseZoom(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if ov := s.cfg.Overview; ov != nil && ov.Answers(ctx, f) {
		return s.overviewView(w, r, ov, f, zoom)
	}
	// One pass over the matches: the clusters, whose counts add up to
	// the number matched; the incidents themselves when few match.
	cell := clusterCell(f.BBox, zoom)
	clusters, err := s.cfg.Store.Clusters(ctx, f, cell)
	if err != nil {
		return err
	}
	var matched int64
	for _, c := range clusters {
		matched += c.Count
	}
	var features [][]byte
	h := viewHead{Type: "FeatureCollection", NumberMatched: matched}
	if matched <= MaxViewFeatures {
		page, err := s.cfg.Store.Query(ctx, geo.Incidents, f, 0, MaxViewFeatures)
		if err != nil {
			return err
		}
		features = page.Features
		h.NumberMatched = int64(len(features))
	} else {
		h.Clustered = true
		h.Cell = cell
		if len(clusters) > MaxViewFeatures {
			// Cannot happen with the cell clusterCell chose; never send more.
			clusters = clusters[:MaxViewFeatures]
		}
		for _, c := range clusters {
			b, err := clusterFeature(c)
			if err != nil {
				return err
			}
			features = append(features, b)
		}
	}
	h.NumberReturned = len(features)
	return writeFeatureCollection(w, h, features)
}

// clusterCell is the grid cell in degrees for a zoom: a 256-pixel tile
// spans 360/2^zoom degrees, so a quarter of that is about 64 pixels. The
// cell grows until the box cannot hold more than MaxViewFeatures cells.
func clusterCell(b *geo.BBox, zoom float64) float64 {
	cell := 360 / math.Pow(2, zoom) / 4
	width, height := 360.0, 180.0
	if b != nil {
		width, height = b.E-b.W, b.N-b.S
		if width < 0 {
			width += 360
		}
	}
	for (math.Ceil(width/cell)+1)*(math.Ceil(height/cell)+1) > MaxViewFeatures {
		cell *= 2
	}
	return cell
}

func clusterFeature(c geo.Cluster) ([]byte, error) {
	types, err := json.Marshal(c.Types)
	if err != nil {
		return nil, err
	}
	b := []byte(`{"type":"Feature","geometry":`)
	b = geo.AppendGeometry(b, orb.Point{c.Lon, c.Lat})
	b = append(b, `,"properties":{"cluster":true,"count":`...)
	b = strconv.AppendInt(b, c.Count, 10)
	b = append(b, `,"types":`...)
	b = append(b, types...)
	return append(b, "}}"...), nil
}
