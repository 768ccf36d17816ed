package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"nexus/api"
	"nexus/data"
	"nexus/geo"
	"nexus/geocode"
	"nexus/ingest"
	"nexus/limit"
	"nexus/live"
	"nexus/overview"
	"nexus/pgstore"
	"nexus/static"
	"nexus/store"
	"nexus/watch"
)

// The SQLite store is the engine behind the API, the hub, the overview
// and the watches.
var _ api.Store = (*store.DB)(nil)

// ownerOf names the user of a websocket request: the token's name, ""
// without a token.
func ownerOf(r *http.Request) string {
	if p := api.PrincipalOf(r.Context()); p.Role != "" {
		return p.Name
	}
	return ""
}

// Main is the server program: ParseFlags, Run, Close. Tests run the real
// program on ":0" with a temporary database.
type Main struct {
	Addr    string
	DB      string
	Seed    bool
	Tiles   string
	Private bool
	Origins string
	// PrivateWebhooks allows webhooks over plain http and to loopback or
	// private addresses.
	PrivateWebhooks bool
	// Deliver tunes webhook deliveries (tests shorten the waits).
	Deliver watch.DeliverOptions

	// Budgets: see api.Config. IdleTimeout closes kept-alive connections
	// that send no new request.
	RequestTimeout time.Duration
	StreamIdle     time.Duration
	IdleTimeout    time.Duration
	MaxExports     int

	// Rate limits per caller (a token, or an address without one), in
	// events a second; bursts are twice as many. 0 turns a limit off.
	WriteRate     float64 // requests that change something
	ReadRate      float64 // exports, views, statistics, histories
	SubscribeRate float64 // websocket subscribes
	ReplayRate    float64 // changes replayed from the change log to websockets
	// MaxLivePerAddress bounds the websockets open at once from one
	// address; 0 is no bound.
	MaxLivePerAddress int
	// LiveQueue is how many frames a websocket may have queued before
	// it is closed as a slow consumer; 0 is the hub's default.
	LiveQueue int
	// TrustedProxy lists the CIDR prefixes of proxies whose
	// X-Forwarded-For names the client.
	TrustedProxy string
	// TLSCert and TLSKey are PEM files of a certificate (its chain) and
	// its key: with both the server speaks HTTPS, and its websocket wss.
	TLSCert, TLSKey string

	Stdout, Stderr io.Writer
	Logger         *slog.Logger

	// URL is the base URL the server listens on, set by Run.
	URL string

	db   database
	hub  *live.Hub
	eval *watch.Evaluator
	// overview answers views and statistics from memory; it follows the
	// change log until overviewDone is closed.
	overview     *overview.Index
	overviewDone chan struct{}
	server       *http.Server
	stop         context.CancelFunc
	workers      sync.WaitGroup // the evaluator and the deliverer
	done         chan error
}

// Default rate limits of the command line, per caller.
const (
	DefaultSubscribeRate     = 50     // subscribes a second: the time slider's Play sends up to 10
	DefaultReplayRate        = 10_000 // changes replayed from the log a second: a map resuming after a minute away takes far fewer
	DefaultMaxLivePerAddress = 500    // websockets at once from one address
)

// Connection limits of the HTTP server.
const (
	ReadHeaderTimeout  = 10 * time.Second // to send a request's headers
	DefaultIdleTimeout = 60 * time.Second // between requests on a kept-alive connection
	MaxHeaderBytes     = 64 << 10         // bytes of request headers
)

// TokenCheckInterval is how often the tokens of open websockets are
// checked again: a token revoked by another process on the same database
// file, or one that expired, closes its websockets within it.
const TokenCheckInterval = time.Second

// NewMain returns a Main with the defaults of the command line.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Addr: ":8080", DB: "nexus.db", Seed: true, Stdout: stdout, Stderr: stderr,
		RequestTimeout: api.DefaultRequestTimeout, StreamIdle: api.DefaultStreamIdle, IdleTimeout: DefaultIdleTimeout, MaxExports: api.DefaultMaxExports,
		WriteRate: api.DefaultWriteRate.PerSecond, ReadRate: api.DefaultReadRate.PerSecond, SubscribeRate: DefaultSubscribeRate, ReplayRate: DefaultReplayRate,
		MaxLivePerAddress: DefaultMaxLivePerAddress}
}

