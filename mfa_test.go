package restauth_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/totptest"
)

// mfaUser is a user with a confirmed TOTP authenticator, and what a test
// needs to act as it.
type mfaUser struct {
	svc       *restauth.Service
	principal *restauth.Principal
	secret    []byte
	recovery  []string
}

// code returns the user's code at now plus drift steps, computed by the
// tests' own RFC 6238 implementation (internal/totptest).
func (m *mfaUser) code(drift int) string {
	return totptest.Now(m.secret, drift)
}

const mfaPassword = "correct horse battery"

var recoveryShape = regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$`)

// enrolTOTP registers name, logs in, and enrols and confirms TOTP through
// the Service, checking each answer on the way.
func enrolTOTP(t *testing.T, svc *restauth.Service, name string) *mfaUser {
	t.Helper()
	ctx := context.Background()
	meta := restauth.ClientMeta{IP: "192.0.2.10"}
	if _, err := svc.Register(ctx, name, mfaPassword, meta); err != nil {
		t.Fatal(err)
	}
	_, pair, err := svc.Login(ctx, name, mfaPassword, meta)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.AuthenticateToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := svc.EnrollTOTP(ctx, p)
	if err != nil {
		t.Fatalf("EnrollTOTP: %v", err)
	}
	u, err := url.Parse(enr.URI)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URI %q: %v; want otpauth://totp/…", enr.URI, err)
	}
	q := u.Query()
	if q.Get("secret") != enr.Secret || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("URI %q does not carry the secret and the parameters", enr.URI)
	}
	if !strings.HasSuffix(u.Path, ":"+name) {
		t.Errorf("URI path %q does not name the account %q", u.Path, name)
	}
	secret, err := totptest.Secret(enr.Secret)
	if err != nil || len(secret) != 20 {
		t.Fatalf("secret %q: %d bytes, %v; want 20 bytes of base32", enr.Secret, len(secret), err)
	}
	// Before confirmation the password alone still logs in.
	if _, err := svc.Authenticate(ctx, name, mfaPassword, meta); err != nil {
		t.Fatalf("Authenticate with a pending enrolment: %v, want success", err)
	}
	codes, err := svc.ConfirmTOTP(ctx, p, totptest.Code(secret, time.Now().Unix(), 6), meta)
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recoveryShape.MatchString(c) || seen[c] {
			t.Errorf("recovery code %q: malformed or repeated", c)
		}
		seen[c] = true
	}
	if len(codes) != restauth.RecoveryCodeCount {
		t.Fatalf("got %d recovery codes, want %d", len(codes), restauth.RecoveryCodeCount)
	}
	return &mfaUser{svc: svc, principal: p, secret: secret, recovery: codes}
}

// mfaToken logs in with the password and returns the mfa_token of the
// answer, which must be mfa_required.
func mfaToken(t *testing.T, svc *restauth.Service, name string) string {
	t.Helper()
	_, _, err := svc.Login(context.Background(), name, mfaPassword, restauth.ClientMeta{IP: "192.0.2.10"})
	var mfa *restauth.MFARequiredError
	if !errors.As(err, &mfa) || code(err) != restauth.EMFARequired || mfa.Token == "" || mfa.ExpiresIn != restauth.MFAChallengeTTL {
		t.Fatalf("Login of a user with TOTP: %v; want mfa_required with a token", err)
	}
	if strings.Contains(err.Error(), mfa.Token) {
		t.Fatalf("the error text %q holds the mfa_token", err.Error())
	}
	return mfa.Token
}

func TestTOTPLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		meta := restauth.ClientMeta{IP: "192.0.2.10", UserAgent: "test/1"}
		m := enrolTOTP(t, svc, "alice")

		// A password alone is refused where no second step can follow,
		// and the message points to API keys.
		_, err := svc.Authenticate(ctx, "alice", mfaPassword, meta)
		if code(err) != restauth.EMFARequired || !strings.Contains(restauth.ErrorMessage(err), "API key") {
			t.Fatalf("Authenticate: %v; want mfa_required pointing to API keys", err)
		}
		var mfa *restauth.MFARequiredError
		if errors.As(err, &mfa) {
			t.Fatalf("Authenticate handed out an mfa_token")
		}
		// A wrong password is still a wrong password.
		if _, _, err := svc.Login(ctx, "alice", "wrong password", meta); code(err) != restauth.EUnauthorized {
			t.Fatalf("Login with a wrong password: %v, want %s", err, restauth.EUnauthorized)
		}

		// The confirmation used the current step: its code is refused.
		tok := mfaToken(t, svc, "alice")
		if _, _, err := svc.CompleteLogin(ctx, tok, "totp", m.code(0), meta); code(err) != restauth.EInvalidCode {
			t.Fatalf("CompleteLogin with the code used to confirm: %v, want %s", err, restauth.EInvalidCode)
		}
		time.Sleep(30 * time.Second)
		c := m.code(0)
		u, pair, err := svc.CompleteLogin(ctx, tok, "totp", c, meta)
		if err != nil || u.Username != "alice" || pair.AccessToken == "" || pair.RefreshToken == "" {
			t.Fatalf("CompleteLogin: %v; want a token pair for alice", err)
		}
		if _, err := svc.AuthenticateToken(ctx, pair.AccessToken); err != nil {
			t.Fatalf("the access token of a completed login: %v", err)
		}
		// The token is single-use, and the code too, with another token.
		if _, _, err := svc.CompleteLogin(ctx, tok, "totp", m.code(1), meta); code(err) != restauth.EInvalidMFAToken {
			t.Fatalf("a used mfa_token: %v, want %s", err, restauth.EInvalidMFAToken)
		}
		tok2 := mfaToken(t, svc, "alice")
		if _, _, err := svc.CompleteLogin(ctx, tok2, "totp", c, meta); code(err) != restauth.EInvalidCode {
			t.Fatalf("a replayed code: %v, want %s", err, restauth.EInvalidCode)
		}
		// Forged and malformed tokens, codes and factors are refused.
		for _, tc := range []struct{ tok, factor, code, want string }{
			{"forged", "totp", m.code(1), restauth.EInvalidMFAToken},
			{"", "totp", m.code(1), restauth.EInvalidMFAToken},
			{strings.Repeat("a", 10000), "totp", m.code(1), restauth.EInvalidMFAToken},
			{tok2, "totp", "12345", restauth.EInvalidCode},
			{tok2, "totp", "abcdef", restauth.EInvalidCode},
			{tok2, "totp", strings.Repeat("1", 100000), restauth.EInvalidCode},
			{tok2, "totp", "１２３４５６", restauth.EInvalidCode},
			{tok2, "recovery_code", "not-a-code", restauth.EInvalidCode},
			{tok2, "sms", "123456", restauth.EInvalid},
		} {
			if _, _, err := svc.CompleteLogin(ctx, tc.tok, tc.factor, tc.code, meta); code(err) != tc.want {
				t.Errorf("CompleteLogin(%.20q, %q, %.20q): %v, want %s", tc.tok, tc.factor, tc.code, err, tc.want)
			}
		}
		// The token expires.
		time.Sleep(restauth.MFAChallengeTTL)
		if _, _, err := svc.CompleteLogin(ctx, tok2, "totp", m.code(0), meta); code(err) != restauth.EInvalidMFAToken {
			t.Fatalf("an expired mfa_token: %v, want %s", err, restauth.EInvalidMFAToken)
		}
		// The browser sign-in takes the same two steps.
		_, _, _, err = svc.SignIn(ctx, "alice", mfaPassword, meta)
		if !errors.As(err, &mfa) {
			t.Fatalf("SignIn: %v, want an mfa_token", err)
		}
		_, sess, cookie, err := svc.CompleteSignIn(ctx, mfa.Token, "totp", m.code(0), meta)
		if err != nil || cookie == "" || sess.ClientIP != meta.IP || sess.UserAgent != meta.UserAgent {
			t.Fatalf("CompleteSignIn: %v; want a browser session from %v", err, meta)
		}
	})
}

func TestTOTPDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		m := enrolTOTP(t, svc, "alice")
		// Each case moves on by two steps first, so that no case is refused
		// for a step an earlier one used.
		for _, tc := range []struct {
			drift int
			want  string
		}{{-2, restauth.EInvalidCode}, {-1, ""}, {2, restauth.EInvalidCode}, {1, ""}, {0, ""}} {
			time.Sleep(90 * time.Second)
			_, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "totp", m.code(tc.drift), restauth.ClientMeta{})
			if code(err) != tc.want {
				t.Errorf("code %+d steps away: %v, want %q", tc.drift, err, tc.want)
			}
		}
		// A code from the step after the current one, once accepted, shuts
		// out the current step's code: steps only move forward.
		time.Sleep(90 * time.Second)
		if _, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "totp", m.code(1), restauth.ClientMeta{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "totp", m.code(0), restauth.ClientMeta{}); code(err) != restauth.EInvalidCode {
			t.Errorf("the current code after the next step's: %v, want %s", err, restauth.EInvalidCode)
		}
	})
}

func TestTOTPThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := restauth.DefaultConfig()
		cfg.LoginIPLimit = 0
		svc, st := newService(t, cfg)
		ctx := context.Background()
		m := enrolTOTP(t, svc, "alice")
		time.Sleep(30 * time.Second)
		tok := mfaToken(t, svc, "alice")
		for i := range cfg.AccountFreeFailures {
			if _, _, err := svc.CompleteLogin(ctx, tok, "totp", totptest.Wrong(m.secret), restauth.ClientMeta{}); code(err) != restauth.EInvalidCode {
				t.Fatalf("wrong code %d: %v, want %s", i+1, err, restauth.EInvalidCode)
			}
		}
		// The next guess is refused before it is checked, even with the
		// right code, on this instance and on another sharing the store.
		if _, _, err := svc.CompleteLogin(ctx, tok, "totp", m.code(0), restauth.ClientMeta{}); code(err) != restauth.ETooManyRequests {
			t.Fatalf("after %d wrong codes: %v, want %s", cfg.AccountFreeFailures, err, restauth.ETooManyRequests)
		}
		other := newServiceOn(t, cfg, st)
		if _, _, err := other.CompleteLogin(ctx, tok, "totp", m.code(0), restauth.ClientMeta{}); code(err) != restauth.ETooManyRequests {
			t.Fatalf("another instance after %d wrong codes: %v, want %s", cfg.AccountFreeFailures, err, restauth.ETooManyRequests)
		}
		// Recovery codes count against the same limit.
		if _, _, err := svc.CompleteLogin(ctx, tok, "recovery_code", m.recovery[0], restauth.ClientMeta{}); code(err) != restauth.ETooManyRequests {
			t.Fatalf("a recovery code while throttled: %v, want %s", err, restauth.ETooManyRequests)
		}
		// Password failures are counted apart: the password still works.
		mfaToken(t, svc, "alice")
		// The delay passes; the right code then works and clears the count.
		time.Sleep(time.Second)
		if _, _, err := svc.CompleteLogin(ctx, tok, "totp", m.code(0), restauth.ClientMeta{}); err != nil {
			t.Fatalf("after the delay: %v, want success", err)
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		m := enrolTOTP(t, svc, "alice")
		st, err := svc.MFAStatus(ctx, m.principal)
		if err != nil || !st.TOTP || st.RecoveryCodesLeft != 10 {
			t.Fatalf("MFAStatus = %+v, %v; want TOTP with 10 recovery codes", st, err)
		}
		// Typed in capitals without dashes, a code still works, once.
		typed := strings.ToUpper(strings.ReplaceAll(m.recovery[0], "-", " "))
		if _, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "recovery_code", typed, restauth.ClientMeta{}); err != nil {
			t.Fatalf("a recovery code: %v", err)
		}
		if _, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "recovery_code", m.recovery[0], restauth.ClientMeta{}); code(err) != restauth.EInvalidCode {
			t.Fatalf("a used recovery code: %v, want %s", err, restauth.EInvalidCode)
		}
		// Another user's code is not this user's.
		bob := enrolTOTP(t, svc, "bob")
		if _, _, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "alice"), "recovery_code", bob.recovery[0], restauth.ClientMeta{}); code(err) != restauth.EInvalidCode {
			t.Fatalf("bob's recovery code for alice: %v, want %s", err, restauth.EInvalidCode)
		}
		if st, _ := svc.MFAStatus(ctx, m.principal); st.RecoveryCodesLeft != 9 {
			t.Fatalf("recovery codes left: %d, want 9", st.RecoveryCodesLeft)
		}
	})
}

func TestTOTPEnrolmentRules(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		meta := restauth.ClientMeta{}
		if _, err := svc.Register(ctx, "carol", mfaPassword, meta); err != nil {
			t.Fatal(err)
		}
		_, pair, _ := svc.Login(ctx, "carol", mfaPassword, meta)
		p, _ := svc.AuthenticateToken(ctx, pair.AccessToken)
		_, other, _ := svc.Login(ctx, "carol", mfaPassword, meta)
		if _, err := svc.ConfirmTOTP(ctx, p, "123456", meta); code(err) != restauth.ENotFound {
			t.Fatalf("ConfirmTOTP with nothing pending: %v, want %s", err, restauth.ENotFound)
		}
		first, _ := svc.EnrollTOTP(ctx, p)
		second, _ := svc.EnrollTOTP(ctx, p)
		if first.Secret == second.Secret {
			t.Fatal("a second enrolment kept the first secret")
		}
		key := func(e *restauth.TOTPEnrolment) []byte {
			b, _ := totptest.Secret(e.Secret)
			return b
		}
		// The replaced secret no longer confirms; a wrong code stores
		// nothing.
		if _, err := svc.ConfirmTOTP(ctx, p, totptest.Code(key(first), time.Now().Unix(), 6), meta); code(err) != restauth.EInvalidCode {
			t.Fatalf("ConfirmTOTP with the replaced secret: %v, want %s", err, restauth.EInvalidCode)
		}
		if has, err := svc.HasSecondFactor(ctx, p.UserID); has || err != nil {
			t.Fatalf("HasSecondFactor after a wrong code: %v, %v; want false", has, err)
		}
		if _, err := svc.ConfirmTOTP(ctx, p, totptest.Code(key(second), time.Now().Unix(), 6), meta); err != nil {
			t.Fatalf("ConfirmTOTP: %v", err)
		}
		// Confirming ended every other session, and not the current one.
		if _, err := svc.AuthenticateToken(ctx, other.AccessToken); code(err) != restauth.EInvalidToken {
			t.Errorf("another session after confirming: %v, want %s", err, restauth.EInvalidToken)
		}
		if _, err := svc.AuthenticateToken(ctx, pair.AccessToken); err != nil {
			t.Errorf("the confirming session: %v, want it live", err)
		}
		if _, err := svc.EnrollTOTP(ctx, p); code(err) != restauth.ETOTPActive {
			t.Fatalf("EnrollTOTP while active: %v, want %s", err, restauth.ETOTPActive)
		}

		// Disabling needs the password or a code.
		if err := svc.DisableTOTP(ctx, p, "", "", meta); code(err) != restauth.EInvalid {
			t.Errorf("DisableTOTP with neither: %v, want %s", err, restauth.EInvalid)
		}
		if err := svc.DisableTOTP(ctx, p, "wrong password", "", meta); code(err) != restauth.EWrongPassword {
			t.Errorf("DisableTOTP with a wrong password: %v, want %s", err, restauth.EWrongPassword)
		}
		if err := svc.DisableTOTP(ctx, p, "", "000000x", meta); code(err) != restauth.EInvalidCode {
			t.Errorf("DisableTOTP with a malformed code: %v, want %s", err, restauth.EInvalidCode)
		}
		time.Sleep(30 * time.Second)
		if err := svc.DisableTOTP(ctx, p, "", totptest.Code(key(second), time.Now().Unix(), 6), meta); err != nil {
			t.Fatalf("DisableTOTP with a code: %v", err)
		}
		if _, err := svc.Authenticate(ctx, "carol", mfaPassword, meta); err != nil {
			t.Fatalf("the password alone after disabling: %v, want success", err)
		}
		if err := svc.DisableTOTP(ctx, p, mfaPassword, "", meta); code(err) != restauth.ENotFound {
			t.Errorf("DisableTOTP with nothing active: %v, want %s", err, restauth.ENotFound)
		}

		// And with the password.
		m := enrolTOTP(t, svc, "dave")
		if err := svc.DisableTOTP(ctx, m.principal, mfaPassword, "", meta); err != nil {
			t.Fatalf("DisableTOTP with the password: %v", err)
		}
		if st, _ := svc.MFAStatus(ctx, m.principal); st.TOTP || st.TOTPPending || st.RecoveryCodesLeft != 0 {
			t.Fatalf("MFAStatus after disabling: %+v, want nothing", st)
		}
	})
}

// TestCredentialCacheNeverAdmitsMFAUser: a password verified and cached
// before TOTP was confirmed is not accepted from the cache after.
func TestCredentialCacheNeverAdmitsMFAUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		meta := restauth.ClientMeta{}
		if _, err := svc.Register(ctx, "erin", mfaPassword, meta); err != nil {
			t.Fatal(err)
		}
		_, pair, _ := svc.Login(ctx, "erin", mfaPassword, meta)
		p, _ := svc.AuthenticateToken(ctx, pair.AccessToken)
		// Cached now.
		for range 2 {
			if _, err := svc.Authenticate(ctx, "erin", mfaPassword, meta); err != nil {
				t.Fatal(err)
			}
		}
		enr, _ := svc.EnrollTOTP(ctx, p)
		key, _ := totptest.Secret(enr.Secret)
		if _, err := svc.ConfirmTOTP(ctx, p, totptest.Code(key, time.Now().Unix(), 6), meta); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, err := svc.Authenticate(ctx, "erin", mfaPassword, meta); code(err) != restauth.EMFARequired {
				t.Fatalf("Authenticate %d after confirming: %v, want %s", i, err, restauth.EMFARequired)
			}
		}
	})
}

func TestResetMFA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _ := newService(t, restauth.DefaultConfig())
		ctx := context.Background()
		m := enrolTOTP(t, svc, "frank")
		time.Sleep(30 * time.Second)
		_, pair, err := svc.CompleteLogin(ctx, mfaToken(t, svc, "frank"), "totp", m.code(0), restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.ResetMFA(ctx, m.principal.UserID); err != nil {
			t.Fatalf("ResetMFA: %v", err)
		}
		for _, at := range []string{pair.AccessToken} {
			if _, err := svc.AuthenticateToken(ctx, at); code(err) != restauth.EInvalidToken {
				t.Errorf("a session after ResetMFA: %v, want %s", err, restauth.EInvalidToken)
			}
		}
		if _, _, err := svc.Login(ctx, "frank", mfaPassword, restauth.ClientMeta{}); err != nil {
			t.Fatalf("the password alone after ResetMFA: %v, want success", err)
		}
		if err := svc.ResetMFA(ctx, m.principal.UserID); code(err) != restauth.ENotFound {
			t.Fatalf("ResetMFA with nothing to reset: %v, want %s", err, restauth.ENotFound)
		}
	})
}
