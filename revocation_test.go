package restauth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// fakeRevocations is a SessionStore that only answers RevokedSince and
// UserRevocationsSince, from one list holding both kinds.
type fakeRevocations struct {
	restauth.SessionStore
	revs []restauth.Revocation
}

func (f *fakeRevocations) since(since time.Time, users bool) []restauth.Revocation {
	var out []restauth.Revocation
	for _, r := range f.revs {
		if !r.RevokedAt.Before(since) && (r.SessionID == "") == users {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeRevocations) RevokedSince(_ context.Context, since time.Time) ([]restauth.Revocation, error) {
	return f.since(since, false), nil
}

func (f *fakeRevocations) UserRevocationsSince(_ context.Context, since time.Time) ([]restauth.Revocation, error) {
	return f.since(since, true), nil
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

// TestRevocationSetUserEvents checks that each user-level revocation reaches
// the registered functions exactly once, however many syncs report it, and
// that it is never taken for a revoked session.
func TestRevocationSetUserEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := restauth.NewRevocationSet(10 * time.Minute)
		var got []int64
		set.OnUserRevoked(func(id int64) { got = append(got, id) })
		store := &fakeRevocations{}
		now := time.Now()
		// Added here first, then reported by the store at microsecond
		// precision: one event.
		set.Add(restauth.Revocation{UserID: 7, RevokedAt: now.Add(time.Nanosecond)})
		store.revs = append(store.revs,
			restauth.Revocation{UserID: 7, RevokedAt: now},
			restauth.Revocation{UserID: 8, RevokedAt: now},
		)
		for range 3 {
			if err := set.Sync(context.Background(), store, time.Now()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		if want := []int64{7, 8}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("user-level revocations delivered %v, want %v once each", got, want)
		}
		if set.Revoked("") || set.Len() != 0 {
			t.Errorf("user-level revocations recorded as sessions: Revoked(\"\") = %v, Len = %d; want false, 0", set.Revoked(""), set.Len())
		}
		// A new event for the same user, later, is delivered again.
		store.revs = append(store.revs, restauth.Revocation{UserID: 7, RevokedAt: time.Now()})
		set.Sync(context.Background(), store, time.Now())
		if len(got) != 3 || got[2] != 7 {
			t.Errorf("after a second revocation of user 7: delivered %v, want [7 8 7]", got)
		}
	})
}
