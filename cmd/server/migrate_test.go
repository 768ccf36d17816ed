package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"nexus/geo"
	"nexus/internal/pgtest"
	"nexus/store"
	"nexus/store/storetest"
)

// TestMigrateRoundTrip copies a database with every kind of row to a new
// one and that one to a third, through `server migrate`, the middle one a
// SQLite file or a PostgreSQL database: the third holds the first's rows
// one for one, exports the same bytes, keeps the same history and takes
// the same tokens. A copy into a database that holds data, or from one
// that does not exist, is refused.
func TestMigrateRoundTrip(t *testing.T) {
	cluster, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Close() })
	for _, middle := range []string{"sqlite", "postgresql"} {
		t.Run(middle, func(t *testing.T) { migrateRoundTrip(t, cluster, middle) })
	}
}

func migrateRoundTrip(t *testing.T, cluster *pgtest.Cluster, middle string) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")
	if middle == "postgresql" {
		var err error
		if b, err = cluster.NewDB(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	src, err := store.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	p := storetest.Populate(t, src)
	src.Close()
	migrate := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Exec(context.Background(), append([]string{"migrate"}, args...), strings.NewReader(""), &out, &out)
		return out.String(), err
	}
	for _, step := range [][2]string{{a, b}, {b, c}} {
		out, err := migrate("-from", step[0], "-to", step[1])
		if err != nil {
			t.Fatalf("migrate %s → %s: %v\n%s", step[0], step[1], err, out)
		}
		if !strings.Contains(out, "copied to") || !strings.Contains(out, "watch_change") {
			t.Errorf("migrate says:\n%s", out)
		}
		t.Logf("%s", out)
	}

	first, err := store.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	third, err := store.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	storetest.SameContents(t, first, third)
	ctx := context.Background()
	for name, tok := range p.Tokens {
		if got, err := third.Authenticate(ctx, tok); err != nil || got.Name != name {
			t.Errorf("%s's token after two copies: %+v, %v", name, got, err)
		}
	}
	// The same history: the change log entry for entry, and the history
	// of a record edited twice and of a deleted one, page for page.
	la, err := first.Changes(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := third.Changes(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(la) < 300 || mustMarshal(t, la) != mustMarshal(t, lc) {
		t.Errorf("the change log after two copies: %d entries, the original's %d, or they differ", len(lc), len(la))
	}
	for _, s := range []struct {
		st      geo.Stored
		entries int
	}{{p.Changed, 3}, {p.Deleted, 2}} {
		for before := int64(0); ; {
			ha, err := first.History(ctx, s.st.Collection, s.st.ID, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			hc, err := third.History(ctx, s.st.Collection, s.st.ID, before, 2)
			if err != nil {
				t.Fatal(err)
			}
			if ja, jc := mustMarshal(t, ha), mustMarshal(t, hc); ja != jc || len(hc.Changes) == 0 {
				t.Errorf("history of %s after two copies:\n%s\nwant\n%s", s.st.ID, jc, ja)
				break
			}
			s.entries -= len(hc.Changes)
			if before = hc.Next; before == 0 {
				break
			}
		}
		if s.entries != 0 {
			t.Errorf("history of %s: %d entries more or fewer than written", s.st.ID, s.entries)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"into a database with data", []string{"-from", a, "-to", b}, "not empty"},
		{"from nowhere", []string{"-from", filepath.Join(dir, "none.db"), "-to", filepath.Join(dir, "d.db")}, "no database"},
		{"onto itself", []string{"-from", a, "-to", a}, "same database"},
		{"without -to", []string{"-from", a}, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := migrate(tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q\n%s", err, tc.want, out)
			}
		})
	}
}

// mustMarshal encodes v as JSON.
func mustMarshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
