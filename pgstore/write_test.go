package pgstore_test

import (
	"context"
	"testing"

	"nexus/geo"
	"nexus/store/storetest"
)

// TestCRUD: a record is created as version 1, replaced only from its
// latest version, left alone by a replacement that changes nothing, and
// deleted; the change log and the history hold each step in order.
func TestCRUD(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	for _, tc := range []struct {
		coll    geo.Collection
		feature string
	}{{geo.Incidents, storetest.PlotFeature}, {geo.Routes, storetest.RouteFeature}} {
		t.Run(string(tc.coll), func(t *testing.T) {
			seq0, err := db.LastSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			created, err := db.Create(ctx, "alice", storetest.Decode(t, tc.coll, tc.feature))
			if err != nil {
				t.Fatal(err)
			}
			if created.Version != 1 || len(created.ID) != 16 {
				t.Fatalf("created %+v", created)
			}
			got, err := db.Get(ctx, tc.coll, created.ID)
			if err != nil || string(got.Feature) != string(created.Feature) {
				t.Fatalf("get: %v %s", err, got.Feature)
			}
			other := geo.Incidents
			if tc.coll == geo.Incidents {
				other = geo.Routes
			}
			_, err = db.Get(ctx, other, created.ID)
			storetest.WantCode(t, err, geo.ENOTFOUND)

			r := storetest.Decode(t, tc.coll, tc.feature)
			switch r := r.(type) {
			case *geo.Incident:
				r.Title = "renamed"
			case *geo.Route:
				r.Name = "renamed"
			}
			updated, outcome, err := db.Replace(ctx, "bob", created.ID, 1, r)
			if err != nil || outcome != geo.Updated || updated.Version != 2 {
				t.Fatalf("replace: %v %s %+v", err, outcome, updated)
			}
			_, _, err = db.Replace(ctx, "bob", created.ID, 1, r)
			storetest.WantCode(t, err, geo.ECONFLICT)
			same, outcome, err := db.Replace(ctx, "bob", created.ID, 2, r)
			if err != nil || outcome != geo.Unchanged || same.Version != 2 {
				t.Fatalf("unchanged replace: %v %s %+v", err, outcome, same)
			}
			storetest.WantCode(t, db.Delete(ctx, "carol", tc.coll, created.ID, 1), geo.ECONFLICT)
			if err := db.Delete(ctx, "carol", tc.coll, created.ID, 2); err != nil {
				t.Fatal(err)
			}
			_, err = db.Get(ctx, tc.coll, created.ID)
			storetest.WantCode(t, err, geo.ENOTFOUND)
			storetest.WantCode(t, db.Delete(ctx, "carol", tc.coll, created.ID, 0), geo.ENOTFOUND)

			changes, err := db.Changes(ctx, seq0, 100)
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				op      string
				version int64
				actor   string
			}{{geo.OpCreate, 1, "alice"}, {geo.OpUpdate, 2, "bob"}, {geo.OpDelete, 3, "carol"}}
			if len(changes) != len(want) {
				t.Fatalf("%d changes, want %d", len(changes), len(want))
			}
			for i, w := range want {
				c := changes[i]
				if c.Op != w.op || c.Version != w.version || c.Actor != w.actor || c.ID != created.ID || c.Collection != tc.coll || c.Time.IsZero() {
					t.Errorf("change %d: %+v, want %+v", i, c, w)
				}
				if i > 0 && c.Seq <= changes[i-1].Seq {
					t.Errorf("seq %d after %d", c.Seq, changes[i-1].Seq)
				}
			}
			if string(changes[1].Before) != string(created.Feature) || string(changes[1].After) != string(updated.Feature) || string(changes[2].Before) != string(updated.Feature) {
				t.Error("before and after of the changes are not the stored features")
			}
			h, err := db.History(ctx, tc.coll, created.ID, 0, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !h.Deleted || len(h.Changes) != 2 || h.Changes[0].Op != geo.OpDelete || h.Next == 0 {
				t.Fatalf("history page 1: %+v", h)
			}
			h, err = db.History(ctx, tc.coll, created.ID, h.Next, 2)
			if err != nil || len(h.Changes) != 1 || h.Changes[0].Op != geo.OpCreate || h.Next != 0 {
				t.Fatalf("history page 2: %v %+v", err, h)
			}
			_, err = db.History(ctx, tc.coll, "nosuchid", 0, 2)
			storetest.WantCode(t, err, geo.ENOTFOUND)
			deleted, err := db.DeletedAfter(ctx, seq0)
			if err != nil || deleted[created.ID] != changes[2].Seq {
				t.Fatalf("deleted after: %v %v", err, deleted)
			}
		})
	}
}

// TestDuplicateExternalID: a second record with a taken external_id is a
// duplicate and leaves nothing behind.
func TestDuplicateExternalID(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	r := storetest.Decode(t, geo.Incidents, storetest.PlotFeature)
	r.(*geo.Incident).ExternalID = "acled:1"
	if _, err := db.Create(ctx, "a", r); err != nil {
		t.Fatal(err)
	}
	seq, _ := db.LastSeq(ctx)
	r2 := storetest.Decode(t, geo.Incidents, storetest.PlotFeature)
	r2.(*geo.Incident).ExternalID = "acled:1"
	_, err := db.Create(ctx, "a", r2)
	storetest.WantCode(t, err, geo.EDUPLICATE)
	if seq2, _ := db.LastSeq(ctx); seq2 != seq {
		t.Fatalf("a failed create logged a change: seq %d → %d", seq, seq2)
	}
	if n, err := db.Count(ctx, geo.Incidents, geo.NewFilter()); err != nil || n != 1 {
		t.Fatalf("count %d %v", n, err)
	}
}

// TestTokens: only a token's hash is kept; a revoked or expired token does
// not authenticate.
func TestTokens(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	tok, err := db.CreateToken(ctx, "ana", geo.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.Authenticate(ctx, tok)
	if err != nil || p.Name != "ana" || p.Role != geo.RoleEditor {
		t.Fatalf("authenticate: %v %+v", err, p)
	}
	_, err = db.CreateToken(ctx, "ana", geo.RoleViewer)
	storetest.WantCode(t, err, geo.EDUPLICATE)
	_, err = db.CreateToken(ctx, "bo", "root")
	storetest.WantCode(t, err, geo.EINVALID)
	_, err = db.Authenticate(ctx, tok+"x")
	storetest.WantCode(t, err, geo.EUNAUTHORIZED)
	var stored int
	if err := db.Pool().QueryRow(ctx, "SELECT count(*) FROM tokens WHERE hash = convert_to($1, 'UTF8') OR encode(hash, 'escape') LIKE '%' || $1 || '%'", tok).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("the token is stored in clear: %d %v", stored, err)
	}
	list, err := db.Tokens(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "ana" || list[0].Created.IsZero() {
		t.Fatalf("tokens: %v %+v", err, list)
	}
	if err := db.RevokeToken(ctx, "ana"); err != nil {
		t.Fatal(err)
	}
	_, err = db.Authenticate(ctx, tok)
	storetest.WantCode(t, err, geo.EUNAUTHORIZED)
	storetest.WantCode(t, db.RevokeToken(ctx, "ana"), geo.ENOTFOUND)
}
