package pages

import (
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth"
)

// TestPasskeyStepOnTheWayToAnApp checks the sign-in's second step when it
// leads to an authorization and the account has a passkey: the page loads
// /pages/passkeys.js under script-src 'self', may POST the passkey JSON to
// 'self' (connect-src), and its form-action adds the client's origin; the
// passkey ceremony's options answer there too.
func TestPasskeyStepOnTheWayToAnApp(t *testing.T) {
	e, _ := newPasskeyEnvOIDC(t, sqliteStore, true)
	const pass = "correct horse battery"
	c := e.signup("alice", pass)
	e.enableTOTP(t, c)
	e.storePasskey(t, "alice", "alice-key")
	e.post(c, "/signout", nil)
	app, _, err := e.svc.RegisterOAuthClient(t.Context(), restauth.OAuthClientSpec{Name: "App", RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"client_id": {app.ID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s1"}, "code_challenge": {restauth.S256(strings.Repeat("v", 50))}, "code_challenge_method": {"S256"}}
	r := e.get(c, "/oauth/authorize?"+q.Encode())
	loc, _ := url.Parse(r.header.Get("Location"))
	returnTo := loc.Query().Get("return_to")
	if !strings.HasPrefix(returnTo, "/oauth/authorize?request_id=") {
		t.Fatalf("authorize: %d to %q, want the sign-in with the stored request", r.status, r.header.Get("Location"))
	}
	p := e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {pass}, "return_to": {returnTo}})
	m := mfaTokenRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("sign-in: status %d, no second step", p.status)
	}
	if !strings.Contains(p.body, `id="passkey-mfa"`) || !strings.Contains(p.body, `<script src="/pages/passkeys.js" defer></script>`) {
		t.Errorf("second step on the way to an app offers no passkey or loads no script")
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "connect-src 'self'", "form-action 'self' https://app.example;"} {
		if !strings.Contains(csp, want) {
			t.Errorf("second step CSP %q, want %q", csp, want)
		}
	}
	if r := e.mfaOptions(c, m[1]); r.status != 200 {
		t.Errorf("passkey options at the second step: %d %s, want 200", r.status, r.body)
	}
	if r := e.get(c, "/pages/passkeys.js"); r.status != 200 {
		t.Errorf("/pages/passkeys.js: %d, want 200", r.status)
	}
}
