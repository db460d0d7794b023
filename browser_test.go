package restauth_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// TestBrowserSessions checks the rules of browser sessions: a new cookie at
// every sign-in, the same refusals as any session (idle timeout, absolute
// expiry, revocation, the user's deletion), and use keeping it alive.
func TestBrowserSessions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.SessionTTL = 3 * time.Hour
		cfg.SessionIdle = time.Hour
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		meta := restauth.ClientMeta{IP: "192.0.2.1", UserAgent: "test browser"}
		if _, err := svc.Register(ctx, "alice", "correct horse battery", meta); err != nil {
			t.Fatal(err)
		}
		signIn := func() (*restauth.Session, string) {
			t.Helper()
			_, sess, cookie, err := svc.SignIn(ctx, "alice", "correct horse battery", meta)
			if err != nil {
				t.Fatal(err)
			}
			return sess, cookie
		}
		wantLive := func(what, cookie, sessionID string) {
			t.Helper()
			p, _, err := svc.AuthenticateBrowser(ctx, cookie)
			if err != nil || p.SessionID != sessionID || p.Username != "alice" {
				t.Errorf("%s: AuthenticateBrowser = %+v, %v; want alice's session %s", what, p, err, sessionID)
			}
		}
		wantRefused := func(what, cookie string) {
			t.Helper()
			if _, _, err := svc.AuthenticateBrowser(ctx, cookie); code(err) != restauth.EInvalidToken {
				t.Errorf("%s: AuthenticateBrowser error %q, want %q", what, code(err), restauth.EInvalidToken)
			}
		}

		s1, c1 := signIn()
		s2, c2 := signIn()
		if c1 == c2 || s1.ID == s2.ID {
			t.Fatalf("two sign-ins share a cookie or a session")
		}
		wantLive("fresh", c1, s1.ID)
		wantRefused("empty cookie", "")
		// Another cookie of the same shape: its first character changed
		// (a fixed "x" would equal c1 whenever c1 starts with one).
		other := "x"
		if c1[0] == 'x' {
			other = "y"
		}
		wantRefused("unknown cookie", other+c1[1:])
		if _, _, _, err := svc.SignIn(ctx, "alice", "wrong password", meta); code(err) != restauth.EUnauthorized {
			t.Errorf("SignIn with a wrong password: %q, want %q", code(err), restauth.EUnauthorized)
		}

		// Use keeps a session alive past the idle timeout; disuse ends it.
		for range 3 {
			time.Sleep(40 * time.Minute)
			wantLive("used every 40 minutes", c1, s1.ID)
		}
		wantRefused("unused for 2 hours", c2)
		// The absolute expiry holds however much the session is used.
		time.Sleep(50 * time.Minute)
		wantLive("used", c1, s1.ID)
		time.Sleep(10 * time.Minute)
		wantRefused("past the absolute expiry", c1)

		// Signing out everywhere else keeps the current session only.
		s3, c3 := signIn()
		_, c4 := signIn()
		p, _, err := svc.AuthenticateBrowser(ctx, c3)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.RevokeOtherSessions(ctx, p); err != nil {
			t.Fatal(err)
		}
		wantLive("the session that signed out elsewhere", c3, s3.ID)
		wantRefused("another session after sign-out elsewhere", c4)
		if err := svc.RevokeOtherSessions(ctx, &restauth.Principal{UserID: p.UserID}); code(err) != restauth.EInvalid {
			t.Errorf("RevokeOtherSessions without a session: %q, want %q", code(err), restauth.EInvalid)
		}

		// Logout and the account's deletion end browser sessions.
		if err := svc.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		wantRefused("after logout", c3)
		s5, c5 := signIn()
		wantLive("new sign-in", c5, s5.ID)
		if err := svc.DeleteUser(ctx, p.UserID); err != nil {
			t.Fatal(err)
		}
		wantRefused("after the user's deletion", c5)
	})
}
