package restauth_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

// countingHasher counts the verifications that reach the real hasher.
type countingHasher struct {
	restauth.PasswordHasher
	verifies atomic.Int64
}

func (h *countingHasher) Verify(ctx context.Context, pw, hash string) (bool, bool, error) {
	h.verifies.Add(1)
	return h.PasswordHasher.Verify(ctx, pw, hash)
}

// peer is one Service on a shared store, with its own revocation view,
// as one process of a deployment is.
type peer struct {
	svc    *restauth.Service
	revs   *restauth.RevocationSet
	hasher *countingHasher
}

// openStore opens a SQLite file in a temp dir, or an in-memory SQLite
// database for the tests that write thousands of times, where waiting for
// each write to reach the disk would only slow them.
func openStore(t testing.TB, memory bool) *sqlite.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "svc.db")
	if memory {
		dsn = ":memory:"
	}
	st, err := sqlite.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newInstance wires a Service on st that counts its verifications; a
// sessions store given replaces st for sessions.
func newInstance(t testing.TB, st *sqlite.DB, cfg restauth.Config, sessions ...restauth.SessionStore) *peer {
	t.Helper()
	in := &peer{
		revs:   restauth.NewRevocationSet(cfg.RevocationKeep()),
		hasher: &countingHasher{PasswordHasher: password.New(password.Options{Params: fastParams})},
	}
	opts := instance.Options{Config: cfg, Hasher: in.hasher, Revocations: in.revs, VerifierCacheSize: -1}
	if len(sessions) > 0 {
		opts.Sessions = sessions[0]
	}
	inst, err := instance.New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	in.svc = inst.Service
	return in
}

// TestRenewReusesSession plays a REST-auth client that fetches a token with
// its password every 10 minutes for 30 days: it must keep one live session
// throughout, the one it opened, and get a new one only once that one has
// reached its absolute expiry. Another user agent, a login, a logout and a
// password change each behave as documented.
func TestRenewReusesSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		st := openStore(t, true)
		in := newInstance(t, st, cfg)
		svc := in.svc
		ctx := context.Background()
		const pw = "correct horse battery"
		if _, err := svc.Register(ctx, "alice", pw, restauth.ClientMeta{}); err != nil {
			t.Fatal(err)
		}
		client := restauth.ClientMeta{IP: "192.0.2.10", UserAgent: "rest-client/1.0"}
		// The client sends its password with every renewal; what the
		// password check decides is covered elsewhere, so it is made once
		// here and its principal reused, which keeps 4,320 renewals quick
		// under the race detector.
		u, err := svc.Authenticate(ctx, "alice", pw, client)
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		principal := &restauth.Principal{UserID: u.ID, Username: u.Username}
		renew := func(meta restauth.ClientMeta) *restauth.TokenPair {
			t.Helper()
			pair, err := svc.Renew(ctx, principal, meta)
			if err != nil {
				t.Fatalf("renew: %v", err)
			}
			if pair.RefreshToken != "" {
				t.Fatalf("password renewal returned a refresh token; REST-auth gets none")
			}
			return pair
		}
		live := func() []*restauth.Session {
			t.Helper()
			p, err := svc.AuthenticateToken(ctx, renew(client).AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			list, err := svc.ListSessions(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}

		start := time.Now()
		first := renew(client).SessionID
		seen := map[string]bool{first: true}
		renewals := 0
		for time.Since(start) < cfg.SessionTTL-10*time.Minute {
			time.Sleep(10 * time.Minute)
			pair := renew(client)
			renewals++
			seen[pair.SessionID] = true
			if pair.ExpiresIn != cfg.AccessTTL {
				t.Fatalf("renewal %d: expires_in %v, want %v", renewals, pair.ExpiresIn, cfg.AccessTTL)
			}
		}
		if p, err := svc.AuthenticateToken(ctx, renew(client).AccessToken); err != nil || p.SessionID != first {
			t.Fatalf("token after %d renewals: %+v (%v), want one of the first session %s", renewals, p, err, first)
		}
		if len(seen) != 1 {
			t.Errorf("%d renewals over %v opened %d sessions, want 1", renewals, time.Since(start), len(seen))
		}
		if l := live(); len(l) != 1 || l[0].ID != first {
			t.Errorf("live sessions after %d renewals: %d, want only the first", renewals, len(l))
		}
		t.Logf("%d renewals over %v: %d session", renewals, time.Since(start).Round(time.Hour), len(seen))

		// At its absolute expiry the session ends and the next renewal opens
		// one new session, which is then the only live one.
		time.Sleep(10 * time.Minute)
		next := renew(client).SessionID
		if next == first {
			t.Fatalf("renewal %v after the first session started: still the first session, past its absolute expiry", time.Since(start))
		}
		if l := live(); len(l) != 1 || l[0].ID != next {
			t.Errorf("live sessions after the first expired: %d, want only the new one", len(l))
		}

		// Another user agent is another client; a login is never reused.
		other := renew(restauth.ClientMeta{IP: client.IP, UserAgent: "other-client/2.0"}).SessionID
		_, login, err := svc.Login(ctx, "alice", pw, client)
		if err != nil {
			t.Fatal(err)
		}
		if other == next || login.SessionID == next || renew(client).SessionID != next {
			t.Errorf("sessions: other agent %s, login %s, renewal %s; want three different sessions", other, login.SessionID, next)
		}

		// A logout ends the reused session; the next renewal opens another.
		p, err := svc.AuthenticateToken(ctx, renew(client).AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		afterLogout := renew(client).SessionID
		if afterLogout == next {
			t.Errorf("renewal after logout reused the revoked session %s", next)
		}

		// A password change from another session ends this one too.
		lp, err := svc.AuthenticateToken(ctx, login.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.ChangePassword(ctx, lp, pw, "another correct horse", client); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, "alice", pw, client); code(err) != restauth.EUnauthorized {
			t.Fatalf("old password after the change: %q, want %q", code(err), restauth.EUnauthorized)
		}
		u, err = svc.Authenticate(ctx, "alice", "another correct horse", client)
		if err != nil {
			t.Fatal(err)
		}
		pair, err := svc.Renew(ctx, &restauth.Principal{UserID: u.ID, Username: u.Username}, client)
		if err != nil || pair.SessionID == afterLogout {
			t.Errorf("renewal after the password change: %v, session %s; want a new session", err, pair.SessionID)
		}
	})
}

