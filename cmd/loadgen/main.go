// Command loadgen opens many websocket subscribers to a Nexus live endpoint
// and measures what they receive: counts, losses, duplicates, latency from
// commit to receipt, and deliveries per second.
//
// It talks to whoever runs it on standard input and output:
//
//  1. it connects -n subscribers, each subscribing to its own box (a grid
//     of boxes of several sizes over the world, some overlapping, some
//     across the antimeridian), and prints {"event":"ready",...};
//  2. the writer then writes, and sends one line: the path of a JSON file
//     describing every change written, [{"seq":…,"lon":…,"lat":…,"t":…}],
//     t being the commit time in Unix nanoseconds on this machine's clock;
//  3. loadgen waits until every subscriber has what its box should get (or
//     nothing arrives for -wait), prints a JSON report and exits.
//
// With -bare the endpoint is a plain broadcast: subscribers do not
// subscribe and every subscriber expects every change.
//
// A subscriber whose connection ends (a slow-consumer close, 4008, most
// often) reconnects with since, as the map does; reconnects are counted by
// cause.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"nexus/live"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type config struct {
	url     string
	n       int
	bare    bool
	seed    uint64
	dialers int
	wait    time.Duration
}

func run() error {
	var cfg config
	flag.StringVar(&cfg.url, "url", "ws://127.0.0.1:8080/api/live", "websocket endpoint")
	flag.IntVar(&cfg.n, "n", 1000, "subscribers")
	flag.BoolVar(&cfg.bare, "bare", false, "plain broadcast endpoint: no subscribe, every frame expected")
	flag.Uint64Var(&cfg.seed, "seed", 1, "seed of the grid of boxes")
	flag.IntVar(&cfg.dialers, "dialers", 32, "connections opened at once")
	flag.DurationVar(&cfg.wait, "wait", 30*time.Second, "give up when nothing arrives for this long")
	flag.Parse()

	subs := make([]*subscriber, cfg.n)
	for i := range subs {
		subs[i] = &subscriber{cfg: &cfg, box: boxFor(cfg.seed, i)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Connect everyone, a few at a time.
	sem := make(chan struct{}, cfg.dialers)
	errs := make(chan error, cfg.n)
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- s.connect(-1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	var readers sync.WaitGroup
	for _, s := range subs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			s.receive(ctx)
		}()
	}
	emit(map[string]any{"event": "ready", "subscribers": cfg.n})

	// The writer tells where its changes are described.
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read expectations path: %w", err)
	}
	data, err := os.ReadFile(string(bytes.TrimSpace([]byte(line))))
	if err != nil {
		return err
	}
	var changes []change
	if err := json.Unmarshal(data, &changes); err != nil {
		return fmt.Errorf("expectations: %w", err)
	}

	// Wait for every expected frame, or for silence.
	want := 0
	for _, s := range subs {
		s.expect = expected(s, changes, cfg.bare)
		want += len(s.expect)
	}
	last, lastAt := -1, time.Now()
	for tick := time.NewTicker(20 * time.Millisecond); ; <-tick.C {
		got := 0
		for _, s := range subs {
			got += int(s.count.Load())
		}
		if got >= want {
			break
		}
		if got != last {
			last, lastAt = got, time.Now()
		} else if time.Since(lastAt) > cfg.wait {
			fmt.Fprintf(os.Stderr, "loadgen: gave up waiting: %d of %d frames\n", got, want)
			break
		}
	}
	cancel()
	for _, s := range subs {
		s.close()
	}
	readers.Wait()
	emit(report(&cfg, subs, changes))
	return nil
}

func emit(v any) {
	b, _ := json.Marshal(v)
	os.Stdout.Write(append(b, '\n'))
}

// box is a subscriber's view: west, south, east, north; west > east
// crosses the antimeridian.
type box [4]float64

func (b box) contains(lon, lat float64) bool {
	if lat < b[1] || lat > b[3] {
		return false
	}
	if b[0] <= b[2] {
		return lon >= b[0] && lon <= b[2]
	}
	return lon >= b[0] || lon <= b[2]
}

