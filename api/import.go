package api

import (
	"bufio"
	"log/slog"
	"net/http"

	"nexus/geo"
	"nexus/ingest"
	"nexus/store"
)

// importTypes are the media types POST /api/import reads; the importer
// tells GeoJSON, GeoJSON sequences and CSV layouts apart by their content.
var importTypes = []string{typeGeoJSON, typeJSON, "text/csv", typeGeoJSONs, "application/x-ndjson", "application/octet-stream"}

// importData answers POST /api/import: the body (GeoJSON or CSV, of any
// size) is streamed into the importer, and the report is the answer.
// Records with an external_id already stored update it.
func (s *Server) importData(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return err
	}
	if err := checkMediaType(r, importTypes...); err != nil {
		return err
	}
	opt := ingest.Options{Actor: p.Name}
	if s.cfg.Geocoder != nil {
		opt.Geocode = s.cfg.Geocoder.Place
	}
	rep, err := ingest.Import(r.Context(), s.cfg.Store, bufio.NewReaderSize(r.Body, 64<<10), opt)
	logAttrs(w, slog.String("format", rep.Format), slog.Int64("created", rep.Created), slog.Int64("updated", rep.Updated),
		slog.Int64("unchanged", rep.Unchanged), slog.Int64("rejected", rep.RejectedCount))
	if err != nil {
		if code := geo.ErrorCode(err); code != geo.EINTERNAL && rep.Created+rep.Updated+rep.Unchanged > 0 {
			return errorf(code, "%s; before that, %d records were created, %d updated and %d left unchanged, and they are kept",
				geo.ErrorMessage(err), rep.Created, rep.Updated, rep.Unchanged)
		}
		return err
	}
	if rep.Rejected == nil {
		rep.Rejected = []ingest.Rejected{}
	}
	return writeJSON(w, http.StatusOK, typeJSON, rep)
}
