package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"nexus/geo"
)

// PlotFeature and RouteFeature are one incident and one route (across the
// antimeridian), as clients send them.
const (
	PlotFeature  = `{"type":"Feature","geometry":{"type":"Point","coordinates":[-74.0539,4.6669]},"properties":{"title":"ISIS plot against a Zona Rosa restaurant","type":"plot","date":"2018","actors":["ISIS"],"killed":null}}`
	RouteFeature = `{"type":"Feature","geometry":{"type":"LineString","coordinates":[[175.5,-17.1],[-175.25,-13.8]]},"properties":{"name":"Pacific crossing","commodity":"methamphetamine"}}`
)

// Decode reads a Feature of collection c, failing the test if it is not valid.
func Decode(t testing.TB, c geo.Collection, feature string) geo.Record {
	t.Helper()
	r, err := geo.DecodeFeature(c, []byte(feature))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rename changes the title of an incident or the name of a route.
func rename(r geo.Record, name string) {
	switch r := r.(type) {
	case *geo.Incident:
		r.Title = name
	case *geo.Route:
		r.Name = name
	}
}

// testConcurrentUpdates releases two writers at once, both replacing the
// same record from version 1: exactly one wins, the other gets ECONFLICT,
// and the history holds only the versions that exist.
func testConcurrentUpdates(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		coll    geo.Collection
		feature string
	}{
		{"incident", geo.Incidents, PlotFeature},
		{"route", geo.Routes, RouteFeature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wins := [2]int{}
			for round := range 25 {
				created, err := db.Create(ctx, "creator", Decode(t, tc.coll, tc.feature))
				if err != nil {
					t.Fatal(err)
				}
				release := make(chan struct{})
				var wg sync.WaitGroup
				var errs [2]error
				for k := range 2 {
					r := Decode(t, tc.coll, string(created.Feature))
					rename(r, fmt.Sprintf("writer %d", k))
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-release
						_, _, errs[k] = db.Replace(ctx, fmt.Sprintf("writer%d", k), created.ID, 1, r)
					}()
				}
				close(release)
				wg.Wait()

				winner := -1
				for k, err := range errs {
					if err == nil {
						if winner >= 0 {
							t.Fatalf("round %d: both writers succeeded from version 1", round)
						}
						winner = k
					} else {
						WantCode(t, err, geo.ECONFLICT)
					}
				}
				if winner < 0 {
					t.Fatalf("round %d: neither writer succeeded: %v", round, errs)
				}
				wins[winner]++

				got, err := db.Get(ctx, tc.coll, created.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Version != 2 || !bytes.Contains(got.Feature, []byte(fmt.Sprintf(`"writer %d"`, winner))) {
					t.Fatalf("round %d: stored version %d is not the winner's: %s", round, got.Version, got.Feature)
				}
				hp, err := db.History(ctx, tc.coll, created.ID, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				h := hp.Changes
				if len(h) != 2 {
					t.Fatalf("round %d: history has %d entries, want 2 (create v1, update v2)", round, len(h))
				}
				if h[0].Op != geo.OpUpdate || h[0].Version != 2 || h[0].Actor != fmt.Sprintf("writer%d", winner) ||
					!bytes.Equal(h[0].Before, created.Feature) || !bytes.Equal(h[0].After, got.Feature) {
					t.Errorf("round %d: newest entry %s v%d by %s does not record the winning update", round, h[0].Op, h[0].Version, h[0].Actor)
				}
				if h[1].Op != geo.OpCreate || h[1].Version != 1 || h[1].Actor != "creator" || h[1].Seq >= h[0].Seq {
					t.Errorf("round %d: oldest entry %s v%d seq %d by %s is not the create", round, h[1].Op, h[1].Version, h[1].Seq, h[1].Actor)
				}
			}
			t.Logf("writer 0 won %d rounds, writer 1 won %d", wins[0], wins[1])
		})
	}
}

// wantChange is a change-log entry a step must write.
type wantChange struct {
	op, id, actor string
	version       int64
	before, after []byte
}

