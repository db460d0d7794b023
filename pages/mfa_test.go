package pages

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/totptest"
)

var (
	mfaTokenRE = regexp.MustCompile(`name="mfa_token" value="([^"]+)"`)
	secretRE   = regexp.MustCompile(`<code class="secret">([A-Z2-7]+)</code>`)
	codeRE     = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// enableTOTP turns TOTP on from the account page of the signed-in client
// and returns the secret and the recovery codes the page showed.
func (e *testEnv) enableTOTP(t *testing.T, c *http.Client) ([]byte, []string) {
	t.Helper()
	p := e.post(c, "/account/totp", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("start enrolment: status %d, want 303", p.status)
	}
	p = e.get(c, "/account")
	m := secretRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || !strings.Contains(p.body, `<img class="qr" src="/account/totp/qr.png"`) {
		t.Fatalf("account page while pending: status %d, no key or QR code; body %s", p.status, p.body)
	}
	secret, err := totptest.Secret(m[1])
	if err != nil {
		t.Fatal(err)
	}
	qr := e.get(c, "/account/totp/qr.png")
	if qr.status != 200 || qr.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(qr.body, "\x89PNG") {
		t.Fatalf("QR code: status %d, type %q; want a PNG", qr.status, qr.header.Get("Content-Type"))
	}
	p = e.post(c, "/account/totp/confirm", url.Values{"code": {totptest.Wrong(secret)}})
	if p.status != 400 || !strings.Contains(p.body, htmlEscape(msg("err_code_wrong"))) {
		t.Fatalf("confirm with a wrong code: status %d, want 400 and the refusal", p.status)
	}
	p = e.post(c, "/account/totp/confirm", url.Values{"code": {totptest.Now(secret, 0)}})
	var codes []string
	for _, m := range codeRE.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if p.status != 200 || len(codes) != 10 {
		t.Fatalf("confirm: status %d, %d recovery codes; want 200 and 10", p.status, len(codes))
	}
	// Shown once: the account page no longer has them.
	if p := e.get(c, "/account"); codeRE.MatchString(p.body) || !strings.Contains(p.body, htmlEscape(msg("totp_on_intro", 10))) {
		t.Fatalf("account page after confirming shows the codes again, or not the state")
	}
	return secret, codes
}

// signinStep signs in with the password and returns the second step's
// mfa_token, checking that the step is shown and the token is in no URL.
func (e *testEnv) signinStep(t *testing.T, c *http.Client, name, pass string) string {
	t.Helper()
	p := e.post(c, "/signin", url.Values{"username": {name}, "password": {pass}, "return_to": {"/account?x=1"}})
	m := mfaTokenRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil || !strings.Contains(p.body, `action="/signin/mfa"`) {
		t.Fatalf("sign-in with TOTP: status %d, no second step; body %s", p.status, p.body)
	}
	if p.header.Get("Location") != "" || sessionCookieOf(p) != "" {
		t.Fatalf("the password alone redirected or set a cookie: %v", p.header)
	}
	return m[1]
}

func sessionCookieOf(p page) string {
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "restauth-session=") && !strings.HasPrefix(c, "restauth-session=;") {
			return c
		}
	}
	return ""
}

