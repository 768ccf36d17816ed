package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"nexus/geo"
)

// migrateCmd copies everything of one database into another, empty one
// (records, history and change log, tokens, aliases, watches and their
// alerts), then reads the copy back and checks it holds as many rows of
// each kind as were read.
func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("server migrate -from A -to B", stderr)
	from := fs.String("from", "", "the database to copy: a SQLite file or a postgres:// URL")
	to := fs.String("to", "", "the new, empty database: a SQLite file or a postgres:// URL")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *from == "" || *to == "" || len(rest) > 0 {
		return errors.New("usage: server migrate -from nexus.db -to postgres://… (or the other way, or file to file)")
	}
	if *from == *to {
		return errors.New("migrate: -from and -to name the same database")
	}
	src, err := openExisting(ctx, *from)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	dst, err := openDatabase(ctx, *to, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer dst.Close()

	start := time.Now()
	read := map[string]int64{}
	err = dst.Load(ctx, func(ctx context.Context, fn func(geo.Row) error) error {
		return src.Dump(ctx, func(r geo.Row) error {
			read[r.Kind()]++
			return fn(r)
		})
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	written := map[string]int64{}
	if err := dst.Dump(ctx, func(r geo.Row) error { written[r.Kind()]++; return nil }); err != nil {
		return fmt.Errorf("migrate: reading the copy back: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tread\twritten\t")
	var wrong []string
	for _, k := range geo.RowKinds {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", k, read[k], written[k])
		if read[k] != written[k] {
			wrong = append(wrong, fmt.Sprintf("%s: %d read, %d in the copy", k, read[k], written[k]))
		}
	}
	tw.Flush()
	if len(wrong) > 0 {
		return fmt.Errorf("migrate: the counts differ: %s", strings.Join(wrong, "; "))
	}
	fmt.Fprintf(stdout, "migrate: %s copied to %s in %s\n", redact(*from), redact(*to), time.Since(start).Round(time.Millisecond))
	return nil
}

// redact hides the password of a database URL, for what is printed.
func redact(name string) string {
	if u, err := url.Parse(name); err == nil && u.User != nil {
		return u.Redacted()
	}
	return name
}
