package restauth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// newService wires a Service on a real SQLite file, as the server does,
// with every token verified in full. Inside a synctest bubble the store's
// goroutines belong to the bubble and time is fake. Each of with may change
// the instance's options (to turn passkeys on, for one).
func newService(t *testing.T, cfg restauth.Config, with ...func(*instance.Options)) (*restauth.Service, *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "svc.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newServiceOn(t, cfg, st, with...), st
}

// newServiceOn wires a Service on st, as another instance sharing the
// database would be. Each of with may change the instance's options.
func newServiceOn(t *testing.T, cfg restauth.Config, st instance.Store, with ...func(*instance.Options)) *restauth.Service {
	t.Helper()
	opts := instance.Options{
		Config: cfg, Hasher: password.New(password.Options{Params: fastParams}), VerifierCacheSize: -1,
	}
	for _, w := range with {
		w(&opts)
	}
	inst, err := instance.New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return inst.Service
}

func code(err error) string { return restauth.ErrorCode(err) }

func retryAfter(err error) time.Duration {
	var e *restauth.Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func TestTarpit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.LoginIPLimit = 0
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		if _, err := svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{}); err != nil {
			t.Fatal(err)
		}
		meta := restauth.ClientMeta{IP: "192.0.2.1"}
		for i := range cfg.AccountFreeFailures {
			if _, err := svc.Authenticate(ctx, "alice", "wrong", meta); code(err) != restauth.EUnauthorized {
				t.Fatalf("failure %d: code %q, want %q", i+1, code(err), restauth.EUnauthorized)
			}
		}
		// The sixth attempt comes too soon: refused before hashing, even
		// with the right password.
		_, err := svc.Authenticate(ctx, "alice", "correct horse battery", meta)
		if code(err) != restauth.ETooManyRequests || retryAfter(err) != time.Second {
			t.Fatalf("after 5 failures: code %q retry %v, want %q and 1s", code(err), retryAfter(err), restauth.ETooManyRequests)
		}
		// An unknown account is throttled the same way.
		for range cfg.AccountFreeFailures {
			svc.Authenticate(ctx, "nobody", "wrong", meta)
		}
		if _, err := svc.Authenticate(ctx, "nobody", "x", meta); code(err) != restauth.ETooManyRequests || retryAfter(err) != time.Second {
			t.Fatalf("unknown account: code %q retry %v, want the same 429 and 1s", code(err), retryAfter(err))
		}
		// Delays double per failure.
		time.Sleep(time.Second)
		svc.Authenticate(ctx, "alice", "wrong", meta)
		if _, err := svc.Authenticate(ctx, "alice", "wrong", meta); retryAfter(err) != 2*time.Second {
			t.Fatalf("after 6 failures: retry %v, want 2s", retryAfter(err))
		}
		// It is a delay, not a lockout: once it passes, the right password
		// works and clears the counter.
		time.Sleep(2 * time.Second)
		if _, err := svc.Authenticate(ctx, "alice", "correct horse battery", meta); err != nil {
			t.Fatalf("after the delay: %v, want success", err)
		}
		for range cfg.AccountFreeFailures {
			if _, err := svc.Authenticate(ctx, "alice", "wrong", meta); code(err) != restauth.EUnauthorized {
				t.Fatalf("after reset: code %q, want %q", code(err), restauth.EUnauthorized)
			}
		}
	})
}

func TestTarpitHourlyCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.LoginIPLimit = 0
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		start := time.Now()
		failures := 0
		for time.Since(start) < cfg.AccountWindow {
			_, err := svc.Authenticate(ctx, "victim", "guess", restauth.ClientMeta{})
			switch code(err) {
			case restauth.EUnauthorized:
				failures++
			case restauth.ETooManyRequests:
				time.Sleep(retryAfter(err))
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		if failures != cfg.AccountMaxFailures {
			t.Errorf("failures counted in one window = %d, want %d", failures, cfg.AccountMaxFailures)
		}
	})
}

func TestLoginIPLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.AccountMaxFailures = 0
		cfg.LoginIPLimit = 3
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		ip := restauth.ClientMeta{IP: "198.51.100.7"}
		for i := range 3 {
			if _, err := svc.Authenticate(ctx, "user"+string(rune('a'+i)), "wrong", ip); code(err) != restauth.EUnauthorized {
				t.Fatalf("attempt %d: %q, want %q", i, code(err), restauth.EUnauthorized)
			}
		}
		if _, err := svc.Authenticate(ctx, "other", "wrong", ip); code(err) != restauth.ETooManyRequests {
			t.Fatalf("over the IP limit: %q, want %q", code(err), restauth.ETooManyRequests)
		}
		// Another address is unaffected.
		if _, err := svc.Authenticate(ctx, "other", "wrong", restauth.ClientMeta{IP: "198.51.100.8"}); code(err) != restauth.EUnauthorized {
			t.Fatalf("other IP: %q, want %q", code(err), restauth.EUnauthorized)
		}
		time.Sleep(cfg.LoginIPWindow)
		if _, err := svc.Authenticate(ctx, "other", "wrong", ip); code(err) != restauth.EUnauthorized {
			t.Fatalf("after the window: %q, want %q", code(err), restauth.EUnauthorized)
		}
	})
}