// ParseFlags reads the serve flags (and NEXUS_* variables).
func (m *Main) ParseFlags(args []string) error {
	fs := newFlagSet("server", m.Stderr)
	fs.StringVar(&m.Addr, "addr", m.Addr, "address to listen on")
	fs.StringVar(&m.DB, "db", m.DB, "SQLite database file")
	fs.BoolVar(&m.Seed, "seed", m.Seed, "load the sample data into an empty database")
	fs.StringVar(&m.Tiles, "tiles", m.Tiles, "URL template of an online tile layer, e.g. https://tile.example/{z}/{x}/{y}.png")
	fs.BoolVar(&m.Private, "private", m.Private, "require a token for everything")
	fs.StringVar(&m.Origins, "origins", m.Origins, "comma-separated origins allowed to open websockets, besides this server's own")
	fs.BoolVar(&m.PrivateWebhooks, "private-webhooks", m.PrivateWebhooks, "allow webhooks over plain http and to loopback or private addresses")
	fs.DurationVar(&m.RequestTimeout, "request-timeout", m.RequestTimeout, "longest an ordinary request (its body, queries and answer) may take")
	fs.DurationVar(&m.StreamIdle, "stream-idle", m.StreamIdle, "longest an export or an import upload may move no data")
	fs.DurationVar(&m.IdleTimeout, "idle-timeout", m.IdleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.IntVar(&m.MaxExports, "max-exports", m.MaxExports, "exports streaming at once; more are answered 503")
	fs.Float64Var(&m.WriteRate, "write-rate", m.WriteRate, "writes a second per caller (a token, or an address without one), twice as many at once; more are answered 429; 0 is no limit")
	fs.Float64Var(&m.ReadRate, "read-rate", m.ReadRate, "exports, views, statistics and histories a second per caller, twice as many at once; 0 is no limit")
	fs.Float64Var(&m.SubscribeRate, "subscribe-rate", m.SubscribeRate, "websocket subscribes a second per caller, twice as many at once; 0 is no limit")
	fs.Float64Var(&m.ReplayRate, "replay-rate", m.ReplayRate, "changes a second per caller replayed from the change log to websockets that resume with since, twice as many at once; 0 is no limit")
	fs.IntVar(&m.MaxLivePerAddress, "max-live-per-address", m.MaxLivePerAddress, "websockets open at once from one address; 0 is no limit")
	fs.StringVar(&m.TLSCert, "tls-cert", m.TLSCert, "PEM file of the TLS certificate (and its chain): serve HTTPS; needs -tls-key")
	fs.StringVar(&m.TLSKey, "tls-key", m.TLSKey, "PEM file of the TLS certificate's private key")
	fs.StringVar(&m.TrustedProxy, "trusted-proxy", m.TrustedProxy, "comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For names the client")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return errors.New("-tls-cert and -tls-key go together: give both to serve HTTPS, or neither")
	}
	if _, err := api.ParseCIDRs(m.TrustedProxy); err != nil {
		return fmt.Errorf("-trusted-proxy: %w", err)
	}
	for name, v := range map[string]float64{"-write-rate": m.WriteRate, "-read-rate": m.ReadRate, "-subscribe-rate": m.SubscribeRate, "-replay-rate": m.ReplayRate} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be 0 (no limit) or more, got %v", name, v)
		}
	}
	return nil
}

// rate is the budget of a -…-rate flag: a burst of two seconds' worth.
func rate(perSecond float64) limit.Rate {
	return limit.Rate{PerSecond: perSecond, Burst: max(1, int(math.Ceil(2*perSecond)))}
}

