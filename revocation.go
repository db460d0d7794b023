package restauth

import (
	"context"
	"sync"
	"time"
)

// RevocationSet is the in-memory view of revoked sessions that every
// token-authenticated request consults instead of the database. An access
// token lives at most the access-token lifetime, so a revocation only needs
// to be remembered that long (plus leeway); older entries are pruned, which
// keeps the set bounded by the revocation rate, not by the number of users.
type RevocationSet struct {
	keep time.Duration

	mu      sync.RWMutex
	revoked map[string]time.Time
	synced  time.Time // The newest revocation time seen from the store.
	lastOK  time.Time // When Sync last succeeded; see LastSync.
}

// NewRevocationSet returns a set that remembers each revocation for keep.
func NewRevocationSet(keep time.Duration) *RevocationSet {
	return &RevocationSet{keep: keep, revoked: make(map[string]time.Time)}
}

// Revoked reports whether the session has been revoked.
func (r *RevocationSet) Revoked(sessionID string) bool {
	r.mu.RLock()
	_, ok := r.revoked[sessionID]
	r.mu.RUnlock()
	return ok
}

// Add records revocations.
func (r *RevocationSet) Add(revs ...Revocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range revs {
		r.revoked[v.SessionID] = v.RevokedAt
		if v.RevokedAt.After(r.synced) {
			r.synced = v.RevokedAt
		}
	}
}

// Len returns the number of remembered revocations.
func (r *RevocationSet) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.revoked)
}

// syncMargin is how far before the newest known revocation Sync reads
// again: revocation times come from each instance's own clock, so a
// revocation made on an instance whose clock runs behind can carry an
// earlier time than one already seen. Instances' clocks must agree within
// this margin (they must anyway, for exp and nbf to mean the same).
const syncMargin = time.Minute

// Sync loads revocations from the store that are newer than the newest one
// already known (less syncMargin) and prunes entries older than keep. It is
// how a missed notification heals.
func (r *RevocationSet) Sync(ctx context.Context, store SessionStore, now time.Time) error {
	r.mu.RLock()
	since := r.synced.Add(-syncMargin)
	r.mu.RUnlock()
	if floor := now.Add(-r.keep); since.Before(floor) {
		since = floor
	}
	revs, err := store.RevokedSince(ctx, since)
	if err != nil {
		return err
	}
	r.Add(revs...)
	r.mu.Lock()
	floor := now.Add(-r.keep)
	for id, at := range r.revoked {
		if at.Before(floor) {
			delete(r.revoked, id)
		}
	}
	r.lastOK = now
	r.mu.Unlock()
	return nil
}
