package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"nexus/internal/pgtest"
)

// The import benchmarks run `server import` as its own process, as a user
// would, and measure it as they measure ogr2ogr beside it: wall time, CPU
// time (user + system, the fairer figure on a shared machine) and peak
// resident memory.

// rssGoalMB is the peak RSS goal of a 2 000 000-row import, MB.
const rssGoalMB = 300.0

// TestCommandChild runs the program with the arguments in NEXUS_CHILD_ARGS
// (a JSON array) when the benchmarks start this test binary as a child
// process. Without it, it does nothing.
func TestCommandChild(t *testing.T) {
	env := os.Getenv("NEXUS_CHILD_ARGS")
	if env == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(env), &args); err != nil {
		t.Fatal(err)
	}
	if err := Exec(context.Background(), args, os.Stdin, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// measured is what one process cost.
type measured struct {
	wall, cpu time.Duration
	rssMB     float64
	out       string
}

func (m measured) String() string {
	return fmt.Sprintf("%.2f s wall, %.2f s CPU, peak RSS %.0f MB", m.wall.Seconds(), m.cpu.Seconds(), m.rssMB)
}

// run runs a command to its end and measures it.
func run(tb testing.TB, cmd *exec.Cmd) measured {
	tb.Helper()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("%s: %v: %s", strings.Join(cmd.Args, " "), err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return measured{wall: wall, cpu: cpu, rssMB: float64(ru.Maxrss) / 1024, out: string(out)}
}

// serverCmd is `server ARGS…` run as a child process.
func serverCmd(tb testing.TB, args ...string) *exec.Cmd {
	b, err := json.Marshal(args)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommandChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NEXUS_CHILD_ARGS="+string(b))
	return cmd
}

// dbFigures reads the number of records, the last seq and the size of a
// database file (with its WAL, if any).
func dbFigures(tb testing.TB, path string) (records, seq, bytes int64) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT count(*), (SELECT coalesce(max(seq), 0) FROM changes) FROM records").Scan(&records, &seq); err != nil {
		tb.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			bytes += fi.Size()
		}
	}
	return records, seq, bytes
}

// tableSizes lists the space each table and index of a SQLite file takes,
// largest first, as "name MB" (the dbstat table).
func tableSizes(tb testing.TB, path string) string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT name, sum(pgsize) FROM dbstat GROUP BY name HAVING sum(pgsize) > 100000 ORDER BY 2 DESC")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			tb.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", name, float64(size)/1e6))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(parts, ", ")
}

// postgisLoad loads a GeoJSON file into a new PostGIS database of a
// throwaway cluster with `ogr2ogr -f PostgreSQL` (COPY and a GiST index),
// and returns what the load cost (the ogr2ogr process; the server's own
// work shows in the wall time only), the table's size with its indexes
// and TOAST (pg_total_relation_size), and its heap alone
// (pg_relation_size).
func postgisLoad(tb testing.TB, in string) (measured, int64, int64) {
	tb.Helper()
	ctx := context.Background()
	c, err := pgtest.Start()
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	url, err := c.NewDB(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		tb.Fatal(err)
	}
	// GDAL 3.6 takes libpq's keywords, not a URL.
	m := run(tb, exec.Command("ogr2ogr", "-f", "PostgreSQL",
		fmt.Sprintf("PG:host=127.0.0.1 port=%d user=postgres dbname=%s", c.Port, strings.TrimPrefix(u.Path, "/")), in, "-nln", "incidents"))
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	var size, heap int64
	if err := conn.QueryRow(ctx, "SELECT pg_total_relation_size('incidents'), pg_relation_size('incidents')").Scan(&size, &heap); err != nil {
		tb.Fatal(err)
	}
	return m, size, heap
}