// slowReuse is a session store whose ReuseSession and CreateSession each
// take a second, so that renewals sent at once all look for a reusable
// session before any has opened one, unless something serialises them.
type slowReuse struct{ *sqlite.DB }

func (s slowReuse) ReuseSession(ctx context.Context, userID int64, ip, ua string, now, idleAfter time.Time) (*restauth.Session, error) {
	time.Sleep(time.Second)
	return s.DB.ReuseSession(ctx, userID, ip, ua, now, idleAfter)
}

func (s slowReuse) CreateSession(ctx context.Context, sess *restauth.Session, r *restauth.RefreshRecord) error {
	time.Sleep(time.Second)
	return s.DB.CreateSession(ctx, sess, r)
}

// TestParallelRenewalsShareOneSession sends eight password renewals of one
// client at once, with a store slow enough that all eight would look for a
// reusable session before any had opened one: they must still share one
// session, and another client's renewal must not wait for them.
func TestParallelRenewalsShareOneSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		st := openStore(t, true)
		in := newInstance(t, st, cfg, slowReuse{st})
		ctx := context.Background()
		u, err := in.svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		p := &restauth.Principal{UserID: u.ID, Username: u.Username}
		client := restauth.ClientMeta{IP: "192.0.2.10", UserAgent: "rest-client/1.0"}
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				pair, err := in.svc.Renew(ctx, p, client)
				if err != nil {
					t.Error(err)
					return
				}
				ids[i] = pair.SessionID
			})
		}
		var other time.Duration
		wg.Go(func() {
			if _, err := in.svc.Renew(ctx, p, restauth.ClientMeta{IP: client.IP, UserAgent: "other/2.0"}); err != nil {
				t.Error(err)
			}
			other = time.Since(start)
		})
		wg.Wait()
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		if len(distinct) != 1 {
			t.Errorf("%d renewals at once from one client used %d sessions, want 1", n, len(distinct))
		}
		if other != 2*time.Second {
			t.Errorf("another client's renewal took %v, want 2s (one lookup, one new session): it waited for the first client's", other)
		}
	})
}
