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
//
// It also carries user-level revocations (a Revocation with UserID set and no
// SessionID): a password change, a deletion, or the revocation of all of a
// user's sessions. Those are not remembered for lookups; each is handed once
// to the functions registered with OnUserRevoked, which drop what the
// process cached for the user.
type RevocationSet struct {
	keep time.Duration

	mu      sync.RWMutex
	revoked map[string]time.Time
	users   map[userRevocation]time.Time // Seen user-level revocations, until keep passes.
	onUser  []func(userID int64)
	synced  time.Time // The newest revocation time seen from the store.
	lastOK  time.Time // When Sync last succeeded; see LastSync.
}

// userRevocation identifies a user-level revocation, at the microsecond
// precision every store keeps, so that the same event reported again by a
// later Sync is recognised.
type userRevocation struct {
	userID int64
	at     int64 // Unix microseconds.
}

// NewRevocationSet returns a set that remembers each revocation for keep.
func NewRevocationSet(keep time.Duration) *RevocationSet {
	return &RevocationSet{keep: keep, revoked: make(map[string]time.Time), users: make(map[userRevocation]time.Time)}
}

// OnUserRevoked registers fn to be called, once per event, with the user of
// every user-level revocation added to the set. fn runs while the set is
// locked and must not call back into it.
func (r *RevocationSet) OnUserRevoked(fn func(userID int64)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onUser = append(r.onUser, fn)
}

// Revoked reports whether the session has been revoked.
func (r *RevocationSet) Revoked(sessionID string) bool {
	r.mu.RLock()
	_, ok := r.revoked[sessionID]
	r.mu.RUnlock()
	return ok
}

// Add records revocations made by this process. Each user-level one is
// handed to the OnUserRevoked functions, even when an earlier event of the
// user carried the same time: it is a new event.
func (r *RevocationSet) Add(revs ...Revocation) { r.add(revs, true) }

// add records revocations. A user-level revocation is handed to the
// OnUserRevoked functions when it is new, or always when fresh is set; a
// Sync reports again the events of the last syncMargin, which are known
// by their user and time. (Two events of one user recorded by different
// instances within the same microsecond would be taken for one; the first
// has dropped the user's cache, and whatever was cached since expires
// within CredentialCacheTTL.)
func (r *RevocationSet) add(revs []Revocation, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range revs {
		if v.SessionID != "" {
			r.revoked[v.SessionID] = v.RevokedAt
		} else if v.UserID != 0 {
			k := userRevocation{userID: v.UserID, at: v.RevokedAt.UnixMicro()}
			_, seen := r.users[k]
			r.users[k] = v.RevokedAt
			if fresh || !seen {
				for _, fn := range r.onUser {
					fn(v.UserID)
				}
			}
		}
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

// Sync loads session and user-level revocations from the store that are newer than the newest one
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
	users, err := store.UserRevocationsSince(ctx, since)
	if err != nil {
		return err
	}
	r.add(append(revs, users...), false)
	r.mu.Lock()
	floor := now.Add(-r.keep)
	for id, at := range r.revoked {
		if at.Before(floor) {
			delete(r.revoked, id)
		}
	}
	for k, at := range r.users {
		if at.Before(floor) {
			delete(r.users, k)
		}
	}
	r.lastOK = now
	r.mu.Unlock()
	return nil
}