// Run opens the database, loads the sample data and the first token when
// the database is new, and starts serving. It returns once listening.
func (m *Main) Run(ctx context.Context) error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(m.Stderr, nil))
	}
	log := m.Logger
	gaz, err := geocode.Default()
	if err != nil {
		return fmt.Errorf("reference data: %w", err)
	}
	sample, err := data.Summarize()
	if err != nil {
		return fmt.Errorf("sample data: %w", err)
	}
	if m.db, err = openDatabase(ctx, m.DB, gaz); err != nil {
		return err
	}
	var first string
	err = startOnce(ctx, m.db, func() error {
		if m.Seed {
			if err := seed(ctx, m.db, log); err != nil {
				return err
			}
		}
		first, err = firstToken(ctx, m.db)
		return err
	})
	if err != nil {
		m.db.Close()
		return err
	}

	proxies, err := api.ParseCIDRs(m.TrustedProxy)
	if err != nil {
		m.db.Close()
		return fmt.Errorf("-trusted-proxy: %w", err)
	}
	tlsConfig, err := m.tlsConfig()
	if err != nil {
		m.db.Close()
		return err
	}
	var origins []string
	for _, o := range strings.Split(m.Origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	m.hub = live.NewHub(m.db, live.Options{
		Origins: origins,
		Logger:  log, // the hub names itself component=live
		Resolve: m.db.Resolve,
		Aliases: m.db.Aliases,
		Owner:   func(r *http.Request) string { return ownerOf(r) },
		Editor:  func(r *http.Request) bool { return api.PrincipalOf(r.Context()).Editor() },
		Remote:  api.ClientAddr,

		MaxPerAddress: m.MaxLivePerAddress,
		SendQueue:     m.LiveQueue,
		Subscribes:    rate(m.SubscribeRate),
		Replays:       rate(m.ReplayRate),
	})
	if pg, ok := m.db.(*pgstore.DB); ok {
		// A token revoked anywhere closes its websockets here too.
		pg.FollowTokens(m.hub.Revoke, m.hub.Owners)
	}
	dopt := m.Deliver
	dopt.AllowPrivate, dopt.Logger = m.PrivateWebhooks, log
	deliverer := watch.NewDeliverer(m.db, dopt)
	m.eval = watch.NewEvaluator(m.db, m.hub, watch.Options{Logger: log, Wake: deliverer.Wake, Resolve: m.db.Resolve})
	// The overview of the incidents is built before the first request, so
	// the map's first view is answered from it.
	start := time.Now()
	m.overview = overview.New(m.db, log.With("component", "overview"))
	if err := m.overview.Load(ctx); err != nil {
		m.db.Close()
		return err
	}
	log.Info("overview loaded", "incidents", m.overview.Len(), "duration", time.Since(start).Round(time.Millisecond))
	handler := api.New(api.Config{
		Store:     m.db,
		Overview:  m.overview,
		Live:      m.hub,
		LiveStats: m.hub,
		Geocoder:  gaz,
		Static:    static.FS,
		Private:   m.Private,
		Tiles:     m.Tiles,
		Sample:    sample,
		Logger:    log.With("component", "api"),
		Revoked:   m.hub.Revoke,

		PrivateWebhooks: m.PrivateWebhooks,
		RequestTimeout:  m.RequestTimeout,
		StreamIdle:      m.StreamIdle,
		MaxExports:      m.MaxExports,
		Limits:          api.Limits{Writes: rate(m.WriteRate), Reads: rate(m.ReadRate)},
		TrustedProxies:  proxies,
	})

	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		m.db.Close()
		return err
	}
	m.URL = "http://" + displayAddr(ln.Addr())
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		m.URL = "https://" + displayAddr(ln.Addr())
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       m.IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// Read and write deadlines are set per request by the handler:
		// ordinary requests get one budget, streams an idle timeout.
		ErrorLog: slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelDebug),
	}
	hubCtx, stop := context.WithCancel(context.Background())
	m.stop = stop
	m.done = make(chan error, 4)
	m.workers.Add(3)
	go func() { m.done <- m.hub.Run(hubCtx) }()
	m.overviewDone = make(chan struct{})
	go func() {
		defer close(m.overviewDone)
		m.overview.Run(hubCtx)
	}()
	go func() {
		defer m.workers.Done()
		if err := m.eval.Run(hubCtx); err != nil {
			m.done <- err
		}
	}()
	go func() {
		defer m.workers.Done()
		deliverer.Run(hubCtx)
	}()
	go func() {
		defer m.workers.Done()
		m.hub.CheckTokens(hubCtx, TokenCheckInterval, m.db.TokenValid)
	}()
	go func() {
		if err := m.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			m.done <- err
		}
	}()
	log.Info("serving", "url", m.URL, "db", m.DB, "private", m.Private, "tls", tlsConfig != nil)
	if first != "" {
		fmt.Fprintf(m.Stdout, "Nexus is ready. Open this link to sign in as admin (shown once):\n\n    %s/#token=%s\n\n", m.URL, first)
	}
	return nil
}

