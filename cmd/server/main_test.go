package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"nexus/store"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMain runs the real program on ":0" over a database in dir.
func startMain(t *testing.T, dbPath string, args ...string) (*Main, *syncBuffer) {
	t.Helper()
	var out syncBuffer
	m := NewMain(&out, io.Discard)
	if err := m.ParseFlags(append([]string{"-addr", "127.0.0.1:0", "-db", dbPath}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m, &out
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestFirstStartSeedsAndPrintsAdminLink(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "nexus.db")
	m, out := startMain(t, dbPath)
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/#token=(nx_[A-Za-z0-9_-]+)`).FindStringSubmatch(out.String())
	if link == nil {
		t.Fatalf("no admin link printed:\n%s", out.String())
	}
	var items struct {
		NumberMatched int `json:"numberMatched"`
	}
	getJSON(t, m.URL+"/api/collections/incidents/items?limit=1", &items)
	if items.NumberMatched < 20 {
		t.Fatalf("sample data not loaded: %d incidents", items.NumberMatched)
	}
	getJSON(t, m.URL+"/api/collections/routes/items?limit=1", &items)
	if items.NumberMatched < 5 {
		t.Fatalf("sample routes not loaded: %d", items.NumberMatched)
	}
	// The token works for writing.
	req, _ := http.NewRequest("POST", m.URL+"/api/collections/incidents/items", strings.NewReader(
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[-78.79,1.81]},"properties":{"title":"Test","type":"seizure","date":"2024-05"}}`))
	req.Header.Set("Authorization", "Bearer "+link[1])
	req.Header.Set("Content-Type", "application/geo+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST with the first token: %d", resp.StatusCode)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A second start neither seeds again nor prints a new token.
	m2, out2 := startMain(t, dbPath)
	defer m2.Close()
	if strings.Contains(out2.String(), "#token=") {
		t.Fatalf("second start printed a token:\n%s", out2.String())
	}
	getJSON(t, m2.URL+"/api/collections/incidents/items?limit=1", &items)
	var first struct {
		NumberMatched int `json:"numberMatched"`
	}
	getJSON(t, m2.URL+"/api/collections/incidents/items?limit=1", &first)
	if first.NumberMatched != items.NumberMatched {
		t.Fatalf("counts differ after restart")
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "nexus.db")
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Exec(context.Background(), args, strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	// token create needs a database that exists: make an empty one.
	db0, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db0.Close()
	// token create prints only the token.
	out, err := run("token", "create", "alice", "-role", "editor", "-db", dbPath)
	if err != nil || !regexp.MustCompile(`^nx_[A-Za-z0-9_-]+\n$`).MatchString(out) {
		t.Fatalf("token create: %q %v", out, err)
	}
	if _, err := run("token", "create", "bob", "-role", "emperor", "-db", dbPath); err == nil {
		t.Fatal("a bad role was accepted")
	}
	// import a GeoJSON file, then export it.
	in := filepath.Join(dir, "in.geojson")
	os.WriteFile(in, []byte(`{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0653,4.6669]},"properties":{"title":"A","type":"plot","date":"2018","external_id":"t:1"}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[2.35,48.85]},"properties":{"title":"B","type":"arrest","date":"2019-02-03","external_id":"t:2"}}]}`), 0o644)
	out, err = run("import", "-db", dbPath, in)
	if err != nil || !strings.Contains(out, "2 created") {
		t.Fatalf("import: %q %v", out, err)
	}
	out, err = run("import", "-db", dbPath, in)
	if err != nil || !strings.Contains(out, "2 unchanged") {
		t.Fatalf("re-import: %q %v", out, err)
	}
	exp := filepath.Join(dir, "out.geojson")
	if out, err = run("export", "-db", dbPath, "-bbox", "-80,0,-70,10", "-o", exp); err != nil {
		t.Fatalf("export: %q %v", out, err)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	b, _ := os.ReadFile(exp)
	if err := json.Unmarshal(b, &fc); err != nil || len(fc.Features) != 1 || fc.Features[0].Properties["title"] != "A" {
		t.Fatalf("export holds %s (%v)", b, err)
	}
	// -f csv, or the extension of -o, chooses the format; a CSV's
	// provenance goes beside it.
	csvOut := filepath.Join(dir, "out.csv")
	if out, err = run("export", "-db", dbPath, "-datetime", "2019/..", "-o", csvOut); err != nil {
		t.Fatalf("export csv: %q %v", out, err)
	}
	b, _ = os.ReadFile(csvOut)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "\uFEFFid,") || !strings.Contains(lines[1], ",B,") {
		t.Fatalf("CSV export holds %q", b)
	}
	var prov struct {
		Filters map[string]string `json:"filters"`
		Counts  map[string]int64  `json:"counts"`
	}
	b, _ = os.ReadFile(csvOut + ".provenance.json")
	if err := json.Unmarshal(b, &prov); err != nil || prov.Filters["datetime"] != "2019/.." || prov.Counts["incidents"] != 1 {
		t.Fatalf("CSV provenance %s (%v)", b, err)
	}
	gpkgOut := filepath.Join(dir, "out.bin")
	if out, err = run("export", "-db", dbPath, "-f", "gpkg", "-o", gpkgOut); err != nil {
		t.Fatalf("export gpkg: %q %v", out, err)
	}
	if b, _ = os.ReadFile(gpkgOut); !bytes.HasPrefix(b, []byte("SQLite format 3\x00")) {
		t.Fatalf("-f gpkg wrote %.20q", b)
	}
	// backup makes a copy that opens.
	bak := filepath.Join(dir, "copy.db")
	if out, err = run("backup", "-db", dbPath, bak); err != nil {
		t.Fatalf("backup: %q %v", out, err)
	}
	db, err := sql.Open("sqlite", bak)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM records").Scan(&n); err != nil || n != 2 {
		t.Fatalf("backup holds %d records (%v)", n, err)
	}
	if _, err := run("import", "-db", dbPath, filepath.Join(dir, "missing.csv")); err == nil {
		t.Fatal("a missing file did not fail")
	}
	if _, err := run("frobnicate"); err == nil {
		t.Fatal("an unknown command did not fail")
	}
}

// TestSignalShutdown runs the built program, sends SIGTERM and checks that
// it exits cleanly with the WAL checkpointed into the database file.
func TestSignalShutdown(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dbPath := filepath.Join(dir, "nexus.db")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", dbPath)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "#token=") {
		n, err := stdout.Read(buf)
		if err != nil {
			t.Fatalf("server exited early: %v\n%s", err, seen.String())
		}
		seen.Write(buf[:n])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("server did not stop after SIGTERM")
	}
	if st, err := os.Stat(dbPath + "-wal"); err == nil && st.Size() > 0 {
		t.Fatalf("WAL not checkpointed: %d bytes left", st.Size())
	}
}
