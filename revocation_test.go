package restauth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// fakeRevocations is a SessionStore that only answers RevokedSince.
type fakeRevocations struct {
	restauth.SessionStore
	revs []restauth.Revocation
}

func (f *fakeRevocations) RevokedSince(_ context.Context, since time.Time) ([]restauth.Revocation, error) {
	var out []restauth.Revocation
	for _, r := range f.revs {
		if !r.RevokedAt.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestRevocationSetSyncAndPrune(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keep := 10 * time.Minute
		set := restauth.NewRevocationSet(keep)
		store := &fakeRevocations{}
		now := time.Now()
		store.revs = append(store.revs,
			restauth.Revocation{SessionID: "old", RevokedAt: now.Add(-time.Hour)},
			restauth.Revocation{SessionID: "recent", RevokedAt: now.Add(-time.Minute)},
		)
		if err := set.Sync(context.Background(), store, time.Now()); err != nil {
			t.Fatal(err)
		}
		if set.Revoked("old") {
			t.Error("a revocation older than keep was loaded; want it skipped")
		}
		if !set.Revoked("recent") {
			t.Error("recent revocation not loaded")
		}
		// A revocation another instance made appears at the next sync.
		time.Sleep(time.Second)
		store.revs = append(store.revs, restauth.Revocation{SessionID: "remote", RevokedAt: time.Now()})
		set.Sync(context.Background(), store, time.Now())
		if !set.Revoked("remote") {
			t.Error("remote revocation not picked up by Sync")
		}
		// Once no token of the session can still verify, the entry is pruned.
		time.Sleep(keep)
		set.Sync(context.Background(), store, time.Now())
		if set.Revoked("recent") || set.Len() != 1 {
			t.Errorf("after keep: recent revoked=%v len=%d, want pruned, len 1", set.Revoked("recent"), set.Len())
		}
	})
}
