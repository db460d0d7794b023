package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// testBrowserSessions checks the cookie table of browser sessions: a
// browser session is an ordinary session (listed, revoked, deleted with its
// user, swept) that is also found by the hash of its cookie.
func testBrowserSessions(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	api := newSession("api", alice.ID, at(0))
	mustCreateSession(t, s, api)
	web := newSession("web", alice.ID, at(time.Second))
	if err := s.CreateBrowserSession(ctx, web, hash("cookie-web")); err != nil {
		t.Fatalf("CreateBrowserSession: %v", err)
	}

	got, err := s.BrowserSession(ctx, hash("cookie-web"))
	if err != nil || !equalSession(got, web) {
		t.Fatalf("BrowserSession = %s, %v; want %s", fmtSession(got), err, fmtSession(web))
	}
	_, err = s.BrowserSession(ctx, hash("cookie-unknown"))
	wantErr(t, "BrowserSession of an unknown cookie", err, restauth.ErrNotFound)
	// An API session has no cookie.
	_, err = s.BrowserSession(ctx, hash("api"))
	wantErr(t, "BrowserSession of an API session's refresh hash", err, restauth.ErrNotFound)

	list, err := s.ListSessions(ctx, alice.ID, at(2*time.Second))
	if err != nil || len(list) != 2 || list[0].ID != "api" || list[1].ID != "web" {
		t.Fatalf("ListSessions = %d sessions, %v; want api and web", len(list), err)
	}

	// A session for no user, or a cookie hash used twice, is refused and
	// leaves nothing behind.
	err = s.CreateBrowserSession(ctx, newSession("orphan", alice.ID+1000, at(0)), hash("cookie-orphan"))
	wantErr(t, "CreateBrowserSession for an unknown user", err, restauth.ErrNotFound)
	if _, err := s.Session(ctx, "orphan"); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("Session(orphan) after a refused create: got %v, want ErrNotFound", err)
	}
	if err := s.CreateBrowserSession(ctx, newSession("dup", alice.ID, at(0)), hash("cookie-web")); err == nil {
		t.Errorf("CreateBrowserSession with a cookie hash already stored succeeded")
	}
	if _, err := s.Session(ctx, "dup"); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("Session(dup) after a refused create: got %v, want ErrNotFound", err)
	}

	// TouchSession moves LastUsedAt forward only.
	for _, tt := range []struct {
		to, want time.Time
	}{
		{at(10 * time.Minute), at(10 * time.Minute)},
		{at(5 * time.Minute), at(10 * time.Minute)},
	} {
		if err := s.TouchSession(ctx, "web", tt.to); err != nil {
			t.Fatalf("TouchSession(%v): %v", tt.to, err)
		}
		if got := mustSession(t, s, "web").LastUsedAt; !got.Equal(tt.want) {
			t.Errorf("LastUsedAt after TouchSession(%v) = %v, want %v", tt.to, got, tt.want)
		}
	}
	wantErr(t, "TouchSession of an unknown session", s.TouchSession(ctx, "nope", at(time.Hour)), restauth.ErrNotFound)

	// Revoking it the ordinary way is seen through the cookie and reported
	// in the revocation feed; a revoked session is not touched.
	if err := s.RevokeSession(ctx, alice.ID, "web", at(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = s.BrowserSession(ctx, hash("cookie-web"))
	if err != nil || !got.RevokedAt.Equal(at(20*time.Minute)) {
		t.Errorf("BrowserSession after revocation = %s, %v; want RevokedAt %v", fmtSession(got), err, at(20*time.Minute))
	}
	wantErr(t, "TouchSession of a revoked session", s.TouchSession(ctx, "web", at(30*time.Minute)), restauth.ErrNotFound)
	revs, err := s.RevokedSince(ctx, at(20*time.Minute))
	if err != nil || len(revs) != 1 || revs[0].SessionID != "web" {
		t.Errorf("RevokedSince = %v, %v; want the browser session", revs, err)
	}

	// Deleting the user revokes its browser sessions and detaches them.
	bob := mustCreateUser(t, s, "bob")
	if err := s.CreateBrowserSession(ctx, newSession("bob-web", bob.ID, at(0)), hash("cookie-bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, bob.ID, at(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = s.BrowserSession(ctx, hash("cookie-bob"))
	if err != nil || got.UserID != 0 || got.RevokedAt.IsZero() {
		t.Errorf("BrowserSession after DeleteUser = %s, %v; want no user and revoked", fmtSession(got), err)
	}

	// Sweeping an ended session deletes its cookie row with it.
	if _, err := s.Sweep(ctx, at(24*time.Hour), at(0)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"cookie-web", "cookie-bob"} {
		_, err := s.BrowserSession(ctx, hash(c))
		wantErr(t, "BrowserSession of a swept session ("+c+")", err, restauth.ErrNotFound)
	}
}
