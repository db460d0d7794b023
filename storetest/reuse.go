package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// testReuseSession checks that ReuseSession picks only a live reusable
// session of the same user, address and user agent, the most recently used
// one, and moves its LastUsedAt forward, never back.
func testReuseSession(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "rita")
	other := mustCreateUser(t, s, "sam")
	const ip, ua = "192.0.2.1", "storetest/1.0"
	mk := func(id string, userID int64, used time.Time, reusable bool, ip, ua string) {
		sess := newSession(id, userID, at(0))
		sess.LastUsedAt, sess.Reusable, sess.ClientIP, sess.UserAgent = used, reusable, ip, ua
		if err := s.CreateSession(ctx, sess, nil); err != nil {
			t.Fatalf("CreateSession(%q): %v", id, err)
		}
	}
	mk("older", u.ID, at(time.Minute), true, ip, ua)
	mk("newest", u.ID, at(2*time.Minute), true, ip, ua)
	mk("login", u.ID, at(3*time.Minute), false, ip, ua) // Opened by a login: never reused.
	mk("other-agent", u.ID, at(3*time.Minute), true, ip, "other/2.0")
	mk("other-address", u.ID, at(3*time.Minute), true, "198.51.100.1", ua)
	mk("other-user", other.ID, at(3*time.Minute), true, ip, ua)
	mk("stale", u.ID, at(0), true, ip, ua) // Idle before idleAfter below.

	if got := mustSession(t, s, "newest"); !got.Reusable {
		t.Errorf("Session(newest).Reusable = false, want true as created")
	}
	if got := mustSession(t, s, "login"); got.Reusable {
		t.Errorf("Session(login).Reusable = true, want false as created")
	}

	idleAfter := at(30 * time.Second)
	steps := []struct {
		name     string
		user     int64
		ip, ua   string
		now      time.Time
		idle     time.Time
		want     string // "" means ErrNotFound.
		wantUsed time.Time
	}{
		{"most recently used", u.ID, ip, ua, at(10 * time.Minute), idleAfter, "newest", at(10 * time.Minute)},
		// A clock behind the one that last used it does not move it back.
		{"clock behind", u.ID, ip, ua, at(5 * time.Minute), idleAfter, "newest", at(10 * time.Minute)},
		{"another user agent", u.ID, ip, "curl/8", at(11 * time.Minute), idleAfter, "", time.Time{}},
		{"another address", u.ID, "203.0.113.5", ua, at(11 * time.Minute), idleAfter, "", time.Time{}},
		{"another user", other.ID + u.ID + 100, ip, ua, at(11 * time.Minute), idleAfter, "", time.Time{}},
		// Every candidate idle since before idleAfter.
		{"all idle", u.ID, ip, ua, at(20 * time.Minute), at(15 * time.Minute), "", time.Time{}},
		// Past the absolute expiry (an hour after creation).
		{"expired", u.ID, ip, ua, at(2 * time.Hour), time.Time{}, "", time.Time{}},
	}
	for _, tt := range steps {
		got, err := s.ReuseSession(ctx, tt.user, tt.ip, tt.ua, tt.now, tt.idle)
		if tt.want == "" {
			if !errors.Is(err, restauth.ErrNotFound) {
				t.Errorf("ReuseSession, %s: got %s, %v; want ErrNotFound", tt.name, fmtSession(got), err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ReuseSession, %s: %v", tt.name, err)
		}
		if got.ID != tt.want || !got.LastUsedAt.Equal(tt.wantUsed) || !got.Reusable {
			t.Errorf("ReuseSession, %s: got %s, want %s last used at %v", tt.name, fmtSession(got), tt.want, tt.wantUsed)
		}
		if stored := mustSession(t, s, tt.want); !equalSession(stored, got) {
			t.Errorf("ReuseSession, %s: returned %s, stored %s; want the stored row", tt.name, fmtSession(got), fmtSession(stored))
		}
	}
	// A revoked session is never reused: the next one is.
	if err := s.RevokeSession(ctx, u.ID, "newest", at(11*time.Minute)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	got, err := s.ReuseSession(ctx, u.ID, ip, ua, at(12*time.Minute), idleAfter)
	if err != nil || got.ID != "older" {
		t.Errorf("ReuseSession after revoking newest: got %s, %v; want older", fmtSession(got), err)
	}
	if sess := mustSession(t, s, "login"); !sess.LastUsedAt.Equal(at(3 * time.Minute)) {
		t.Errorf("the login session was touched: LastUsedAt %v, want %v", sess.LastUsedAt, at(3*time.Minute))
	}
}

// testUserRevocations checks that a password change, a revocation of all
// sessions (even with none live) and a deletion each record one user-level
// revocation, that a refused password change records none, and that sweeping
// deletes the old ones.
func testUserRevocations(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "tina")
	gone := mustCreateUser(t, s, "ursula")
	mustCreateSession(t, s, newSession("g-1", gone.ID, at(0)))

	// SetPasswordHash takes no time: it records the store's clock.
	before := time.Now().Add(-time.Second)
	if err := s.SetPasswordHash(ctx, u.ID, "not the hash", "$new"); !errors.Is(err, restauth.ErrNotFound) {
		t.Fatalf("SetPasswordHash with a stale old hash: got %v, want ErrNotFound", err)
	}
	if revs, err := s.UserRevocationsSince(ctx, time.Time{}); err != nil || len(revs) != 0 {
		t.Fatalf("UserRevocationsSince after a refused password change = %+v, %v; want none", revs, err)
	}
	old, _ := s.UserByID(ctx, u.ID)
	if err := s.SetPasswordHash(ctx, u.ID, old.PasswordHash, "$new"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	after := time.Now().Add(time.Second)
	revs, err := s.UserRevocationsSince(ctx, time.Time{})
	if err != nil {
		t.Fatalf("UserRevocationsSince: %v", err)
	}
	if len(revs) != 1 || revs[0].UserID != u.ID || revs[0].SessionID != "" || revs[0].RevokedAt.Before(before) || revs[0].RevokedAt.After(after) {
		t.Fatalf("UserRevocationsSince after a password change = %+v, want one for user %d between %v and %v", revs, u.ID, before, after)
	}

	// Nothing to revoke: still recorded.
	if ids, err := s.RevokeUserSessions(ctx, u.ID, "", at(time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("RevokeUserSessions with no session: %q, %v; want none revoked", ids, err)
	}
	if _, err := s.DeleteUser(ctx, gone.ID, at(2*time.Minute)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	ur := func(id int64, d time.Duration) restauth.Revocation {
		return restauth.Revocation{UserID: id, RevokedAt: at(d)}
	}
	tests := []struct {
		since time.Time
		want  []restauth.Revocation
	}{
		{at(0), []restauth.Revocation{ur(u.ID, time.Minute), ur(gone.ID, 2*time.Minute)}},
		{at(time.Minute), []restauth.Revocation{ur(u.ID, time.Minute), ur(gone.ID, 2*time.Minute)}}, // Inclusive.
		{at(time.Minute + time.Microsecond), []restauth.Revocation{ur(gone.ID, 2*time.Minute)}},
		{at(time.Hour), nil},
	}
	equal := func(a, b restauth.Revocation) bool {
		return a.UserID == b.UserID && a.SessionID == b.SessionID && a.RevokedAt.Equal(b.RevokedAt)
	}
	for _, tt := range tests {
		got, err := s.UserRevocationsSince(ctx, tt.since)
		if err != nil {
			t.Fatalf("UserRevocationsSince(%v): %v", tt.since, err)
		}
		if !slices.EqualFunc(got, tt.want, equal) {
			t.Errorf("UserRevocationsSince(%v) = %+v, want %+v", tt.since, got, tt.want)
		}
	}
	// Session revocations are reported apart, as before.
	sessions, err := s.RevokedSince(ctx, at(0))
	if err != nil {
		t.Fatalf("RevokedSince: %v", err)
	}
	if len(sessions) != 1 || sessions[0].SessionID != "g-1" || sessions[0].UserID != 0 {
		t.Errorf("RevokedSince(t0) = %+v, want only session g-1", sessions)
	}

	// The sweep drops user-level revocations older than the session cutoff.
	if _, err := s.Sweep(ctx, at(90*time.Second), at(0)); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	left, err := s.UserRevocationsSince(ctx, time.Time{})
	if err != nil {
		t.Fatalf("UserRevocationsSince: %v", err)
	}
	if want := []restauth.Revocation{ur(gone.ID, 2*time.Minute)}; !slices.EqualFunc(left, want, equal) {
		t.Errorf("user-level revocations after Sweep = %+v, want %+v", left, want)
	}
}