// testChangeLog runs one record's life and an import through the store,
// checking after every step the exact change-log entries it wrote.
func testChangeLog(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	clock := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	db.SetClock(func() time.Time { clock = clock.Add(time.Second); return clock })

	var v1, v2 geo.Stored
	var imported []geo.ImportResult
	importRecs := func(changeOne bool) []geo.Record {
		recs := NewSynth(7, "log").Incidents(5)
		if changeOne {
			recs[2].(*geo.Incident).Place = "Puerto Tejada, Cauca"
		}
		return recs
	}
	steps := []struct {
		name string
		run  func(t *testing.T) []wantChange
	}{
		{"create by alice", func(t *testing.T) []wantChange {
			var err error
			v1, err = db.Create(ctx, "alice", Decode(t, geo.Incidents, PlotFeature))
			if err != nil || v1.Version != 1 {
				t.Fatalf("create: version %d, %v", v1.Version, err)
			}
			return []wantChange{{geo.OpCreate, v1.ID, "alice", 1, nil, v1.Feature}}
		}},
		{"replace with the stored content is unchanged", func(t *testing.T) []wantChange {
			s, outcome, err := db.Replace(ctx, "bob", v1.ID, 1, Decode(t, geo.Incidents, string(v1.Feature)))
			if err != nil || outcome != geo.Unchanged || s.Version != 1 || !bytes.Equal(s.Feature, v1.Feature) {
				t.Fatalf("replace: %s, version %d, %v", outcome, s.Version, err)
			}
			return nil
		}},
		{"replace with the original input (no server fields) is unchanged", func(t *testing.T) []wantChange {
			_, outcome, err := db.Replace(ctx, "bob", v1.ID, 0, Decode(t, geo.Incidents, PlotFeature))
			if err != nil || outcome != geo.Unchanged {
				t.Fatalf("replace: %s, %v", outcome, err)
			}
			return nil
		}},
		{"PATCH-like: get, change killed, replace with expect", func(t *testing.T) []wantChange {
			cur, err := db.Get(ctx, geo.Incidents, v1.ID)
			if err != nil {
				t.Fatal(err)
			}
			r := Decode(t, geo.Incidents, string(cur.Feature)).(*geo.Incident)
			killed := int64(0)
			r.Killed = &killed
			var outcome geo.Outcome
			v2, outcome, err = db.Replace(ctx, "bob", v1.ID, cur.Version, r)
			if err != nil || outcome != geo.Updated || v2.Version != cur.Version+1 {
				t.Fatalf("replace: %s, version %d after %d, %v", outcome, v2.Version, cur.Version, err)
			}
			// Only killed and the server fields moved.
			before := Decode(t, geo.Incidents, string(v1.Feature)).(*geo.Incident)
			after := Decode(t, geo.Incidents, string(v2.Feature)).(*geo.Incident)
			if after.Killed == nil || *after.Killed != 0 || after.Version != 2 || !after.Created.Equal(before.Created) || !after.Updated.After(before.Updated) {
				t.Fatalf("after the patch: %s", v2.Feature)
			}
			after.Killed, after.Meta = before.Killed, before.Meta
			if a, b := mustEncode(t, after), mustEncode(t, before); !bytes.Equal(a, b) {
				t.Fatalf("the patch changed more than killed:\n%s\n%s", a, b)
			}
			return []wantChange{{geo.OpUpdate, v1.ID, "bob", 2, v1.Feature, v2.Feature}}
		}},
		{"replace from a stale version is a conflict", func(t *testing.T) []wantChange {
			r := Decode(t, geo.Incidents, string(v1.Feature))
			rename(r, "stale edit")
			_, _, err := db.Replace(ctx, "mallory", v1.ID, 1, r)
			WantCode(t, err, geo.ECONFLICT)
			return nil
		}},
		{"delete from a stale version is a conflict", func(t *testing.T) []wantChange {
			WantCode(t, db.Delete(ctx, "mallory", geo.Incidents, v1.ID, 1), geo.ECONFLICT)
			return nil
		}},
		{"delete by carol", func(t *testing.T) []wantChange {
			if err := db.Delete(ctx, "carol", geo.Incidents, v1.ID, 2); err != nil {
				t.Fatal(err)
			}
			_, err := db.Get(ctx, geo.Incidents, v1.ID)
			WantCode(t, err, geo.ENOTFOUND)
			return []wantChange{{geo.OpDelete, v1.ID, "carol", 3, v2.Feature, nil}}
		}},
		{"delete again is not found", func(t *testing.T) []wantChange {
			WantCode(t, db.Delete(ctx, "carol", geo.Incidents, v1.ID, 0), geo.ENOTFOUND)
			return nil
		}},
		{"import five records by importer", func(t *testing.T) []wantChange {
			var err error
			imported, err = db.ImportBatch(ctx, "importer", importRecs(false))
			if err != nil {
				t.Fatal(err)
			}
			var want []wantChange
			for _, r := range imported {
				if r.Outcome != geo.Created {
					t.Fatalf("import: %s %s", r.ID, r.Outcome)
				}
				s, err := db.Get(ctx, geo.Incidents, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, wantChange{geo.OpCreate, r.ID, "importer", 1, nil, s.Feature})
			}
			return want
		}},
		{"import the same records again: all unchanged", func(t *testing.T) []wantChange {
			res, err := db.ImportBatch(ctx, "importer", importRecs(false))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Outcome != geo.Unchanged || r.ID != imported[i].ID {
					t.Errorf("record %d: %s %s, want %s unchanged", i, r.ID, r.Outcome, imported[i].ID)
				}
			}
			return nil
		}},
		{"import again with one record changed", func(t *testing.T) []wantChange {
			before, err := db.Get(ctx, geo.Incidents, imported[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			res, err := db.ImportBatch(ctx, "importer2", importRecs(true))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				want := geo.Unchanged
				if i == 2 {
					want = geo.Updated
				}
				if r.Outcome != want || r.ID != imported[i].ID {
					t.Errorf("record %d: %s %s, want %s %s", i, r.ID, r.Outcome, imported[i].ID, want)
				}
			}
			after, err := db.Get(ctx, geo.Incidents, imported[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			return []wantChange{{geo.OpUpdate, imported[2].ID, "importer2", 2, before.Feature, after.Feature}}
		}},
	}
	var all []wantChange
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			seq0, err := db.LastSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := step.run(t)
			seq1, err := db.LastSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.Changes(ctx, seq0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) || seq1 != seq0+int64(len(want)) {
				t.Fatalf("LastSeq %d → %d and %d entries, want %d entries", seq0, seq1, len(got), len(want))
			}
			checkChanges(t, got, want, seq0)
			all = append(all, want...)
		})
	}

	t.Run("the whole log", func(t *testing.T) {
		got, err := db.Changes(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all) {
			t.Fatalf("%d entries, want %d", len(got), len(all))
		}
		checkChanges(t, got, all, 0)
	})

	t.Run("history keeps every version and the tombstone", func(t *testing.T) {
		hp, err := db.History(ctx, geo.Incidents, v1.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !hp.Deleted || hp.Next != 0 {
			t.Errorf("history of a deleted record: deleted %v, next %d", hp.Deleted, hp.Next)
		}
		h := hp.Changes
		var got []string
		for _, c := range h {
			got = append(got, fmt.Sprintf("%s v%d by %s", c.Op, c.Version, c.Actor))
		}
		want := []string{"delete v3 by carol", "update v2 by bob", "create v1 by alice"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("history %q, want %q", got, want)
		}
		before, after, err := h[0].Records()
		if err != nil || after != nil || before == nil || before.Base().Version != 2 {
			t.Fatalf("the tombstone does not keep version 2: before %v, after %v, %v", before, after, err)
		}
		// Paged: one at a time, newest first, the same entries.
		var paged []string
		for before := int64(0); ; {
			p, err := db.History(ctx, geo.Incidents, v1.ID, before, 1)
			if err != nil || len(p.Changes) != 1 {
				t.Fatalf("page before %d: %+v %v", before, p, err)
			}
			c := p.Changes[0]
			paged = append(paged, fmt.Sprintf("%s v%d by %s", c.Op, c.Version, c.Actor))
			if p.Next == 0 {
				break
			}
			before = p.Next
		}
		if fmt.Sprint(paged) != fmt.Sprint(want) {
			t.Fatalf("paged history %q, want %q", paged, want)
		}
		_, err = db.History(ctx, geo.Incidents, "no-such-id", 0, 100)
		WantCode(t, err, geo.ENOTFOUND)
	})
}