func TestTOTPPages(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		const pw = "correct horse battery"
		c := e.signup("alice", pw)
		secret, codes := e.enableTOTP(t, c)

		// A new browser: the password, then the code.
		b := e.client()
		tok := e.signinStep(t, b, "alice", pw)
		p := e.post(b, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {totptest.Wrong(secret)}, "return_to": {"/account?x=1"}})
		if p.status != 400 || !strings.Contains(p.body, htmlEscape(msg("err_code_wrong"))) || !strings.Contains(p.body, tok) {
			t.Fatalf("a wrong code: status %d, want 400 with the refusal and the step kept", p.status)
		}
		p = e.post(b, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {totptest.Now(secret, 1)}, "return_to": {"/account?x=1"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/account?x=1" || sessionCookieOf(p) == "" {
			t.Fatalf("the right code: status %d, Location %q; want 303 to return_to with a cookie", p.status, p.header.Get("Location"))
		}
		if p := e.get(b, "/account"); p.status != 200 || !strings.Contains(p.body, "alice") {
			t.Fatalf("account after the second step: status %d", p.status)
		}
		// The token was used: the step starts over.
		p = e.post(e.client(), "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {totptest.Now(secret, 1)}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/signin?done=mfa-expired" {
			t.Fatalf("a used token: status %d, Location %q; want 303 to the sign-in", p.status, p.header.Get("Location"))
		}
		if p := e.get(e.client(), "/signin?done=mfa-expired"); !strings.Contains(p.body, htmlEscape(msg("done_mfa_expired"))) {
			t.Error("the sign-in page does not say why it starts over")
		}
		// A recovery code works in the same field, once.
		r := e.client()
		tok = e.signinStep(t, r, "alice", pw)
		if p := e.post(r, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {codes[0]}}); p.status != http.StatusSeeOther {
			t.Fatalf("a recovery code: status %d, want 303", p.status)
		}
		tok = e.signinStep(t, r, "alice", pw)
		if p := e.post(r, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {codes[0]}}); p.status != 400 {
			t.Fatalf("a used recovery code: status %d, want 400", p.status)
		}
		if p := e.post(r, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {""}}); p.status != 400 || !strings.Contains(p.body, htmlEscape(msg("err_code_empty"))) {
			t.Fatalf("an empty code: status %d, want 400 and the refusal", p.status)
		}

		// Turning it off: a wrong password is refused, the right one works.
		if p := e.post(b, "/account/totp/disable", url.Values{"totp_password": {"wrong password"}}); p.status != 401 && p.status != 403 {
			t.Fatalf("turn off with a wrong password: status %d, want a refusal", p.status)
		}
		if p := e.post(b, "/account/totp/disable", url.Values{"totp_password": {pw}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/account?done=totp-off" {
			t.Fatalf("turn off: status %d, Location %q", p.status, p.header.Get("Location"))
		}
		p = e.post(e.client(), "/signin", url.Values{"username": {"alice"}, "password": {pw}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("the password alone after turning off: status %d, want 303", p.status)
		}
		if p := e.get(b, "/account/totp/qr.png"); p.status != 404 {
			t.Fatalf("QR code with nothing pending: status %d, want 404", p.status)
		}
	})
}

// TestMFAStepHostile sends malformed second steps: each is a 4xx (or the
// redirect that starts over), never a 5xx, and opens no session.
func TestMFAStepHostile(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		const pw = "correct horse battery"
		c := e.signup("bob", pw)
		e.enableTOTP(t, c)
		tok := e.signinStep(t, e.client(), "bob", pw)
		ctx := context.Background()
		sessions := func() int {
			u, err := e.svc.UserByName(ctx, "bob")
			if err != nil {
				t.Fatal(err)
			}
			list, err := e.store.ListSessions(ctx, u.ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		before := sessions()
		for _, form := range []url.Values{
			{},
			{"mfa_token": {tok}},
			{"mfa_token": {"forged"}, "code": {"123456"}},
			{"mfa_token": {"a\x00b"}, "code": {"123456"}},
			{"mfa_token": {strings.Repeat("A", 5000)}, "code": {"123456"}},
			{"mfa_token": {tok}, "code": {"12345x"}},
			{"mfa_token": {tok}, "code": {"\xff\xfe\x00"}},
			{"mfa_token": {tok}, "code": {strings.Repeat("9", 10000)}},
			{"mfa_token": {tok, tok}, "code": {"000000", "111111"}},
		} {
			p := e.post(e.client(), "/signin/mfa", form)
			if p.status >= 500 || p.status < 300 || sessionCookieOf(p) != "" {
				t.Errorf("%v: status %d, cookie %q; want a refusal without a session", form, p.status, sessionCookieOf(p))
			}
		}
		if p := e.post(e.client(), "/signin/mfa", url.Values{"code": {strings.Repeat("9", 20000)}}); p.status != 400 {
			t.Errorf("an over-long form: status %d, want 400", p.status)
		}
		if after := sessions(); after != before {
			t.Errorf("hostile second steps opened sessions: %d, then %d", before, after)
		}
	})
}
