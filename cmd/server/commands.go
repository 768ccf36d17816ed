package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"nexus/export"
	"nexus/geo"
	"nexus/geocode"
	"nexus/ingest"
	"nexus/pgstore"
	"nexus/store"
)

// Exec runs the command line: serve (the default), import, export, token,
// backup or migrate.
func Exec(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stdout, stderr)
	case "import":
		err = importCmd(ctx, args, stdin, stdout, stderr)
	case "export":
		err = exportCmd(ctx, args, stdout, stderr)
	case "token":
		err = tokenCmd(ctx, args, stdout, stderr)
	case "backup":
		err = backupCmd(ctx, args, stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, args, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q; commands: serve, import, export, token, backup, migrate", cmd)
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// openDB opens the database for a command, with countries derived from points.
func openDB(ctx context.Context, dsn string) (database, error) {
	gaz, _ := geocode.Default()
	return openDatabase(ctx, dsn, gaz)
}

// isTerminal reports whether w is a terminal, where progress bars belong.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// lazyGazetteer is the shared gazetteer (geocode.Default), loaded when it
// is first asked something.
type lazyGazetteer struct {
	load func() *geocode.Gazetteer
}

func newLazyGazetteer() *lazyGazetteer {
	return &lazyGazetteer{load: sync.OnceValue(func() *geocode.Gazetteer {
		g, err := geocode.Default()
		if err != nil {
			return nil
		}
		return g
	})}
}

// CountryOf is geocode.Gazetteer.CountryOf; "" without reference data.
func (l *lazyGazetteer) CountryOf(lon, lat float64) string {
	if g := l.load(); g != nil {
		return g.CountryOf(lon, lat)
	}
	return ""
}

// Place is geocode.Gazetteer.Place; not ok without reference data.
func (l *lazyGazetteer) Place(name, country string) (lon, lat float64, precision string, ok bool) {
	if g := l.load(); g != nil {
		return g.Place(name, country)
	}
	return 0, 0, "", false
}

// importMemoryLimit is the soft limit of the Go heap of `server import`,
// in bytes, unless GOMEMLIMIT says otherwise; pgImportMemoryLimit is the
// limit of an import into PostgreSQL, which holds each batch a second
// time in the forms COPY sends.
const (
	importMemoryLimit   = 128 << 20
	pgImportMemoryLimit = 256 << 20
)

// pgImportGCPercent is the garbage collector's GOGC for an import into
// PostgreSQL, unless GOGC says otherwise: most of what a batch allocates
// is garbage by the next, and collecting when the heap is three times
// what is live rather than twice halves the collections; the memory
// limit holds the heap where it was.
const pgImportGCPercent = 200

func importCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("server import", stderr)
	dbPath := fs.String("db", "nexus.db", "SQLite database file, or PostgreSQL URL (postgres://…)")
	actor := fs.String("actor", "cli", "name recorded in the change log")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("import: name at least one file (.geojson, .json, .csv; - for stdin)")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// An import holds two batches and the gazetteer; without a limit
		// the garbage collector lets the heap grow to twice that. The
		// limit costs about a tenth more CPU and keeps a long import's
		// resident memory under 300 MB. An import into PostgreSQL holds
		// more per batch: under the same limit its collector would run
		// without pause and cost half as much CPU again as the import.
		limit := int64(importMemoryLimit)
		if pgstore.IsURL(*dbPath) {
			limit = pgImportMemoryLimit
		}
		debug.SetMemoryLimit(limit)
	}
	if os.Getenv("GOGC") == "" && pgstore.IsURL(*dbPath) {
		debug.SetGCPercent(pgImportGCPercent)
	}
	// The gazetteer is loaded when a row first needs it: an import whose
	// rows have their points and countries never does, and its tens of
	// megabytes would be marked by every collection of the garbage
	// collector.
	gaz := newLazyGazetteer()
	db, err := openDatabase(ctx, *dbPath, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	switch d := db.(type) {
	case *store.DB:
		d.CountryOf = gaz.CountryOf
	case *pgstore.DB:
		d.CountryOf = gaz.CountryOf
	}
	place := gaz.Place
	for _, name := range files {
		var r io.Reader = stdin
		var size int64 = -1
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			if st, err := f.Stat(); err == nil {
				size = st.Size()
			}
			r = f
		}
		opt := ingest.Options{Actor: *actor, Geocode: place}
		var bar *progressbar.ProgressBar
		if isTerminal(stderr) {
			bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(name),
				progressbar.OptionShowBytes(true), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
			opt.Progress = func(n int64) { bar.Set64(n) }
		}
		rep, err := ingest.Import(ctx, db, bufio.NewReaderSize(r, 1<<16), opt)
		if bar != nil {
			bar.Finish()
		}
		fmt.Fprintf(stdout, "%s: %s %d created, %d updated, %d unchanged, %d geocoded, %d rejected\n",
			name, rep.Format, rep.Created, rep.Updated, rep.Unchanged, rep.Geocoded, rep.RejectedCount)
		for i, rj := range rep.Rejected {
			if i == 20 {
				fmt.Fprintf(stderr, "  … %d more rejected rows\n", rep.RejectedCount-20)
				break
			}
			fmt.Fprintf(stderr, "  line %d: %s: %s\n", rj.Line, rj.Field, rj.Reason)
		}
		if err != nil {
			return fmt.Errorf("import %s: %s", name, geo.ErrorMessage(err))
		}
	}
	return nil
}

func exportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server export", stderr)
	dbPath := fs.String("db", "nexus.db", "SQLite database file, or PostgreSQL URL (postgres://…)")
	bbox := fs.String("bbox", "", "w,s,e,n (w > e crosses the antimeridian)")
	datetime := fs.String("datetime", "", "an instant or an interval a/b, ../b, a/..")
	collections := fs.String("collections", "incidents,routes", "collections to export (a CSV holds one)")
	format := fs.String("f", "", "format: geojson, gpkg, csv or kml (default: from the -o extension, else geojson)")
	out := fs.String("o", "-", "output file; - is standard output")
	public := fs.Bool("public", false, "write sensitive records as viewers see them, coarsened (the default is exact: whoever runs this reads the database file)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	filters := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "bbox", "datetime", "collections":
			filters[f.Name] = f.Value.String()
		}
	})
	f := geo.NewFilter()
	f.Exact = !*public
	if *bbox != "" {
		b, err := geo.ParseBBox(*bbox)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		f.BBox = &b
	}
	span, err := geo.ParseInterval(*datetime)
	if err != nil {
		return fmt.Errorf("export: datetime: %w", err)
	}
	f.Span = span
	var cols []geo.Collection
	for _, c := range strings.Split(*collections, ",") {
		col, err := geo.ParseCollection(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("export: %s", geo.ErrorMessage(err))
		}
		cols = append(cols, col)
	}
	if *format == "" {
		*format = "geojson"
		if ext := strings.TrimPrefix(filepath.Ext(*out), "."); ext != "" && *out != "-" {
			if _, err := export.ParseFormat(ext); err == nil {
				*format = ext
			}
		}
	}
	fm, err := export.ParseFormat(*format)
	if err != nil {
		return fmt.Errorf("export: %s", geo.ErrorMessage(err))
	}
	if _, ok := filters["collections"]; !ok {
		cols = nil // the format's default
	}
	if cols, err = fm.Collections(cols); err != nil {
		return fmt.Errorf("export: %s", geo.ErrorMessage(err))
	}
	db, err := openExisting(ctx, *dbPath)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer db.Close()
	var w io.Writer = stdout
	var file *os.File
	if *out != "-" {
		if file, err = os.Create(*out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	prov, err := export.Write(ctx, bw, db, export.Request{Format: fm, Collections: cols, Filter: f, Filters: filters})
	if err == nil {
		err = bw.Flush()
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && *out != "-" && fm == export.CSV {
		// A CSV has no place for its provenance: it goes beside the file.
		var b []byte
		if b, err = json.MarshalIndent(prov, "", "  "); err == nil {
			err = os.WriteFile(*out+".provenance.json", append(b, '\n'), 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *out != "-" {
		var n int64
		for _, c := range prov.Counts {
			n += c
		}
		fmt.Fprintf(stderr, "exported %d features to %s\n", n, *out)
	}
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: server token create NAME -role viewer|editor|admin [-expires 720h] | list | revoke NAME [-db nexus.db]"
	fs := newFlagSet("server token create NAME -role viewer|editor|admin | list | revoke NAME", stderr)
	dbPath := fs.String("db", "nexus.db", "SQLite database file, or PostgreSQL URL (postgres://…)")
	role := fs.String("role", "viewer", "viewer, editor or admin")
	expires := fs.Duration("expires", 0, "the token expires after this long, e.g. 720h; 0 never")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) == 2 && (rest[0] == "create" || rest[0] == "revoke"):
	case len(rest) == 1 && rest[0] == "list":
	default:
		return errors.New(usage)
	}
	db, err := openExisting(ctx, *dbPath)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	defer db.Close()
	switch rest[0] {
	case "list":
		list, err := db.Tokens(ctx)
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tEXPIRES")
		for _, t := range list {
			exp := "never"
			if t.Expires != nil {
				exp = t.Expires.Format(time.RFC3339)
				if t.Expired {
					exp += " (expired)"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Role, t.Created.Format(time.RFC3339), exp)
		}
		return tw.Flush()
	case "revoke":
		if err := db.RevokeToken(ctx, rest[1]); err != nil {
			return fmt.Errorf("token: %s", geo.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "token %s revoked\n", rest[1])
		return nil
	}
	var until time.Time
	if *expires < 0 {
		return errors.New("token: -expires must be a positive duration such as 720h")
	} else if *expires > 0 {
		until = time.Now().Add(*expires)
	}
	token, err := db.CreateTokenUntil(ctx, rest[1], *role, until)
	if err != nil {
		return fmt.Errorf("token: %s", geo.ErrorMessage(err))
	}
	fmt.Fprintln(stdout, token)
	return nil
}

func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server backup OUT.db", stderr)
	dbPath := fs.String("db", "nexus.db", "SQLite database file, or PostgreSQL URL (postgres://…)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("usage: server backup [-db nexus.db] OUT.db")
	}
	if pgstore.IsURL(*dbPath) {
		return errors.New("backup: a PostgreSQL database is backed up with its own tools, while the servers run: pg_dump -Fc -f nexus.dump '" + *dbPath + "' (restore with pg_restore)")
	}
	if _, err := os.Stat(rest[0]); err == nil {
		return fmt.Errorf("backup: %s exists already", rest[0])
	}
	if _, err := os.Stat(*dbPath); err != nil {
		return fmt.Errorf("backup: no database at %s (check -db)", *dbPath)
	}
	db, err := store.Open(*dbPath)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	start := time.Now()
	if err := db.Backup(ctx, rest[0]); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	st, _ := os.Stat(rest[0])
	var size int64
	if st != nil {
		size = st.Size()
	}
	fmt.Fprintf(stdout, "backup: %s written, %d bytes in %s\n", rest[0], size, time.Since(start).Round(time.Millisecond))
	return nil
}
