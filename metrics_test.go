package restauth_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// failingRevocations is a SessionStore whose RevokedSince fails.
type failingRevocations struct{ restauth.SessionStore }

func (failingRevocations) RevokedSince(context.Context, time.Time) ([]restauth.Revocation, error) {
	return nil, errors.New("database down")
}

// TestRevocationSetLastSync checks that LastSync moves only when a Sync
// succeeds, so that its age measures how stale the view may be.
func TestRevocationSetLastSync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := restauth.NewRevocationSet(time.Minute)
		ctx := context.Background()
		if got := r.LastSync(); !got.IsZero() {
			t.Fatalf("before any Sync: %v, want the zero time", got)
		}
		first := time.Now()
		if err := r.Sync(ctx, &fakeRevocations{}, first); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := r.Sync(ctx, failingRevocations{}, time.Now()); err == nil {
			t.Fatal("Sync with a failing store succeeded")
		}
		if got := r.LastSync(); !got.Equal(first) {
			t.Errorf("after a failed Sync: %v, want the last success, %v", got, first)
		}
	})
}