// boxFor places subscriber i on the grid: sizes from a 10° square to a
// quarter of the world, at pseudo-random places; boxes that run past 180°
// wrap across the antimeridian.
func boxFor(seed uint64, i int) box {
	sizes := [][2]float64{{10, 10}, {30, 20}, {60, 40}, {90, 60}, {180, 90}}
	sz := sizes[i%len(sizes)]
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	w := -180 + r.Float64()*360
	s := -90 + r.Float64()*(180-sz[1])
	e := w + sz[0]
	if e > 180 {
		e -= 360
	}
	return box{w, s, e, s + sz[1]}
}

// change is one written change as the writer describes it.
type change struct {
	Seq int64   `json:"seq"`
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
	T   int64   `json:"t"` // commit time, Unix ns
}

// subscriber is one connection and what it received.
type subscriber struct {
	cfg *config
	box box

	mu    sync.Mutex
	ws    *websocket.Conn
	done  bool
	hello int64 // seq of the first hello: everything after it is expected

	seqs       []int64 // received, in order
	times      []int64 // receipt, Unix ns
	count      atomic.Int64
	reconnects int
	causes     map[string]int // why connections ended: "close 4008", …
	anomalies  []string

	expect []int64
}

// connect dials, reads hello and subscribes (from since when >= 0).
func (s *subscriber) connect(since int64) error {
	ws, _, err := websocket.DefaultDialer.Dial(s.cfg.url, nil)
	if err != nil {
		return err
	}
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return fmt.Errorf("hello: %w", err)
	}
	hello, err := live.ParseFrame(data)
	if err != nil || hello.Type != "hello" {
		ws.Close()
		return fmt.Errorf("first frame %s, want hello", data)
	}
	if since < 0 {
		s.hello = hello.Seq
	}
	if !s.cfg.bare {
		sub := map[string]any{"type": "subscribe", "bbox": s.box}
		if since >= 0 {
			sub["since"] = since
		}
		b, _ := json.Marshal(sub)
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			ws.Close()
			return err
		}
	}
	ws.SetReadDeadline(time.Time{})
	s.mu.Lock()
	s.ws = ws
	if s.done {
		ws.Close()
	}
	s.mu.Unlock()
	return nil
}

// reconnect connects again, trying a few times.
func (s *subscriber) reconnect(ctx context.Context, since int64) error {
	var err error
	for try := range 10 {
		if err = s.connect(since); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(try+1) * 100 * time.Millisecond)
	}
	return err
}

func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	if s.ws != nil {
		s.ws.Close()
	}
}

// receive reads frames until closed, reconnecting after a slow-consumer
// close. It only looks at the seq: the receiving side stays cheap.
func (s *subscriber) receive(ctx context.Context) {
	buf := make([]byte, 0, 4096)
	for {
		_, r, err := s.ws.NextReader()
		if err == nil {
			buf, err = readAll(buf[:0], r)
		}
		if err != nil {
			s.mu.Lock()
			done := s.done
			s.mu.Unlock()
			if done || ctx.Err() != nil {
				return
			}
			// Reconnect with since, as the map does after any close.
			cause := err.Error()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				cause = fmt.Sprint("close ", ce.Code)
			}
			if s.causes == nil {
				s.causes = map[string]int{}
			}
			s.causes[cause]++
			s.reconnects++
			since := s.hello
			if len(s.seqs) > 0 {
				since = s.seqs[len(s.seqs)-1]
			}
			if err := s.reconnect(ctx, since); err != nil {
				s.anomalies = append(s.anomalies, "reconnect: "+err.Error())
				return
			}
			continue
		}
		now := time.Now().UnixNano()
		seq, ok := live.ChangeSeq(buf)
		if !ok {
			if len(s.anomalies) < 10 {
				s.anomalies = append(s.anomalies, string(buf[:min(len(buf), 200)]))
			}
			continue
		}
		s.seqs = append(s.seqs, seq)
		s.times = append(s.times, now)
		s.count.Add(1)
	}
}

