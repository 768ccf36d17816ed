package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/internal/pgtest"
)

// engineIncidents is the size of the engines' side-by-side data set.
const engineIncidents = 200000

// engineFigures are one engine's figures in BenchmarkEngines.
type engineFigures struct {
	name     string
	load     measured
	rate     float64       // bbox items requests a second, 8 clients
	itemsP50 time.Duration // their median latency
	matched  int64         // what the box matches
	views    []time.Duration
}

// engineViews are the /api/view requests timed on each engine: the world,
// a region and a city, as the map asks for them.
var engineViews = []string{
	"bbox=-180,-85,180,85&zoom=2",
	"bbox=-82,-6,-66,13&zoom=5",
	"bbox=-74.3,4.4,-73.9,4.9&zoom=11",
}

// engineBox is the bbox of the items requests (Colombia and its
// neighbours; about 2% of the incidents).
const engineBox = "-80,-5,-66,13"

// BenchmarkEngines puts the two engines side by side on 200 000 GeoJSON
// incidents: `server import` into a SQLite file and into PostgreSQL, beside
// `ogr2ogr -f PostgreSQL` of the same file into the same cluster (goal:
// at least as fast); bbox items requests a second with 8 clients; and the
// median time of /api/view. Each server runs as its own process, one
// engine after the other.
func BenchmarkEngines(b *testing.B) {
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		b.Fatal("ogr2ogr not found: install gdal-bin (make deps)")
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "incidents.geojson")
	writeIncidentsGeoJSON(b, in, engineIncidents)
	c, err := pgtest.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < b.N; i++ {
		sqlite := engineFigures{name: "SQLite"}
		path := filepath.Join(dir, fmt.Sprintf("nexus%d.db", i))
		sqlite.load = run(b, serverCmd(b, "import", "-db", path, in))
		if records, _, _ := dbFigures(b, path); records != engineIncidents {
			b.Fatalf("SQLite import: %d records, want %d: %s", records, engineIncidents, sqlite.load.out)
		}

		// The PostgreSQL import and ogr2ogr's of the same file, in turn,
		// engineRounds times, each first in every other round. Each starts
		// in a new database, with the cluster checkpointed and the kernel's
		// dirty pages written, and the database of the one before dropped
		// (with the autovacuum a load sets off in it): none pays for what
		// was done before it. A first round, not counted, warms the cluster
		// up (a new cluster makes its WAL files as it first writes them;
		// one that has run recycles them). The last load is Nexus's, whose
		// database the servers read.
		pg := engineFigures{name: "PostgreSQL"}
		var url string
		var loads, ogrs []measured
		for round := range engineRounds + 1 {
			for turn := range 2 {
				if url != "" {
					dropDB(b, c, url)
				}
				var m measured
				// Nexus goes first in every other round, and last in the last.
				if (engineRounds-round+turn)%2 == 1 {
					url, m = pgImport(b, c, in)
					if round > 0 {
						loads = append(loads, m)
					}
				} else {
					url, m = ogrImport(b, c, in)
					if round > 0 {
						ogrs = append(ogrs, m)
					}
				}
			}
		}
		pg.load = loads[len(loads)-1]
		for _, e := range []*engineFigures{&sqlite, &pg} {
			db := path
			if e == &pg {
				db = url
			}
			engineServe(b, dir, db, e)
		}

		engineReport("import of %d GeoJSON incidents (server import): SQLite %.2f s, PostgreSQL %.2f s (%.0f and %.0f records/s; CPU of the import process %.2f and %.2f s)",
			engineIncidents, sqlite.load.wall.Seconds(), pg.load.wall.Seconds(), engineIncidents/sqlite.load.wall.Seconds(), engineIncidents/pg.load.wall.Seconds(),
			sqlite.load.cpu.Seconds(), pg.load.cpu.Seconds())
		ratios := make([]float64, engineRounds)
		for k := range ratios {
			ratios[k] = loads[k].wall.Seconds() / ogrs[k].wall.Seconds()
			engineReport("round %d: Nexus on PostgreSQL %.2f s (CPU %.2f s), ogr2ogr -f PostgreSQL of the same file into the same cluster %.2f s: %.2f×",
				k+1, loads[k].wall.Seconds(), loads[k].cpu.Seconds(), ogrs[k].wall.Seconds(), ratios[k])
		}
		slices.Sort(ratios)
		ratio := ratios[len(ratios)/2]
		engineReport("import into PostgreSQL, median of %d rounds: %.2f× ogr2ogr's time (goal: at least as fast: %s)",
			engineRounds, ratio, verdict(ratio <= 1))
		engineReport("items?bbox=%s&limit=100 (%d match), 8 clients: SQLite %.0f requests/s (p50 %.1f ms), PostgreSQL %.0f requests/s (p50 %.1f ms): PostgreSQL/SQLite %.2f×",
			engineBox, sqlite.matched, sqlite.rate, ms(sqlite.itemsP50), pg.rate, ms(pg.itemsP50), pg.rate/sqlite.rate)
		if sqlite.matched == 0 || sqlite.matched != pg.matched {
			b.Fatalf("the box matches %d incidents on SQLite, %d on PostgreSQL", sqlite.matched, pg.matched)
		}
		for k, v := range engineViews {
			engineReport("GET /api/view?%s: p50 SQLite %.1f ms, PostgreSQL %.1f ms: PostgreSQL/SQLite %.2f×",
				v, ms(sqlite.views[k]), ms(pg.views[k]), pg.views[k].Seconds()/sqlite.views[k].Seconds())
		}
		b.ReportMetric(ratio, "x-pg-import-vs-ogr2ogr")
		b.ReportMetric(sqlite.rate, "req/s-bbox-sqlite")
		b.ReportMetric(pg.rate, "req/s-bbox-postgres")
	}
}

