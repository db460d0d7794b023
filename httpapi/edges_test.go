package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
)

// doHeader is e.do with header lines added as given, so that a test can
// send a header more than once.
func (e *testEnv) doHeader(method, path, body string, h http.Header) *response {
	e.t.Helper()
	return e.request(method, path, body, func(req http.Header) {
		for k, vs := range h {
			for _, v := range vs {
				req.Add(k, v)
			}
		}
	})
}

const (
	basicChallenge       = `Basic realm="Authentication Required"`
	bearerChallenge      = `Bearer error="invalid_token"`
	bearerRealmChallenge = `Bearer realm="Authentication Required"`
)

func withIntrospection(_ *restauthConfig, h *Config) {
	h.IntrospectClients = map[string]string{"gw": "s3cret-s3cret-s3cret"}
}

// TestAmbiguousAuthorization sends two Authorization headers to every route
// that reads credentials: the request is refused as malformed, never
// answered for one of them.
func TestAmbiguousAuthorization(t *testing.T) {
	e := newEnv(t, withIntrospection)
	e.register("alice", "correct horse battery")
	e.register("bob", "another fine passphrase")
	alice, bob := basic("alice", "correct horse battery"), basic("bob", "another fine passphrase")
	aliceToken, _ := e.login("alice", "correct horse battery")
	pairs := []struct {
		name  string
		lines []string
	}{
		{"two users", []string{alice, bob}},
		{"bearer and basic", []string{"Bearer " + aliceToken, bob}},
		{"the same twice", []string{alice, alice}},
		{"valid and garbage", []string{alice, "Digest x"}},
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/api/resource", ""},
		{"GET", "/api/token", ""},
		{"GET", "/api/users/me", ""},
		{"GET", "/api/sessions", ""},
		{"POST", "/api/logout", ""},
		{"POST", "/api/tokens", ""},
		{"POST", "/api/introspect", `{"token":"` + aliceToken + `"}`},
	}
	for _, p := range pairs {
		for _, rt := range routes {
			t.Run(p.name+" "+rt.method+" "+rt.path, func(t *testing.T) {
				r := e.doHeader(rt.method, rt.path, rt.body, http.Header{"Authorization": p.lines})
				wantStatus(t, r, 400, "invalid_request")
				if ch := r.header.Values("WWW-Authenticate"); len(ch) != 0 {
					t.Errorf("WWW-Authenticate = %q, want none on a 400", ch)
				}
			})
		}
	}
	// Nothing was done for either user: alice still has her one session.
	r := e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+aliceToken)
	wantStatus(t, r, 200, "")
	if n := len(r.json["sessions"].([]any)); n != 1 {
		t.Errorf("alice has %d sessions, want 1", n)
	}
}

// TestRefusedBearerChallenge checks that every refused Bearer token, also
// one refused before it reaches the verifier, carries the RFC 6750
// challenge beside the Basic one.
func TestRefusedBearerChallenge(t *testing.T) {
	e := newEnv(t)
	e.register("alice", "correct horse battery")
	good, _ := e.login("alice", "correct horse battery")
	revoked, _ := e.login("alice", "correct horse battery")
	wantStatus(t, e.do("POST", "/api/logout", "", "Authorization", "Bearer "+revoked), 204, "")
	tests := []struct{ name, token string }{
		{"garbage", "abc"},
		{"tampered", tamper(good)},
		{"revoked", revoked},
		{"over the token limit", strings.Repeat("a", 4097)},
		{"over the header limit", strings.Repeat("a", maxAuthHeader+1)},
		{"with a space", "abc def"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/resource", "/api/sessions"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				r := e.do("GET", path, "", "Authorization", "Bearer "+tt.token)
				wantStatus(t, r, 401, "invalid_token")
				if got, want := r.header.Values("WWW-Authenticate"), []string{basicChallenge, bearerChallenge}; !slices.Equal(got, want) {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			})
		}
	}
	// A valid token offered where only a password will do is not refused
	// as a token: the answer names the credentials the route wants.
	r := e.do("POST", "/api/tokens", "", "Authorization", "Bearer "+good)
	wantStatus(t, r, 401, "invalid_credentials")
	if got, want := r.header.Values("WWW-Authenticate"), []string{basicChallenge}; !slices.Equal(got, want) {
		t.Errorf("login with a Bearer token: WWW-Authenticate = %q, want %q", got, want)
	}
}

