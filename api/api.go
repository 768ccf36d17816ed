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
	"net/netip"
	"net/url"
	"strings"
	"time"

	"nexus/export"
	"nexus/geo"
	"nexus/geocode"
	"nexus/ingest"
	"nexus/limit"
	"nexus/overview"
)

// Store is what the API needs of the database. It is written in the
// vocabulary of geo alone, so that any engine can stand behind it: the
// embedded SQLite store (nexus/store) or a shared PostgreSQL. Errors are
// *geo.Error with the codes each method names; any other error is
// internal (500).
//
// Every method may also return the context's error, and every write
// EFULL when the storage has no room left (nothing of it kept).
type Store interface {
	// ImportBatch (ingest.Batcher) writes records in one transaction,
	// matched by external_id: EINVALID for a record that breaks a rule,
	// EDUPLICATE when two records would share a key; either fails the
	// whole batch.
	ingest.Batcher
	// WatchStore is the watch areas and their alerts.
	WatchStore

	// Get returns one record; ENOTFOUND when there is no such record.
	Get(ctx context.Context, c geo.Collection, id string) (geo.Stored, error)
	// Query returns a page of the records matching the filter after the
	// cursor, in storage order, with the number matched; EMALFORMED for
	// a filter the engine cannot answer (a near_route to no route).
	Query(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int) (geo.Page, error)
	// Count is how many records match; EMALFORMED as Query.
	Count(ctx context.Context, c geo.Collection, f geo.Filter) (int64, error)
	// PageOnly is Query without the count (Matched is -1 unless this
	// first page holds every match), testing a box while reading in
	// storage order when scan is set; EMALFORMED as Query.
	PageOnly(ctx context.Context, c geo.Collection, f geo.Filter, after int64, limit int, scan bool) (geo.Page, error)
	// Features returns the stored Features of the ids that exist, in no
	// particular order; ids that do not exist are left out, no error.
	Features(ctx context.Context, c geo.Collection, ids []string) ([][]byte, error)
	// Create stores a new record at version 1: EINVALID for a record that
	// breaks a rule, EDUPLICATE when another record of the collection
	// holds its external_id.
	Create(ctx context.Context, actor string, r geo.Record) (geo.Stored, error)
	// Replace stores r as the record's new state (Unchanged, writing
	// nothing, when it is the stored one): ENOTFOUND, EINVALID, ECONFLICT
	// when expect > 0 and the record is at another version (checked
	// first), EDUPLICATE when another record holds r's external_id.
	Replace(ctx context.Context, actor, id string, expect int64, r geo.Record) (geo.Stored, geo.Outcome, error)
	// Delete removes a record, keeping its last state in the change log:
	// ENOTFOUND, ECONFLICT when expect > 0 and the version moved on.
	Delete(ctx context.Context, actor string, c geo.Collection, id string, expect int64) error
	// Restore stores r, the content of an earlier version of the record,
	// as Replace does, and its change names that version: the codes of
	// Replace.
	Restore(ctx context.Context, actor, id string, expect, version int64, r geo.Record) (geo.Stored, geo.Outcome, error)
	// History pages a record's changes newest first, within
	// geo.MaxHistoryBytes; ENOTFOUND only when the id never existed.
	History(ctx context.Context, c geo.Collection, id string, before int64, limit int) (geo.HistoryPage, error)
	// Export streams the matching records of the collections as one
	// GeoJSON FeatureCollection from one snapshot, returning how many; no
	// codes of its own.
	Export(ctx context.Context, w io.Writer, cols []geo.Collection, f geo.Filter) (int64, error)
	// Scan (export.Source) reads the counts and records of an export
	// from one snapshot; no codes of its own.
	export.Source
	// Extent is the space and time a collection covers; no codes.
	Extent(ctx context.Context, c geo.Collection) (geo.Extent, error)
	// Stats counts the matching records by country, type, actor, year,
	// month or period, largest first; EMALFORMED for another by, or
	// period of routes.
	Stats(ctx context.Context, c geo.Collection, f geo.Filter, by string) ([]geo.Count, error)
	// Clusters groups the matching incidents in cells of cell degrees;
	// EMALFORMED as Query.
	Clusters(ctx context.Context, f geo.Filter, cell float64) ([]geo.Cluster, error)
	// Authenticate returns who holds a token; EUNAUTHORIZED for one that
	// is not known, was revoked or has expired.
	Authenticate(ctx context.Context, token string) (geo.Principal, error)
	// CreateTokenUntil makes a token (the zero time never expires) and
	// returns its secret, stored hashed: EINVALID for a bad name, role or
	// a past expiry, EDUPLICATE for a name in use.
	CreateTokenUntil(ctx context.Context, name, role string, expires time.Time) (string, error)
	// Tokens lists every token, without secrets; no codes.
	Tokens(ctx context.Context) ([]geo.TokenInfo, error)
	// RevokeToken forgets a token; ENOTFOUND when there is none by that
	// name.
	RevokeToken(ctx context.Context, name string) error
	// Ping reports whether the database answers and takes writes; EFULL
	// while writes fail for want of room.
	Ping(ctx context.Context) error
	// Size is the database's size in bytes; no codes.
	Size(ctx context.Context) (int64, error)
	// LastSeq is the newest change-log seq, 0 for none; no codes.
	LastSeq(ctx context.Context) (int64, error)

	// Resolve prepares a parsed filter: actor aliases and prefixes are
	// expanded, country names become codes, a near_route gets its path;
	// EMALFORMED for what cannot be resolved.
	Resolve(ctx context.Context, f *geo.Filter) error
	// Aliases is the alias table; no codes.
	Aliases(ctx context.Context) (*geo.Aliases, error)
	// PutAlias stores an alias (or points it at a new name), returning
	// it and whether it is new; EINVALID for an alias of itself, or a
	// name other aliases point at.
	PutAlias(ctx context.Context, actor string, a geo.Alias) (geo.Alias, bool, error)
	// DeleteAlias removes an alias; ENOTFOUND when there is none.
	DeleteAlias(ctx context.Context, alias string) error
	// Actors lists every actor under its canonical name, most records
	// first; no codes.
	Actors(ctx context.Context) ([]*geo.ActorSummary, error)
	// Neighbours lists the actors sharing records with the actor of these
	// spellings, the most connected first; no codes.
	Neighbours(ctx context.Context, spellings []string, limit int) ([]*geo.Neighbour, error)
	// ActorTimeline counts the actor's incidents by month of their
	// start, in time order; no codes.
	ActorTimeline(ctx context.Context, spellings []string) ([]geo.Count, error)
	// ActorRecords returns up to limit Features of the collection that
	// name the actor; no codes.
	ActorRecords(ctx context.Context, c geo.Collection, spellings []string, limit int) ([][]byte, error)
}

