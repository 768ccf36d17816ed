package watch

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"nexus/geo"
)

// DeliveryStore is what the deliverer needs of the database; *store.DB
// satisfies it.
type DeliveryStore interface {
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]geo.Delivery, error)
	RecordAttempt(ctx context.Context, did int64, a geo.Attempt, state string, next time.Time) error
}

// DeliverOptions tune a deliverer; zero values take the defaults.
type DeliverOptions struct {
	// AllowPrivate allows plain http and loopback, private and link-local
	// addresses, for tests and closed networks. Without it only https
	// to public addresses is tried.
	AllowPrivate bool
	Timeout      time.Duration // longest one try may take; default 10 s
	Backoff      time.Duration // wait before the first retry, doubling after each; default 2 s
	MaxBackoff   time.Duration // longest wait between tries; default 1 h
	MaxAttempts  int           // tries before giving up; default 10
	PollInterval time.Duration // how often to look for due retries; default 1 s
	Queue        int           // deliveries queued per endpoint; default 64
	Logger       *slog.Logger
}

// Header names of a delivery.
const (
	SignatureHeader   = "X-Nexus-Signature" // sha256=<hex HMAC-SHA256 of the body with the watch's secret>
	IdempotencyHeader = "Idempotency-Key"   // the same for every try of one alert: <watch>:<seq>
)

// Deliverer POSTs stored alerts to webhooks. Each endpoint (scheme and
// host) has its own worker and queue, so a slow or dead endpoint delays
// only its own deliveries; writes never wait for any of them.
type Deliverer struct {
	db     DeliveryStore
	opt    DeliverOptions
	logger *slog.Logger
	client *http.Client
	wake   chan struct{}

	mu       sync.Mutex
	workers  map[string]chan geo.Delivery
	inflight map[int64]bool
	wg       sync.WaitGroup
}

// NewDeliverer returns a deliverer over the store; call Run.
func NewDeliverer(db DeliveryStore, opt DeliverOptions) *Deliverer {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 2 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = time.Hour
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 10
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = time.Second
	}
	if opt.Queue <= 0 {
		opt.Queue = 64
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	dialer := &net.Dialer{Timeout: opt.Timeout, Control: dialGuard(opt.AllowPrivate)}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would hide the address the guard checks
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opt.Timeout,
		ResponseHeaderTimeout: opt.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Deliverer{
		db:     db,
		opt:    opt,
		logger: opt.Logger.With("component", "webhook"),
		client: &http.Client{
			Transport: transport,
			Timeout:   opt.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a redirect is not an acceptance
			},
		},
		wake:     make(chan struct{}, 1),
		workers:  map[string]chan geo.Delivery{},
		inflight: map[int64]bool{},
	}
}

// dialGuard refuses connections to loopback, private, link-local and other
// non-public addresses unless allowed. It runs on the address actually
// dialled, after name resolution, so a name cannot point it elsewhere.
func dialGuard(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("webhook address %s: %w", address, err)
		}
		if !geo.PublicAddr(ap.Addr()) {
			return fmt.Errorf("webhook address %s is not public; start the server with the flag that allows private webhooks", ap.Addr())
		}
		return nil
	}
}

// Wake tells the deliverer that new deliveries are stored.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run hands due deliveries to the endpoints' workers until ctx is done,
// then waits for the workers to stop.
func (d *Deliverer) Run(ctx context.Context) error {
	poll := time.NewTicker(d.opt.PollInterval)
	defer poll.Stop()
	defer d.wg.Wait()
	for {
		if err := d.dispatch(ctx); err != nil && ctx.Err() == nil {
			d.logger.Error("read deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-poll.C:
		}
	}
}

// dispatch queues every due delivery that is not in a worker's hands
// already. It never blocks on a worker: a full queue is read again later.
//
// The due list is read under the lock: a worker clears a delivery's
// in-flight mark only after its outcome is committed, so a list read before
// that commit can never see the mark already cleared and send it twice.
func (d *Deliverer) dispatch(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	due, err := d.db.DueDeliveries(ctx, time.Now(), 512)
	if err != nil {
		return err
	}
	for _, dl := range due {
		if d.inflight[dl.DID] {
			continue
		}
		ep := endpoint(dl.URL)
		q, ok := d.workers[ep]
		if !ok {
			q = make(chan geo.Delivery, d.opt.Queue)
			d.workers[ep] = q
			d.wg.Add(1)
			go d.work(ctx, ep, q)
		}
		select {
		case q <- dl:
			d.inflight[dl.DID] = true
		default:
		}
	}
	return nil
}

// endpoint is what a worker serves: the URL's scheme and host.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// workerIdle is how long a worker without deliveries waits before ending.
const workerIdle = 30 * time.Second

// work delivers one endpoint's queue in order.
func (d *Deliverer) work(ctx context.Context, ep string, q chan geo.Delivery) {
	defer d.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case dl := <-q:
			d.deliver(ctx, dl)
			d.mu.Lock()
			delete(d.inflight, dl.DID)
			d.mu.Unlock()
			idle.Reset(workerIdle)
		case <-idle.C:
			d.mu.Lock()
			if len(q) == 0 {
				delete(d.workers, ep)
				d.mu.Unlock()
				return
			}
			d.mu.Unlock()
			idle.Reset(workerIdle)
		}
	}
}

// Sign returns the signature header value of a body: sha256= and the hex
// HMAC-SHA256 of the body with the secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// deliver makes one try and records it.
func (d *Deliverer) deliver(ctx context.Context, dl geo.Delivery) {
	start := time.Now()
	a := geo.Attempt{Attempt: dl.Attempts + 1, Time: start.UTC()}
	a.Status, a.Error = d.post(ctx, dl)
	if ctx.Err() != nil {
		return // shutting down: the try is made again after a restart
	}
	a.Duration = time.Since(start)
	state, next := geo.DeliveryDelivered, time.Time{}
	switch {
	case a.Status >= 200 && a.Status < 300:
	case a.Attempt >= d.opt.MaxAttempts || a.Status == -1:
		state = geo.DeliveryFailed
	default:
		state = geo.DeliveryPending
		wait := d.opt.Backoff << min(a.Attempt-1, 30)
		if wait <= 0 || wait > d.opt.MaxBackoff {
			wait = d.opt.MaxBackoff
		}
		next = time.Now().Add(wait)
	}
	if a.Status == -1 {
		a.Status = 0
	}
	d.logger.Info("delivery", "watch", dl.Watch, "seq", dl.Seq, "attempt", a.Attempt, "status", a.Status, "err", a.Error, "state", state, "duration", a.Duration)
	if err := d.db.RecordAttempt(context.WithoutCancel(ctx), dl.DID, a, state, next); err != nil {
		d.logger.Error("record delivery", "watch", dl.Watch, "seq", dl.Seq, "err", err)
	}
}

// post sends the body; it returns the status, 0 with the error when there
// was no answer, or -1 for a URL that can never be delivered to.
func (d *Deliverer) post(ctx context.Context, dl geo.Delivery) (int, string) {
	u, err := url.Parse(dl.URL)
	if err != nil {
		return -1, "bad URL"
	}
	if u.Scheme != "https" && !d.opt.AllowPrivate {
		return -1, "plain http is not allowed; use https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return -1, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Nexus-Webhook/1")
	req.Header.Set(SignatureHeader, Sign(dl.Secret, dl.Body))
	req.Header.Set(IdempotencyHeader, dl.Watch+":"+strconv.FormatInt(dl.Seq, 10))
	req.Header.Set("X-Nexus-Event", "alert")
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err.Error()
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, "answered " + resp.Status
	}
	return resp.StatusCode, ""
}
