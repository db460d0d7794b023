package restauth_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

// newKeyService wires a Service with API keys on the SQLite file at path
// (opened here, so that two Services share one database as two instances
// do), with a revocation view the test syncs by hand.
func newKeyService(t *testing.T, path string) (*restauth.Service, *sqlite.DB, *restauth.RevocationSet) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := restauth.DefaultConfig()
	revs := restauth.NewRevocationSet(cfg.RevocationKeep())
	inst, err := instance.New(context.Background(), st, instance.Options{
		Config: cfg, Hasher: password.New(password.Options{Params: fastParams}), Revocations: revs,
	})
	if err != nil {
		t.Fatal(err)
	}
	return inst.Service, st, revs
}

func registerPrincipal(t *testing.T, svc *restauth.Service) *restauth.Principal {
	t.Helper()
	u, err := svc.Register(context.Background(), "alice", "correct horse battery", restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return &restauth.Principal{UserID: u.ID, Username: u.Username}
}

// TestAPIKeyExpiry: a key is accepted until its expiry and refused from
// that instant, checked in memory (the entry stays cached).
func TestAPIKeyExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc, _, _ := newKeyService(t, filepath.Join(t.TempDir(), "keys.db"))
		p := registerPrincipal(t, svc)
		_, key, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "ci", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := svc.AuthenticateAPIKey(ctx, key); err != nil || got.UserID != p.UserID || got.Username != "alice" {
			t.Fatalf("fresh key: %+v, %v; want alice", got, err)
		}
		time.Sleep(time.Hour - time.Nanosecond)
		if _, err := svc.AuthenticateAPIKey(ctx, key); err != nil {
			t.Fatalf("just before expiry: %v, want success", err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := svc.AuthenticateAPIKey(ctx, key); code(err) != restauth.EInvalidToken {
			t.Fatalf("at expiry: code %q, want %q", code(err), restauth.EInvalidToken)
		}
	})
}

// TestAPIKeyExpiryLimits: an expiry must lie in the future and at most
// MaxAPIKeyLifetime ahead.
func TestAPIKeyExpiryLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc, _, _ := newKeyService(t, filepath.Join(t.TempDir(), "keys.db"))
		p := registerPrincipal(t, svc)
		now := time.Now()
		for _, tt := range []struct {
			expires time.Time
			code    string
		}{
			{now, restauth.EInvalid},
			{now.Add(-time.Second), restauth.EInvalid},
			{now.Add(restauth.MaxAPIKeyLifetime + time.Second), restauth.EInvalid},
			{now.Add(restauth.MaxAPIKeyLifetime), ""},
			{now.Add(time.Second), ""},
			{time.Time{}, ""},
		} {
			_, _, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "ci", ExpiresAt: tt.expires})
			if code(err) != tt.code {
				t.Errorf("expiry %v: code %q, want %q", tt.expires.Sub(now), code(err), tt.code)
			}
		}
	})
}