// Geocoder is what the API needs of the gazetteer; *geocode.Gazetteer
// satisfies it.
type Geocoder interface {
	Forward(q string, limit int) ([]geocode.Place, error)
	Reverse(lon, lat float64) (geocode.Reverse, error)
	Place(name, country string) (lon, lat float64, precision string, ok bool)
	Labels(z, x, y int) []geocode.Label
}

// Overview is what the API needs of the in-memory overview of the
// incidents; *overview.Index satisfies it. It answers every filter but
// corridors and filter expressions (overview.Handles); full text through
// the matches of the text, which it asks the store for once.
type Overview interface {
	View(ctx context.Context, f geo.Filter, level int) ([]overview.Cluster, int64, error)
	Count(ctx context.Context, f geo.Filter) (int64, error)
	Stats(ctx context.Context, f geo.Filter, by string) ([]overview.Count, error)
	Select(ctx context.Context, f geo.Filter, limit int) ([]overview.Ref, bool, error)
	// Answers reports whether the index answers the filter (the store
	// answers the others).
	Answers(ctx context.Context, f geo.Filter) bool
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

	// Revoked is told the name of a token revoked through the API, to close
	// what it holds open (the websocket hub's connections); may be nil.
	Revoked func(name string)

	// RequestTimeout bounds an ordinary request: reading its body, its
	// queries (past it they are interrupted and the answer is 503) and
	// writing its answer. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// StreamIdle is how long a stream (an export's answer, an import's
	// body) may move no data before it is cut; streams have no total
	// deadline. 0 means DefaultStreamIdle.
	StreamIdle time.Duration
	// MaxExports is how many exports may stream at once; more are answered
	// 503 with Retry-After, so that exports never hold every database
	// connection. 0 means DefaultMaxExports.
	MaxExports int

	// Limits are the rate limits per caller; the zero value limits
	// nothing (the server's flags set DefaultWriteRate and
	// DefaultReadRate).
	Limits Limits
	// TrustedProxies are the peers whose X-Forwarded-For header names the
	// client; from anyone else the header is ignored. The client's address
	// is what rate limits count by and what the log shows.
	TrustedProxies []netip.Prefix
}

// Defaults of the budgets in Config.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultStreamIdle     = 30 * time.Second
	DefaultMaxExports     = 4
)

