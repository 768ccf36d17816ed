// Package pgtest runs a throwaway PostgreSQL cluster with PostGIS for
// tests: initdb into a temporary directory, a server on a free port of
// 127.0.0.1 and a unix socket in that directory, one cluster per test
// binary (Main), a fresh database per test (DB). Run as root, the cluster
// belongs to the unprivileged postgres user, as PostgreSQL demands. There
// is no skipping: without PostgreSQL (make deps installs it) tests fail.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Template is the database every test database is copied from: it holds
// the extensions Nexus needs (postgis, unaccent).
const Template = "nexus_template"

// Cluster is one running PostgreSQL cluster.
type Cluster struct {
	Dir  string // the temporary directory: data/, the socket, the log
	Port int

	bin     string
	cred    *syscall.Credential // the postgres user's, when run as root
	durable bool                // synchronous_commit on

	mu   sync.Mutex
	proc *exec.Cmd
	done chan struct{}
	n    atomic.Int64 // databases made
}

// BinDir finds PostgreSQL's programs (not on the PATH of a Debian
// machine): the newest /usr/lib/postgresql/*/bin, or PG_BINDIR.
func BinDir() (string, error) {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run make deps")
}

// Start makes a new cluster in a new temporary directory and starts it.
// Its commits are acknowledged before they reach the log on disk (quick,
// and what tests of a running server need).
func Start() (*Cluster, error) { return start(false) }

// StartDurable is Start for a cluster whose acknowledged commits survive
// a crash of the server (Stop "immediate"), for tests of faults.
func StartDurable() (*Cluster, error) { return start(true) }

func start(durable bool) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "nexus-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, bin: bin, durable: durable}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres user (make deps installs it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if c.Port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	initdb := c.command("initdb", "-D", c.data(), "--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.exec(ctx, "postgres", "CREATE DATABASE "+Template); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.exec(ctx, Template, "CREATE EXTENSION postgis", "CREATE EXTENSION unaccent"); err != nil {
		c.Close()
		return nil, fmt.Errorf("the PostGIS extension (make deps installs it): %w", err)
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

// command runs one of PostgreSQL's programs as the cluster's owner.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGINT}
	return cmd
}

// Start starts the server of a stopped cluster and waits until it answers.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return errors.New("the cluster is running")
	}
	logf, err := os.OpenFile(filepath.Join(c.Dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o666)
	if err != nil {
		return err
	}
	// Without fsync the cluster is quick on a shared machine; it still
	// survives its own crash (the kernel keeps what was written), and a
	// durable cluster writes each commit's log before acknowledging it.
	sync := "off"
	if c.durable {
		sync = "on"
	}
	cmd := c.command("postgres", "-D", c.data(), "-p", strconv.Itoa(c.Port),
		"-k", c.Dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit="+sync, "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	c.proc, c.done = cmd, done
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-done:
			c.proc = nil
			log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
			return fmt.Errorf("postgres exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres does not answer: %w", err)
		}
	}
}

// Stop stops the server: "fast" ends the sessions and shuts down cleanly,
// "immediate" stops as a crash would (recovery runs at the next Start).
func (c *Cluster) Stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	sig := syscall.SIGINT
	if mode == "immediate" {
		sig = syscall.SIGQUIT
	}
	if err := c.proc.Process.Signal(sig); err != nil {
		return err
	}
	<-c.done
	c.proc = nil
	return nil
}

// Close stops the server and removes the cluster's directory.
func (c *Cluster) Close() error {
	err := c.Stop("fast")
	return errors.Join(err, os.RemoveAll(c.Dir))
}

// URL is the connection URL of database db, over TCP on 127.0.0.1.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// exec runs statements on database db, each on its own.
func (c *Cluster) exec(ctx context.Context, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// NewDB creates a new empty database from the template and returns its URL.
func (c *Cluster) NewDB(ctx context.Context) (string, error) {
	name := fmt.Sprintf("nexus_%d", c.n.Add(1))
	if err := c.exec(ctx, "postgres", "CREATE DATABASE "+name+" TEMPLATE "+Template); err != nil {
		return "", err
	}
	return c.URL(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var shared struct {
	sync.Mutex
	c   *Cluster
	err error
}

// Main runs a test binary's tests with one cluster for all of them: call
// it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	c, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
		return 1
	}
	shared.c = c
	code := m.Run()
	Close()
	return code
}

// Close stops the test binary's cluster, if one was started: a TestMain
// whose tests use PostgreSQL now and then (through Shared, which starts
// the cluster at its first call) calls it after m.Run.
func Close() {
	shared.Lock()
	defer shared.Unlock()
	if shared.c != nil {
		if err := shared.c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		shared.c = nil
	}
}

// Shared is the test binary's cluster, started at the first call when
// Main did not start it.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.c == nil && shared.err == nil {
		shared.c, shared.err = Start()
	}
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.c
}

// DB returns the URL of a new empty database (PostGIS and unaccent
// installed) in the test binary's cluster.
func DB(t testing.TB) string {
	t.Helper()
	url, err := Shared(t).NewDB(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return url
}
