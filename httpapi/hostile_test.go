package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/restauth/restauth"
)

// The tables in this file send hostile values through every door the API
// has (path segments, query strings, headers) on every store of
// testStores. A route added later adds its hostile values here, and its
// identifiers get a checker in ids.go.

// hostileEnv is an environment with one account and one live session,
// shared by the subtests of one store.
type hostileEnv struct {
	*testEnv
	user                 string // The account fresh logs in to; alice unless set.
	access, refresh, sid string
}

func newHostileEnv(t *testing.T, kind storeKind) *hostileEnv {
	t.Helper()
	// The per-IP limit is off so that the many refused passwords below are
	// answered 401, each time; the per-account tarpit stays on, so that a
	// hostile username is written as a counter key as in production.
	e := newEnvOn(t, kind, func(c *restauthConfig, h *Config) {
		c.LoginIPLimit = 0
		c.RegisterIPLimit = 0
		h.IntrospectClients = map[string]string{"gw": "s3cret-s3cret-s3cret"}
	})
	e.register("alice", "correct horse battery")
	h := &hostileEnv{testEnv: e, user: "alice"}
	h.fresh(t)
	return h
}

// fresh opens a new session for e.user and makes it the one the
// environment's requests use.
func (e *hostileEnv) fresh(t *testing.T) {
	t.Helper()
	r, err := e.send("POST", "/api/tokens", "", "Authorization", basic(e.user, "correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	if r.status != 200 {
		t.Fatalf("login as %s: status %d, want 200; body %s", e.user, r.status, r.body)
	}
	e.access, e.refresh = r.json["access_token"].(string), r.json["refresh_token"].(string)
	if r, err = e.send("GET", "/api/sessions", "", "Authorization", "Bearer "+e.access); err != nil {
		t.Fatal(err)
	}
	if r.status != 200 {
		t.Fatalf("list sessions: status %d, want 200; body %s", r.status, r.body)
	}
	for _, s := range r.json["sessions"].([]any) {
		if m := s.(map[string]any); m["current"] == true {
			e.sid = m["id"].(string)
		}
	}
}

// hostileCase is one request and the answer it must get.
type hostileCase struct {
	name, method, path, body string
	header                   []string
	status                   int
	code                     string
	// attempt marks a request that offers a password: its refusal is
	// counted by the brute-force limits, the one write a refused request
	// is allowed.
	attempt bool
}

// check sends tc and checks its answer, and that a refused request changed
// no row (beyond the counters of a password attempt).
func (e *hostileEnv) check(t *testing.T, tc hostileCase) *response {
	t.Helper()
	ctx := context.Background()
	before, err := takeSnapshot(ctx, e.raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.send(tc.method, tc.path, tc.body, tc.header...)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != tc.status {
		t.Errorf("%s %q: status %d, want %d; body %s", tc.method, tc.path, r.status, tc.status, r.body)
	}
	if tc.code != "" && r.json["error"] != tc.code {
		t.Errorf("%s %q: error %v, want %s; body %s", tc.method, tc.path, r.json["error"], tc.code, r.body)
	}
	if r.status >= 400 {
		after, err := takeSnapshot(ctx, e.raw)
		if err != nil {
			t.Fatal(err)
		}
		var except []string
		if tc.attempt {
			except = []string{"counters"}
		}
		if changed := before.Diff(after, except...); len(changed) > 0 {
			t.Errorf("%s %q refused with %d changed the tables %q", tc.method, tc.path, r.status, changed)
		}
	}
	return r
}

// unknownID has the shape of a session or API key id and names nothing.
var unknownID = base64.RawURLEncoding.EncodeToString(make([]byte, 16))

// hostileSegments are path-segment values that name nothing: bytes that a
// database refuses, encodings of other characters, numbers in other
// spellings or out of range, and lengths no identifier has. Each is
// already percent-encoded where it has to be.
var hostileSegments = []string{
	"%ff", "%00", "a%00b", "%c3%28", "%ed%a0%80", "%c0%af", "%f4%90%80%80",
	"%e2%80%ae", "%ef%bb%bf", "%ef%bf%bd", "%7f", "%1b", "%0a", "%20",
	"-1", "0", "00", "01", "+1", "1e3", "0x1", "1.0", "1%20", "%201", "%ef%bc%91", "%d9%a1",
	"9223372036854775807", "9223372036854775808", "99999999999999999999", "-9223372036854775808",
	"%2e%2e", "..%2f..%2fetc", "%2f", "%5c", "'%20OR%20'1'='1", "1;DROP%20TABLE%20users",
	"%25", "%25ff", "null", "undefined", "true", "%7b%7d", "%5b%5d",
	strings.Repeat("a", 21), strings.Repeat("a", 23), strings.Repeat("a", 22) + "%3d%3d",
	strings.Repeat("A", 21) + "B", // Right length and alphabet, non-zero padding bits.
	strings.Repeat("A", 21) + "%ff", strings.Repeat("A", 20) + "%00A", strings.Repeat("A", 21) + "+",
	strings.Repeat("A", 21) + "/", strings.Repeat("A", 21) + ".", strings.Repeat("%ff", 22),
	strings.Repeat("x", 4096),
}

// TestHostilePathIDs sends every hostile segment as the identifier of each
// route that takes one: each is the 404 an unknown identifier gets, on
// every store, and stores nothing.
func TestHostilePathIDs(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		bearer := []string{"Authorization", "Bearer " + e.access}
		password := []string{"Authorization", basic("alice", "correct horse battery")}
		// Well-shaped identifiers of nothing, for comparison.
		unknownSID := base64.RawURLEncoding.EncodeToString(make([]byte, 16))
		for _, seg := range append(hostileSegments, "999", "9223372036854775806", unknownSID) {
			for _, tc := range []hostileCase{
				{name: "get user", method: "GET", path: "/api/users/" + seg, status: 404, code: "not_found"},
				{name: "revoke session by token", method: "DELETE", path: "/api/sessions/" + seg, header: bearer, status: 404, code: "not_found"},
				{name: "revoke session by password", method: "DELETE", path: "/api/sessions/" + seg, header: password, status: 404, code: "not_found", attempt: true},
				{name: "revoke API key by token", method: "DELETE", path: "/api/keys/" + seg, header: bearer, status: 404, code: "not_found"},
			} {
				t.Run(tc.name+"/"+seg[:min(len(seg), 40)], func(t *testing.T) {
					// The report: an authenticated DELETE whose id is
					// the byte 0xff was a 500 on PostgreSQL.
					e.check(t, tc)
				})
			}
		}
		// The session is still live, and a real identifier still works.
		wantStatus(t, e.do("GET", "/api/users/1", ""), 200, "")
		wantStatus(t, e.do("GET", "/api/resource", "", bearer...), 200, "")
		wantStatus(t, e.do("DELETE", "/api/sessions/"+e.sid, "", bearer...), 204, "")
		wantStatus(t, e.do("GET", "/api/resource", "", bearer...), 401, "invalid_token")
	})
}

