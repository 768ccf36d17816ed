package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"nexus/geo"
	"nexus/store"
)

// previousSchema writes a database of the schema before migration
// "upto" (the migrations named before it applied, user_version counting
// them) and runs the statements in it; the store's steps in Go after a
// migration have nothing to do on the empty tables.
func previousSchema(t *testing.T, path, upto string, stmts ...string) {
	t.Helper()
	names, err := fs.Glob(os.DirFS("migrations"), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	n := 0
	for _, name := range names {
		if name >= upto {
			break
		}
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n++
	}
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", n)); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
}

// TestUpgradeWithoutRidIndexes: a database written before the indexes
// records_overview and record_keys_rid were dropped opens without them,
// and its records behave as written since: the overview reads their keys,
// routes page in order, and an update, an import and a delete remove
// exactly the keys the stored Features had,
// with the actor summary and the history following.
func TestUpgradeWithoutRidIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nexus.db")
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	inc := &geo.Incident{Point: orb.Point{-74.08, 4.6}, Title: "Car bomb", Type: "attack", Date: "2019-01-17",
		Actors: []string{"ELN", "Clan del Golfo"}, Country: "CO", ExternalID: "x-1"}
	inc.Normalize(nil)
	*inc.Base() = geo.Meta{ID: "inc1", Version: 1, Created: created, Updated: created}
	route := &geo.Route{Line: orb.LineString{{-70, 10}, {-60, 12}}, Name: "Caribbean", Commodity: "cocaine", Actors: []string{"Los Zetas"}}
	route.Normalize(nil)
	*route.Base() = geo.Meta{ID: "route1", Version: 1, Created: created, Updated: created}
	row := func(rid int64, r geo.Record) string {
		f, err := geo.EncodeFeature(r)
		if err != nil {
			t.Fatal(err)
		}
		g, err := wkb.Marshal(r.Geometry())
		if err != nil {
			t.Fatal(err)
		}
		k := r.Keys()
		x, y := "NULL", "NULL"
		if p, ok := r.Geometry().(orb.Point); ok {
			x, y = fmt.Sprint(p[0]), fmt.Sprint(p[1])
		}
		ext := "NULL"
		if k.ExternalID != "" {
			ext = "'" + k.ExternalID + "'"
		}
		b := k.Boxes[0]
		return fmt.Sprintf(`INSERT INTO records (rid, collection, id, external_id, kind, t0, t1, x, y, version, geom, feature)
			VALUES (%d, '%s', '%s', %s, '%s', %d, %d, %s, %s, 1, x'%x', x'%x');
			INSERT INTO boxes VALUES (%[12]d, %[13]v, %[14]v, %[15]v, %[16]v, %[13]v, %[14]v, %[15]v, %[16]v);
			INSERT INTO changes (collection, id, op, version, actor, time) VALUES ('%[2]s', '%[3]s', 'create', 1, 'old', '2024-05-01T12:00:00Z')`,
			rid, r.Collection(), r.Base().ID, ext, k.Kind, k.Span.Start, k.Span.End, x, y, g, f,
			rid*2, b.Min[0], b.Max[0], b.Min[1], b.Max[1])
	}
	previousSchema(t, path, "0022",
		row(1, inc), row(2, route),
		// The keys as the writes of that schema indexed them.
		"INSERT INTO record_keys (key, value, rid) VALUES ('actor', 'ELN', 1), ('actor', 'Clan del Golfo', 1), ('country', 'CO', 1), ('actor', 'Los Zetas', 2)",
		"INSERT INTO actor_summary (actor, collection, n, t0, t1) VALUES ('ELN', 'incidents', 1, 1547683200, 1547769600), ('Clan del Golfo', 'incidents', 1, 1547683200, 1547769600), ('Los Zetas', 'routes', 1, NULL, NULL)",
		"INSERT INTO actor_countries (actor, country, n) VALUES ('ELN', 'CO', 1), ('Clan del Golfo', 'CO', 1)",
		"INSERT INTO actor_months (actor, month, n) VALUES ('ELN', '2019-01', 1), ('Clan del Golfo', '2019-01', 1)",
		"INSERT INTO actor_pairs (a, b, collection, n) VALUES ('Clan del Golfo', 'ELN', 'incidents', 1)",
	)

	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, want := range map[string]int{"records_overview": 0, "record_keys_rid": 0, "records_routes": 1} {
		if got := scalar[int](t, db, "SELECT count(*) FROM sqlite_master WHERE name = ?", name); got != want {
			t.Errorf("index %s: %d in the upgraded schema, want %d", name, got, want)
		}
	}

	// The overview reads the keys of the records written before.
	var got []geo.Keys
	if _, err := db.EachIncident(ctx, func(id string, _ int64, p orb.Point, k geo.Keys) error {
		if id != "inc1" || p != inc.Point {
			t.Errorf("overview: %s at %v, want inc1 at %v", id, p, inc.Point)
		}
		got = append(got, geo.Keys{Actors: append([]string{}, k.Actors...), Countries: k.Countries, Kind: k.Kind})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Actors) != 2 || got[0].Actors[0] != "Clan del Golfo" || got[0].Actors[1] != "ELN" ||
		len(got[0].Countries) != 1 || got[0].Countries[0] != "CO" || got[0].Kind != "attack" {
		t.Errorf("overview keys %+v, want actors [Clan del Golfo ELN], countries [CO], kind attack", got)
	}
	// The R*Tree, rebuilt without its auxiliary columns, finds both by
	// their exact boxes: a box whose edge is the incident's longitude
	// holds it, one a hair west of it does not.
	if n := scalar[int](t, db, "SELECT count(*) FROM pragma_table_info('boxes')"); n != 5 {
		t.Errorf("boxes has %d columns, want 5", n)
	}
	for _, tc := range []struct {
		bbox geo.BBox
		c    geo.Collection
		want int64
	}{
		{geo.BBox{W: -80, S: 0, E: -74.08, N: 10}, geo.Incidents, 1},
		{geo.BBox{W: -80, S: 0, E: -74.0800000001, N: 10}, geo.Incidents, 0},
		{geo.BBox{W: -65, S: 0, E: -64, N: 20}, geo.Routes, 1},
	} {
		f := geo.NewFilter()
		f.BBox = &tc.bbox
		if n, err := db.Count(ctx, tc.c, f); err != nil || n != tc.want {
			t.Errorf("%s in %+v: %d (%v), want %d", tc.c, tc.bbox, n, err, tc.want)
		}
	}
	// Routes page through their own index.
	page, err := db.Query(ctx, geo.Routes, geo.NewFilter(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Features) != 1 || page.Matched != 1 {
		t.Errorf("routes: %d features, %d matched, want the one", len(page.Features), page.Matched)
	}

	count := func(actor string) int64 {
		t.Helper()
		f := geo.NewFilter()
		f.Actors = []string{actor}
		n, err := db.Count(ctx, geo.Incidents, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	keysOf := func(rid int) int {
		return scalar[int](t, db, "SELECT count(*) FROM record_keys WHERE rid = ?", rid)
	}

	// A single write replaces the keys: ELN goes, AQIM comes.
	upd := &geo.Incident{Point: inc.Point, Title: "Car bomb", Type: "attack", Date: "2019-01-17",
		Actors: []string{"Clan del Golfo", "AQIM"}, Country: "CO", ExternalID: "x-1"}
	if _, outcome, err := db.Replace(ctx, "test", "inc1", 1, upd); err != nil || outcome != geo.Updated {
		t.Fatalf("replace: %v %v", outcome, err)
	}
	if n := count("ELN"); n != 0 {
		t.Errorf("after the update, actor ELN matches %d incidents, want 0", n)
	}
	if n := count("AQIM"); n != 1 {
		t.Errorf("after the update, actor AQIM matches %d incidents, want 1", n)
	}
	if n := keysOf(1); n != 3 {
		t.Errorf("after the update the incident has %d key rows, want 3", n)
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM actor_summary WHERE actor = 'ELN'"); n != 0 {
		t.Errorf("ELN is still in the actor summary (%d rows)", n)
	}

	// An import finds the record by its external_id and replaces its
	// keys the bulk way.
	imp := &geo.Incident{Point: inc.Point, Title: "Car bomb", Type: "attack", Date: "2019-01-17",
		Actors: []string{"ISIS"}, Country: "VE", ExternalID: "x-1"}
	res, err := db.ImportBatch(ctx, "test", []geo.Record{imp})
	if err != nil || len(res) != 1 || res[0].Outcome != geo.Updated {
		t.Fatalf("import: %+v %v", res, err)
	}
	if n := keysOf(1); n != 2 {
		t.Errorf("after the import the incident has %d key rows, want 2", n)
	}
	for _, a := range []string{"Clan del Golfo", "AQIM"} {
		if n := count(a); n != 0 {
			t.Errorf("after the import, actor %s matches %d incidents, want 0", a, n)
		}
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM actor_countries WHERE country = 'CO'"); n != 0 {
		t.Errorf("the actor summary still counts country CO (%d rows)", n)
	}

	// A delete removes the rest.
	if err := db.Delete(ctx, "test", geo.Incidents, "inc1", 0); err != nil {
		t.Fatal(err)
	}
	if n := keysOf(1); n != 0 {
		t.Errorf("after the delete the incident has %d key rows, want 0", n)
	}
	if n := scalar[int](t, db, "SELECT count(*) FROM actor_summary WHERE collection = 'incidents'"); n != 0 {
		t.Errorf("after the delete the actor summary counts %d actors of incidents, want 0", n)
	}
	if n := keysOf(2); n != 1 {
		t.Errorf("the route has %d key rows, want its 1", n)
	}
	h, err := db.History(ctx, geo.Incidents, "inc1", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, c := range h.Changes {
		ops = append(ops, c.Op)
	}
	if len(ops) != 4 || ops[0] != geo.OpDelete || ops[1] != geo.OpUpdate || ops[2] != geo.OpUpdate || ops[3] != geo.OpCreate || !h.Deleted {
		t.Errorf("history %v (deleted %v), want delete, update, update, create", ops, h.Deleted)
	}
	if len(h.Changes) == 4 && string(h.Changes[3].After) != string(mustEncode(t, inc)) {
		t.Errorf("the first version in the history is\n%s\nwant\n%s", h.Changes[3].After, mustEncode(t, inc))
	}
	if len(h.Changes) == 4 && !h.Changes[3].Time.Equal(created) {
		t.Errorf("the first change, its time kept as text, reads as %v, want %v", h.Changes[3].Time, created)
	}
	if ok := scalar[string](t, db, "PRAGMA integrity_check"); ok != "ok" {
		t.Errorf("integrity_check: %s", ok)
	}
}

func mustEncode(t *testing.T, r geo.Record) []byte {
	t.Helper()
	f, err := geo.EncodeFeature(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
