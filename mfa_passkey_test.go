package restauth_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/internal/totptest"
	"github.com/restauth/restauth/password"
)

// newPasskeyServiceOn wires a Service with the fake ceremonies on a fresh
// store of kind, and returns a function that wires another instance on the
// same store.
func newPasskeyServiceOn(t *testing.T, kind teststore.Kind, cfg restauth.Config) (*restauth.Service, func() *restauth.Service) {
	t.Helper()
	st, _ := kind.Open(t)
	f := &fakeCeremonies{}
	wire := func() *restauth.Service {
		inst, err := instance.New(context.Background(), st, instance.Options{
			Config: cfg, Hasher: password.New(password.Options{Params: fastParams}), VerifierCacheSize: -1, Passkeys: f,
		})
		if err != nil {
			t.Fatal(err)
		}
		return inst.Service
	}
	return wire(), wire
}

// addPasskey registers a passkey with credential id cred for p through the
// Service, as the account page does.
func addPasskey(t *testing.T, svc *restauth.Service, p *restauth.Principal, cred string) {
	t.Helper()
	ctx := context.Background()
	id, _, err := svc.BeginPasskeyRegistration(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FinishPasskeyRegistration(ctx, p, id, cred, response(cred, p.UserID)); err != nil {
		t.Fatalf("FinishPasskeyRegistration(%s): %v", cred, err)
	}
}

// mfaChallenge logs in with the password and returns the mfa_required
// answer, which must carry a token.
func mfaChallenge(t *testing.T, svc *restauth.Service, name string) *restauth.MFARequiredError {
	t.Helper()
	_, _, err := svc.Login(context.Background(), name, mfaPassword, restauth.ClientMeta{IP: "192.0.2.10"})
	var mfa *restauth.MFARequiredError
	if !errors.As(err, &mfa) || mfa.Token == "" {
		t.Fatalf("Login of %s: %v; want mfa_required with a token", name, err)
	}
	return mfa
}

func beginMFAPasskey(t *testing.T, svc *restauth.Service, tok string) string {
	t.Helper()
	id, options, err := svc.BeginMFAPasskey(context.Background(), tok)
	if err != nil || id == "" || len(options) == 0 {
		t.Fatalf("BeginMFAPasskey = %q, %s, %v; want a challenge and options", id, options, err)
	}
	return id
}

// TestMFAPasskey checks the passkey as the second step of a password login
// on every store: offered only to an account with a passkey, bound to the
// login's mfa_token and to the account's passkeys, single-use, and opening
// the session the codes open.
func TestMFAPasskey(t *testing.T) { teststore.ForEach(t, testMFAPasskey) }

func testMFAPasskey(t *testing.T, kind teststore.Kind) {
	svc, _ := newPasskeyServiceOn(t, kind, restauth.DefaultConfig())
	ctx := context.Background()
	meta := restauth.ClientMeta{IP: "192.0.2.10"}
	alice := enrolTOTP(t, svc, "alice")
	bob := enrolTOTP(t, svc, "bob")
	addPasskey(t, svc, bob.principal, "b1")

	// Without a passkey the second step offers codes only, and a passkey
	// cannot be asked for.
	mfa := mfaChallenge(t, svc, "alice")
	if want := []string{restauth.FactorTOTP, restauth.FactorRecoveryCode}; !slices.Equal(mfa.Factors, want) {
		t.Fatalf("factors without a passkey = %v, want %v", mfa.Factors, want)
	}
	if _, _, err := svc.BeginMFAPasskey(ctx, mfa.Token); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("BeginMFAPasskey for an account with no passkey: %v, want %s", err, restauth.EPasskeyRefused)
	}

	addPasskey(t, svc, alice.principal, "a1")
	mfa = mfaChallenge(t, svc, "alice")
	if !slices.Contains(mfa.Factors, restauth.FactorPasskey) {
		t.Fatalf("factors with a passkey = %v, want passkey among them", mfa.Factors)
	}
	if f, err := svc.SecondStepFactors(ctx, mfa.Token); err != nil || !slices.Equal(f, mfa.Factors) {
		t.Fatalf("SecondStepFactors = %v, %v; want %v", f, err, mfa.Factors)
	}
	tok := mfa.Token

	// Another account's passkey is refused, and the refusal uses the
	// challenge up but not the login.
	id := beginMFAPasskey(t, svc, tok)
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("b1", bob.principal.UserID), meta); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("alice's login with bob's passkey: %v, want %s", err, restauth.EPasskeyRefused)
	}
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), meta); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("a challenge used already: %v, want %s", err, restauth.EPasskeyRefused)
	}
	// A challenge started for another login, of alice's or of bob's, does
	// not complete this one.
	other := mfaChallenge(t, svc, "alice").Token
	id = beginMFAPasskey(t, svc, other)
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), meta); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("a challenge of another login of alice's: %v, want %s", err, restauth.EPasskeyRefused)
	}
	bobTok := mfaChallenge(t, svc, "bob").Token
	id = beginMFAPasskey(t, svc, bobTok)
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), meta); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("a challenge of bob's login: %v, want %s", err, restauth.EPasskeyRefused)
	}

	// Hostile input is refused before the store is asked.
	id = beginMFAPasskey(t, svc, tok)
	for _, c := range []struct {
		name, tok, id string
		response      []byte
		want          string
	}{
		{"no mfa_token", "", id, response("a1", 1), restauth.EInvalidMFAToken},
		{"unknown mfa_token", strings.Repeat("x", 43), id, response("a1", 1), restauth.EInvalidMFAToken},
		{"long mfa_token", strings.Repeat("x", 4096), id, response("a1", 1), restauth.EInvalidMFAToken},
		{"no challenge", tok, "", response("a1", 1), restauth.EPasskeyRefused},
		{"challenge of another shape", tok, "../" + id, response("a1", 1), restauth.EPasskeyRefused},
		{"no response", tok, id, nil, restauth.EPasskeyRefused},
		{"huge response", tok, id, make([]byte, restauth.MaxPasskeyResponseBytes+1), restauth.EPasskeyRefused},
	} {
		if _, _, err := svc.CompleteLoginPasskey(ctx, c.tok, c.id, c.response, meta); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	if _, _, err := svc.BeginMFAPasskey(ctx, "not a token"); code(err) != restauth.EInvalidMFAToken {
		t.Errorf("BeginMFAPasskey with an unknown token: %v, want %s", err, restauth.EInvalidMFAToken)
	}

	// Alice's own passkey completes the login, once.
	u, pair, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), meta)
	if err != nil || u.ID != alice.principal.UserID || pair.AccessToken == "" {
		t.Fatalf("CompleteLoginPasskey = %v, %v; want a pair for alice", u, err)
	}
	if _, err := svc.AuthenticateToken(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the access token of the passkey's login: %v", err)
	}
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), meta); code(err) != restauth.EInvalidMFAToken {
		t.Fatalf("the login completed again: %v, want %s", err, restauth.EInvalidMFAToken)
	}
	if _, _, err := svc.BeginMFAPasskey(ctx, tok); code(err) != restauth.EInvalidMFAToken {
		t.Fatalf("BeginMFAPasskey for a completed login: %v, want %s", err, restauth.EInvalidMFAToken)
	}
	// The same assertion, replayed on a fresh login, is refused: its
	// challenge is gone.
	fresh := mfaChallenge(t, svc, "alice").Token
	if _, _, err := svc.CompleteLoginPasskey(ctx, fresh, id, response("a1", alice.principal.UserID), meta); code(err) != restauth.EPasskeyRefused {
		t.Fatalf("a replayed assertion: %v, want %s", err, restauth.EPasskeyRefused)
	}

	// The pages' variant opens a browser session.
	id = beginMFAPasskey(t, svc, fresh)
	u, sess, cookie, err := svc.CompleteSignInPasskey(ctx, fresh, id, response("a1", alice.principal.UserID), meta)
	if err != nil || u.ID != alice.principal.UserID || sess == nil || cookie == "" {
		t.Fatalf("CompleteSignInPasskey = %v, %v; want alice's browser session", u, err)
	}

	// A passkey does not make HTTP Basic with the password acceptable.
	if _, err := svc.Authenticate(ctx, "alice", mfaPassword, meta); code(err) != restauth.EMFARequired {
		t.Fatalf("Authenticate of an account with TOTP and a passkey: %v, want %s", err, restauth.EMFARequired)
	}

	// A passkey alone does not turn two-step sign-in on: the password
	// still opens a session, as the documented rule says.
	carol, err := svc.Register(ctx, "carol", mfaPassword, meta)
	if err != nil {
		t.Fatal(err)
	}
	addPasskey(t, svc, &restauth.Principal{UserID: carol.ID, Username: "carol"}, "c1")
	if has, err := svc.HasSecondFactor(ctx, carol.ID); err != nil || has {
		t.Fatalf("HasSecondFactor of an account with a passkey and no TOTP = %v, %v; want false", has, err)
	}
	if _, _, err := svc.Login(ctx, "carol", mfaPassword, meta); err != nil {
		t.Fatalf("Login of an account with a passkey and no TOTP: %v, want a session", err)
	}
}

