package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/paulmach/orb"

	"nexus/geo"
	"nexus/store"
)

// Sizes of the fan-out benchmark.
const (
	benchSubscribers = 1000
	benchChanges     = 10000
	benchBatch       = 100  // records per import transaction
	bareFrames       = 2000 // frames the bare broadcast sends to every connection
)

// BenchmarkFanout measures the hub end to end against the loadgen command
// in its own process: 1000 subscribers over a grid of boxes, 10 000 changes
// written through the store, every delivery checked (nothing lost, nothing
// twice, nothing outside its box). The changes are written twice over, on
// fresh databases: in transactions of 100 as editors and small imports
// write, then in one transaction as a large import does, which makes the
// hub fan out as fast as it can. Beside them, in the same run, a bare
// gorilla broadcast of the same frames to as many connections gives the
// ceiling of this machine; the server's heap and stacks before and after
// the subscribers connect give the memory of an idle connection.
func BenchmarkFanout(b *testing.B) {
	if testing.Short() {
		b.Skip("load test")
	}
	b.ReportAllocs()
	loadgen := buildLoadgen(b)
	for range b.N {
		steady, idle, changes := benchNexus(b, loadgen, benchBatch)
		burst, _, _ := benchNexus(b, loadgen, benchChanges)
		bare := benchBare(b, loadgen, changes)
		ratio := steady.DeliveriesPerS / bare.DeliveriesPerS
		b.ReportMetric(steady.DeliveriesPerS, "nexus-deliveries/s")
		b.ReportMetric(burst.DeliveriesPerS, "burst-deliveries/s")
		b.ReportMetric(bare.DeliveriesPerS, "bare-deliveries/s")
		b.ReportMetric(ratio, "nexus/bare")
		b.ReportMetric(steady.LatencyMS["p50"], "p50-ms")
		b.ReportMetric(steady.LatencyMS["p99"], "p99-ms")
		b.ReportMetric(idle, "B/idle-conn")
		b.Logf("live fanout: nexus %.0f deliveries/s, bare %.0f/s, ratio %.2fx (goal 0.5x; one large commit %.2fx); latency p50 %.1fms p99 %.1fms; idle conn %.1f KB (goal 20 KB)",
			steady.DeliveriesPerS, bare.DeliveriesPerS, ratio, burst.DeliveriesPerS/bare.DeliveriesPerS, steady.LatencyMS["p50"], steady.LatencyMS["p99"], idle/1024)
		for _, r := range []struct {
			name string
			rep  loadReport
		}{{"nexus, commits of 100", steady}, {"nexus, one commit of 10000", burst}, {"bare broadcast", bare}} {
			b.Logf("  %-26s %7.0f deliveries/s: %6d frames in %4.1fs (writes %4.1fs), latency p50 %6.1fms p99 %6.1fms, CPU s: server %4.1f loadgen %4.1f, %d reconnects %v",
				r.name, r.rep.DeliveriesPerS, r.rep.Received, r.rep.Seconds, r.rep.Writing, r.rep.LatencyMS["p50"], r.rep.LatencyMS["p99"], r.rep.ServerCPU, r.rep.LoadgenCPU, r.rep.Reconnects, r.rep.Causes)
		}
	}
}

// loadReport is the part of loadgen's report the benchmark reads.
type loadReport struct {
	Event          string             `json:"event"`
	Subscribers    int                `json:"subscribers"`
	Expected       int                `json:"expected"`
	Received       int                `json:"received"`
	Lost           int                `json:"lost"`
	Duplicated     int                `json:"duplicated"`
	Extra          int                `json:"extra"`
	OutOfOrder     int                `json:"out_of_order"`
	Reconnects     int                `json:"reconnects"`
	Causes         map[string]int     `json:"reconnect_causes"`
	LatencyMS      map[string]float64 `json:"latency_ms"`
	Seconds        float64            `json:"seconds"`
	DeliveriesPerS float64            `json:"deliveries_per_s"`
	PerSubscriber  []struct {
		Lost       int      `json:"lost"`
		Reconnects int      `json:"reconnects"`
		Anomalies  []string `json:"anomalies"`
	} `json:"per_subscriber"`
	Writing    float64 `json:"-"` // seconds the writes took
	ServerCPU  float64 `json:"-"` // CPU seconds of this process during the run
	LoadgenCPU float64 `json:"-"` // CPU seconds of loadgen
}

// cpuSeconds is the user and system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// expectation describes one written change for loadgen.
type expectation struct {
	Seq int64   `json:"seq"`
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
	T   int64   `json:"t"`
}

