package httpapi

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func TestRegisterBadInput(t *testing.T) { forEachStore(t, testRegisterBadInput) }

type registerCase struct {
	name        string
	body        string
	contentType string
	status      int
	code        string
}

// registerBadInput is TestRegisterBadInput's table; FuzzAPI starts from it
// too.
var registerBadInput = func() []registerCase {
	long := strings.Repeat("a", 65)
	return []registerCase{
		{"missing username", `{"password":"correct horse battery"}`, "", 400, "invalid_request"},
		{"empty username", `{"username":"","password":"correct horse battery"}`, "", 400, "invalid_request"},
		{"numeric username", `{"username":12,"password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"null username", `{"username":null,"password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"array username", `{"username":["bob"],"password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"object username", `{"username":{"a":"b"},"password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"bool password", `{"username":"bob","password":true}`, "", 400, "invalid_json"},
		{"missing password", `{"username":"bob"}`, "", 400, "invalid_request"},
		{"empty password", `{"username":"bob","password":""}`, "", 400, "invalid_request"},
		{"malformed json", `{"username":"bob","password":`, "", 400, "invalid_json"},
		{"not json", `username=bob`, "", 400, "invalid_json"},
		{"array body", `[{"username":"bob","password":"correct horse battery"}]`, "", 400, "invalid_json"},
		{"string body", `"bob"`, "", 400, "invalid_json"},
		{"null body", `null`, "", 400, "invalid_json"},
		{"trailing data", `{"username":"bob","password":"correct horse battery"}{}`, "", 400, "invalid_json"},
		{"trailing garbage", `{"username":"bob","password":"correct horse battery"} x`, "", 400, "invalid_json"},
		{"unknown field", `{"username":"bob","password":"correct horse battery","email":"x"}`, "", 400, "invalid_json"},
		{"mass assignment id", `{"username":"bob","password":"correct horse battery","id":1}`, "", 400, "invalid_json"},
		{"mass assignment hash", `{"username":"bob","password":"correct horse battery","password_hash":"x"}`, "", 400, "invalid_json"},
		{"mass assignment admin", `{"username":"bob","password":"correct horse battery","is_admin":true}`, "", 400, "invalid_json"},
		{"duplicate key", `{"username":"bob","username":"eve","password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"duplicate key other case", `{"username":"bob","USERNAME":"eve","password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"key in other case", `{"Username":"bob","password":"correct horse battery"}`, "", 400, "invalid_json"},
		{"invalid utf8", "{\"username\":\"b\xffob\",\"password\":\"correct horse battery\"}", "", 400, "invalid_json"},
		{"nul in username", `{"username":"bo\u0000b","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"control char in username", `{"username":"bo\u0007b","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"newline in username", `{"username":"bob\n","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"line separator in username", `{"username":"bo\u2028b","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"zero-width space in username", `{"username":"bo\u200bb","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"colon in username", `{"username":"bo:b","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"padded username", `{"username":" bob","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"long username", `{"username":"` + long + `","password":"correct horse battery"}`, "", 400, "invalid_username"},
		{"short password", `{"username":"bob","password":"short"}`, "", 400, "password_too_short"},
		{"long password", `{"username":"bob","password":"` + strings.Repeat("x", 257) + `"}`, "", 400, "password_too_long"},
		{"common password", `{"username":"bob","password":"password123"}`, "", 400, "password_too_common"},
		{"username taken", `{"username":"alice","password":"correct horse battery"}`, "", 400, "username_taken"},
		{"username taken other case", `{"username":"ALICE","password":"correct horse battery"}`, "", 400, "username_taken"},
		{"text content type", `{"username":"bob","password":"correct horse battery"}`, "text/plain", 415, "unsupported_media_type"},
		{"form content type", `username=bob&password=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"body too large", `{"username":"bob","password":"` + strings.Repeat("x", 70<<10) + `"}`, "", 413, "body_too_large"},
	}
}()

func testRegisterBadInput(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	for _, tt := range registerBadInput {
		t.Run(tt.name, func(t *testing.T) {
			before := e.userCount()
			ct := tt.contentType
			if ct == "" {
				ct = "application/json"
			}
			r := e.do("POST", "/api/users", tt.body, "Content-Type", ct)
			wantStatus(t, r, tt.status, tt.code)
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", r.header.Get("Content-Type"))
			}
			if got := e.userCount(); got != before {
				t.Errorf("users after = %d, want %d: a refused registration stored a row", got, before)
			}
		})
	}
	t.Run("no content type", func(t *testing.T) {
		r := e.do("POST", "/api/users", `{"username":"bob","password":"correct horse battery"}`, "Content-Type", "")
		wantStatus(t, r, 415, "unsupported_media_type")
	})
}

func TestRegisterAndGetUser(t *testing.T) { forEachStore(t, testRegisterAndGetUser) }

func testRegisterAndGetUser(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	r := e.register("Alice", "correct horse battery")
	if got := r.json["username"]; got != "Alice" {
		t.Errorf("username = %v, want Alice", got)
	}
	id := int(r.json["id"].(float64))
	wantLoc := e.srv.URL + "/api/users/" + itoa(id)
	if got := r.header.Get("Location"); got != wantLoc {
		t.Errorf("Location = %q, want %q", got, wantLoc)
	}
	g := e.do("GET", "/api/users/"+itoa(id), "")
	wantStatus(t, g, 200, "")
	if g.json["username"] != "Alice" || int(g.json["id"].(float64)) != id {
		t.Errorf("GET user = %s, want id %d and username Alice", g.body, id)
	}
	for _, bad := range []string{"999", "abc", "-1", "0", "1.5", "99999999999999999999", "0" + itoa(id), "+" + itoa(id), "1e0", "%ff", "%00"} {
		wantStatus(t, e.do("GET", "/api/users/"+bad, ""), 404, "not_found")
	}
	// NFC normalisation: a decomposed spelling is the same account.
	dup := e.do("POST", "/api/users", `{"username":"Ame\u0301lie","password":"correct horse battery"}`)
	wantStatus(t, dup, 201, "")
	wantStatus(t, e.do("POST", "/api/users", `{"username":"AMÉLIE","password":"correct horse battery"}`), 400, "username_taken")
}

func TestLocationBehindTrustedProxy(t *testing.T) {
	trust := func(_ *restauthConfig, c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}
	e := newEnv(t, trust)
	r := e.do("POST", "/api/users", `{"username":"carol","password":"correct horse battery"}`,
		"X-Forwarded-Proto", "https", "X-Forwarded-Host", "auth.example.com")
	wantStatus(t, r, 201, "")
	if got, want := r.header.Get("Location"), "https://auth.example.com/api/users/1"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	// Without trust the headers change nothing.
	e2 := newEnv(t)
	r = e2.do("POST", "/api/users", `{"username":"carol","password":"correct horse battery"}`,
		"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example.com")
	if got, want := r.header.Get("Location"), e2.srv.URL+"/api/users/1"; got != want {
		t.Errorf("untrusted Location = %q, want %q", got, want)
	}
}

func TestProtectedRouteCredentials(t *testing.T) { forEachStore(t, testProtectedRouteCredentials) }

func testProtectedRouteCredentials(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	tok := e.do("GET", "/api/token", "", "Authorization", basic("alice", "correct horse battery"))
	wantStatus(t, tok, 200, "")
	token := tok.json["token"].(string)
	if d := tok.json["duration"]; d != float64(600) {
		t.Errorf("duration = %v, want 600", d)
	}
	if tok.json["token_type"] != "Bearer" || tok.json["expires_in"] != float64(600) {
		t.Errorf("token response = %s, want token_type Bearer and expires_in 600", tok.body)
	}
	if cc := tok.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	ok := []struct{ name, auth string }{
		{"basic password", basic("alice", "correct horse battery")},
		{"basic other case name", basic("ALICE", "correct horse battery")},
		{"basic token empty password", basic(token, "")},
		{"basic token any password", basic(token, "unused")},
		{"bearer", "Bearer " + token},
		{"bearer lower case", "bearer " + token},
		{"bearer upper case", "BEARER " + token},
		{"basic lower case", "basic " + basic("alice", "correct horse battery")[6:]},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/api/resource", "", "Authorization", tt.auth)
			wantStatus(t, r, 200, "")
			if got := r.json["data"]; got != "Hello, alice!" {
				t.Errorf("data = %v, want Hello, alice!", got)
			}
		})
	}
	// A token fetches a fresh token, as in REST-auth.
	wantStatus(t, e.do("GET", "/api/token", "", "Authorization", basic(token, "")), 200, "")

	bad := []struct {
		name, auth, code string
		bearer           bool
	}{
		{"none", "", "invalid_credentials", false},
		{"wrong password", basic("alice", "wrong horse battery"), "invalid_credentials", false},
		{"unknown user", basic("mallory", "correct horse battery"), "invalid_credentials", false},
		{"empty both", basic("", ""), "invalid_credentials", false},
		{"empty password", basic("alice", ""), "invalid_credentials", false},
		{"no colon", "Basic " + "YWxpY2U=", "invalid_credentials", false},
		{"bad base64", "Basic %%%", "invalid_credentials", false},
		{"unknown scheme", "Digest abc", "invalid_credentials", false},
		{"tampered token as username", basic(tamper(token), ""), "invalid_token", false},
		{"bearer tampered", "Bearer " + tamper(token), "invalid_token", true},
		{"bearer garbage", "Bearer abc", "invalid_token", true},
		{"bearer empty", "Bearer ", "invalid_credentials", true},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("GET", "/api/resource", "", "Authorization", tt.auth)
			wantStatus(t, r, 401, tt.code)
			ch := r.header.Values("WWW-Authenticate")
			if len(ch) == 0 || ch[0] != `Basic realm="Authentication Required"` {
				t.Errorf("WWW-Authenticate = %q, want the Basic challenge first", ch)
			}
			hasBearer := len(ch) == 2 && ch[1] == `Bearer error="invalid_token"`
			if tt.code == "invalid_token" && tt.bearer && !hasBearer {
				t.Errorf("WWW-Authenticate = %q, want a Bearer invalid_token challenge too", ch)
			}
		})
	}
}

