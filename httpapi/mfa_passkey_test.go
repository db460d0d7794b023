package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
)

// fakeCeremonies stands in for the WebAuthn library: the HTTP layer is
// tested here, the ceremonies in package passkey and in the browser tests.
// A response is JSON naming the credential id and the user id whose handle
// the authenticator returns.
type fakeCeremonies struct{}

type fakeAssertion struct {
	Cred string `json:"cred"`
	User int64  `json:"user"`
}

func fakeRefused() error { return &restauth.Error{Code: restauth.EPasskeyRefused, Message: "refused"} }

func (fakeCeremonies) BeginRegistration(*restauth.PasskeyUser) ([]byte, []byte, error) {
	return []byte(`{"publicKey":{}}`), []byte("register"), nil
}

func (fakeCeremonies) FinishRegistration(_ *restauth.PasskeyUser, state, response []byte) ([]byte, []byte, error) {
	var a fakeAssertion
	if string(state) != "register" || json.Unmarshal(response, &a) != nil {
		return nil, nil, fakeRefused()
	}
	return []byte(a.Cred), []byte("record"), nil
}

func (fakeCeremonies) BeginLogin(u *restauth.PasskeyUser) ([]byte, []byte, error) {
	var allow []map[string]string
	for _, pk := range u.Passkeys {
		allow = append(allow, map[string]string{"type": "public-key", "id": string(pk.CredentialID)})
	}
	options, _ := json.Marshal(map[string]any{"publicKey": map[string]any{"challenge": "c", "allowCredentials": allow}})
	return options, []byte("login"), nil
}

func (fakeCeremonies) FinishLogin(state, response []byte, find func(credentialID, userHandle []byte) (*restauth.PasskeyUser, error)) ([]byte, []byte, error) {
	var a fakeAssertion
	if string(state) != "login" || json.Unmarshal(response, &a) != nil {
		return nil, nil, fakeRefused()
	}
	if _, err := find([]byte(a.Cred), restauth.PasskeyHandle(a.User)); err != nil {
		return nil, nil, err
	}
	return []byte(a.Cred), []byte("record used"), nil
}

func assertion(cred string, user int64) string {
	b, _ := json.Marshal(fakeAssertion{Cred: cred, User: user})
	return string(b)
}