// benchNexus runs the hub over a fresh database, measures the memory of
// the idle subscribers, writes the changes in transactions of batch
// records and returns loadgen's report, the bytes per idle connection and
// the changes as read back from the log. Slow consumers are not logged:
// loadgen counts their reconnects.
func benchNexus(b *testing.B, loadgen string, batch int) (loadReport, float64, []geo.Change) {
	db, err := store.Open(filepath.Join(b.TempDir(), "nexus.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	hub := NewHub(db, Options{Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hub.Run(ctx)
	mux := http.NewServeMux()
	mux.Handle("/api/live", hub)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer hub.Shutdown(context.Background())

	// Memory of idle subscribed connections, on the server side.
	base := inUse()
	lg := startLoadgen(b, loadgen, wsURL(srv, "/api/live"), false)
	defer lg.stop()
	for hub.Clients() < benchSubscribers {
		runtime.Gosched() // loadgen said ready: every hello has been sent already
	}
	idle := float64(inUse()-base) / benchSubscribers

	// Commit times, on this machine's clock, for the latency.
	type commit struct{ seq, t int64 }
	var commits []commit
	db.OnCommit(func(seq int64) { commits = append(commits, commit{seq, time.Now().UnixNano()}) })
	r := rand.New(rand.NewPCG(7, 7))
	writeStart := time.Now()
	recs := make([]geo.Record, 0, batch)
	for i := range benchChanges {
		recs = append(recs, &geo.Incident{
			Point:  orb.Point{-180 + r.Float64()*360, -60 + r.Float64()*135},
			Title:  fmt.Sprintf("benchmark incident %d", i),
			Type:   geo.IncidentTypes[i%len(geo.IncidentTypes)],
			Date:   "2024-05-01",
			Actors: []string{"Bench"},
		})
		if len(recs) == batch {
			if _, err := db.ImportBatch(ctx, "bench", recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}

	writing := time.Since(writeStart)

	// Describe every change, with its commit time, from the log itself.
	changes, err := db.Changes(ctx, 0, benchChanges+1)
	if err != nil {
		b.Fatal(err)
	}
	var exp []expectation
	k := 0
	for _, ch := range changes {
		_, after, err := ch.Records()
		if err != nil {
			b.Fatal(err)
		}
		for commits[k].seq < ch.Seq {
			k++
		}
		p := after.Geometry().(orb.Point)
		exp = append(exp, expectation{ch.Seq, p[0], p[1], commits[k].t})
	}
	rep := lg.finish(exp)
	if rep.Lost != 0 || rep.Duplicated != 0 || rep.Extra != 0 || rep.OutOfOrder != 0 || rep.Received == 0 {
		shown := 0
		for _, s := range rep.PerSubscriber {
			if (s.Lost > 0 || len(s.Anomalies) > 0) && shown < 10 {
				b.Logf("subscriber: lost %d, reconnects %d, %q", s.Lost, s.Reconnects, s.Anomalies)
				shown++
			}
		}
		b.Fatalf("nexus: expected %d, received %d, lost %d, duplicated %d, extra %d, out of order %d",
			rep.Expected, rep.Received, rep.Lost, rep.Duplicated, rep.Extra, rep.OutOfOrder)
	}
	rep.Writing = writing.Seconds()
	return rep, idle, changes
}

// benchBare broadcasts the first bareFrames change frames, the same bytes
// the hub sends, to every connection with plain gorilla/websocket.
func benchBare(b *testing.B, loadgen string, changes []geo.Change) loadReport {
	bh := newBareHub()
	srv := httptest.NewServer(bh)
	defer srv.Close()
	defer bh.close()
	lg := startLoadgen(b, loadgen, wsURL(srv, "/"), true)
	defer lg.stop()

	frames := changes[:min(len(changes), bareFrames)]
	start := time.Now().UnixNano()
	var exp []expectation
	for i := range frames {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, changeFrame(&frames[i]))
		if err != nil {
			b.Fatal(err)
		}
		bh.publish(pm)
		exp = append(exp, expectation{Seq: frames[i].Seq, T: start})
	}
	rep := lg.finish(exp)
	if rep.Lost != 0 || rep.Duplicated != 0 {
		b.Fatalf("bare: lost %d, duplicated %d", rep.Lost, rep.Duplicated)
	}
	return rep
}

// bareHub is the baseline: every connection gets every frame, each from
// its own writer goroutine, without filtering, queues or subscriptions.
type bareHub struct {
	upgrader websocket.Upgrader
	mu       sync.Mutex
	cond     *sync.Cond
	msgs     []*websocket.PreparedMessage
	closed   bool
}

func newBareHub() *bareHub {
	h := &bareHub{upgrader: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}}}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func (h *bareHub) publish(pm *websocket.PreparedMessage) {
	h.mu.Lock()
	h.msgs = append(h.msgs, pm)
	h.mu.Unlock()
	h.cond.Broadcast()
}

func (h *bareHub) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cond.Broadcast()
}

func (h *bareHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	go func() { // reader: answers control frames, ends with the peer
		defer ws.Close()
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}()
	go func() {
		defer ws.Close()
		if ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","seq":0}`)) != nil {
			return
		}
		for i := 0; ; {
			h.mu.Lock()
			for i >= len(h.msgs) && !h.closed {
				h.cond.Wait()
			}
			msgs, closed := h.msgs[i:], h.closed
			h.mu.Unlock()
			if closed {
				return
			}
			for _, pm := range msgs {
				if ws.WritePreparedMessage(pm) != nil {
					return
				}
			}
			i += len(msgs)
		}
	}()
}