// checkChanges compares entries with what was expected; seqs only grow,
// from after seq0, and the time is the clock's at the write.
func checkChanges(t *testing.T, got []geo.Change, want []wantChange, seq0 int64) {
	t.Helper()
	last := seq0
	for i, c := range got {
		w := want[i]
		if c.Seq <= last {
			t.Errorf("entry %d: seq %d does not grow past %d", i, c.Seq, last)
		}
		last = c.Seq
		if c.Op != w.op || c.ID != w.id || c.Actor != w.actor || c.Version != w.version || c.Collection != geo.Incidents {
			t.Errorf("entry %d (seq %d): %s %s %s v%d by %s, want %s %s v%d by %s", i, c.Seq, c.Collection, c.Op, c.ID, c.Version, c.Actor, w.op, w.id, w.version, w.actor)
		}
		if !bytes.Equal(c.Before, w.before) || !bytes.Equal(c.After, w.after) {
			t.Errorf("entry %d (seq %d): before/after bytes differ:\nbefore %s\nwant   %s\nafter  %s\nwant   %s", i, c.Seq, c.Before, w.before, c.After, w.after)
		}
		if c.Time.IsZero() {
			t.Errorf("entry %d (seq %d) has no time", i, c.Seq)
		}
		if len(c.After) > 0 {
			_, after, err := c.Records()
			if err != nil || !after.Base().Updated.Equal(c.Time) {
				t.Errorf("entry %d (seq %d): time %v is not the record's updated time (%v)", i, c.Seq, c.Time, err)
			}
		}
	}
}