// TestAPIKeyLastUse: uses are written in batches, at most once a minute
// per key, by RunAPIKeyUses, and the batch pending at shutdown is written
// before it returns.
func TestAPIKeyLastUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc, st, _ := newKeyService(t, filepath.Join(t.TempDir(), "keys.db"))
		p := registerPrincipal(t, svc)
		_, key, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		stored := func() time.Time {
			t.Helper()
			list, err := st.ListAPIKeys(ctx, p.UserID)
			if err != nil || len(list) != 1 {
				t.Fatalf("ListAPIKeys = %v, %v", list, err)
			}
			return list[0].LastUsedAt
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { svc.RunAPIKeyUses(runCtx, 10*time.Second); close(done) }()

		first := time.Now()
		for range 100 {
			if _, err := svc.AuthenticateAPIKey(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if got := stored(); !got.IsZero() {
			t.Fatalf("last use written on the request path: %v", got)
		}
		// The listing shows the use this process has not written yet.
		list, err := svc.ListAPIKeys(ctx, p)
		if err != nil || len(list) != 1 || !list[0].LastUsedAt.Equal(first) {
			t.Fatalf("ListAPIKeys = %v, %v; want last use %v", list, err, first)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := stored(); !got.Equal(first) {
			t.Fatalf("after one flush: stored last use %v, want %v", got, first)
		}
		// Uses within the minute are not queued again.
		time.Sleep(30 * time.Second)
		svc.AuthenticateAPIKey(ctx, key)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := stored(); !got.Equal(first) {
			t.Fatalf("a use within the minute was written: %v, want %v", got, first)
		}
		// A minute after the last queued use, the next use is queued, and
		// the shutdown flush writes it.
		time.Sleep(30 * time.Second)
		later := time.Now()
		svc.AuthenticateAPIKey(ctx, key)
		stop()
		<-done
		if got := stored(); !got.Equal(later) {
			t.Fatalf("after the shutdown flush: stored last use %v, want %v", got, later)
		}
	})
}

// TestAPIKeyRevocationAcrossInstances: two Services on one database; a key
// cached by the second is refused there once the revocation feed (the
// periodic Sync) brings the deletion made on the first, and at once on the
// first. A password change keeps the key; deleting the account ends it.
func TestAPIKeyRevocationAcrossInstances(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, st, _ := newKeyService(t, path)
	b, _, revsB := newKeyService(t, path)
	p := registerPrincipal(t, a)
	k1, key1, err := a.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	_, key2, err := a.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "two"})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*restauth.Service{a, b} {
		for _, k := range []string{key1, key2} {
			if _, err := svc.AuthenticateAPIKey(ctx, k); err != nil {
				t.Fatalf("before revocation: %v", err)
			}
		}
	}
	// The first instance revokes key1: refused there at once.
	if err := a.RevokeAPIKey(ctx, p, k1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AuthenticateAPIKey(ctx, key1); code(err) != restauth.EInvalidToken {
		t.Fatalf("revoked key on the same instance: code %q, want %q", code(err), restauth.EInvalidToken)
	}
	// The second instance's next sync (every second) brings it.
	if err := revsB.Sync(ctx, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AuthenticateAPIKey(ctx, key1); code(err) != restauth.EInvalidToken {
		t.Fatalf("revoked key on the other instance after a sync: code %q, want %q", code(err), restauth.EInvalidToken)
	}
	if _, err := b.AuthenticateAPIKey(ctx, key2); err != nil {
		t.Fatalf("the other key after the revocation: %v, want success", err)
	}

	// A password change keeps the keys, on both instances.
	if err := a.ChangePassword(ctx, p, "correct horse battery", "another horse battery", restauth.ClientMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := revsB.Sync(ctx, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*restauth.Service{a, b} {
		if _, err := svc.AuthenticateAPIKey(ctx, key2); err != nil {
			t.Fatalf("after a password change: %v, want success", err)
		}
	}

	// Deleting the account ends every key.
	if err := a.DeleteAccount(ctx, p, "another horse battery", restauth.ClientMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := revsB.Sync(ctx, st, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*restauth.Service{a, b} {
		if _, err := svc.AuthenticateAPIKey(ctx, key2); code(err) != restauth.EInvalidToken {
			t.Fatalf("after the account's deletion: code %q, want %q", code(err), restauth.EInvalidToken)
		}
	}
}

// TestAPIKeyShape: only the exact shape of a key reaches the store, and a
// key cannot manage keys or be exchanged for a token.
func TestAPIKeyShape(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newKeyService(t, filepath.Join(t.TempDir(), "keys.db"))
	p := registerPrincipal(t, svc)
	_, key, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "ci", Scopes: []string{"write", "read", "read"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 46 || !strings.HasPrefix(key, "ra_") {
		t.Fatalf("key %q: want ra_ and 43 base64url characters", key[:3])
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(key[3:])
	if err != nil || len(raw) != 32 {
		t.Fatalf("key body does not decode to 32 bytes: %v", err)
	}
	kp, err := svc.AuthenticateAPIKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kp.APIKey.Scopes, " "); got != "read write" {
		t.Errorf("scopes = %q, want %q", got, "read write")
	}
	for _, bad := range []string{
		"", "ra_", key[:45], key + "A", "rb_" + key[3:], "RA_" + key[3:], key[:45] + "=", key[:45] + "+",
		key[:45] + "B", // The right alphabet and length, non-zero padding bits.
		"ra_" + strings.Repeat("\xff", 43), "ra_" + strings.Repeat("A", 1<<16),
	} {
		if _, err := svc.AuthenticateAPIKey(ctx, bad); code(err) != restauth.EInvalidToken {
			t.Errorf("key %.20q…: code %q, want %q", bad, code(err), restauth.EInvalidToken)
		}
	}
	if _, _, err := svc.CreateAPIKey(ctx, kp, restauth.NewAPIKeyRequest{Name: "minted"}); code(err) != restauth.EForbidden {
		t.Errorf("a key making a key: code %q, want %q", code(err), restauth.EForbidden)
	}
	if _, err := svc.ListAPIKeys(ctx, kp); code(err) != restauth.EForbidden {
		t.Errorf("a key listing keys: code %q, want %q", code(err), restauth.EForbidden)
	}
	if _, err := svc.Renew(ctx, kp, restauth.ClientMeta{}); code(err) != restauth.EForbidden {
		t.Errorf("a key renewing a token: code %q, want %q", code(err), restauth.EForbidden)
	}
	for _, tt := range []struct {
		name   string
		scopes []string
	}{
		{"", nil}, {" ci", nil}, {strings.Repeat("n", 65), nil}, {"a\x00b", nil}, {"a\u200bb", nil}, {"\xff", nil},
		{"ci", []string{"admin"}}, {"ci", []string{"read", "READ"}},
	} {
		if _, _, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: tt.name, Scopes: tt.scopes}); code(err) != restauth.EInvalid {
			t.Errorf("name %q scopes %q: code %q, want %q", tt.name, tt.scopes, code(err), restauth.EInvalid)
		}
	}
	// The limit per user.
	for i := 1; i < restauth.MaxAPIKeysPerUser; i++ {
		if _, _, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "k"}); err != nil {
			t.Fatalf("key %d of %d: %v", i+1, restauth.MaxAPIKeysPerUser, err)
		}
	}
	if _, _, err := svc.CreateAPIKey(ctx, p, restauth.NewAPIKeyRequest{Name: "one too many"}); code(err) != restauth.EInvalid {
		t.Errorf("key over the limit: code %q, want %q", code(err), restauth.EInvalid)
	}
}