// everyRoute lists each route of routes.go with a request it answers
// successfully, given an account and a live session; path, body and header
// may hold the placeholders {access}, {refresh}, {sid}, {user} (the
// account's name), {newuser} (a name not yet taken) and {kid} (the id of
// the API key the POST /api/keys before it made).
var everyRoute = []struct {
	method, path, body string
	header             []string
	status             int
}{
	{"POST", "/api/users", `{"username":"{newuser}","password":"correct horse battery"}`, nil, 201},
	{"GET", "/api/users/1", "", nil, 200},
	{"GET", "/api/resource", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"GET", "/api/token", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"POST", "/api/tokens", `{"username":"{user}","password":"correct horse battery"}`, nil, 200},
	{"POST", "/api/tokens/refresh", `{"refresh_token":"{refresh}"}`, nil, 200},
	{"GET", "/api/sessions", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"GET", "/api/users/me", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"PUT", "/api/users/me/password", `{"current_password":"correct horse battery","new_password":"correct horse battery"}`, []string{"Authorization", "Bearer {access}"}, 204},
	// The second-factor routes. Completing a login or a confirmation
	// needs a code from an authenticator, which a fixed request cannot
	// hold: those two send a refused one, whose answer must not change
	// either.
	{"GET", "/api/users/me/totp", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"POST", "/api/users/me/totp", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"POST", "/api/users/me/totp/confirm", `{"code":"x"}`, []string{"Authorization", "Bearer {access}"}, 400},
	{"POST", "/api/tokens/mfa", `{"mfa_token":"x","code":"123456"}`, nil, 400},
	// Passkeys are off here (no public URL): the route answers 404.
	{"POST", "/api/tokens/mfa/passkey/options", `{"mfa_token":"x"}`, nil, 404},
	{"DELETE", "/api/users/me/totp", `{"password":"correct horse battery"}`, []string{"Authorization", "Bearer {access}"}, 404},
	{"POST", "/api/introspect", `{"token":"{access}"}`, []string{"Authorization", basic("gw", "s3cret-s3cret-s3cret")}, 200},
	{"GET", "/.well-known/jwks.json", "", nil, 200},
	{"GET", "/api/openapi.json", "", nil, 200},
	{"GET", "/healthz", "", nil, 200},
	{"GET", "/readyz", "", nil, 200},
	{"POST", "/api/keys", `{"name":"ci","scopes":"read"}`, []string{"Authorization", "Bearer {access}"}, 201},
	{"GET", "/api/keys", "", []string{"Authorization", "Bearer {access}"}, 200},
	{"DELETE", "/api/keys/{kid}", "", []string{"Authorization", "Bearer {access}"}, 204},
	{"DELETE", "/api/sessions/{sid}", "", []string{"Authorization", "Bearer {access}"}, 204},
	{"POST", "/api/logout", "", []string{"Authorization", "Bearer {access}"}, 204},
	{"DELETE", "/api/sessions", "", []string{"Authorization", "Bearer {access}"}, 204},
	{"DELETE", "/api/users/me", `{"password":"correct horse battery"}`, []string{"Authorization", "Bearer {access}"}, 204},
}

