package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"nexus/geo"
)

// testTokens shows that tokens authenticate, that the database keeps only
// their hashes, and the errors of a bad token, name or role.
func testTokens(t *testing.T, open func(*testing.T) Engine) {
	db := open(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, tc := range []struct{ name, role string }{
		{"ana", geo.RoleAdmin},
		{"eve", geo.RoleEditor},
		{"vic", geo.RoleViewer},
	} {
		tok, err := db.CreateTokenUntil(ctx, tc.name, tc.role, time.Time{})
		if err != nil || len(tok) < 20 {
			t.Fatalf("CreateTokenUntil(%s): %q, %v", tc.name, tok, err)
		}
		tokens[tc.name] = tok
		p, err := db.Authenticate(ctx, tok)
		if err != nil || p.Name != tc.name || p.Role != tc.role {
			t.Fatalf("Authenticate(%s's token) = %+v, %v", tc.name, p, err)
		}
	}

	for _, tc := range []struct {
		name string
		run  func() error
		code string
	}{
		{"wrong token", func() error { _, err := db.Authenticate(ctx, tokens["ana"]+"x"); return err }, geo.EUNAUTHORIZED},
		{"empty token", func() error { _, err := db.Authenticate(ctx, ""); return err }, geo.EUNAUTHORIZED},
		{"duplicate name", func() error { _, err := db.CreateTokenUntil(ctx, "ana", geo.RoleViewer, time.Time{}); return err }, geo.EDUPLICATE},
		{"bad role", func() error { _, err := db.CreateTokenUntil(ctx, "zed", "root", time.Time{}); return err }, geo.EINVALID},
		{"empty role", func() error { _, err := db.CreateTokenUntil(ctx, "zed", "", time.Time{}); return err }, geo.EINVALID},
		{"blank name", func() error { _, err := db.CreateTokenUntil(ctx, " ", geo.RoleViewer, time.Time{}); return err }, geo.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) { WantCode(t, tc.run(), tc.code) })
	}

	t.Run("listed by name, without secrets", func(t *testing.T) {
		list, err := db.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range list {
			got = append(got, k.Name+":"+k.Role)
			if k.Expires != nil || k.Expired || k.Created.IsZero() {
				t.Errorf("%s: created %v, expires %v, expired %v", k.Name, k.Created, k.Expires, k.Expired)
			}
		}
		if want := "ana:admin eve:editor vic:viewer"; strings.Join(got, " ") != want {
			t.Errorf("tokens %v, want %s", got, want)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		if err := db.RevokeToken(ctx, "vic"); err != nil {
			t.Fatal(err)
		}
		_, err := db.Authenticate(ctx, tokens["vic"])
		WantCode(t, err, geo.EUNAUTHORIZED)
		WantCode(t, db.RevokeToken(ctx, "vic"), geo.ENOTFOUND)
		if _, err := db.Authenticate(ctx, tokens["eve"]); err != nil {
			t.Errorf("revoking vic's token revoked eve's: %v", err)
		}
	})
	t.Run("expiring", func(t *testing.T) {
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db.SetClock(func() time.Time { return now })
		_, err := db.CreateTokenUntil(ctx, "old", geo.RoleViewer, now.Add(-time.Second))
		WantCode(t, err, geo.EINVALID)
		tok, err := db.CreateTokenUntil(ctx, "tmp", geo.RoleEditor, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := db.Authenticate(ctx, tok); err != nil || p.Name != "tmp" {
			t.Fatalf("before it expires: %+v, %v", p, err)
		}
		now = now.Add(time.Hour + time.Second)
		_, err = db.Authenticate(ctx, tok)
		WantCode(t, err, geo.EUNAUTHORIZED)
		list, err := db.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range list {
			if k.Name == "tmp" && (!k.Expired || k.Expires == nil || !k.Expires.Equal(now.Add(-time.Second))) {
				t.Errorf("the expired token is listed as %+v", k)
			}
		}
	})
}
