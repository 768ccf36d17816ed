package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"nexus/store"
)

// export answers GET /api/export.geojson: every record of the collections
// that matches, as one FeatureCollection streamed from the database to the
// client in constant memory.
func (s *Server) export(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	q := r.URL.Query()
	if err := checkParams(q, exportParams); err != nil {
		return err
	}
	f, err := s.filter(r.Context(), q)
	if err != nil {
		return err
	}
	cols, err := parseCollections(q)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", typeGeoJSON)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="nexus-export-%s.geojson"`, time.Now().UTC().Format("20060102")))
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return nil
	}
	n, err := s.cfg.Store.Export(r.Context(), flushWriter{w}, cols, f)
	logAttrs(w, slog.Int64("features", n))
	return err
}

// flushWriter sends every write on to the client at once: the store
// buffers its output in large blocks, and each block should leave now
// rather than wait in the server's buffers.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err == nil {
		err = http.NewResponseController(f.w).Flush()
	}
	return n, err
}