// hostileQueries are query strings no route reads: each must leave the
// answer as it is without one.
var hostileQueries = []string{
	"id=%ff", "id=%00", "id=a%00b", "id=%c3%28", "token=%ff%fe", "user_id=01&user_id=+1",
	"%ff=%ff", "%00", "a&&&b==c", "session=" + strings.Repeat("%ff", 512), "x=" + strings.Repeat("y", 8000),
	"return_to=https://evil.example.net/", "redirect_uri=javascript:alert(1)", "code=%00&state=%ff",
	"password=correct+horse+battery", "refresh_token=%00", ";;;", "id=1e3", "%zz", "a=%e2%80%ae",
}

// TestHostileQueries sends every route its successful request with each
// hostile query string: no route reads the query, so the answer is the
// same as without it, on every store.
func TestHostileQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		for i, q := range hostileQueries {
			t.Run(q[:min(len(q), 40)], func(t *testing.T) {
				// A fresh account per query, and a fresh session after each
				// route that ends one; the last route deletes the account.
				e.user = "query" + itoa(i)
				e.register(e.user, "correct horse battery")
				e.fresh(t)
				var kid string
				for _, rt := range everyRoute {
					fill := strings.NewReplacer("{access}", e.access, "{refresh}", e.refresh, "{sid}", e.sid,
						"{user}", e.user, "{newuser}", "new"+e.user, "{kid}", kid)
					var header []string
					for _, h := range rt.header {
						header = append(header, fill.Replace(h))
					}
					r, err := e.send(rt.method, fill.Replace(rt.path)+"?"+q, fill.Replace(rt.body), header...)
					if err != nil {
						t.Fatal(err)
					}
					if r.status != rt.status {
						t.Errorf("%s %s?%s: status %d, want %d as without the query; body %s", rt.method, rt.path, q, r.status, rt.status, r.body)
					}
					if id, ok := r.json["id"].(string); ok && rt.path == "/api/keys" {
						kid = id
					}
					if (rt.method == "DELETE" && rt.path != "/api/users/me" && rt.path != "/api/keys/{kid}") || rt.path == "/api/logout" || rt.path == "/api/tokens/refresh" {
						e.fresh(t)
					}
				}
			})
		}
	})
}

// TestHostileRoutePaths sends hostile segments after, inside and instead of
// every route's path: each is a JSON 404 (or a 405 where the path exists
// under other methods), on every store, and stores nothing.
func TestHostileRoutePaths(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		bearer := []string{"Authorization", "Bearer " + e.access}
		for _, rt := range everyRoute {
			path := strings.NewReplacer("{sid}", e.sid, "{kid}", unknownID).Replace(rt.path)
			for _, seg := range []string{"%ff", "%00", "a%00b", "%c3%28", "%2e%2e", "%2f"} {
				for _, p := range []string{path + seg, path + "/" + seg, "/" + seg + path} {
					if strings.HasPrefix(p, "/api/users/") && !strings.HasPrefix(p, "/api/users/me") || strings.HasPrefix(p, "/api/sessions/") || strings.HasPrefix(p, "/api/keys/") {
						continue // Identifiers: TestHostilePathIDs.
					}
					tc := hostileCase{method: rt.method, path: p, header: bearer, status: 404, code: "not_found"}
					if rest, ok := strings.CutPrefix(p, "/api/users/"); ok && !strings.Contains(rest, "/") && rt.method != "GET" {
						// The path of GET /api/users/{id}, under another method.
						tc.status, tc.code = 405, "method_not_allowed"
					}
					t.Run(rt.method+" "+p, func(t *testing.T) { e.check(t, tc) })
				}
			}
		}
		wantStatus(t, e.do("GET", "/api/resource", "", bearer...), 200, "")
	})
}