// tlsConfig loads the certificate of -tls-cert and -tls-key; nil without
// them. The server speaks HTTP/1.1 over TLS, as it does without: the
// websocket and the per-request deadlines work on its connections.
func (m *Main) tlsConfig() (*tls.Config, error) {
	if m.TLSCert == "" && m.TLSKey == "" {
		return nil, nil
	}
	if m.TLSCert == "" || m.TLSKey == "" {
		return nil, errors.New("-tls-cert and -tls-key go together: give both to serve HTTPS, or neither")
	}
	cert, err := tls.LoadX509KeyPair(m.TLSCert, m.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", m.TLSCert, m.TLSKey, err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// Wait blocks until ctx is done or the server fails.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.done:
		return err
	}
}

// Close shuts down in order: stop accepting and finish requests in flight
// (and so their writes), close every websocket with 1001, stop the hub,
// then checkpoint the WAL and close the database.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if m.server != nil {
		errs = append(errs, m.server.Shutdown(ctx))
	}
	if m.hub != nil {
		errs = append(errs, m.hub.Shutdown(ctx))
	}
	if m.stop != nil {
		m.stop()
	}
	if m.overviewDone != nil {
		<-m.overviewDone
	}
	m.workers.Wait()
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	return errors.Join(errs...)
}

// displayAddr turns ":8080" or "[::]:8080" into "localhost:8080".
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// seed loads the sample data into a database that has never held a record.
func seed(ctx context.Context, db database, log *slog.Logger) error {
	seq, err := db.LastSeq(ctx)
	if err != nil || seq > 0 {
		return err
	}
	for _, name := range []string{"sample/incidents.geojson", "sample/routes.geojson", "sample/links.geojson"} {
		f, err := data.Sample.Open(name)
		if err != nil {
			return err
		}
		rep, err := ingest.Import(ctx, db, f, ingest.Options{Actor: "seed"})
		f.Close()
		if err != nil {
			return fmt.Errorf("seed %s: %w", name, err)
		}
		if len(rep.Rejected) > 0 {
			return fmt.Errorf("seed %s: line %d: %s: %s", name, rep.Rejected[0].Line, rep.Rejected[0].Field, rep.Rejected[0].Reason)
		}
		log.Info("seeded", "file", name, "created", rep.Created)
	}
	return seedAliases(ctx, db, log)
}

// seedAliases loads the sample's actor aliases.
func seedAliases(ctx context.Context, db database, log *slog.Logger) error {
	aliases, err := data.SampleAliases()
	if err != nil {
		return err
	}
	for _, a := range aliases {
		if _, _, err := db.PutAlias(ctx, "seed", a); err != nil {
			return fmt.Errorf("seed alias %q: %w", a.Alias, err)
		}
	}
	log.Info("seeded", "file", "sample/aliases.json", "aliases", len(aliases))
	return nil
}

// firstToken creates the admin token on the first start of a database
// without tokens and returns it; "" when tokens exist.
func firstToken(ctx context.Context, db database) (string, error) {
	n, err := db.TokenCount(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	return db.CreateToken(ctx, "admin", geo.RoleAdmin)
}

// serve runs the server until ctx is done.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	m := NewMain(stdout, stderr)
	if err := m.ParseFlags(args); err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		return err
	}
	err := m.Wait(ctx)
	m.Logger.Info("shutting down")
	return errors.Join(err, m.Close())
}
