// Package api is Nexus over HTTP: OGC API – Features (Part 1 Core with
// GeoJSON, Part 4 for writes) for incidents and routes, the streamed export
// and the import, geocoding, statistics, the map's clustered view, the map's
// files, health and metrics. Errors are problem+json, produced by one
// function (fail) from the error codes of package geo. There is no SQL here:
// the database is reached through the Store interface.
package api

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"nexus/export"
	"nexus/geo"
	"nexus/geocode"
	"nexus/ingest"
	"nexus/overview"
	"nexus/store"
)

// Store is what the API needs of the database; *store.DB satisfies it.
type Store interface {
	ingest.Batcher
	WatchStore

	Get(ctx context.Context, c geo.Collection, id string) (store.Stored, error)
	Query(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int) (store.Page, error)
	Count(ctx context.Context, c geo.Collection, f geo.Filter) (int64, error)
	Create(ctx context.Context, actor string, r geo.Record) (store.Stored, error)
	Replace(ctx context.Context, actor, id string, expect int64, r geo.Record) (store.Stored, store.Outcome, error)
	Delete(ctx context.Context, actor string, c geo.Collection, id string, expect int64) error
	History(ctx context.Context, c geo.Collection, id string) ([]geo.Change, error)
	Export(ctx context.Context, w io.Writer, cols []geo.Collection, f geo.Filter) (int64, error)
	export.Source
	Extent(ctx context.Context, c geo.Collection) (store.Extent, error)
	Stats(ctx context.Context, c geo.Collection, f geo.Filter, by string) ([]store.Count, error)
	Clusters(ctx context.Context, f geo.Filter, cell float64) ([]store.Cluster, error)
	Authenticate(ctx context.Context, token string) (store.Principal, error)
	Ping(ctx context.Context) error
	Size(ctx context.Context) (int64, error)
	LastSeq(ctx context.Context) (int64, error)

	// Resolve prepares a parsed filter: actor aliases are expanded.
	Resolve(ctx context.Context, f *geo.Filter) error
	Aliases(ctx context.Context) (*geo.Aliases, error)
	PutAlias(ctx context.Context, actor string, a geo.Alias) (geo.Alias, bool, error)
	DeleteAlias(ctx context.Context, alias string) error
	Actors(ctx context.Context) ([]*store.ActorSummary, error)
	Neighbours(ctx context.Context, spellings []string, limit int) ([]*store.Neighbour, error)
}

// Geocoder is what the API needs of the gazetteer; *geocode.Gazetteer
// satisfies it.
type Geocoder interface {
	Forward(q string, limit int) ([]geocode.Place, error)
	Reverse(lon, lat float64) (geocode.Reverse, error)
	Place(name, country string) (lon, lat float64, precision string, ok bool)
}

// Overview is what the API needs of the in-memory overview of the
// incidents; *overview.Index satisfies it. It answers every filter but
// full text (overview.Handles).
type Overview interface {
	View(ctx context.Context, f geo.Filter, level int) ([]overview.Cluster, int64, error)
	Count(ctx context.Context, f geo.Filter) (int64, error)
	Stats(ctx context.Context, f geo.Filter, by string) ([]overview.Count, error)
}

// LiveStats reports on the websocket hub for /metrics.
type LiveStats interface {
	Clients() int
	Seq() int64
}

// DefaultMaxFeature is the default body limit of one Feature, in bytes.
const DefaultMaxFeature = 4 << 20

// Config is what the server is made of.
type Config struct {
	Store     Store
	Live      http.Handler // the websocket hub at /api/live; nil answers 404
	LiveStats LiveStats    // may be nil
	Geocoder  Geocoder     // nil answers 503 at /api/geocode and /api/reverse
	Static    fs.FS        // the map's files, index.html at the root; nil says the map is not built
	// Private makes every /api endpoint and /api/live need a token (viewer
	// at least). The map's shell files, /healthz and /metrics stay open:
	// they hold no data, and the page must load to read #token=.
	Private bool
	// Overview answers the map's views and the statistics of incidents
	// from memory; nil leaves them to the Store.
	Overview Overview
	Tiles    string // online tile URL template, reported by /api/config
	// Sample describes the sample data (counts, years, sources), reported
	// by /api/config for the map's about panel; nil reports null.
	Sample     any
	Logger     *slog.Logger
	MaxFeature int64 // body limit of one Feature in bytes; 0 means DefaultMaxFeature
	// PrivateWebhooks accepts webhook URLs over plain http and to
	// loopback or private addresses (tests, closed networks).
	PrivateWebhooks bool
}

// Server is the HTTP handler of Nexus.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	files   *staticFiles
	basemap *basemap
}

