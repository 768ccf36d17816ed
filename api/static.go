package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"nexus/geo"
)

// staticFiles serves the map: the page, its scripts and styles, and the
// front-end libraries. The files hold no data, so they are open even on a
// private server (the page must load to read #token=). Every file has an
// ETag from its content; the application's own files are revalidated on
// each load (no-cache), the pinned libraries under vendor/ are cached.
type staticFiles struct {
	fsys  fs.FS
	csp   string // the page's Content-Security-Policy
	mu    sync.Mutex
	etags map[string]string
}

// Content types by extension, so they do not depend on the system's MIME
// tables.
var staticTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".geojson":     "application/geo+json",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".gif":         "image/gif",
	".ico":         "image/x-icon",
	".webp":        "image/webp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/plain; charset=utf-8",
	".webmanifest": "application/manifest+json",
}

// staticRoutes registers one route per top-level entry of the map's files,
// so that any other path is a plain 404 problem.
func (s *Server) staticRoutes() {
	notBuilt := func(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("Nexus: the map is not built into this server (run `make build`, which runs static/build.sh).\nThe API is up at /api.\n"))
		return nil
	}
	if s.cfg.Static == nil {
		s.handle("GET /{$}", open, notBuilt)
		return
	}
	s.files = &staticFiles{fsys: s.cfg.Static, etags: map[string]string{}, csp: contentSecurityPolicy(s.cfg.Tiles)}
	entries, err := fs.ReadDir(s.cfg.Static, ".")
	if err != nil {
		s.log.Error("map files", "err", err)
	}
	hasIndex := false
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || strings.ContainsAny(name, "{}[]* \t") || name == "api" || name == "healthz" || name == "metrics" {
			continue
		}
		switch {
		case e.IsDir():
			s.handle("GET /"+name+"/", open, s.files.serve)
		case name == "index.html":
			hasIndex = true
			s.handle("GET /{$}", open, s.files.serve)
			s.handle("GET /index.html", open, s.files.serve)
		default:
			s.handle("GET /"+name, open, s.files.serve)
		}
	}
	if !hasIndex {
		s.handle("GET /{$}", open, notBuilt)
	}
}

func (sf *staticFiles) serve(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || strings.HasSuffix(r.URL.Path, "/") {
		name = path.Join(name, "index.html")
	}
	notFound := errorf(geo.ENOTFOUND, "the map has no file %s", clip(r.URL.Path))
	if !fs.ValidPath(name) {
		return notFound
	}
	b, err := fs.ReadFile(sf.fsys, name)
	if err != nil {
		return notFound
	}
	h := w.Header()
	ct, ok := staticTypes[path.Ext(name)]
	if !ok {
		ct = mime.TypeByExtension(path.Ext(name))
	}
	if ct == "" {
		ct = http.DetectContentType(b)
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", sf.etag(name, b))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasSuffix(name, ".html") {
		h.Set("Content-Security-Policy", sf.csp)
		h.Set("X-Frame-Options", "DENY")
	}
	if strings.HasPrefix(name, "vendor/") {
		h.Set("Cache-Control", "public, max-age=86400")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	// A name ending in index.html would be redirected by ServeContent's
	// caller, not by ServeContent itself: serve the bytes as they are.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return nil
}

// etag returns the entity tag of a file, computed once.
func (sf *staticFiles) etag(name string, b []byte) string {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if t, ok := sf.etags[name]; ok {
		return t
	}
	sum := sha256.Sum256(b)
	t := `"` + hex.EncodeToString(sum[:8]) + `"`
	sf.etags[name] = t
	return t
}

// contentSecurityPolicy is the page's policy: scripts, styles, fonts and
// data only from this server (Leaflet sets styles from script, and the map
// draws images from data and blob URLs); images also from the online tile
// layer when there is one. Record text that slipped into markup could not
// run a script.
func contentSecurityPolicy(tiles string) string {
	img := "'self' data: blob:"
	if u, err := url.Parse(tiles); tiles != "" && err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		host := strings.NewReplacer("{s}", "*", "{S}", "*").Replace(u.Host)
		if !strings.ContainsAny(host, "{} ;'") {
			img += " " + u.Scheme + "://" + host
		}
	}
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src " + img +
		"; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}
