package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/restauth/restauth/internal/totptest"
)

const mfaPassword = "correct horse battery"

func jsonBody(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// enrolTOTP enrols and confirms TOTP for user over the API with the
// access token, and returns the secret and the recovery codes.
func (e *testEnv) enrolTOTP(t *testing.T, access string) (secret []byte, recovery []string) {
	t.Helper()
	bearer := "Bearer " + access
	r := e.do("POST", "/api/users/me/totp", "", "Authorization", bearer)
	wantStatus(t, r, 200, "")
	uri, _ := r.json["otpauth_uri"].(string)
	secret, err := totptest.SecretOf(uri)
	if err != nil || len(secret) != 20 {
		t.Fatalf("otpauth_uri %q: %d-byte secret, %v; want 20 bytes", uri, len(secret), err)
	}
	if b, _ := totptest.Secret(r.json["secret"].(string)); !bytes.Equal(b, secret) {
		t.Fatalf("secret %q is not the URI's", r.json["secret"])
	}
	qr, _ := r.json["qr_code"].(string)
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(qr, "data:image/png;base64,"))
	if !strings.HasPrefix(qr, "data:image/png;base64,") || err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qr_code is not a PNG data: URI: %.60q…, %v", qr, err)
	}
	r = e.do("GET", "/api/users/me/totp", "", "Authorization", bearer)
	wantStatus(t, r, 200, "")
	if r.json["enabled"] != false || r.json["pending"] != true {
		t.Fatalf("state while pending: %s", r.body)
	}
	r = e.do("POST", "/api/users/me/totp/confirm", jsonBody("code", totptest.Now(secret, 0)), "Authorization", bearer)
	wantStatus(t, r, 200, "")
	for _, c := range r.json["recovery_codes"].([]any) {
		recovery = append(recovery, c.(string))
	}
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes, want 10", len(recovery))
	}
	return secret, recovery
}

// mfaLogin logs in with the password and returns the mfa_token of the
// mfa_required answer.
func (e *testEnv) mfaLogin(t *testing.T, user string) string {
	t.Helper()
	r := e.do("POST", "/api/tokens", "", "Authorization", basic(user, mfaPassword))
	wantStatus(t, r, 401, "mfa_required")
	tok, _ := r.json["mfa_token"].(string)
	if tok == "" || r.json["expires_in"] != float64(300) {
		t.Fatalf("mfa_required without a token or with another lifetime: %s", r.body)
	}
	return tok
}

func TestTOTPOverAPI(t *testing.T) { forEachStore(t, testTOTPOverAPI) }

func testTOTPOverAPI(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", mfaPassword)
	access, _ := e.login("alice", mfaPassword)
	bearer := "Bearer " + access
	// A wrong code confirms nothing.
	wantStatus(t, e.do("POST", "/api/users/me/totp/confirm", jsonBody("code", "123456"), "Authorization", bearer), 404, "not_found")
	secret, recovery := e.enrolTOTP(t, access)
	wantStatus(t, e.do("POST", "/api/users/me/totp", "", "Authorization", bearer), 409, "totp_already_enabled")
	r := e.do("GET", "/api/users/me/totp", "", "Authorization", bearer)
	if r.json["enabled"] != true || r.json["recovery_codes_left"] != float64(10) {
		t.Fatalf("state after confirming: %s", r.body)
	}

	// The password alone: a login answers mfa_required with a token;
	// HTTP Basic and GET /api/token answer mfa_required pointing to API
	// keys, without one.
	tok := e.mfaLogin(t, "alice")
	r = e.do("POST", "/api/tokens", jsonBody("username", "alice", "password", mfaPassword))
	wantStatus(t, r, 401, "mfa_required")
	for _, path := range []string{"/api/token", "/api/resource", "/api/users/me"} {
		r := e.do("GET", path, "", "Authorization", basic("alice", mfaPassword))
		wantStatus(t, r, 401, "mfa_required")
		if _, ok := r.json["mfa_token"]; ok || !strings.Contains(r.json["message"].(string), "API key") {
			t.Errorf("GET %s with a password: %s; want no token and a pointer to API keys", path, r.body)
		}
	}
	// The session that enrolled still works.
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", bearer), 200, "")

	// The second step. The confirmation used the current step, so the
	// next step's code (within the drift) completes it.
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", "forged", "code", totptest.Now(secret, 1))), 400, "invalid_mfa_token")
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", totptest.Now(secret, 0))), 400, "invalid_code")
	c := totptest.Now(secret, 1)
	r = e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "totp", "code", c))
	wantStatus(t, r, 200, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+r.json["access_token"].(string)), 200, "")
	// Single-use token; single-use code.
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", c)), 400, "invalid_mfa_token")
	tok = e.mfaLogin(t, "alice")
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", c)), 400, "invalid_code")
	// A recovery code, once.
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "recovery_code", "code", recovery[0])), 200, "")
	tok = e.mfaLogin(t, "alice")
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "recovery_code", "code", recovery[0])), 400, "invalid_code")

	// Disabling needs the password or a code.
	wantStatus(t, e.do("DELETE", "/api/users/me/totp", jsonBody("password", "wrong password"), "Authorization", bearer), 403, "wrong_current_password")
	wantStatus(t, e.do("DELETE", "/api/users/me/totp", `{}`, "Authorization", bearer), 400, "invalid_request")
	wantStatus(t, e.do("DELETE", "/api/users/me/totp", jsonBody("password", mfaPassword), "Authorization", bearer), 204, "")
	wantStatus(t, e.do("GET", "/api/token", "", "Authorization", basic("alice", mfaPassword)), 200, "")
	wantStatus(t, e.do("DELETE", "/api/users/me/totp", jsonBody("code", recovery[1]), "Authorization", bearer), 404, "not_found")
}