// New returns the server for cfg.
func New(cfg Config) *Server {
	if cfg.MaxFeature <= 0 {
		cfg.MaxFeature = DefaultMaxFeature
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.metrics = newMetrics(cfg)
	s.basemap = newBasemap(geocode.BasemapGeoJSON())
	s.routes()
	return s
}

// access is what a route asks of the caller.
type access int

const (
	open  access = iota // anyone, token or not (health, metrics, the map's files)
	read                // reading data: open unless Private, then viewer
	write               // changing data: editor
	live                // the websocket: as read, and the token may be in ?token=
)

// handler is a route's function: it writes its answer, or returns an
// error for fail to write.
type handler func(w http.ResponseWriter, r *http.Request, p store.Principal) error

// routes registers every endpoint.
func (s *Server) routes() {
	s.handle("GET /api", read, s.landing)
	s.handle("GET /api/{$}", read, s.landing)
	s.handle("GET /api/openapi.json", read, s.openapi)
	s.handle("GET /api/conformance", read, s.conformance)
	s.handle("GET /api/collections", read, s.collections)
	s.handle("GET /api/collections/{c}", read, s.collection)
	s.handle("GET /api/collections/{c}/items", read, s.items)
	s.handle("POST /api/collections/{c}/items", write, s.createItem)
	s.handle("GET /api/collections/{c}/items/{id}", read, s.item)
	s.handle("PUT /api/collections/{c}/items/{id}", write, s.replaceItem)
	s.handle("PATCH /api/collections/{c}/items/{id}", write, s.patchItem)
	s.handle("DELETE /api/collections/{c}/items/{id}", write, s.deleteItem)
	s.handle("GET /api/collections/{c}/items/{id}/history", read, s.history)
	for _, f := range export.Formats {
		s.handle("GET /api/export."+string(f), read, s.export)
	}
	s.handle("POST /api/import", write, s.importData)
	s.handle("GET /api/geocode", read, s.geocode)
	s.handle("GET /api/reverse", read, s.reverse)
	s.handle("GET /api/stats", read, s.stats)
	s.handle("GET /api/view", read, s.view)
	s.handle("GET /api/config", read, s.config)
	s.handle("GET /api/actors", read, s.actors)
	s.handle("GET /api/actors/{name}", read, s.actorProfile)
	s.handle("GET /api/aliases", read, s.aliasList)
	s.handle("POST /api/aliases", write, s.aliasPut)
	s.handle("DELETE /api/aliases/{alias}", write, s.aliasDelete)
	s.handle("GET /api/basemap.geojson", read, s.basemapGeoJSON)
	s.watchRoutes()
	if s.cfg.Live != nil {
		s.handle("GET /api/live", live, func(w http.ResponseWriter, r *http.Request, p store.Principal) error {
			s.cfg.Live.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
			return nil
		})
	}
	// /healthz and /metrics are open even with Private: they hold no data
	// and are read by probes and scrapers that carry no token.
	s.handle("GET /healthz", open, s.healthz)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.staticRoutes()
}

// handle registers a route: the caller is authorised for the access, then
// h runs; an error it returns is written by fail.
func (s *Server) handle(pattern string, need access, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authorize(r, need)
		if rw, ok := w.(*responseWriter); ok && p.Name != anonymous.Name {
			rw.actor = p.Name
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err == nil {
			return
		}
		if rw, ok := w.(*responseWriter); ok && rw.status != 0 {
			// The answer has started (a stream): too late for a problem.
			// Cut the connection, so the client sees a truncated answer
			// rather than one that ends as if complete.
			if r.Context().Err() == nil {
				s.log.Error("response failed after it started", "method", r.Method, "route", r.Pattern, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
		s.fail(w, r, err)
	})
}

// ServeHTTP implements http.Handler: it recovers from panics, logs one
// line per request and counts it, and compresses JSON answers for clients
// that accept gzip, around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	gz := newGzipWriter(w, r)
	rw := &responseWriter{ResponseWriter: gz, s: s, r: r}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				s.finish(rw, r, start)
				panic(v)
			}
			s.log.Error("panic", "method", r.Method, "route", routeOf(r), "panic", v, "stack", stack())
			if rw.status == 0 {
				s.fail(rw, r, errorf(geo.EINTERNAL, "panic"))
			}
		}
		gz.close()
		s.finish(rw, r, start)
	}()
	s.mux.ServeHTTP(rw, r)
}

// finish logs and counts a request. The query string and the
// Authorization header are never logged: they may hold a token.
func (s *Server) finish(rw *responseWriter, r *http.Request, start time.Time) {
	d := time.Since(start)
	st := rw.status
	if st == 0 {
		st = http.StatusOK
	}
	route := routeOf(r)
	s.metrics.observe(route, st, d)
	level := slog.LevelInfo
	if st >= 500 {
		level = slog.LevelError
	}
	attrs := append([]slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", st),
		slog.Duration("duration", d),
		slog.Int64("bytes", rw.bytes),
		slog.String("remote", r.RemoteAddr),
	}, rw.attrs...)
	if rw.actor != "" {
		attrs = append(attrs, slog.String("actor", rw.actor))
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// routeOf is the pattern that matched the request, the label of its log
// line and metrics; "unmatched" when none did.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// The real database and gazetteer are what the interfaces describe.
var (
	_ Store    = (*store.DB)(nil)
	_ Geocoder = (*geocode.Gazetteer)(nil)
	_ Overview = (*overview.Index)(nil)
)
