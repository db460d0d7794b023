package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func fmtAPIKey(k *restauth.APIKey) string {
	if k == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s user=%d %q %q scopes=%v created=%s used=%s expires=%s}", k.ID, k.UserID, k.Username, k.Name,
		k.Scopes, k.CreatedAt.Format(time.RFC3339Nano), k.LastUsedAt.Format(time.RFC3339Nano), k.ExpiresAt.Format(time.RFC3339Nano))
}

func equalAPIKey(a, b *restauth.APIKey) bool {
	return a != nil && b != nil && a.ID == b.ID && a.UserID == b.UserID && a.Name == b.Name &&
		slices.Equal(a.Scopes, b.Scopes) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.LastUsedAt.Equal(b.LastUsedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// testAPIKeys checks the personal API key store: keys are found by their
// hash with the owner's name, listed per user, limited per user, deleted one
// or all at a time with a user-level revocation each, touched forward only,
// and deleted with their user.
func testAPIKeys(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")
	k1 := &restauth.APIKey{ID: "k1", UserID: alice.ID, Name: "deploy", Hash: hash("key1"),
		Scopes: []string{restauth.ScopeRead}, CreatedAt: at(0), ExpiresAt: at(time.Hour)}
	k2 := &restauth.APIKey{ID: "k2", UserID: alice.ID, Name: "backup ✓", Hash: hash("key2"),
		Scopes: []string{restauth.ScopeRead, restauth.ScopeWrite}, CreatedAt: at(time.Second)}
	kb := &restauth.APIKey{ID: "kb", UserID: bob.ID, Name: "deploy", Hash: hash("keyb"),
		Scopes: []string{restauth.ScopeWrite}, CreatedAt: at(0)}
	for _, k := range []*restauth.APIKey{k1, k2, kb} {
		if err := s.CreateAPIKey(ctx, k, 3); err != nil {
			t.Fatalf("CreateAPIKey(%s): %v", k.ID, err)
		}
	}

	got, err := s.APIKeyByHash(ctx, hash("key1"))
	if err != nil || !equalAPIKey(got, k1) || got.Username != "alice" {
		t.Fatalf("APIKeyByHash(key1) = %s, %v; want %s owned by alice", fmtAPIKey(got), err, fmtAPIKey(k1))
	}
	_, err = s.APIKeyByHash(ctx, hash("unknown"))
	wantErr(t, "APIKeyByHash of an unknown hash", err, restauth.ErrNotFound)

	list, err := s.ListAPIKeys(ctx, alice.ID)
	if err != nil || len(list) != 2 || !equalAPIKey(list[0], k1) || !equalAPIKey(list[1], k2) {
		t.Fatalf("ListAPIKeys(alice) = %v, %v; want k1, k2", list, err)
	}

	// The limit counts the user's keys only; a refused key leaves nothing.
	k3 := &restauth.APIKey{ID: "k3", UserID: alice.ID, Name: "third", Hash: hash("key3"), Scopes: []string{restauth.ScopeRead}, CreatedAt: at(2 * time.Second)}
	if err := s.CreateAPIKey(ctx, k3, 2); !errors.Is(err, restauth.ErrTooManyAPIKeys) {
		t.Fatalf("CreateAPIKey over the limit: got %v, want ErrTooManyAPIKeys", err)
	}
	if _, err := s.APIKeyByHash(ctx, hash("key3")); !errors.Is(err, restauth.ErrNotFound) {
		t.Fatalf("a key refused by the limit was stored: %v", err)
	}
	err = s.CreateAPIKey(ctx, &restauth.APIKey{ID: "orphan", UserID: bob.ID + 1000, Name: "x", Hash: hash("orphan"), Scopes: []string{restauth.ScopeRead}, CreatedAt: at(0)}, 3)
	wantErr(t, "CreateAPIKey for an unknown user", err, restauth.ErrNotFound)
	if err := s.CreateAPIKey(ctx, &restauth.APIKey{ID: "dup", UserID: bob.ID, Name: "x", Hash: hash("key1"), Scopes: []string{restauth.ScopeRead}, CreatedAt: at(0)}, 3); err == nil {
		t.Errorf("CreateAPIKey with a hash already stored succeeded")
	}

	// Touch moves last use forward only and ignores unknown ids.
	for _, tt := range []struct{ to, want time.Time }{
		{at(10 * time.Minute), at(10 * time.Minute)},
		{at(5 * time.Minute), at(10 * time.Minute)},
	} {
		if err := s.TouchAPIKeys(ctx, map[string]time.Time{"k1": tt.to, "nope": tt.to}); err != nil {
			t.Fatalf("TouchAPIKeys: %v", err)
		}
		got, err := s.APIKeyByHash(ctx, hash("key1"))
		if err != nil || !got.LastUsedAt.Equal(tt.want) {
			t.Fatalf("after touching to %s: LastUsedAt = %s, %v; want %s", tt.to, fmtAPIKey(got), err, tt.want)
		}
	}

	// Deleting one key: only the owner's, with a user-level revocation.
	wantErr(t, "DeleteAPIKey of another user's key", s.DeleteAPIKey(ctx, bob.ID, "k1", at(time.Minute)), restauth.ErrNotFound)
	wantErr(t, "DeleteAPIKey", s.DeleteAPIKey(ctx, alice.ID, "k1", at(time.Minute)), nil)
	wantErr(t, "DeleteAPIKey again", s.DeleteAPIKey(ctx, alice.ID, "k1", at(time.Minute)), restauth.ErrNotFound)
	if _, err := s.APIKeyByHash(ctx, hash("key1")); !errors.Is(err, restauth.ErrNotFound) {
		t.Fatalf("a deleted key is still found: %v", err)
	}
	revs, err := s.UserRevocationsSince(ctx, at(time.Minute))
	if err != nil || !slices.ContainsFunc(revs, func(r restauth.Revocation) bool {
		return r.UserID == alice.ID && r.RevokedAt.Equal(at(time.Minute))
	}) {
		t.Fatalf("UserRevocationsSince after DeleteAPIKey = %v, %v; want alice's at +1m", revs, err)
	}

	// Deleting all of a user's keys, and a user with keys.
	n, err := s.DeleteUserAPIKeys(ctx, alice.ID, at(2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteUserAPIKeys(alice) = %d, %v; want 1", n, err)
	}
	if list, err := s.ListAPIKeys(ctx, alice.ID); err != nil || len(list) != 0 {
		t.Fatalf("ListAPIKeys after DeleteUserAPIKeys = %v, %v; want none", list, err)
	}
	revs, err = s.UserRevocationsSince(ctx, at(2*time.Minute))
	if err != nil || len(revs) != 1 || revs[0].UserID != alice.ID {
		t.Fatalf("UserRevocationsSince after DeleteUserAPIKeys = %v, %v; want alice's", revs, err)
	}
	if _, err := s.DeleteUser(ctx, bob.ID, at(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.APIKeyByHash(ctx, hash("keyb")); !errors.Is(err, restauth.ErrNotFound) {
		t.Fatalf("a deleted user's key is still found: %v", err)
	}
}