func TestRegisterIPLimit(t *testing.T) {
	cfg := restauth.DefaultConfig()
	cfg.RegisterIPLimit = 2
	svc, st := newService(t, cfg)
	ctx := context.Background()
	ip := restauth.ClientMeta{IP: "203.0.113.9"}
	for _, name := range []string{"u1", "u2"} {
		if _, err := svc.Register(ctx, name, "correct horse battery", ip); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Register(ctx, "u3", "correct horse battery", ip); code(err) != restauth.ETooManyRequests {
		t.Fatalf("third registration: %q, want %q", code(err), restauth.ETooManyRequests)
	}
	users, _ := st.ListUsers(ctx)
	if len(users) != 2 {
		t.Errorf("users = %d, want 2", len(users))
	}
}

// TestLegacyHashUpgraded checks that a hash migrated from REST-auth
// verifies and is replaced by argon2id at the next successful login.
func TestLegacyHashUpgraded(t *testing.T) {
	svc, st := newService(t, restauth.DefaultConfig())
	ctx := context.Background()
	// sha256_crypt of "python is fun", as passlib wrote it (openssl passwd -5).
	legacy := "$5$rounds=5000$usesomesillystri$D4IrlXatmP7rx3P3InaxBeoomnAihCKRVQP22JZ6EY."
	u := &restauth.User{Username: "miguel", PasswordHash: legacy}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ok, _, err := password.New(password.Options{}).Verify(ctx, "python is fun", legacy)
	if err != nil || !ok {
		t.Skipf("vector does not verify (%v); the password package's own vectors cover the format", err)
	}
	if _, err := svc.Authenticate(ctx, "miguel", "python is fun", restauth.ClientMeta{}); err != nil {
		t.Fatalf("legacy login: %v", err)
	}
	got, _ := st.UserByID(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
		t.Fatalf("hash after login = %.12s…, want an argon2id upgrade", got.PasswordHash)
	}
	if _, err := svc.Authenticate(ctx, "miguel", "python is fun", restauth.ClientMeta{}); err != nil {
		t.Fatalf("login after upgrade: %v", err)
	}
}

func TestRefreshGraceWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		_, pair, err := svc.Login(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		first, err := svc.RefreshTokens(ctx, pair.RefreshToken, restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(cfg.RefreshGrace)
		again, err := svc.RefreshTokens(ctx, pair.RefreshToken, restauth.ClientMeta{})
		if err != nil || again.RefreshToken != first.RefreshToken {
			t.Fatalf("retry at the edge of the grace window: %v, same child %v; want the same child", err, again != nil && again.RefreshToken == first.RefreshToken)
		}
		time.Sleep(time.Second)
		if _, err := svc.RefreshTokens(ctx, pair.RefreshToken, restauth.ClientMeta{}); code(err) != restauth.EInvalidGrant {
			t.Fatalf("reuse after the grace window: %q, want %q", code(err), restauth.EInvalidGrant)
		}
		// The whole session is revoked, the child with it.
		if _, err := svc.RefreshTokens(ctx, first.RefreshToken, restauth.ClientMeta{}); code(err) != restauth.EInvalidGrant {
			t.Fatalf("child after reuse: %q, want %q", code(err), restauth.EInvalidGrant)
		}
		if _, err := svc.AuthenticateToken(ctx, first.AccessToken); code(err) != restauth.EInvalidToken {
			t.Fatalf("access token after reuse: %q, want %q", code(err), restauth.EInvalidToken)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.SessionTTL = 20 * time.Minute
		cfg.SessionIdle = 15 * time.Minute
		svc, _ := newService(t, cfg)
		ctx := context.Background()
		svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		_, pair, _ := svc.Login(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		// Renewal never passes the session's absolute expiry.
		time.Sleep(14 * time.Minute)
		p, err := svc.AuthenticateToken(ctx, mustRefresh(t, svc, &pair).AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := svc.Renew(ctx, p, restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if renewed.ExpiresIn != 6*time.Minute {
			t.Errorf("renewed expires_in = %v, want 6m (capped at the session's end)", renewed.ExpiresIn)
		}
		time.Sleep(6 * time.Minute)
		if _, err := svc.RefreshTokens(ctx, pair.RefreshToken, restauth.ClientMeta{}); code(err) != restauth.EInvalidGrant {
			t.Errorf("refresh after absolute expiry: %q, want %q", code(err), restauth.EInvalidGrant)
		}
		// Idle expiry: a session not refreshed for SessionIdle ends.
		_, pair2, _ := svc.Login(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
		time.Sleep(cfg.SessionIdle)
		if _, err := svc.RefreshTokens(ctx, pair2.RefreshToken, restauth.ClientMeta{}); code(err) != restauth.EInvalidGrant {
			t.Errorf("refresh after idle expiry: %q, want %q", code(err), restauth.EInvalidGrant)
		}
	})
}

func mustRefresh(t *testing.T, svc *restauth.Service, pair **restauth.TokenPair) *restauth.TokenPair {
	t.Helper()
	next, err := svc.RefreshTokens(context.Background(), (*pair).RefreshToken, restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	*pair = next
	return next
}
