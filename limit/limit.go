// Package limit keeps the budgets of callers: how often one caller may do a
// kind of thing (a token bucket of golang.org/x/time/rate per caller) and
// how many things one address may hold open at once. A caller is its
// token's name when it has one, its address otherwise (see Caller).
package limit

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a budget of events per caller: PerSecond on average, up to
// Burst at once. A PerSecond of 0 is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.PerSecond <= 0 }

// sweepEvery is how often Rates forgets callers whose bucket has refilled:
// they are as new callers again and cost no memory.
const sweepEvery = time.Minute

// Rates holds one token bucket per caller. The zero Rate allows
// everything. Rates is safe for concurrent use.
type Rates struct {
	rate Rate
	now  func() time.Time

	mu    sync.Mutex
	m     map[string]*rate.Limiter
	swept time.Time
}

// NewRates returns the buckets of a rate.
func NewRates(r Rate) *Rates {
	if r.Burst < 1 {
		r.Burst = 1
	}
	return &Rates{rate: r, now: time.Now, m: map[string]*rate.Limiter{}}
}

// Rate returns the budget of each caller.
func (l *Rates) Rate() Rate { return l.rate }

// Allow takes one event from the caller's bucket. When the bucket is empty
// it returns false and how long until the next event is allowed.
func (l *Rates) Allow(caller string) (ok bool, retry time.Duration) {
	return l.AllowN(caller, 1)
}

// AllowN is Allow for n events at once: it takes n from the caller's
// bucket, or nothing and says how long until n are there. n over the burst
// is never allowed: callers keep their n within it.
func (l *Rates) AllowN(caller string, n int) (ok bool, retry time.Duration) {
	if l == nil || l.rate.Off() || n <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > sweepEvery {
		l.sweep(now)
	}
	lim := l.m[caller]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(l.rate.PerSecond), l.rate.Burst)
		l.m[caller] = lim
	}
	if lim.AllowN(now, n) {
		return true, 0
	}
	missing := float64(n) - lim.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / l.rate.PerSecond * float64(time.Second)))
}

// sweep forgets the callers whose bucket is full again.
func (l *Rates) sweep(now time.Time) {
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.rate.Burst) {
			delete(l.m, k)
		}
	}
	l.swept = now
}

// Len is how many callers the buckets remember.
func (l *Rates) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Counts bounds how many things (connections) each address holds open at
// once. A Max of 0 is no bound. Counts is safe for concurrent use.
type Counts struct {
	Max int

	mu sync.Mutex
	m  map[string]int
}

// Acquire counts one more for key, unless key holds Max already.
func (c *Counts) Acquire(key string) bool {
	if c == nil || c.Max <= 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	if c.m[key] >= c.Max {
		return false
	}
	c.m[key]++
	return true
}

// Release counts one less for key; it pairs with an Acquire that
// returned true.
func (c *Counts) Release(key string) {
	if c == nil || c.Max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key] <= 1 {
		delete(c.m, key)
		return
	}
	c.m[key]--
}

// Held is how many key holds.
func (c *Counts) Held(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// Address is the key of an address: an IPv4 address itself, an IPv6
// address its /64 (one subscriber's network, which hands out addresses
// by the billion). A string that is no address is its own key.
func Address(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// Caller is the key of a caller: the token's name when there is one, the
// address key otherwise, so that everyone behind one address shares a
// budget only when they have no token.
func Caller(token, addr string) string {
	if token != "" {
		return "token " + token
	}
	return "address " + Address(addr)
}

// RetryAfter is a wait in whole seconds, at least 1, for a Retry-After
// header or a frame's retry_after.
func RetryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
