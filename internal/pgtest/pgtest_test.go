package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestPostGIS: a new database has PostGIS and unaccent, and survives a
// restart of the cluster.
func TestPostGIS(t *testing.T) {
	ctx := context.Background()
	url := DB(t)
	query := func() (float64, string) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var d float64
		var s string
		if err := conn.QueryRow(ctx, "SELECT ST_Distance('POINT(0 0)'::geography, 'POINT(1 0)'::geography), unaccent('Bogotá')").Scan(&d, &s); err != nil {
			t.Fatal(err)
		}
		return d, s
	}
	d, s := query()
	if d < 111000 || d > 111400 || s != "Bogota" {
		t.Fatalf("distance %f, unaccent %q", d, s)
	}
	c := Shared(t)
	if err := c.Stop("immediate"); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Fatal("connected to a stopped cluster")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if d2, _ := query(); d2 != d {
		t.Fatalf("after restart %f, want %f", d2, d)
	}
}