// TestMFAPasskeyThrottled checks that refused passkeys at the second step
// count like wrong codes, per account, on every instance sharing the store,
// and that the ceremonies one account's logins may start are bounded.
func TestMFAPasskeyThrottled(t *testing.T) { teststore.ForEach(t, testMFAPasskeyThrottled) }

func testMFAPasskeyThrottled(t *testing.T, kind teststore.Kind) {
	cfg := restauth.DefaultConfig()
	cfg.LoginIPLimit = 0
	svc, another := newPasskeyServiceOn(t, kind, cfg)
	ctx := context.Background()
	alice := enrolTOTP(t, svc, "alice")
	addPasskey(t, svc, alice.principal, "a1")
	tok := mfaChallenge(t, svc, "alice").Token
	for i := range cfg.AccountFreeFailures - 1 {
		id := beginMFAPasskey(t, svc, tok)
		if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("unknown", alice.principal.UserID), restauth.ClientMeta{}); code(err) != restauth.EPasskeyRefused {
			t.Fatalf("unknown passkey %d: %v, want %s", i+1, err, restauth.EPasskeyRefused)
		}
	}
	// A wrong code adds to the same count.
	if _, _, err := svc.CompleteLogin(ctx, tok, restauth.FactorTOTP, totptest.Wrong(alice.secret), restauth.ClientMeta{}); code(err) != restauth.EInvalidCode {
		t.Fatalf("wrong code: %v, want %s", err, restauth.EInvalidCode)
	}
	// The next try is refused before it is checked, even with the right
	// passkey, on this instance and on another one sharing the store.
	id := beginMFAPasskey(t, svc, tok)
	if _, _, err := svc.CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), restauth.ClientMeta{}); code(err) != restauth.ETooManyRequests {
		t.Fatalf("after %d failures: %v, want %s", cfg.AccountFreeFailures, err, restauth.ETooManyRequests)
	}
	if _, _, err := another().CompleteLoginPasskey(ctx, tok, id, response("a1", alice.principal.UserID), restauth.ClientMeta{}); code(err) != restauth.ETooManyRequests {
		t.Fatalf("another instance after %d failures: %v, want %s", cfg.AccountFreeFailures, err, restauth.ETooManyRequests)
	}

	// Starting ceremonies is bounded per account: MFAPasskeyBeginLimit in
	// all, counting those above.
	started := cfg.AccountFreeFailures + 1
	var err error
	for started <= restauth.MFAPasskeyBeginLimit && err == nil {
		_, _, err = svc.BeginMFAPasskey(ctx, tok)
		started++
	}
	if err != nil {
		t.Fatalf("BeginMFAPasskey %d: %v, want success up to %d", started-1, err, restauth.MFAPasskeyBeginLimit)
	}
	if _, _, err := svc.BeginMFAPasskey(ctx, tok); code(err) != restauth.ETooManyRequests || retryAfter(err) <= 0 {
		t.Fatalf("BeginMFAPasskey past the limit: %v, want %s with a delay", err, restauth.ETooManyRequests)
	}
}