// inUse is the heap and stack memory in use after a full collection.
func inUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// buildLoadgen builds cmd/loadgen from the module root.
func buildLoadgen(b *testing.B) string {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "loadgen")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/loadgen")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build loadgen: %v\n%s", err, out)
	}
	return bin
}

// loadgenProc is a running loadgen.
type loadgenProc struct {
	b     *testing.B
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	dir   string
	cpu0  float64 // this process's CPU seconds at the start
}

// startLoadgen starts loadgen against url and waits until it is ready.
func startLoadgen(b *testing.B, bin, url string, bare bool) *loadgenProc {
	args := []string{"-url", url, "-n", fmt.Sprint(benchSubscribers)}
	if bare {
		args = append(args, "-bare")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	out := bufio.NewScanner(stdout)
	out.Buffer(make([]byte, 0, 1<<20), 64<<20)
	lg := &loadgenProc{b: b, cmd: cmd, stdin: stdin, out: out, dir: b.TempDir(), cpu0: cpuSeconds()}
	var ev struct{ Event string }
	if !out.Scan() || json.Unmarshal(out.Bytes(), &ev) != nil || ev.Event != "ready" {
		lg.stop()
		b.Fatalf("loadgen did not get ready: %s %v", out.Bytes(), out.Err())
	}
	return lg
}

// finish hands loadgen the description of the changes and reads its report.
func (lg *loadgenProc) finish(exp []expectation) loadReport {
	path := filepath.Join(lg.dir, "expect.json")
	data, err := json.Marshal(exp)
	if err != nil {
		lg.b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		lg.b.Fatal(err)
	}
	fmt.Fprintln(lg.stdin, path)
	var rep loadReport
	if !lg.out.Scan() || json.Unmarshal(lg.out.Bytes(), &rep) != nil || rep.Event != "report" {
		lg.b.Fatalf("no report from loadgen: %.300s %v", lg.out.Bytes(), lg.out.Err())
	}
	if err := lg.cmd.Wait(); err != nil {
		lg.b.Fatalf("loadgen: %v", err)
	}
	st := lg.cmd.ProcessState
	rep.LoadgenCPU = (st.UserTime() + st.SystemTime()).Seconds()
	rep.ServerCPU = cpuSeconds() - lg.cpu0
	return rep
}

func (lg *loadgenProc) stop() {
	if lg.cmd.ProcessState == nil {
		lg.cmd.Process.Kill()
		lg.cmd.Wait()
	}
}

// BenchmarkMatch measures matching one change against many subscriptions
// of the grid loadgen uses, the hub's inner loop.
func BenchmarkMatch(b *testing.B) {
	const subs, changes = 5000, 1000
	r := rand.New(rand.NewPCG(1, 2))
	var list []*subscription
	for i := range subs {
		w, s := -180+r.Float64()*330, -90+r.Float64()*150
		f := geo.NewFilter()
		f.BBox = &geo.BBox{W: w, S: s, E: w + 10 + float64(i%5)*10, N: s + 10 + float64(i%3)*10}
		list = append(list, compile(f))
	}
	var entries []*entry
	for i := range changes {
		ch := geo.Change{Seq: int64(i + 1), Collection: geo.Incidents, Op: geo.OpCreate}
		rec := &geo.Incident{Point: orb.Point{-180 + r.Float64()*360, -60 + r.Float64()*135}, Title: "x", Type: "attack", Date: "2024"}
		ch.After, _ = geo.EncodeFeature(rec)
		e, err := decode(&ch)
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for range b.N {
		for _, e := range entries {
			for _, s := range list {
				if s.match(e) != skip {
					matched++
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs*changes), "ns/match")
	b.ReportMetric(float64(matched)/float64(b.N*changes), "matches/change")
}