// Server is the HTTP handler of Nexus.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	files   *staticFiles
	basemap *basemap
	exports chan struct{} // one slot per export streaming
	writes  *limit.Rates  // Limits.Writes per caller
	reads   *limit.Rates  // Limits.Reads per caller
	// viewCache keeps the incidents views sent lately.
	viewCache *featureCache
}

// New returns the server for cfg.
func New(cfg Config) *Server {
	if cfg.MaxFeature <= 0 {
		cfg.MaxFeature = DefaultMaxFeature
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.StreamIdle <= 0 {
		cfg.StreamIdle = DefaultStreamIdle
	}
	if cfg.MaxExports <= 0 {
		cfg.MaxExports = DefaultMaxExports
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), exports: make(chan struct{}, cfg.MaxExports),
		writes: limit.NewRates(cfg.Limits.Writes), reads: limit.NewRates(cfg.Limits.Reads), viewCache: newFeatureCache(viewCacheBytes)}
	s.metrics = newMetrics(cfg)
	s.basemap = newBasemap(geocode.BasemapGeoJSON())
	s.routes()
	return s
}

// access is what a route asks of the caller.
type access int

const (
	open   access = iota // anyone, token or not (health, metrics, the map's files)
	read                 // reading data: open unless Private, then viewer
	write                // changing data: editor
	live                 // the websocket: as read, and the token may be in ?token=
	manage               // managing tokens: admin
)

// handler is a route's function: it writes its answer, or returns an
// error for fail to write.
type handler func(w http.ResponseWriter, r *http.Request, p geo.Principal) error

// routes registers every endpoint.
func (s *Server) routes() {
	s.handle("GET /api", read, s.landing)
	s.handle("GET /api/{$}", read, s.landing)
	s.handle("GET /api/openapi.json", read, s.openapi)
	s.handle("GET /api/conformance", read, s.conformance)
	s.handle("GET /api/collections", read, s.collections)
	s.handle("GET /api/collections/{c}", read, s.collection)
	s.handle("GET /api/collections/{c}/items", read, s.items)
	s.handle("GET /api/collections/{c}/queryables", read, s.queryables)
	s.handle("GET /api/collections/{c}/tiles/{tms}/{z}/{y}/{x}", read, s.tile)
	s.handle("POST /api/collections/{c}/items", write, s.createItem)
	s.handle("GET /api/collections/{c}/items/{id}", read, s.item)
	s.handle("PUT /api/collections/{c}/items/{id}", write, s.replaceItem)
	s.handle("PATCH /api/collections/{c}/items/{id}", write, s.patchItem)
	s.handle("DELETE /api/collections/{c}/items/{id}", write, s.deleteItem)
	s.handle("GET /api/collections/{c}/items/{id}/history", read, s.history)
	s.handle("POST /api/collections/{c}/items/{id}/restore", write, s.restore)
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
	// The vocabulary is open, as the map's files are: it holds no data.
	s.handle("GET /api/vocabulary", open, s.vocabulary)
	s.handle("GET /api/basemap.geojson", read, s.basemapGeoJSON)
	// The offline basemap's tiles and labels hold no data, as the map's files.
	s.handle("GET /api/basemap/tiles/{z}/{x}/{y}", open, s.basemapTile)
	s.handle("GET /api/basemap/labels/{z}/{x}/{y}", open, s.basemapLabels)
	s.watchRoutes()
	if s.cfg.Live != nil {
		s.handle("GET /api/live", live, func(w http.ResponseWriter, r *http.Request, p geo.Principal) error {
			s.cfg.Live.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
			return nil
		})
	}
	// /healthz is open even with Private: it holds no data and is read by
	// probes that carry no token.
	s.handle("GET /api/tokens", manage, s.tokens)
	s.handle("POST /api/tokens", manage, s.createToken)
	s.handle("DELETE /api/tokens/{name}", manage, s.revokeToken)
	s.handle("GET /healthz", open, s.healthz)
	// With Private, /metrics needs a token too: it tells how much data
	// there is and who is busy.
	metricsAccess := open
	if s.cfg.Private {
		metricsAccess = read
	}
	mh := s.metrics.handler()
	s.handle("GET /metrics", metricsAccess, func(w http.ResponseWriter, r *http.Request, _ geo.Principal) error {
		mh.ServeHTTP(w, r)
		return nil
	})
	s.staticRoutes()
}