// newPasskeyAPIEnv is newEnvOn with passkeys on (the fake ceremonies).
func newPasskeyAPIEnv(t *testing.T, kind storeKind, opts ...envOption) *testEnv {
	t.Helper()
	st, raw := kind.Open(t)
	cfg := restauth.DefaultConfig()
	var hcfg Config
	for _, o := range opts {
		o(&cfg, &hcfg)
	}
	inst, err := instance.New(t.Context(), st, instance.Options{
		Config: cfg, Hasher: password.New(password.Options{Params: fastParams}), Passkeys: fakeCeremonies{},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := NewServer(hcfg, Deps{Service: inst.Service, JWKS: inst.Ring.JWKS, Ready: st.Ping})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	validateOpenAPI(t, srv)
	return &testEnv{t: t, srv: srv, store: st, raw: raw, kind: kind, svc: inst.Service, ring: inst.Ring}
}

// addPasskey registers a passkey for the user through the Service: the
// API has no route for it (passkeys are added on the account page).
func (e *testEnv) addPasskey(t *testing.T, userID int64, cred string) {
	t.Helper()
	p := &restauth.Principal{UserID: userID}
	id, _, err := e.svc.BeginPasskeyRegistration(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.FinishPasskeyRegistration(t.Context(), p, id, cred, []byte(assertion(cred, userID))); err != nil {
		t.Fatal(err)
	}
}

// passkeyOptions starts the passkey ceremony of the login tok and returns
// the challenge's id.
func (e *testEnv) passkeyOptions(t *testing.T, tok string) string {
	t.Helper()
	r := e.do("POST", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", tok))
	wantStatus(t, r, 200, "")
	id, _ := r.json["challenge"].(string)
	if id == "" {
		t.Fatalf("no challenge in %s", r.body)
	}
	return id
}

func userID(t *testing.T, r *response) int64 {
	t.Helper()
	id, ok := r.json["id"].(float64)
	if !ok {
		t.Fatalf("no user id in %s", r.body)
	}
	return int64(id)
}

// TestMFAPasskeyOverAPI completes a password login's second step with a
// passkey over the JSON API: the options list the account's passkeys only,
// another account's passkey and a replayed assertion are refused, and a
// right one gets a token pair, once.
func TestMFAPasskeyOverAPI(t *testing.T) { forEachStore(t, testMFAPasskeyOverAPI) }

func testMFAPasskeyOverAPI(t *testing.T, kind storeKind) {
	e := newPasskeyAPIEnv(t, kind)
	alice := userID(t, e.register("alice", mfaPassword))
	bob := userID(t, e.register("bob", mfaPassword))
	access, _ := e.login("alice", mfaPassword)
	e.enrolTOTP(t, access)

	// Without a passkey the answer offers codes only.
	r := e.do("POST", "/api/tokens", jsonBody("username", "alice", "password", mfaPassword))
	wantStatus(t, r, 401, "mfa_required")
	if f := r.json["factors"]; !slices.Equal(anyStrings(f), []string{"totp", "recovery_code"}) {
		t.Fatalf("factors without a passkey = %v", f)
	}
	tok, _ := r.json["mfa_token"].(string)
	wantStatus(t, e.do("POST", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", tok)), 400, "passkey_refused")

	e.addPasskey(t, alice, "a1")
	e.addPasskey(t, alice, "a2")
	e.addPasskey(t, bob, "b1")
	r = e.do("POST", "/api/tokens", jsonBody("username", "alice", "password", mfaPassword))
	wantStatus(t, r, 401, "mfa_required")
	if f := r.json["factors"]; !slices.Equal(anyStrings(f), []string{"totp", "recovery_code", "passkey"}) {
		t.Fatalf("factors with a passkey = %v", f)
	}
	tok, _ = r.json["mfa_token"].(string)

	// The options allow alice's passkeys, and no one else's.
	r = e.do("POST", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", tok))
	wantStatus(t, r, 200, "")
	var allowed []string
	pk, _ := r.json["options"].(map[string]any)["publicKey"].(map[string]any)
	for _, c := range pk["allowCredentials"].([]any) {
		allowed = append(allowed, c.(map[string]any)["id"].(string))
	}
	if !slices.Equal(allowed, []string{"a1", "a2"}) {
		t.Fatalf("allowCredentials = %v, want alice's a1 and a2", allowed)
	}
	id := r.json["challenge"].(string)

	// Bob's passkey is refused; the login goes on, the challenge is used.
	r = e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", id, "passkey", assertion("b1", bob)))
	wantStatus(t, r, 400, "passkey_refused")
	r = e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", id, "passkey", assertion("a1", alice)))
	wantStatus(t, r, 400, "passkey_refused")

	// Alice's passkey completes it, with factor named or not.
	id = e.passkeyOptions(t, tok)
	r = e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "passkey", "challenge", id, "passkey", assertion("a2", alice)))
	wantStatus(t, r, 200, "")
	r = e.do("GET", "/api/users/me", "", "Authorization", "Bearer "+r.json["access_token"].(string))
	wantStatus(t, r, 200, "")
	if r.json["username"] != "alice" {
		t.Fatalf("the passkey's session is %s's, want alice's", r.json["username"])
	}
	// Once: the token is used, and the assertion replayed on a new login
	// is refused.
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", id, "passkey", assertion("a2", alice))), 400, "invalid_mfa_token")
	wantStatus(t, e.do("POST", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", tok)), 400, "invalid_mfa_token")
	fresh := e.mfaLogin(t, "alice")
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", fresh, "challenge", id, "passkey", assertion("a2", alice))), 400, "passkey_refused")
	id = e.passkeyOptions(t, fresh)
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", fresh, "challenge", id, "passkey", assertion("a1", alice))), 200, "")

	// A passkey does not let HTTP Basic carry the password.
	wantStatus(t, e.do("GET", "/api/token", "", "Authorization", basic("alice", mfaPassword)), 401, "mfa_required")
}

func anyStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// TestMFAPasskeyHostile sends malformed passkey second steps: each is a
// 4xx that stores nothing but the guess a refused passkey is counted as.
func TestMFAPasskeyHostile(t *testing.T) { forEachStore(t, testMFAPasskeyHostile) }

func testMFAPasskeyHostile(t *testing.T, kind storeKind) {
	e := newPasskeyAPIEnv(t, kind, func(c *restauthConfig, _ *Config) { c.LoginIPLimit = 0 })
	alice := userID(t, e.register("alice", mfaPassword))
	access, _ := e.login("alice", mfaPassword)
	e.enrolTOTP(t, access)
	e.addPasskey(t, alice, "a1")
	tok := e.mfaLogin(t, "alice")
	id := e.passkeyOptions(t, tok)
	good := assertion("a1", alice)
	for _, c := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"options without a token", "/api/tokens/mfa/passkey/options", `{}`, 400, "invalid_request"},
		{"options with an unknown token", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", "x"), 400, "invalid_mfa_token"},
		{"options with a field too many", "/api/tokens/mfa/passkey/options", jsonBody("mfa_token", tok, "user", "bob"), 400, "invalid_json"},
		{"options not as JSON", "/api/tokens/mfa/passkey/options", "mfa_token=" + tok, 415, "unsupported_media_type"},
		{"passkey as an object", "/api/tokens/mfa", `{"mfa_token":"` + tok + `","challenge":"` + id + `","passkey":{}}`, 400, "invalid_json"},
		{"passkey without a challenge", "/api/tokens/mfa", jsonBody("mfa_token", tok, "passkey", good), 400, "invalid_request"},
		{"factor passkey without one", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "passkey", "challenge", id), 400, "invalid_request"},
		{"a code and a passkey", "/api/tokens/mfa", jsonBody("mfa_token", tok, "code", "123456", "challenge", id, "passkey", good), 400, "invalid_request"},
		{"factor totp with a passkey", "/api/tokens/mfa", jsonBody("mfa_token", tok, "factor", "totp", "challenge", id, "passkey", good), 400, "invalid_request"},
		{"neither code nor passkey", "/api/tokens/mfa", jsonBody("mfa_token", tok), 400, "invalid_request"},
		{"challenge of another shape", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", "../../etc", "passkey", good), 400, "passkey_refused"},
		{"passkey too large", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", id, "passkey", strings.Repeat("x", restauth.MaxPasskeyResponseBytes+1)), 400, "passkey_refused"},
		{"passkey not JSON", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "passkey", "\x00"), 400, "passkey_refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, err := takeSnapshot(t.Context(), e.raw)
			if err != nil {
				t.Fatal(err)
			}
			r := e.do("POST", c.path, c.body, "Content-Type", contentTypeOf(c.body))
			wantStatus(t, r, c.status, c.code)
			after, err := takeSnapshot(t.Context(), e.raw)
			if err != nil {
				t.Fatal(err)
			}
			if d := before.Diff(after, "counters"); len(d) > 0 {
				t.Fatalf("the refusal changed rows: %v", d)
			}
		})
	}
	// The refusals left the login and its challenge usable.
	wantStatus(t, e.do("POST", "/api/tokens/mfa", jsonBody("mfa_token", tok, "challenge", id, "passkey", good)), 200, "")
}

func contentTypeOf(body string) string {
	if strings.HasPrefix(body, "{") {
		return "application/json"
	}
	return "application/x-www-form-urlencoded"
}

// TestEveryErrorCodeHasAStatus reads errors.go and checks that every error
// code it declares has a status in statusByCode, so that a new code cannot
// be answered as a 500.
func TestEveryErrorCodeHasAStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "E") || i >= len(vs.Values) {
				continue
			}
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				continue
			}
			code, _ := strconv.Unquote(lit.Value)
			n++
			if _, ok := statusByCode[code]; !ok {
				t.Errorf("restauth.%s = %q has no status in statusByCode", name.Name, code)
			}
		}
		return true
	})
	if n < 20 {
		t.Fatalf("found only %d error codes in errors.go", n)
	}
	if statusByCode[restauth.EPasskeyRefused] != http.StatusBadRequest || statusByCode[restauth.EPasskeyLimit] != http.StatusConflict {
		t.Errorf("passkey_refused → %d, passkey_limit → %d; want 400 and 409",
			statusByCode[restauth.EPasskeyRefused], statusByCode[restauth.EPasskeyLimit])
	}
}
