package restauth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// TestCredentialCache checks the Basic-password fast path on one instance:
// a verified password is served without hashing until the TTL ends, a
// failure is never cached, and a password change, the revocation of all
// sessions and the deletion of the user each drop it at once.
func TestCredentialCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.AccountMaxFailures = 0 // The failures below are not the subject.
		in := newInstance(t, openStore(t, false), cfg)
		svc := in.svc
		ctx := context.Background()
		const pw = "correct horse battery"
		meta := restauth.ClientMeta{IP: "192.0.2.1"}
		if _, err := svc.Register(ctx, "Alice", pw, meta); err != nil {
			t.Fatal(err)
		}
		// step authenticates and checks whether a hash was computed.
		step := func(what, name, password string, wantOK, wantHashed bool) *restauth.User {
			t.Helper()
			before := in.hasher.verifies.Load()
			u, err := svc.Authenticate(ctx, name, password, meta)
			hashed := in.hasher.verifies.Load() != before
			if (err == nil) != wantOK || hashed != wantHashed {
				t.Fatalf("%s: err %v, hashed %v; want success %v, hashed %v", what, err, hashed, wantOK, wantHashed)
			}
			return u
		}
		step("first login", "Alice", pw, true, true)
		u := step("repeat", "Alice", pw, true, false)
		if u.Username != "Alice" || u.PasswordHash != "" {
			t.Errorf("cached user = %q with a %d-byte hash, want Alice and no hash kept", u.Username, len(u.PasswordHash))
		}
		step("another letter case", "aLICE", pw, true, false)
		step("wrong password", "Alice", pw+"!", false, true)
		step("wrong password again: failures are not cached", "Alice", pw+"!", false, true)
		step("password with a different last byte", "Alice", pw[:len(pw)-1]+"Y", false, true)

		// The TTL counts from the verification, not from the last hit.
		time.Sleep(cfg.CredentialCacheTTL - time.Second)
		step("just before the TTL", "Alice", pw, true, false)
		time.Sleep(time.Second)
		step("at the TTL", "Alice", pw, true, true)
		step("cached again", "Alice", pw, true, false)

		// Revoking every session drops it.
		p := &restauth.Principal{UserID: u.ID, Username: u.Username}
		if err := svc.RevokeAllSessions(ctx, p); err != nil {
			t.Fatal(err)
		}
		step("after revoking all sessions", "Alice", pw, true, true)

		// A password change drops it: the old password is hashed (and
		// fails), and the check of the current password itself never
		// trusts the cache.
		step("cached before the change", "Alice", pw, true, false)
		before := in.hasher.verifies.Load()
		if err := svc.ChangePassword(ctx, p, pw, "another correct horse", meta); err != nil {
			t.Fatal(err)
		}
		if in.hasher.verifies.Load() == before {
			t.Errorf("ChangePassword accepted the current password from the cache; want it verified")
		}
		step("old password after the change", "Alice", pw, false, true)
		step("new password", "Alice", "another correct horse", true, true)
		step("new password cached", "Alice", "another correct horse", true, false)

		// Deleting the user drops it.
		if err := svc.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		step("after deletion", "Alice", "another correct horse", false, true)
	})
}

// TestCredentialCacheOff checks that CredentialCacheTTL 0 hashes every time.
func TestCredentialCacheOff(t *testing.T) {
	cfg := restauth.DefaultConfig()
	cfg.CredentialCacheTTL = 0
	in := newInstance(t, openStore(t, false), cfg)
	ctx := context.Background()
	if _, err := in.svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := in.svc.Authenticate(ctx, "alice", "correct horse battery", restauth.ClientMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := in.hasher.verifies.Load(); got != 3 {
		t.Errorf("3 logins with the cache off: %d verifications, want 3", got)
	}
}

// TestCredentialCacheAcrossInstances runs two Services on one database, each
// with its own cache and revocation view: a password change, a revocation
// of all sessions or a deletion on one drops the other's cached
// verification at its next resync, even when the user had no live session.
func TestCredentialCacheAcrossInstances(t *testing.T) {
	const pw, next = "correct horse battery", "another correct horse"
	tests := []struct {
		name string
		// do acts on a as the user, and returns the password that must
		// still work on b afterwards ("" when none must).
		do func(ctx context.Context, a *restauth.Service, p *restauth.Principal) (string, error)
	}{
		{"password change", func(ctx context.Context, a *restauth.Service, p *restauth.Principal) (string, error) {
			return next, a.ChangePassword(ctx, p, pw, next, restauth.ClientMeta{})
		}},
		{"revoke all sessions", func(ctx context.Context, a *restauth.Service, p *restauth.Principal) (string, error) {
			return pw, a.RevokeAllSessions(ctx, p)
		}},
		{"delete", func(ctx context.Context, a *restauth.Service, p *restauth.Principal) (string, error) {
			return "", a.DeleteUser(ctx, p.UserID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := restauth.DefaultConfig()
			st := openStore(t, false)
			a, b := newInstance(t, st, cfg), newInstance(t, st, cfg)
			u, err := a.svc.Register(ctx, "alice", pw, restauth.ClientMeta{})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := b.svc.Authenticate(ctx, "alice", pw, restauth.ClientMeta{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := b.hasher.verifies.Load(); got != 1 {
				t.Fatalf("two logins on b: %d verifications, want 1 (the second cached)", got)
			}
			works, err := tt.do(ctx, a.svc, &restauth.Principal{UserID: u.ID, Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			// b learns of it through the revocation feed's resync.
			if err := b.revs.Sync(ctx, st, time.Now()); err != nil {
				t.Fatal(err)
			}
			before := b.hasher.verifies.Load()
			_, err = b.svc.Authenticate(ctx, "alice", pw, restauth.ClientMeta{})
			if b.hasher.verifies.Load() == before {
				t.Errorf("b served the old verification from its cache after the resync (err %v); want it dropped", err)
			}
			if wantOK := works == pw; (err == nil) != wantOK {
				t.Errorf("old password on b after %s: err %v, want success %v", tt.name, err, wantOK)
			}
			if works != "" && works != pw {
				if _, err := b.svc.Authenticate(ctx, "alice", works, restauth.ClientMeta{}); err != nil {
					t.Errorf("new password on b: %v", err)
				}
			}
		})
	}
}
