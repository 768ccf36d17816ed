package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"nexus/geo"
)

// Populated is what Populate wrote that a copy must answer for: the
// tokens' secrets by name, a record with a history of several versions,
// and a deleted one.
type Populated struct {
	Tokens           map[string]string
	Changed, Deleted geo.Stored
}

// Populate fills db with every kind of row a dump carries: records
// imported in bulk and written one by one, updated and deleted (so the
// change log holds bulk entries, updates and tombstones), tokens with and
// without an expiry, aliases, a watch with a webhook and its history, an
// alert, a delivery with a failed try, and the alert cursor.
func Populate(t testing.TB, db Engine) Populated {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	gen := NewSynth(13, "dump")
	recs := append(gen.Incidents(300), gen.Routes(30)...)
	ImportAll(t, db, "loader", recs)
	again := make([]geo.Record, 0, 20)
	for i := 0; i < len(recs); i += 17 {
		r := clone(t, recs[i])
		rename(r, "renamed in a second import")
		again = append(again, r)
	}
	_, err := db.ImportBatch(ctx, "loader", again)
	must(err)
	var p Populated
	p.Changed, err = db.Create(ctx, "ana", gen.Incident())
	must(err)
	for _, name := range []string{"first edit", "second edit"} {
		r := Decode(t, geo.Incidents, string(p.Changed.Feature))
		rename(r, name)
		p.Changed, _, err = db.Replace(ctx, "eve", p.Changed.ID, p.Changed.Version, r)
		must(err)
	}
	p.Deleted, err = db.Create(ctx, "ana", gen.Route())
	must(err)
	must(db.Delete(ctx, "eve", geo.Routes, p.Deleted.ID, p.Deleted.Version))

	p.Tokens = map[string]string{}
	for name, expires := range map[string]time.Time{"ana": {}, "eve": time.Now().Add(240 * time.Hour)} {
		tok, err := db.CreateTokenUntil(ctx, name, geo.RoleEditor, expires)
		must(err)
		p.Tokens[name] = tok
	}
	for _, a := range []geo.Alias{{Alias: "Daesh", Name: "ISIS", Source: "press"}, {Alias: "Los Zeta", Name: "Los Zetas"}} {
		_, _, err := db.PutAlias(ctx, "ana", a)
		must(err)
	}

	w, err := geo.DecodeWatch([]byte(`{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.08,4.6]},"properties":{"name":"Bogotá","radius_km":50,"webhook":"https://hooks.example.org/nexus"}}`))
	must(err)
	sw, err := db.CreateWatch(ctx, "ana", w)
	must(err)
	w.Name = "Bogotá and around"
	sw, _, err = db.ReplaceWatch(ctx, "ana", sw.ID, sw.Version, w)
	must(err)
	// Times to the millisecond, as the engines keep their own: a copy
	// through any engine keeps them whole.
	now := time.Now().UTC().Truncate(time.Millisecond)
	seq := lastSeq(t, db)
	body := []byte(`{"watch":"` + sw.ID + `"}`)
	saved, err := db.SaveAlerts(ctx, seq,
		[]geo.Alert{{Watch: sw.ID, Seq: seq, Event: geo.EventLeave, Collection: geo.Routes, ID: p.Deleted.ID, Time: now, Feature: p.Deleted.Feature}},
		[]geo.Delivery{{Watch: sw.ID, Seq: seq, URL: "https://hooks.example.org/nexus", Body: body}})
	must(err)
	if !saved {
		t.Fatal("the alerts were not saved")
	}
	due, err := db.DueDeliveries(ctx, now.Add(time.Minute), 10)
	must(err)
	if len(due) != 1 {
		t.Fatalf("%d deliveries due, want 1", len(due))
	}
	must(db.RecordAttempt(ctx, due[0].DID, geo.Attempt{Attempt: 1, Time: now, Status: 502, Error: "bad gateway", Duration: 120 * time.Millisecond},
		geo.DeliveryPending, now.Add(time.Hour)))
	_, err = db.MarkAlertsRead(ctx, sw.ID, []int64{seq})
	must(err)
	return p
}