// handle registers a route: the caller is authorised for the access, then
// h runs; an error it returns is written by fail.
func (s *Server) handle(pattern string, need access, h handler) {
	stream := isStream(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !stream {
			// An ordinary request has one deadline for everything; a
			// stream sets its own as data moves.
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		} else {
			// The stream's writer and reader set deadlines as data moves.
			// A GET has nothing more to read: the server's watch for a
			// client that closes must not time out while it streams.
			rc := http.NewResponseController(w)
			rc.SetWriteDeadline(time.Time{})
			if r.Method == http.MethodGet {
				rc.SetReadDeadline(time.Time{})
			} else {
				rc.SetReadDeadline(time.Now().Add(s.cfg.StreamIdle))
			}
		}
		p, err := s.authorize(r, need)
		if rw, ok := w.(*responseWriter); ok && p.Name != anonymous.Name {
			rw.actor = p.Name
		}
		if err == nil {
			err = s.checkRate(r, pattern, p)
		}
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			err = h(w, r, p)
		}
		if err == nil {
			return
		}
		if dl, ok := r.Context().Deadline(); ok && !stream && r.Context().Err() != nil && !time.Now().Before(dl) {
			err = errorf(eTimeout, "the request took longer than the limit of %s; narrow the filter (a smaller bbox, fewer words in q, a shorter datetime) and try again", s.cfg.RequestTimeout)
		}
		if rw, ok := w.(*responseWriter); ok && rw.status != 0 {
			// The answer has started (a stream): too late for a problem.
			// Cut the connection, so the client sees a truncated answer
			// rather than one that ends as if complete.
			if rw.clientGone {
				rw.logStatus = StatusClientClosed
			} else if r.Context().Err() == nil {
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
	r = s.withClientAddr(r)
	gz := newGzipWriter(w, r)
	rw := &responseWriter{ResponseWriter: gz, s: s, r: r}
	// Every request starts with deadlines of its own (a kept-alive
	// connection would otherwise carry the last one's): reading the body
	// and writing the answer within the request budget. Streams move
	// them on as data moves.
	rc := http.NewResponseController(w)
	// The connection's deadlines come a little after the request's own,
	// so that it ends by its context (and answers 503), not by a cut.
	rc.SetWriteDeadline(start.Add(s.cfg.RequestTimeout + 2*writeGrace))
	// The read deadline bounds a body. A request without one has nothing
	// to read: the server watches its connection for the client leaving
	// from the start, and a deadline that passed during a long answer
	// would cancel the connection's later requests too.
	if r.Body == nil || r.Body == http.NoBody {
		rc.SetReadDeadline(time.Time{})
	} else {
		rc.SetReadDeadline(start.Add(s.cfg.RequestTimeout + writeGrace))
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// url.Values drops what it cannot parse, and so would every
		// filter in it: a malformed query string answers 400 instead of
		// everything.
		defer s.finish(rw, r, start)
		s.fail(rw, r, errorf(geo.EMALFORMED, "the query string is malformed: %s", clip(queryError(err))))
		return
	}
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
	if rw.logStatus != 0 {
		st = rw.logStatus
	}
	route := routeOf(r)
	s.metrics.observe(route, st, d)
	level := slog.LevelInfo
	switch {
	case st == StatusClientClosed:
	case st == http.StatusServiceUnavailable:
		level = slog.LevelWarn // a budget or a limit at work, not a fault
	case st >= 500:
		level = slog.LevelError
	}
	attrs := append([]slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", st),
		slog.Duration("duration", d),
		slog.Int64("bytes", rw.bytes),
		slog.String("remote", ClientAddr(r)),
	}, rw.attrs...)
	if rw.actor != "" {
		attrs = append(attrs, slog.String("actor", rw.actor))
	}
	if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "filter=") {
		// The filter expression a GIS client pushed down: it holds no
		// token, and saying what was asked is what the log is for.
		if v := r.URL.Query()["filter"]; len(v) > 0 {
			f := v[0]
			if len(f) > 2000 {
				f = f[:2000] + "…"
			}
			attrs = append(attrs, slog.String("filter", f))
		}
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// writeGrace is how much longer than the request budget the answer may
// take to write: a request cut at its budget still gets its 503.
const writeGrace = 5 * time.Second

// isStream tells the routes whose body or answer is a stream of any
// length: they have an idle timeout instead of a total deadline.
func isStream(pattern string) bool {
	return strings.HasPrefix(pattern, "GET /api/export") || pattern == "POST /api/import" || pattern == "GET /api/live"
}

// queryError is the reason url.ParseQuery gives, without its wrapping.
func queryError(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, "invalid URL escape "); ok {
		return "invalid percent-escape " + after
	}
	return msg
}

// routeOf is the pattern that matched the request, the label of its log
// line and metrics; "unmatched" when none did.
func routeOf(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// The real gazetteer and overview are what the interfaces describe.
var (
	_ Geocoder = (*geocode.Gazetteer)(nil)
	_ Overview = (*overview.Index)(nil)
)