func TestTOTPThrottledOverAPI(t *testing.T) {
	e := newEnv(t)
	e.register("bob", mfaPassword)
	access, _ := e.login("bob", mfaPassword)
	secret, _ := e.enrolTOTP(t, access)
	tok := e.mfaLogin(t, "bob")
	right, wrong := totptest.Now(secret, 1), totptest.Wrong(secret)
	for i := range 5 {
		r := e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", wrong))
		if r.status != 400 {
			t.Fatalf("wrong code %d: status %d, want 400; body %s", i+1, r.status, r.body)
		}
	}
	r := e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", right))
	wantStatus(t, r, 429, "too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Error("a throttled code has no Retry-After")
	}
}

// TestMFAHostile sends malformed second steps and enrolment bodies: each
// is a 4xx that stores nothing (a well-formed wrong code is counted as a
// guess, the one write allowed).
func TestMFAHostile(t *testing.T) { forEachStore(t, testMFAHostile) }

func testMFAHostile(t *testing.T, kind storeKind) {
	e := newHostileEnv(t, kind)
	e.register("mallory", mfaPassword)
	mAccess, _ := e.login("mallory", mfaPassword)
	secret, _ := e.enrolTOTP(t, mAccess)
	tok := e.mfaLogin(t, "mallory")
	bearer := "Bearer " + e.access
	huge := strings.Repeat("9", 70000)
	cases := []hostileCase{
		{name: "no body", method: "POST", path: "/api/tokens/mfa", status: 415},
		{name: "empty object", method: "POST", path: "/api/tokens/mfa", body: `{}`, status: 400, code: "invalid_request"},
		{name: "number code", method: "POST", path: "/api/tokens/mfa", body: `{"mfa_token":"` + tok + `","code":123456}`, status: 400, code: "invalid_json"},
		{name: "unknown field", method: "POST", path: "/api/tokens/mfa", body: `{"mfa_token":"` + tok + `","code":"123456","x":"y"}`, status: 400, code: "invalid_json"},
		{name: "huge body", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", huge), status: 413},
		{name: "NUL token", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", "a\x00b", "code", "123456"), status: 400, code: "invalid_mfa_token"},
		{name: "long token", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", strings.Repeat("A", 5000), "code", "123456"), status: 400, code: "invalid_mfa_token"},
		{name: "non-digits", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", "12345x"), status: 400, code: "invalid_code"},
		{name: "NUL code", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", "123\x00456"), status: 400, code: "invalid_code"},
		{name: "fullwidth digits", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", "１２３４５６"), status: 400, code: "invalid_code"},
		{name: "long code", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", strings.Repeat("1", 5000)), status: 400, code: "invalid_code"},
		{name: "unknown factor", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "factor", "sms", "code", "123456"), status: 400, code: "invalid_request"},
		{name: "bad recovery code", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "factor", "recovery_code", "code", "\xff\xfe"), status: 400},
		{name: "wrong code", method: "POST", path: "/api/tokens/mfa", body: jsonBody("mfa_token", tok, "code", totptest.Wrong(secret)), status: 400, code: "invalid_code", attempt: true},
		{name: "confirm with nothing pending", method: "POST", path: "/api/users/me/totp/confirm", body: jsonBody("code", "123456"), header: []string{"Authorization", bearer}, status: 404, code: "not_found"},
		{name: "confirm without a code", method: "POST", path: "/api/users/me/totp/confirm", body: `{}`, header: []string{"Authorization", bearer}, status: 400, code: "invalid_request"},
		{name: "disable with nothing active", method: "DELETE", path: "/api/users/me/totp", body: jsonBody("code", "123456"), header: []string{"Authorization", bearer}, status: 404, code: "not_found"},
		{name: "enrol without credentials", method: "POST", path: "/api/users/me/totp", status: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.check(t, tc)
			if r.status >= 500 {
				t.Fatalf("status %d", r.status)
			}
		})
	}
	// The refused attempts did not consume the token.
	if r := e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", totptest.Now(secret, 1))); r.status != http.StatusOK {
		t.Fatalf("the right code after the hostile ones: status %d; body %s", r.status, r.body)
	}
}
