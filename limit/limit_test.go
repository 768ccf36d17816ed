package limit

import (
	"testing"
	"time"
)

// clock is a time the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestRatesBurstThenRate(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewRates(Rate{PerSecond: 2, Burst: 3})
	l.now = c.now
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("a")
	if ok {
		t.Fatal("the fourth event at once was allowed")
	}
	if retry != 500*time.Millisecond {
		t.Fatalf("retry = %v, want 500ms (one event at 2/s)", retry)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another caller shares the first one's bucket")
	}
	c.t = c.t.Add(retry)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after the wait it was told")
	}
}

func TestRatesForgetsRefilledCallers(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewRates(Rate{PerSecond: 1, Burst: 2})
	l.now = c.now
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	if l.Len() != 3 {
		t.Fatalf("remembers %d callers, want 3", l.Len())
	}
	c.t = c.t.Add(2 * sweepEvery)
	l.Allow("d")
	if l.Len() != 1 {
		t.Fatalf("after a sweep remembers %d callers, want only the new one", l.Len())
	}
}

func TestOffAllowsEverything(t *testing.T) {
	l := NewRates(Rate{})
	for range 1000 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatal("a zero rate refused")
		}
	}
	var nilRates *Rates
	if ok, _ := nilRates.Allow("a"); !ok {
		t.Fatal("nil Rates refused")
	}
}

func TestCounts(t *testing.T) {
	c := &Counts{Max: 2}
	for i := range 2 {
		if !c.Acquire("a") {
			t.Fatalf("acquire %d refused under the bound", i+1)
		}
	}
	if c.Acquire("a") {
		t.Fatal("a third one allowed with Max 2")
	}
	if !c.Acquire("b") {
		t.Fatal("another key refused")
	}
	c.Release("a")
	if !c.Acquire("a") {
		t.Fatal("refused after a release")
	}
	c.Release("a")
	c.Release("a")
	c.Release("b")
	if c.Held("a") != 0 || len(c.m) != 0 {
		t.Fatalf("keys left after every release: %v", c.m)
	}
}

func TestAddressKeys(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"pipe", "pipe"},
	} {
		if got := Address(tc.in); got != tc.want {
			t.Errorf("Address(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if Caller("alice", "192.0.2.7") == Caller("", "192.0.2.7") {
		t.Error("a token and its address share a key")
	}
}

func TestRetryAfterWholeSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 59 * time.Second: 59} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestRatesAllowNTakesAllOrNothing(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewRates(Rate{PerSecond: 100, Burst: 1000})
	l.now = c.now
	if ok, _ := l.AllowN("a", 800); !ok {
		t.Fatal("800 of a burst of 1000 refused")
	}
	ok, retry := l.AllowN("a", 500)
	if ok {
		t.Fatal("500 more allowed with 200 left")
	}
	if retry != 3*time.Second {
		t.Fatalf("retry = %v, want 3s (300 missing at 100/s)", retry)
	}
	if ok, _ := l.AllowN("a", 200); !ok {
		t.Fatal("the 200 left were not taken whole after a refusal")
	}
	if ok, _ := l.AllowN("b", 1001); ok {
		t.Fatal("more than the burst allowed")
	}
}