func mustEncode(t testing.TB, r geo.Record) []byte {
	t.Helper()
	b, err := geo.EncodeFeature(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testConflictCodes tells the two refusals of a write apart by their code
// alone: a version that moved on is ECONFLICT, another record's
// external_id is EDUPLICATE, and the version is checked first.
func testConflictCodes(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	withExt := func(ext string) geo.Record {
		r := Decode(t, geo.Incidents, PlotFeature).(*geo.Incident)
		r.ExternalID = ext
		return r
	}
	a, err := db.Create(ctx, "alice", withExt("gtd:1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Create(ctx, "alice", withExt("gtd:2"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Create(ctx, "bob", withExt("gtd:1"))
	WantCode(t, err, geo.EDUPLICATE)
	_, _, err = db.Replace(ctx, "bob", b.ID, b.Version, withExt("gtd:1"))
	WantCode(t, err, geo.EDUPLICATE)
	_, _, err = db.Replace(ctx, "bob", b.ID, 0, withExt("gtd:1"))
	WantCode(t, err, geo.EDUPLICATE)
	if _, _, err := db.Replace(ctx, "bob", b.ID, b.Version, withExt("gtd:3")); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.Replace(ctx, "bob", b.ID, b.Version, withExt("gtd:1"))
	WantCode(t, err, geo.ECONFLICT)
	WantCode(t, db.Delete(ctx, "bob", geo.Incidents, b.ID, b.Version), geo.ECONFLICT)
	if got, err := db.Get(ctx, geo.Incidents, a.ID); err != nil || got.Version != 1 {
		t.Fatalf("the record holding gtd:1: version %d, %v", got.Version, err)
	}
}