func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// expected lists the seqs a subscriber should receive, in order.
func expected(s *subscriber, changes []change, bare bool) []int64 {
	var out []int64
	for _, c := range changes {
		if c.Seq > s.hello && (bare || s.box.contains(c.Lon, c.Lat)) {
			out = append(out, c.Seq)
		}
	}
	return out
}

type subReport struct {
	BBox       box      `json:"bbox"`
	Expected   int      `json:"expected"`
	Received   int      `json:"received"`
	Lost       int      `json:"lost"`
	Duplicated int      `json:"duplicated"`
	Extra      int      `json:"extra"`
	OutOfOrder int      `json:"out_of_order"`
	Reconnects int      `json:"reconnects"`
	Anomalies  []string `json:"anomalies,omitempty"`
}

func mergeCounts(dst, src map[string]int) map[string]int {
	for k, v := range src {
		if dst == nil {
			dst = map[string]int{}
		}
		dst[k] += v
	}
	return dst
}

type fullReport struct {
	Event          string             `json:"event"`
	Mode           string             `json:"mode"`
	Subscribers    int                `json:"subscribers"`
	Changes        int                `json:"changes"`
	Expected       int                `json:"expected"`
	Received       int                `json:"received"`
	Lost           int                `json:"lost"`
	Duplicated     int                `json:"duplicated"`
	Extra          int                `json:"extra"`
	OutOfOrder     int                `json:"out_of_order"`
	Reconnects     int                `json:"reconnects"`
	Causes         map[string]int     `json:"reconnect_causes,omitempty"`
	LatencyMS      map[string]float64 `json:"latency_ms"`
	Seconds        float64            `json:"seconds"` // first commit to last receipt
	DeliveriesPerS float64            `json:"deliveries_per_s"`
	PerSubscriber  []subReport        `json:"per_subscriber"`
}

func report(cfg *config, subs []*subscriber, changes []change) fullReport {
	r := fullReport{Event: "report", Mode: "nexus", Subscribers: len(subs), Changes: len(changes)}
	if cfg.bare {
		r.Mode = "bare"
	}
	commit := make(map[int64]int64, len(changes))
	var first int64 = 1<<63 - 1
	for _, c := range changes {
		commit[c.Seq] = c.T
		first = min(first, c.T)
	}
	var lat []float64
	var lastRecv int64
	for _, s := range subs {
		sr := subReport{BBox: s.box, Expected: len(s.expect), Received: len(s.seqs), Reconnects: s.reconnects, Anomalies: s.anomalies}
		want := make(map[int64]bool, len(s.expect))
		for _, q := range s.expect {
			want[q] = true
		}
		seen := make(map[int64]bool, len(s.seqs))
		var prev int64
		for i, q := range s.seqs {
			switch {
			case seen[q]:
				sr.Duplicated++
			case !want[q]:
				sr.Extra++
			}
			if q <= prev {
				sr.OutOfOrder++
			}
			prev = q
			seen[q] = true
			if t, ok := commit[q]; ok {
				lat = append(lat, float64(s.times[i]-t)/1e6)
			}
			lastRecv = max(lastRecv, s.times[i])
		}
		for _, q := range s.expect {
			if !seen[q] {
				sr.Lost++
			}
		}
		r.Expected += sr.Expected
		r.Received += sr.Received
		r.Lost += sr.Lost
		r.Duplicated += sr.Duplicated
		r.Extra += sr.Extra
		r.OutOfOrder += sr.OutOfOrder
		r.Reconnects += sr.Reconnects
		r.Causes = mergeCounts(r.Causes, s.causes)
		r.PerSubscriber = append(r.PerSubscriber, sr)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	r.LatencyMS = map[string]float64{"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1)}
	if lastRecv > first {
		r.Seconds = float64(lastRecv-first) / 1e9
		r.DeliveriesPerS = float64(r.Received) / r.Seconds
	}
	return r
}
