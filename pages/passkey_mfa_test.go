package pages

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
)

// storePasskey stores a passkey for the user straight into the store, as a
// registration would: enough for the pages to offer it and for the
// ceremony's options to list it, though no authenticator holds its key.
func (e *testEnv) storePasskey(t *testing.T, name, credID string) {
	t.Helper()
	u, err := e.svc.UserByName(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	record, _ := json.Marshal(webauthn.Credential{ID: []byte(credID), PublicKey: []byte{1}})
	id, _ := instance.NewSessionID()
	pk := &restauth.Passkey{ID: id, UserID: u.ID, CredentialID: []byte(credID), Name: credID, Credential: record, CreatedAt: time.Now()}
	if err := e.store.AddPasskey(t.Context(), pk, restauth.MaxPasskeysPerUser); err != nil {
		t.Fatal(err)
	}
}

// mfaOptions starts the passkey ceremony of the second step tok, and
// returns the answer.
func (e *testEnv) mfaOptions(c *http.Client, tok string) page {
	e.t.Helper()
	return e.postJSON(c, pathMFAPasskeyOptions, "application/json", jsonBody(map[string]any{"mfa_token": tok}))
}

// TestMFAPasskeyPage checks the second step's passkey offer: shown, with
// the script and its CSP, only when the account has a passkey (and again
// after a wrong code), with options listing only the account's passkeys,
// and refusals that keep the step going; on both stores.
func TestMFAPasskeyPage(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e, _ := newPasskeyEnv(t, kind)
		const pass = "correct horse battery"
		c := e.signup("alice", pass)
		e.enableTOTP(t, c)
		e.signup("bob", pass)
		e.storePasskey(t, "bob", "bob-key")
		e.post(c, "/signout", nil)

		// Without a passkey: the step offers codes only, with no script.
		tok := e.signinStep(t, c, "alice", pass)
		p := e.post(c, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {"000000x"}})
		if strings.Contains(p.body, `id="passkey-mfa"`) || strings.Contains(p.body, "passkeys.js") || p.header.Get("Content-Security-Policy") != csp {
			t.Fatalf("second step without a passkey offers one, or loads the script (CSP %q)", p.header.Get("Content-Security-Policy"))
		}
		if r := e.mfaOptions(c, tok); r.status != http.StatusBadRequest || !strings.Contains(r.body, `"passkey_refused"`) {
			t.Fatalf("options for an account with no passkey: %d %s; want 400 passkey_refused", r.status, r.body)
		}

		e.storePasskey(t, "alice", "alice-key")
		p = e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {pass}, "return_to": {"/oauth/authorize?client_id=demo&state=s1"}})
		m := mfaTokenRE.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("sign-in: status %d, no second step", p.status)
		}
		tok = m[1]
		for what, page := range map[string]page{
			"the second step":                 p,
			"the second step after a refusal": e.post(c, "/signin/mfa", url.Values{"mfa_token": {tok}, "code": {"12345"}, "return_to": {"/oauth/authorize?client_id=demo&state=s1"}}),
		} {
			if !strings.Contains(page.body, `id="passkey-mfa"`) || !strings.Contains(page.body, `<script src="/pages/passkeys.js" defer></script>`) ||
				page.header.Get("Content-Security-Policy") != cspScript {
				t.Errorf("%s with a passkey: no passkey button or script, or CSP %q", what, page.header.Get("Content-Security-Policy"))
			}
			if !strings.Contains(page.body, `name="return_to" value="/oauth/authorize?client_id=demo&amp;state=s1"`) {
				t.Errorf("%s lost return_to", what)
			}
			if strings.Contains(page.body, "<script>") {
				t.Errorf("%s has an inline script", what)
			}
		}

		// The options list alice's passkey and not bob's.
		r := e.mfaOptions(c, tok)
		var got struct {
			Challenge string `json:"challenge"`
			Options   struct {
				PublicKey struct {
					AllowCredentials []struct {
						ID string `json:"id"`
					} `json:"allowCredentials"`
				} `json:"publicKey"`
			} `json:"options"`
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || !restauth.ValidSessionID(got.Challenge) {
			t.Fatalf("options: %d %s", r.status, r.body)
		}
		if a := got.Options.PublicKey.AllowCredentials; len(a) != 1 || a[0].ID != "YWxpY2Uta2V5" { // base64url("alice-key")
			t.Fatalf("allowCredentials = %+v, want alice-key only", a)
		}

		// Refusals are JSON 4xx, open nothing and leave the step going.
		sessions := countRows(t, e, "sessions")
		for _, tc := range []struct {
			name, ctype, body, code string
			status                  int
		}{
			{"unknown token", "application/json", jsonBody(map[string]any{"mfa_token": "nope", "challenge": got.Challenge, "credential": map[string]any{}}), restauth.EInvalidMFAToken, 400},
			{"not JSON", "application/x-www-form-urlencoded", "mfa_token=" + tok, restauth.EUnsupportedMedia, 415},
			{"unknown field", "application/json", jsonBody(map[string]any{"mfa_token": tok, "user": "bob"}), restauth.EInvalidJSON, 400},
			{"no credential", "application/json", jsonBody(map[string]any{"mfa_token": tok, "challenge": got.Challenge}), restauth.EPasskeyRefused, 400},
			{"a credential that is no assertion", "application/json", jsonBody(map[string]any{"mfa_token": tok, "challenge": got.Challenge, "credential": map[string]any{"id": "YWxpY2Uta2V5"}}), restauth.EPasskeyRefused, 400},
		} {
			r := e.postJSON(c, pathMFAPasskey, tc.ctype, tc.body)
			var body jsonError
			if r.status != tc.status || json.Unmarshal([]byte(r.body), &body) != nil || body.Error != tc.code || body.Message == "" {
				t.Errorf("%s: %d %s; want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
			}
			if sessionCookieOf(r) != "" {
				t.Errorf("%s set a session cookie", tc.name)
			}
		}
		if n := countRows(t, e, "sessions"); n != sessions {
			t.Errorf("sessions after the refusals: %d, want %d", n, sessions)
		}
		if _, err := e.svc.SecondStepFactors(t.Context(), tok); err != nil {
			t.Errorf("the step after the refusals: %v, want it still pending", err)
		}
	})
}
