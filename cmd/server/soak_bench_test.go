package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Soak sizes and goals.
const (
	soakIncidents = 200_000
	soakDuration  = 60 * time.Second
	soakExports   = 8   // exports whose clients stop reading
	soakIdle      = 200 // websockets that subscribe once and stay
	soakFlooders  = 4   // websockets that subscribe as fast as they can
	goalSoakP99   = 100 * time.Millisecond
	goalSoakRSS   = 500 << 20
)

// BenchmarkSoak runs the server program, with its default limits, on
// 200 000 incidents for a minute under attack and under normal use at
// once: 8 exports whose clients never read, 200 idle websockets, a
// subscribe flood on 4 more (each subscribe asks for a replay of the whole
// log), an editor writing and readers paging items?limit=100 over random
// boxes. It reports /healthz all along, the p99 of the items pages and the
// server's peak RSS beside their goals. Each party comes from an address
// of its own on 127.0.0.0/8, as it would from its own machine.
func BenchmarkSoak(b *testing.B) {
	if testing.Short() {
		b.Skip("soak test")
	}
	for range b.N {
		dir := b.TempDir()
		dbPath := filepath.Join(dir, "nexus.db")
		start := time.Now()
		loadSynthetic(b, dbPath, soakIncidents)
		soakReport("%d incidents written in %.1f s", soakIncidents, time.Since(start).Seconds())
		p, token := startSoakProgram(b, dir, dbPath)
		soak(b, p, token)
	}
}

// startSoakProgram builds and starts the server with its default limits
// and returns it with the admin token it prints on its first start.
func startSoakProgram(b *testing.B, dir, dbPath string) (*program, string) {
	var stdout syncBuffer
	p, _ := launchProgram(b, dir, dbPath, &stdout, "/healthz")
	m := regexp.MustCompile(`#token=(nx_[A-Za-z0-9_-]+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		b.Fatalf("no admin token in %q", stdout.String())
	}
	return p, m[1]
}

// dialerFrom dials from a loopback address of its own.
func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 30 * time.Second}
}

func soak(b *testing.B, p *program, token string) {
	host := strings.TrimPrefix(p.url, "http://")
	ws := "ws://" + host + "/api/live"
	ctx, cancel := context.WithTimeout(context.Background(), soakDuration)
	defer cancel()
	var wg sync.WaitGroup
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()

	// 8 exports that are never read, from 127.0.0.3.
	exportStatus := make([]string, soakExports)
	for i := range soakExports {
		c, err := dialerFrom("127.0.0.3").Dial("tcp", host)
		if err != nil {
			b.Fatal(err)
		}
		closers = append(closers, c)
		fmt.Fprintf(c, "GET /api/export.geojson HTTP/1.1\r\nHost: %s\r\n\r\n", host)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Read the status line only, then stall.
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, _ := bufio.NewReaderSize(c, 64).ReadString('\n')
			exportStatus[i] = strings.TrimSpace(line)
		}()
	}

	// 200 idle websockets, subscribed once, from 127.0.0.4.
	idleDialer := &websocket.Dialer{NetDialContext: dialerFrom("127.0.0.4").DialContext, HandshakeTimeout: 30 * time.Second}
	var idleLost atomic.Int64
	for range soakIdle {
		c, _, err := idleDialer.Dial(ws, nil)
		if err != nil {
			b.Fatalf("idle websocket: %v", err)
		}
		closers = append(closers, c)
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[-80,0,-70,10]}`))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					if ctx.Err() == nil {
						idleLost.Add(1)
					}
					return
				}
			}
		}()
	}

	// The subscribe flood, from 127.0.0.2: every subscribe asks for the
	// whole log again.
	floodDialer := &websocket.Dialer{NetDialContext: dialerFrom("127.0.0.2").DialContext, HandshakeTimeout: 30 * time.Second}
	var floodSent, flood429, floodClosed atomic.Int64
	for range soakFlooders {
		c, _, err := floodDialer.Dial(ws, nil)
		if err != nil {
			b.Fatalf("flood websocket: %v", err)
		}
		closers = append(closers, c)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`)) != nil {
					floodClosed.Add(1)
					return
				}
				floodSent.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if strings.Contains(string(data[:min(len(data), 64)]), `"status":429`) {
					flood429.Add(1)
				}
			}
		}()
	}

	// Normal use, from 127.0.0.1: an editor writes every 100 ms, two
	// readers page items, a probe reads /healthz every 250 ms.
	client := &http.Client{Timeout: 30 * time.Second}
	var writes, writeErrs atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%f,%f]},"properties":{"title":"Soak %d","type":"attack","date":"2024-05-01"}}`, -79+float64(i%100)*0.05, 1+float64(i%80)*0.1, i)
			req, _ := http.NewRequest("POST", p.url+"/api/collections/incidents/items", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/geo+json")
			if res, err := client.Do(req); err != nil || res.StatusCode != http.StatusCreated {
				writeErrs.Add(1)
				if err == nil {
					res.Body.Close()
				}
			} else {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				writes.Add(1)
			}
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var itemErrs atomic.Int64
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(r)))
			for ctx.Err() == nil {
				w, s := -120+rng.Float64()*150, -40+rng.Float64()*70
				u := fmt.Sprintf("%s/api/collections/incidents/items?limit=100&bbox=%f,%f,%f,%f", p.url, w, s, w+5+rng.Float64()*20, s+5+rng.Float64()*20)
				t0 := time.Now()
				res, err := client.Get(u)
				if err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
				d := time.Since(t0)
				if err != nil || res.StatusCode != http.StatusOK {
					itemErrs.Add(1)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	health := map[int]int{}
	var peak int64
	tick := time.NewTicker(250 * time.Millisecond)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			st := 0
			if res, err := client.Get(p.url + "/healthz"); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				st = res.StatusCode
			}
			health[st]++
			peak = max(peak, rss(p.cmd.Process.Pid))
		}
	}
	tick.Stop()
	for _, c := range closers {
		c.Close()
	}
	closers = nil
	wg.Wait()

	p50, p99 := quantiles(lat)
	polls := 0
	for _, n := range health {
		polls += n
	}
	streaming, refused := 0, 0
	for _, s := range exportStatus {
		switch {
		case strings.Contains(s, " 200 "):
			streaming++
		case strings.Contains(s, " 503 "):
			refused++
		}
	}
	soakReport("%s under 8 stalled exports (%d streaming then cut, %d refused 503), %d idle websockets (%d dropped), a subscribe flood on %d websockets and normal use",
		soakDuration, streaming, refused, soakIdle, idleLost.Load(), soakFlooders)
	soakReport("/healthz: %d of %d polls answered 200 (goal: all) %v", health[200], polls, health)
	soakReport("items?limit=100: %d pages, p50 %.1f ms, p99 %.1f ms (goal < %.0f ms: %s), %d failed",
		len(lat), ms(p50), ms(p99), ms(goalSoakP99), verdict(p99 < goalSoakP99), itemErrs.Load())
	soakReport("peak RSS %.0f MB (goal < %d MB: %s)", float64(peak)/(1<<20), goalSoakRSS>>20, verdict(peak < goalSoakRSS))
	soakReport("subscribe flood: %d subscribes sent, %d answered 429; editor: %d writes, %d failed",
		floodSent.Load(), flood429.Load(), writes.Load(), writeErrs.Load())
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(float64(peak)/(1<<20), "MB-peak-RSS")
	b.ReportMetric(float64(health[200])/float64(max(polls, 1)), "healthz-200-share")
}

func soakReport(format string, args ...any) {
	fmt.Printf("    soak: "+format+"\n", args...)
}