// engineRounds is how many times BenchmarkEngines loads PostgreSQL with
// Nexus and with ogr2ogr.
const engineRounds = 5

// settle writes what the cluster and the kernel hold to be written: a
// checkpoint, then sync.
func settle(b *testing.B, c *pgtest.Cluster) {
	b.Helper()
	conn, err := pgx.Connect(context.Background(), c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "CHECKPOINT"); err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
}

// pgImport imports the file in into a new database of c with `server
// import`, and returns the database's URL and what the import cost.
func pgImport(b *testing.B, c *pgtest.Cluster, in string) (string, measured) {
	b.Helper()
	url, err := c.NewDB(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	settle(b, c)
	m := run(b, serverCmd(b, "import", "-db", url, in))
	if n := pgCount(b, url, "SELECT count(*) FROM records"); n != engineIncidents {
		b.Fatalf("PostgreSQL import: %d records, want %d: %s", n, engineIncidents, m.out)
	}
	return url, m
}

// ogrImport loads the file in into a new database of c with `ogr2ogr -f
// PostgreSQL`, and returns the database's URL and what the load cost.
// GDAL 3.6 takes libpq's keywords, not a URL; it loads with COPY and
// builds a GiST index.
func ogrImport(b *testing.B, c *pgtest.Cluster, in string) (string, measured) {
	b.Helper()
	url, err := c.NewDB(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	settle(b, c)
	m := run(b, exec.Command("ogr2ogr", "-f", "PostgreSQL",
		fmt.Sprintf("PG:host=127.0.0.1 port=%d user=postgres dbname=%s", c.Port, strings.TrimPrefix(u.Path, "/")), in, "-nln", "incidents"))
	if n := pgCount(b, url, "SELECT count(*) FROM incidents"); n != engineIncidents {
		b.Fatalf("ogr2ogr: %d rows, want %d: %s", n, engineIncidents, m.out)
	}
	return url, m
}

// dropDB drops the database at url, a database of c.
func dropDB(b *testing.B, c *pgtest.Cluster, url string) {
	b.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+" WITH (FORCE)"); err != nil {
		b.Fatal(err)
	}
}

// engineServe starts the server program on db and measures bbox items
// requests and views on it, then stops it.
func engineServe(b *testing.B, dir, db string, e *engineFigures) {
	b.Helper()
	p, _ := startProgram(b, dir, db)
	defer func() {
		p.cmd.Process.Signal(os.Interrupt)
		p.cmd.Wait()
	}()
	items := p.url + "/api/collections/incidents/items?limit=100&bbox=" + engineBox
	res, err := http.Get(items)
	if err != nil {
		b.Fatal(err)
	}
	var head struct {
		NumberMatched int64 `json:"numberMatched"`
	}
	err = json.NewDecoder(res.Body).Decode(&head)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("%s items: %s %v", e.name, res.Status, err)
	}
	e.matched = head.NumberMatched
	pageRate(b, items, 8, 100) // warm up
	e.rate, e.itemsP50 = pageRate(b, items, 8, 2000)
	client := &http.Client{}
	for _, v := range engineViews {
		timeGet(b, client, p.url, "/api/view?"+v, 5) // warm up
		lat, _ := timeGet(b, client, p.url, "/api/view?"+v, 60)
		p50, _ := quantiles(lat)
		e.views = append(e.views, p50)
	}
}

// pgCount runs a count query on the database at url.
func pgCount(b *testing.B, url, query string) int64 {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// engineReport prints one line of the engines' figures.
func engineReport(format string, args ...any) {
	fmt.Printf("    engines: "+format+"\n", args...)
}