// TestIntrospectionOff checks that the introspection route does not exist
// unless clients are configured: it answers exactly as an unknown route.
func TestIntrospectionOff(t *testing.T) {
	e := newEnv(t)
	e.register("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	unknown := e.do("POST", "/api/nope", "")
	wantStatus(t, unknown, 404, "not_found")
	tests := []struct {
		name string
		r    *response
	}{
		{"no credentials", e.do("POST", "/api/introspect", "token="+access, "Content-Type", "application/x-www-form-urlencoded")},
		{"client credentials", e.do("POST", "/api/introspect", "token="+access, "Content-Type", "application/x-www-form-urlencoded",
			"Authorization", basic("gw", "s3cret-s3cret-s3cret"))},
		{"json", e.do("POST", "/api/introspect", `{"token":"`+access+`"}`)},
		{"get", e.do("GET", "/api/introspect", "")},
	}
	for _, tt := range tests {
		if tt.r.status != 404 || string(tt.r.body) != string(unknown.body) {
			t.Errorf("%s: %d %s, want 404 %s", tt.name, tt.r.status, tt.r.body, unknown.body)
		}
		if ch := tt.r.header.Values("WWW-Authenticate"); len(ch) != 0 {
			t.Errorf("%s: WWW-Authenticate = %q, want none", tt.name, ch)
		}
	}
}

// TestWrongCurrentPassword checks that a signed-in caller who gets the
// password wrong on a sensitive change is told so with 403, not with the
// 401 that reads as signed out, and stays signed in; throttling keeps its
// own answer.
func TestWrongCurrentPassword(t *testing.T) {
	const pw = "correct horse battery"
	tests := []struct {
		name, method, path, body string
	}{
		{"change password", "PUT", "/api/users/me/password", `{"current_password":"wrong horse battery","new_password":"a new passphrase here"}`},
		{"delete account", "DELETE", "/api/users/me", `{"password":"wrong horse battery"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *restauthConfig, _ *Config) { c.LoginIPLimit = 1 })
			e.register("alice", pw)
			access, _ := e.login("alice", pw)
			for _, auth := range []string{"Bearer " + access, basic("alice", pw)} {
				r := e.do(tt.method, tt.path, tt.body, "Authorization", auth)
				wantStatus(t, r, 403, "wrong_current_password")
				if ch := r.header.Values("WWW-Authenticate"); len(ch) != 0 {
					t.Errorf("WWW-Authenticate = %q, want none on a 403", ch)
				}
				if auth == "Bearer "+access {
					// The one failure the per-IP limit allows is spent: the next
					// wrong password is throttled.
					wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", auth), 200, "")
					r := e.do(tt.method, tt.path, tt.body, "Authorization", auth)
					wantStatus(t, r, 429, "too_many_requests")
					if r.header.Get("Retry-After") == "" {
						t.Error("429 without Retry-After")
					}
					break
				}
			}
			if n := e.userCount(); n != 1 {
				t.Errorf("users = %d, want 1", n)
			}
		})
	}
}

// busyHasher is a hasher whose admission gate can be made full at will.
type busyHasher struct {
	restauth.PasswordHasher
	full atomic.Bool
}

func (h *busyHasher) Verify(ctx context.Context, pw, hash string) (bool, bool, error) {
	if h.full.Load() {
		return false, false, &password.BusyError{}
	}
	return h.PasswordHasher.Verify(ctx, pw, hash)
}

// TestWrongCurrentPasswordOverloaded checks that a password check that
// could not be run is still 503 overloaded, not a wrong password.
func TestWrongCurrentPasswordOverloaded(t *testing.T) {
	const pw = "correct horse battery"
	h := &busyHasher{PasswordHasher: password.New(password.Options{Params: fastParams})}
	e := newEnvWith(t, envExtras{hasher: h})
	e.register("alice", pw)
	access, _ := e.login("alice", pw)
	h.full.Store(true)
	for _, tt := range []struct{ method, path, body string }{
		{"PUT", "/api/users/me/password", `{"current_password":"wrong horse battery","new_password":"a new passphrase here"}`},
		{"DELETE", "/api/users/me", `{"password":"wrong horse battery"}`},
	} {
		r := e.do(tt.method, tt.path, tt.body, "Authorization", "Bearer "+access)
		wantStatus(t, r, 503, "overloaded")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 without Retry-After", tt.method, tt.path)
		}
	}
}

// TestOneNotFound checks that every kind of 404 has the same body.
func TestOneNotFound(t *testing.T) {
	e := newEnv(t)
	e.register("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	want := `{"error":"not_found","message":"not found"}`
	tests := []struct {
		name string
		r    *response
	}{
		{"unknown route", e.do("GET", "/nope", "")},
		{"unknown api route", e.do("DELETE", "/api/nope", "")},
		{"unknown user", e.do("GET", "/api/users/999", "")},
		{"malformed user id", e.do("GET", "/api/users/abc", "")},
		{"unknown session", e.do("DELETE", "/api/sessions/unknown", "", "Authorization", "Bearer "+access)},
		{"introspection off", e.do("POST", "/api/introspect", "")},
	}
	for _, tt := range tests {
		if tt.r.status != 404 || strings.TrimSpace(string(tt.r.body)) != want {
			t.Errorf("%s: %d %s, want 404 %s", tt.name, tt.r.status, tt.r.body, want)
		}
	}
}

// TestBrowserChallenges checks what a browser sees: a page's script gets
// its 401 without the Basic challenge (which would make the browser show
// its own login dialog) but still with a challenge, and an allowed origin
// may read the headers a client needs. Navigations and non-browser
// clients keep the REST-auth Basic challenge.
func TestBrowserChallenges(t *testing.T) {
	const app = "https://app.example.com"
	const pw = "correct horse battery"
	cors := func(_ *restauthConfig, h *Config) { h.CORSOrigins = []string{app} }
	e := newEnv(t, cors, noThrottle)
	e.register("alice", pw)
	access, _ := e.login("alice", pw)

	tests := []struct {
		name   string
		header []string
		want   []string
	}{
		{"curl", nil, []string{basicChallenge}},
		{"navigation", []string{"Sec-Fetch-Mode", "navigate"}, []string{basicChallenge}},
		{"cross-origin fetch from the app", []string{"Origin", app, "Sec-Fetch-Mode", "cors"}, []string{bearerRealmChallenge}},
		{"allowed origin", []string{"Origin", app}, []string{bearerRealmChallenge}},
		{"same-origin fetch", []string{"Sec-Fetch-Mode", "cors"}, []string{bearerRealmChallenge}},
		{"same-origin mode", []string{"Sec-Fetch-Mode", "same-origin"}, []string{bearerRealmChallenge}},
		{"X-Requested-With", []string{"X-Requested-With", "XMLHttpRequest"}, []string{bearerRealmChallenge}},
		{"origin not on the list", []string{"Origin", "https://evil.example.net"}, []string{basicChallenge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct {
				what string
				r    *response
			}{
				{"no credentials", e.do("GET", "/api/resource", "", tt.header...)},
				{"wrong password", e.do("GET", "/api/resource", "", append([]string{"Authorization", basic("nobody", pw)}, tt.header...)...)},
			} {
				wantStatus(t, req.r, 401, "invalid_credentials")
				if got := req.r.header.Values("WWW-Authenticate"); !slices.Equal(got, tt.want) {
					t.Errorf("%s: WWW-Authenticate = %q, want %q", req.what, got, tt.want)
				}
			}
			r := e.do("GET", "/api/resource", "", append([]string{"Authorization", "Bearer " + tamper(access)}, tt.header...)...)
			wantStatus(t, r, 401, "invalid_token")
			want := []string{basicChallenge, bearerChallenge}
			if !slices.Contains(tt.want, basicChallenge) {
				want = []string{bearerChallenge}
			}
			if got := r.header.Values("WWW-Authenticate"); !slices.Equal(got, want) {
				t.Errorf("refused token: WWW-Authenticate = %q, want %q", got, want)
			}
		})
	}

	t.Run("exposed headers", func(t *testing.T) {
		e := newEnv(t, cors, func(c *restauthConfig, _ *Config) { c.LoginIPLimit = 1 })
		e.register("alice", pw)
		exposed := func(r *response) []string {
			var out []string
			for _, v := range strings.Split(r.header.Get("Access-Control-Expose-Headers"), ",") {
				out = append(out, http.CanonicalHeaderKey(strings.TrimSpace(v)))
			}
			return out
		}
		origin := []string{"Origin", app}
		for _, tt := range []struct {
			name   string
			r      *response
			status int
			header string
		}{
			{"201", e.do("POST", "/api/users", `{"username":"bob","password":"`+pw+`"}`, origin...), 201, "Location"},
			{"401", e.do("GET", "/api/resource", "", origin...), 401, "Www-Authenticate"},
			{"401 login", e.do("POST", "/api/tokens", "", append([]string{"Authorization", basic("alice", "wrong horse battery")}, origin...)...), 401, "Www-Authenticate"},
			{"429", e.do("POST", "/api/tokens", "", append([]string{"Authorization", basic("alice", "wrong horse battery")}, origin...)...), 429, "Retry-After"},
		} {
			if tt.r.status != tt.status {
				t.Fatalf("%s: status %d, want %d; body %s", tt.name, tt.r.status, tt.status, tt.r.body)
			}
			if tt.r.header.Get(tt.header) == "" {
				t.Errorf("%s: no %s header", tt.name, tt.header)
			}
			for _, h := range []string{"Retry-After", "Location", "Www-Authenticate"} {
				if !slices.Contains(exposed(tt.r), h) {
					t.Errorf("%s: Access-Control-Expose-Headers = %q, want it to list %s", tt.name, tt.r.header.Get("Access-Control-Expose-Headers"), h)
				}
			}
		}
		p := e.do("OPTIONS", "/api/resource", "", "Origin", app,
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization, x-requested-with")
		if p.status != 204 || !strings.Contains(p.header.Get("Access-Control-Allow-Headers"), "X-Requested-With") {
			t.Errorf("preflight: %d, Access-Control-Allow-Headers = %q, want 204 and X-Requested-With allowed",
				p.status, p.header.Get("Access-Control-Allow-Headers"))
		}
		if r := e.do("GET", "/api/resource", "", "Origin", "https://evil.example.net"); r.header.Get("Access-Control-Expose-Headers") != "" {
			t.Errorf("origin not on the list: Access-Control-Expose-Headers = %q, want none", r.header.Get("Access-Control-Expose-Headers"))
		}
	})

	t.Run("without CORS", func(t *testing.T) {
		e := newEnv(t)
		r := e.do("GET", "/api/resource", "", "X-Requested-With", "XMLHttpRequest")
		wantStatus(t, r, 401, "invalid_credentials")
		if got, want := r.header.Values("WWW-Authenticate"), []string{bearerRealmChallenge}; !slices.Equal(got, want) {
			t.Errorf("WWW-Authenticate = %q, want %q", got, want)
		}
		if got := corsHeaders(r.header); len(got) != 0 {
			t.Errorf("CORS headers %q, want none when CORS is off", got)
		}
	})
}

// TestRequestBodies checks every JSON route through the one decoder: a
// required field that is missing or empty is invalid_request naming the
// field, and the decoder's strictness holds on every route, not only on
// registration.
func TestRequestBodies(t *testing.T) {
	e := newEnv(t, noThrottle, withIntrospection)
	const pw = "correct horse battery"
	e.register("alice", pw)
	access, refresh := e.login("alice", pw)
	bearer := []string{"Authorization", "Bearer " + access}
	client := []string{"Authorization", basic("gw", "s3cret-s3cret-s3cret")}
	routes := []struct {
		name, method, path string
		header             []string
		missing            map[string]string // body → the field named in the message
		bad                []string          // bodies refused as invalid_json
	}{
		{"register", "POST", "/api/users", nil,
			map[string]string{`{"password":"` + pw + `"}`: "username", `{"username":"bob","password":""}`: "password", `{}`: "username"},
			[]string{`{"username":"bob","password":1}`, `{"username":"bob","Password":"x"}`}},
		{"login", "POST", "/api/tokens", nil,
			map[string]string{`{"username":"alice"}`: "password", `{"username":"","password":"` + pw + `"}`: "username"},
			[]string{`{"username":"alice","password":null}`, `{"username":"alice","password":"x","remember":"yes"}`}},
		{"refresh", "POST", "/api/tokens/refresh", nil,
			map[string]string{`{}`: "refresh_token", `{"refresh_token":""}`: "refresh_token"},
			[]string{`{"refresh_token":["` + refresh + `"]}`, `{"refresh_token":"x","REFRESH_TOKEN":"y"}`, `{"refresh_token":"bo\ud800b"}`}},
		{"change password", "PUT", "/api/users/me/password", bearer,
			map[string]string{`{"current_password":"` + pw + `"}`: "new_password", `{"new_password":"a new passphrase here"}`: "current_password",
				`{"current_password":"","new_password":"a new passphrase here"}`: "current_password"},
			[]string{`{"current_password":"` + pw + `","new_password":true}`, `{"current_password":"` + pw + `","new_password":"a new passphrase here","user_id":"2"}`,
				`{"current_password":"` + pw + `","new_password":"a new passphrase here"} {}`}},
		{"delete account", "DELETE", "/api/users/me", bearer,
			map[string]string{`{}`: "password", `{"password":""}`: "password"},
			[]string{`{"password":"` + pw + `","password":"` + pw + `"}`, `{"password":{}}`, "{\"password\":\"\xff\"}"}},
		{"introspect", "POST", "/api/introspect", client, nil,
			[]string{`{"token":1}`, `{"token":"` + access + `","client_id":"gw"}`, `{"Token":"` + access + `"}`}},
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			for body, field := range rt.missing {
				r := e.do(rt.method, rt.path, body, rt.header...)
				wantStatus(t, r, 400, "invalid_request")
				if got, want := r.json["message"], field+" is required"; got != want {
					t.Errorf("%s: message %q, want %q", body, got, want)
				}
			}
			for _, body := range rt.bad {
				wantStatus(t, e.do(rt.method, rt.path, body, rt.header...), 400, "invalid_json")
			}
		})
	}
	// A JSON introspection body is read by the same decoder; the token is
	// optional there, as RFC 7662 answers a missing token as inactive.
	if r := e.do("POST", "/api/introspect", `{"token":"`+access+`","token_type_hint":"access_token"}`, client...); r.status != 200 || r.json["active"] != true {
		t.Errorf("introspect json: %d %s, want 200 active", r.status, r.body)
	}
	if r := e.do("POST", "/api/introspect", `{}`, client...); r.status != 200 || r.json["active"] != false {
		t.Errorf("introspect without a token: %d %s, want 200 inactive", r.status, r.body)
	}
	// Nothing above changed anything: the session and the account are as
	// they were.
	wantStatus(t, e.do("GET", "/api/resource", "", bearer...), 200, "")
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(refresh)), 200, "")
	if n := e.userCount(); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
}