// hostileBasic are Basic credentials a database may refuse. A "victim"
// user is registered first, one account per case so that the tarpit does
// not answer before the hostile password is checked.
var hostileBasic = []struct{ user, pass string }{
	{"\xff", hostilePassword}, {"a\x00b", hostilePassword}, {"\xc3\x28", hostilePassword}, {"\xed\xa0\x80", hostilePassword},
	{"alice\x00", hostilePassword}, {"\x00", hostilePassword}, {strings.Repeat("\xff", 300), hostilePassword},
	{"al\u202eice", hostilePassword}, {"bob" + strings.Repeat("é", 2000), hostilePassword},
	{"victim0", "correct\x00horse battery"}, {"victim1", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"},
	{"victim2", strings.Repeat("\xff", 2000)}, {"victim3", "correct horse \xed\xa0\x80"},
}

// hostilePassword is the password of every account the tables register.
const hostilePassword = "correct horse battery"

// hostileBearer are Bearer values that are not tokens; {access} and {sid}
// stand for a live access token and its session id.
var hostileBearer = []string{"%ff", "\xff\xfe", "a\xc3\x28b", "{access}\xff", strings.Repeat("A", 4000), "e30.e30.", "..", "{sid}"}

// hostileUserAgents cannot be stored as text as they are.
var hostileUserAgents = []string{"\xff\xfe", "a\xc3\x28b", "Mozilla/5.0 \xed\xa0\x80", strings.Repeat("\xff", 1000)}

// hostileHeaderCases send hostile values in the other headers the API
// reads; {access} stands for a live access token.
var hostileHeaderCases = []hostileCase{
	{name: "basic of invalid base64", method: "GET", path: "/api/resource", header: []string{"Authorization", "Basic \xff\xff"}, status: 401, code: "invalid_credentials"},
	{name: "scheme of high bytes", method: "GET", path: "/api/resource", header: []string{"Authorization", "\xff {access}"}, status: 401, code: "invalid_credentials"},
	{name: "content type of high bytes", method: "POST", path: "/api/users", body: `{"username":"carol","password":"correct horse battery"}`,
		header: []string{"Content-Type", "application/json; charset=\xff"}, status: 415, code: "unsupported_media_type"},
	{name: "content type with a high byte inside", method: "POST", path: "/api/tokens/refresh", body: `{"refresh_token":"x"}`,
		header: []string{"Content-Type", "application/\xffjson"}, status: 415, code: "unsupported_media_type"},
	{name: "forwarding headers of high bytes", method: "POST", path: "/api/tokens", body: `{"username":"alice","password":"wrong horse battery"}`,
		header: []string{"X-Forwarded-For", "\xff, 1.2.3.4\xff", "Forwarded", "for=\"\xff\"", "X-Real-IP", "\xc3\x28"}, status: 401, code: "invalid_credentials", attempt: true},
	{name: "origin of high bytes", method: "GET", path: "/healthz", header: []string{"Origin", "https://\xff.example"}, status: 200},
}

// TestHostileHeaders sends hostile values in the headers the API reads:
// credentials, content type, user agent and forwarding headers. Each is a
// 4xx with a stable code or the normal answer, on every store; a refusal
// stores nothing but a password attempt's counters.
func TestHostileHeaders(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		var tests []hostileCase
		// Basic usernames and passwords a database may refuse, on every
		// route that takes a password.
		for i, cred := range hostileBasic {
			if strings.HasPrefix(cred.user, "victim") {
				e.register(cred.user, hostilePassword)
			}
			auth := []string{"Authorization", "Basic " + b64(cred.user+":"+cred.pass)}
			n := "basic " + itoa(i)
			tests = append(tests,
				hostileCase{name: n + " resource", method: "GET", path: "/api/resource", header: auth, status: 401, code: "invalid_credentials", attempt: true},
				hostileCase{name: n + " token", method: "GET", path: "/api/token", header: auth, status: 401, code: "invalid_credentials", attempt: true},
				hostileCase{name: n + " login", method: "POST", path: "/api/tokens", header: auth, status: 401, code: "invalid_credentials", attempt: true},
				hostileCase{name: n + " revoke", method: "DELETE", path: "/api/sessions/" + e.sid, header: auth, status: 401, code: "invalid_credentials", attempt: true},
				hostileCase{name: n + " introspect", method: "POST", path: "/api/introspect", body: `{"token":"x"}`, header: auth, status: 401, code: "invalid_credentials"},
			)
		}
		// Bearer tokens that are not tokens.
		fill := strings.NewReplacer("{access}", e.access, "{sid}", e.sid)
		for i, tok := range hostileBearer {
			tests = append(tests, hostileCase{name: "bearer " + itoa(i), method: "GET", path: "/api/sessions",
				header: []string{"Authorization", "Bearer " + fill.Replace(tok)}, status: 401, code: "invalid_token"})
		}
		for _, tc := range hostileHeaderCases {
			tc.header = slices.Clone(tc.header)
			for k := 1; k < len(tc.header); k += 2 {
				tc.header[k] = fill.Replace(tc.header[k])
			}
			tests = append(tests, tc)
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) { e.check(t, tc) })
		}
		// A user agent the database cannot store as text: the session opens
		// (the agent is only a label) and lists without the bad bytes.
		for _, ua := range hostileUserAgents {
			r := e.do("POST", "/api/tokens", "", "Authorization", basic("alice", hostilePassword), "User-Agent", ua)
			if r.status != http.StatusOK {
				t.Errorf("login with User-Agent %q: status %d, want 200; body %s", ua, r.status, r.body)
				continue
			}
			l := e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+r.json["access_token"].(string))
			wantStatus(t, l, 200, "")
			for _, s := range l.json["sessions"].([]any) {
				if m := s.(map[string]any); m["current"] == true {
					if got, _ := m["user_agent"].(string); got != restauth.ClientLabel(ua) || !utf8.ValidString(got) {
						t.Errorf("login with User-Agent %q: session user_agent %q, want %q", ua, got, restauth.ClientLabel(ua))
					}
				}
			}
		}
	})
}