// DumpRows returns every row of db's dump, each encoded as JSON, and how
// many rows of each kind there are.
func DumpRows(t testing.TB, db Engine) ([]string, map[string]int) {
	t.Helper()
	var rows []string
	kinds := map[string]int{}
	err := db.Dump(context.Background(), func(r geo.Row) error {
		b, err := json.Marshal(r)
		rows = append(rows, string(b))
		kinds[r.Kind()]++
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, kinds
}

// SameContents fails unless two databases hold the same: the same dump,
// row for row, and byte-identical exports.
func SameContents(t testing.TB, a, b Engine) {
	t.Helper()
	ra, ka := DumpRows(t, a)
	rb, kb := DumpRows(t, b)
	if len(ra) != len(rb) {
		t.Errorf("%d rows %v, then %d rows %v", len(ra), ka, len(rb), kb)
	}
	for i := range min(len(ra), len(rb)) {
		if ra[i] != rb[i] {
			t.Fatalf("row %d differs:\n%.600s\n%.600s", i, ra[i], rb[i])
		}
	}
	var ea, eb bytes.Buffer
	cols := []geo.Collection{geo.Incidents, geo.Routes, geo.Links}
	if _, err := a.Export(context.Background(), &ea, cols, geo.NewFilter()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Export(context.Background(), &eb, cols, geo.NewFilter()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea.Bytes(), eb.Bytes()) {
		t.Errorf("the exports differ: %d and %d bytes", ea.Len(), eb.Len())
	}
}

// testDumpLoad loads one database's dump into another and shows that the
// copy holds the same rows, exports the same bytes, answers the same
// queries, history and tokens, and that a second load is refused.
func testDumpLoad(t *testing.T, open func(*testing.T) Engine) {
	ctx := context.Background()
	a := open(t)
	p := Populate(t, a)
	b := open(t)
	if err := b.Load(ctx, a.Dump); err != nil {
		t.Fatal(err)
	}
	_, kinds := DumpRows(t, b)
	for _, k := range geo.RowKinds {
		if kinds[k] == 0 {
			t.Errorf("the copy holds no row of kind %s: Populate should write some", k)
		}
	}
	SameContents(t, a, b)
	WantCode(t, b.Load(ctx, a.Dump), geo.EINVALID)

	for name, tok := range p.Tokens {
		if got, err := b.Authenticate(ctx, tok); err != nil || got.Name != name {
			t.Errorf("%s's token in the copy: %+v, %v", name, got, err)
		}
	}
	for _, s := range []geo.Stored{p.Changed, p.Deleted} {
		ha, err := a.History(ctx, s.Collection, s.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := b.History(ctx, s.Collection, s.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(ha)
		jb, _ := json.Marshal(hb)
		if !bytes.Equal(ja, jb) || len(ha.Changes) < 2 {
			t.Errorf("history of %s: %d entries, the copy's %d:\n%.300s\n%.300s", s.ID, len(ha.Changes), len(hb.Changes), ja, jb)
		}
	}
	// What the copy derives from the records (indexes, full text, actor
	// summaries) answers as the original's does.
	f := geo.NewFilter()
	f.BBox = &geo.BBox{W: 150, S: -60, E: -150, N: 60}
	f.Q = "cocaine"
	for _, c := range []geo.Collection{geo.Incidents, geo.Routes} {
		na, err := a.Count(ctx, c, f)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := b.Count(ctx, c, f)
		if err != nil || na != nb {
			t.Errorf("%s: %d match in the original, %d (%v) in the copy", c, na, nb, err)
		}
	}
	aa, err := a.Actors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ab, err := b.Actors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ja, jb := mustJSON(t, aa), mustJSON(t, ab); ja != jb {
		t.Errorf("actors differ:\n%.300s\n%.300s", ja, jb)
	}
	for _, db := range []Engine{a, b} {
		if n, err := db.UnreadAlerts(ctx, "ana"); err != nil || len(n) != 0 {
			t.Errorf("unread alerts %v, %v: the read alert should stay read", n, err)
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