func TestEmptyUserNeverAuthenticates(t *testing.T) { forEachStore(t, testEmptyUserNeverAuthenticates) }

func testEmptyUserNeverAuthenticates(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	wantStatus(t, e.do("POST", "/api/users", `{"username":"","password":""}`), 400, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic("", "")), 401, "invalid_credentials")
	if n := e.userCount(); n != 0 {
		t.Errorf("users = %d, want 0", n)
	}
}

func TestNoEnumerationThroughResponses(t *testing.T) {
	forEachStore(t, testNoEnumerationThroughResponses)
}

func testNoEnumerationThroughResponses(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	unknown := e.do("GET", "/api/resource", "", "Authorization", basic("nobody", "correct horse battery"))
	wrong := e.do("GET", "/api/resource", "", "Authorization", basic("alice", "wrong horse battery"))
	if unknown.status != wrong.status || string(unknown.body) != string(wrong.body) {
		t.Errorf("unknown user: %d %s; wrong password: %d %s; want identical", unknown.status, unknown.body, wrong.status, wrong.body)
	}
	for _, h := range []string{"WWW-Authenticate", "Content-Type", "Cache-Control", "Retry-After"} {
		if a, b := unknown.header.Values(h), wrong.header.Values(h); strings.Join(a, "|") != strings.Join(b, "|") {
			t.Errorf("header %s: unknown %q, wrong %q; want identical", h, a, b)
		}
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/nope", "")
	wantStatus(t, r, 404, "not_found")
	r = e.do("DELETE", "/api/users", "")
	wantStatus(t, r, 405, "method_not_allowed")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "POST") {
		t.Errorf("Allow = %q, want it to list POST", allow)
	}
	r = e.do("POST", "/api/resource", "")
	wantStatus(t, r, 405, "method_not_allowed")
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if s := r.header.Get("Server"); s != "" {
		t.Errorf("Server header = %q, want none", s)
	}
}

func TestPanicBecomesGeneric500(t *testing.T) {
	var logged strings.Builder
	h := recoverPanics(newTestLogger(&logged))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom: secret detail")
	}))
	rec := httptestRecorder()
	h.ServeHTTP(rec, mustRequest("GET", "/x"))
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "boom") || !strings.Contains(rec.Body.String(), "internal_error") {
		t.Errorf("body = %s, want a generic internal_error without the panic text", rec.Body.String())
	}
	if !strings.Contains(logged.String(), "handler panic") {
		t.Errorf("log = %q, want the panic logged", logged.String())
	}
}

// tamper changes the first character of a token's signature, which always
// changes the signature's first byte (unlike its last characters, whose
// low bits are padding).
func tamper(tok string) string {
	i := strings.LastIndex(tok, ".") + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