// hostileLoginBodies are JSON logins whose username no account can have.
var hostileLoginBodies = []struct{ name, body, code string }{
	{"NUL in username", `{"username":"a\u0000b","password":"correct horse battery"}`, "invalid_credentials"},
	{"NUL username", `{"username":"\u0000","password":"correct horse battery"}`, "invalid_credentials"},
	{"NUL after a real name", `{"username":"alice\u0000","password":"correct horse battery"}`, "invalid_credentials"},
	{"NUL in password", `{"username":"alice","password":"correct\u0000horse battery"}`, "invalid_credentials"},
	{"control character in username", `{"username":"al\u001bice","password":"correct horse battery"}`, "invalid_credentials"},
	{"lone surrogate in username", `{"username":"\ud800","password":"correct horse battery"}`, "invalid_json"},
	{"invalid UTF-8 in username", "{\"username\":\"\xff\",\"password\":\"correct horse battery\"}", "invalid_json"},
	{"overlong NUL in username", "{\"username\":\"a\xc0\x80b\",\"password\":\"correct horse battery\"}", "invalid_json"},
}

// TestHostileLoginBodies sends JSON logins with usernames a database may
// refuse: each is refused as an unknown user (or as invalid JSON), on
// every store, and stores nothing but the counters.
func TestHostileLoginBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		for _, tt := range hostileLoginBodies {
			t.Run(tt.name, func(t *testing.T) {
				status := 401
				if tt.code == "invalid_json" {
					status = 400
				}
				e.check(t, hostileCase{method: "POST", path: "/api/tokens", body: tt.body, status: status, code: tt.code, attempt: true})
			})
		}
	})
}

// TestEveryRouteIsHostileTested reads the routes from routes.go and checks
// that everyRoute, which the query table and the fuzz corpus use, reaches
// each of them: a route added later fails here until it joins the tables.
func TestEveryRouteIsHostileTested(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	var patterns []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if m[1] == "/" {
			continue // Everything unrouted: TestHostileRoutePaths.
		}
		patterns = append(patterns, m[1])
		mux.Handle(m[1], http.NotFoundHandler())
	}
	if len(patterns) < 10 {
		t.Fatalf("found %d routes in routes.go, want all of them: %q", len(patterns), patterns)
	}
	reached := map[string]bool{}
	for _, rt := range everyRoute {
		path := strings.NewReplacer("{sid}", unknownID, "{kid}", unknownID).Replace(rt.path)
		_, pattern := mux.Handler(httptest.NewRequest(rt.method, path, nil))
		reached[pattern] = true
	}
	for _, p := range patterns {
		if !reached[p] {
			t.Errorf("route %q has no request in everyRoute: add one, and its identifiers to the hostile tables", p)
		}
	}
}