// writeIncidentsGeoJSON writes n synthetic incidents, each with its
// external_id, as one FeatureCollection.
func writeIncidentsGeoJSON(tb testing.TB, path string, n int) {
	tb.Helper()
	types := []string{"attack", "plot", "arrest", "seizure", "assassination", "kidnapping", "trafficking", "financing", "recruitment", "other"}
	actors := []string{"ISIS", "Hezbollah", "Los Zetas", "Sinaloa Cartel", "Clan del Golfo", "FARC dissidents", "ELN", "AQIM", "CJNG", "PCC"}
	countries := []string{"CO", "MX", "VE", "EC", "PE", "GN", "GW", "SN", "ML", "ES", "NL", "US", "BR", "PA", "HN"}
	rng := rand.New(rand.NewPCG(42, 1))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := range n {
		if i > 0 {
			w.WriteByte(',')
		}
		lon, lat := -120+rng.Float64()*140, -40+rng.Float64()*95
		typ, actor := types[rng.IntN(len(types))], actors[rng.IntN(len(actors))]
		killed := "null"
		if rng.IntN(3) > 0 {
			killed = strconv.Itoa(rng.IntN(20))
		}
		fmt.Fprintf(w, "\n"+`{"type":"Feature","geometry":{"type":"Point","coordinates":[%s,%s]},"properties":{"title":"Synthetic incident %d","summary":"A %s attributed to %s, generated for the benchmark.","type":%q,"date":"%04d-%02d-%02d","country":%q,"precision":"exact","actors":[%q],"killed":%s,"wounded":null,"sources":[{"title":"Synthetic source","url":"https://example.org/%d"}],"tags":["synthetic"],"external_id":"synth:%d"}}`,
			strconv.FormatFloat(lon, 'g', -1, 64), strconv.FormatFloat(lat, 'g', -1, 64), i, typ, actor, typ,
			1990+rng.IntN(35), 1+rng.IntN(12), 1+rng.IntN(28), countries[rng.IntN(len(countries))], actor, killed, i, i)
	}
	w.WriteString("\n]}\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// writeACLED writes n events in the column layout of an ACLED export.
func writeACLED(tb testing.TB, path string, n int) {
	tb.Helper()
	events := [][2]string{{"Battles", "Armed clash"}, {"Violence against civilians", "Attack"}, {"Explosions/Remote violence", "Remote explosive/landmine/IED"},
		{"Violence against civilians", "Abduction/forced disappearance"}, {"Strategic developments", "Arrests"}, {"Riots", "Mob violence"}}
	actors := []string{"ELN: National Liberation Army", "Clan del Golfo", "Sinaloa Cartel", "CJNG: Jalisco New Generation Cartel", "Military Forces of Colombia (2022-)", "JNIM: Group for Support of Islam and Muslims"}
	countries := [][3]string{{"170", "Colombia", "South America"}, {"484", "Mexico", "Central America"}, {"466", "Mali", "Western Africa"}, {"604", "Peru", "South America"}, {"218", "Ecuador", "South America"}}
	rng := rand.New(rand.NewPCG(7, 1))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("event_id_cnty,event_date,year,time_precision,disorder_type,event_type,sub_event_type,actor1,assoc_actor_1,inter1,actor2,assoc_actor_2,inter2,interaction,civilian_targeting,iso,region,country,admin1,admin2,admin3,location,latitude,longitude,geo_precision,source,source_scale,notes,fatalities,tags,timestamp\n")
	for i := range n {
		ev, c := events[rng.IntN(len(events))], countries[rng.IntN(len(countries))]
		y, m, d := 2000+rng.IntN(25), 1+rng.IntN(12), 1+rng.IntN(28)
		fmt.Fprintf(w, "ACL%d,%04d-%02d-%02d,%d,1,Political violence,%s,%s,%s,,1,%s,,2,12,,%s,%s,%s,Region %d,,,Town %d,%.4f,%.4f,1,Local press,National,\"On %04d-%02d-%02d, event %d was reported.\",%d,,%d\n",
			i, y, m, d, y, ev[0], ev[1], actors[rng.IntN(len(actors))], actors[rng.IntN(len(actors))], c[0], c[2], c[1], rng.IntN(30), rng.IntN(5000),
			-40+rng.Float64()*60, -90+rng.Float64()*100, y, m, d, i, rng.IntN(10), 1600000000+i)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkImportVsGDAL: `server import` of 200 000 GeoJSON incidents
// beside `ogr2ogr -f GPKG` of the same file in the same run (goal: at
// least as fast, 3× the aim), the same import again with nothing changed
// (goal: 5× faster than the first), and the size of the database with
// its history (goal: within 2× of the same file loaded into PostGIS by
// ogr2ogr, in the same run), table by table.
func BenchmarkImportVsGDAL(b *testing.B) {
	const n = 200000
	if _, err := exec.LookPath("ogr2ogr"); err != nil {
		b.Fatal("ogr2ogr not found: install gdal-bin (make deps)")
	}
	dir := b.TempDir()
	in := filepath.Join(dir, "incidents.geojson")
	writeIncidentsGeoJSON(b, in, n)
	for i := 0; i < b.N; i++ {
		dbPath := filepath.Join(dir, fmt.Sprintf("nexus%d.db", i))
		first := run(b, serverCmd(b, "import", "-db", dbPath, in))
		records, seq, size := dbFigures(b, dbPath)
		if records != n || seq != n {
			b.Fatalf("import: %d records, last seq %d, want %d: %s", records, seq, n, first.out)
		}
		gpkg := filepath.Join(dir, fmt.Sprintf("gdal%d.gpkg", i))
		gdal := run(b, exec.Command("ogr2ogr", "-f", "GPKG", gpkg, in))
		again := run(b, serverCmd(b, "import", "-db", dbPath, in))
		if r2, seq2, _ := dbFigures(b, dbPath); r2 != n || seq2 != seq {
			b.Fatalf("the unchanged re-import left %d records and seq %d (was %d): %s", r2, seq2, seq, again.out)
		}
		pgLoad, pgSize, pgHeap := postgisLoad(b, in)
		b.Logf("server import of %d GeoJSON incidents: %v, %.0f records/s", n, first, n/first.wall.Seconds())
		b.Logf("ogr2ogr -f GPKG of the same file:      %v, %.0f records/s", gdal, n/gdal.wall.Seconds())
		b.Logf("Nexus/GDAL speed: %.2f× by wall time, %.2f× by CPU time (goal 1×, aim 3×)",
			gdal.wall.Seconds()/first.wall.Seconds(), gdal.cpu.Seconds()/first.cpu.Seconds())
		b.Logf("ogr2ogr -f PostgreSQL (PostGIS) of the same file: %v (its server's work in the wall time only); Nexus/PostGIS %.2f× by wall time",
			pgLoad, pgLoad.wall.Seconds()/first.wall.Seconds())
		b.Logf("unchanged re-import: %v; %.1f× faster than the first by wall time, %.1f× by CPU time (goal 5×); %.2f× GDAL's first load by CPU time; nothing written",
			again, first.wall.Seconds()/again.wall.Seconds(), first.cpu.Seconds()/again.cpu.Seconds(), gdal.cpu.Seconds()/again.cpu.Seconds())
		mb, pgMB := float64(size)/1e6, float64(pgSize)/1e6
		var gpkgMB float64
		if fi, err := os.Stat(gpkg); err == nil {
			gpkgMB = float64(fi.Size()) / 1e6
		}
		b.Logf("database of %d incidents with their history: %.0f MB; PostGIS table with its indexes %.0f MB: %.2f× (goal ≤ 2×), its heap alone %.0f MB: %.2f×; GeoPackage %.0f MB: %.2f×",
			n, mb, pgMB, mb/pgMB, float64(pgHeap)/1e6, mb/(float64(pgHeap)/1e6), gpkgMB, mb/gpkgMB)
		b.Logf("database by table and index, MB: %s", tableSizes(b, dbPath))
		b.ReportMetric(n/first.wall.Seconds(), "records/s")
		b.ReportMetric(gdal.wall.Seconds()/first.wall.Seconds(), "x-gdal-speed")
		b.ReportMetric(first.wall.Seconds()/again.wall.Seconds(), "x-reimport")
		b.ReportMetric(mb, "MB")
		b.ReportMetric(mb/pgMB, "x-postgis-size")
	}
}

// BenchmarkImportACLED2M: `server import` of a 2 000 000-row CSV in
// ACLED's column layout: rate, time and peak RSS (goal < 300 MB), beside
// `ogr2ogr -f GPKG` of the same file.
func BenchmarkImportACLED2M(b *testing.B) {
	const n = 2000000
	dir := b.TempDir()
	in := filepath.Join(dir, "acled.csv")
	writeACLED(b, in, n)
	fi, err := os.Stat(in)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		dbPath := filepath.Join(dir, fmt.Sprintf("acled%d.db", i))
		m := run(b, serverCmd(b, "import", "-db", dbPath, in))
		records, _, size := dbFigures(b, dbPath)
		if records != n {
			b.Fatalf("imported %d of %d rows: %s", records, n, m.out)
		}
		os.Remove(dbPath)
		// The anchor: GDAL's CSV driver reads the same points into a
		// GeoPackage.
		gpkg := filepath.Join(dir, fmt.Sprintf("acled%d.gpkg", i))
		gdal := run(b, exec.Command("ogr2ogr", "-f", "GPKG", gpkg, in, "-oo", "X_POSSIBLE_NAMES=longitude", "-oo", "Y_POSSIBLE_NAMES=latitude", "-a_srs", "EPSG:4326"))
		os.Remove(gpkg)
		b.Logf("server import of %d ACLED rows (%.0f MB of CSV): %v, %.0f rows/s; peak RSS %.0f MB against a goal of %.0f MB (%.2f×); database %.0f MB",
			n, float64(fi.Size())/1e6, m, n/m.wall.Seconds(), m.rssMB, rssGoalMB, m.rssMB/rssGoalMB, float64(size)/1e6)
		b.Logf("ogr2ogr -f GPKG of the same CSV: %v; Nexus/GDAL speed %.2f× by wall time, %.2f× by CPU time",
			gdal, gdal.wall.Seconds()/m.wall.Seconds(), gdal.cpu.Seconds()/m.cpu.Seconds())
		b.ReportMetric(n/m.wall.Seconds(), "rows/s")
		b.ReportMetric(m.rssMB, "peak-RSS-MB")
	}
}
