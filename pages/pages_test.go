package pages

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func TestSafeReturn(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", "/d"},
		{"/account", "/account"},
		{"/oauth/authorize?client_id=x&state=y", "/oauth/authorize?client_id=x&state=y"},
		{"//evil.example/", "/d"},
		{"/\\evil.example/", "/d"},
		{"\\\\evil.example", "/d"},
		{"https://evil.example/", "/d"},
		{"javascript:alert(1)", "/d"},
		{"account", "/d"},
		{"/a\r\nLocation: x", "/d"},
		{"/a\tb", "/d"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"},
		{"/" + strings.Repeat("a", 1100), "/d"},
		{"/a\x00b", "/d"},
		{"/\xff", "/d"},
		{"/account?x=\xc3\x28", "/d"},
		{"/caf\u00e9", "/caf\u00e9"},
	} {
		if got := safeReturn(tt.in, "/d"); got != tt.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestHeaders checks that every page answer, whatever its status, carries
// the pages' security headers, and that the API keeps its own.
func TestHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	c := e.client()
	want := map[string]string{
		"Content-Security-Policy": csp,
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "same-origin",
		"X-Content-Type-Options":  "nosniff",
	}
	for _, path := range []string{"/signup", "/signin", "/account", "/account/nothing", "/pages/style.css", "/signout"} {
		p := e.get(c, path)
		for k, v := range want {
			if got := p.header.Get(k); got != v {
				t.Errorf("GET %s (status %d): %s = %q, want %q", path, p.status, k, got, v)
			}
		}
	}
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q must forbid framing and inline code", csp)
	}
	if got := e.get(c, "/api/users/1").header.Get("Content-Security-Policy"); got != "" {
		t.Errorf("API answer has the pages' CSP %q; the pages must not wrap the API", got)
	}
}

// TestGetChangesNothing checks that the routes that change things answer
// only POST: a link or an image cannot sign anyone out.
func TestGetChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.signup("alice", "correct horse battery")
		for _, path := range []string{"/signout", "/account/sessions/end-others", "/account/delete", "/account/password", "/account/sessions/end?session=x"} {
			if p := e.get(c, path); p.status != http.StatusMethodNotAllowed && p.status != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 405 or 404", path, p.status)
			}
		}
		if p := e.get(c, "/account"); p.status != http.StatusOK {
			t.Errorf("GET /account after the GETs: status %d, want 200 (still signed in)", p.status)
		}
	})
}

// TestCrossSitePost checks that a form sent from another site changes
// nothing, while the JSON API, which CORS governs, is not affected.
func TestCrossSitePost(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.client()
		p := e.post(c, "/signup", url.Values{"username": {"mallory"}, "password": {"correct horse battery"}}, "Sec-Fetch-Site", "cross-site")
		if p.status != http.StatusForbidden || !strings.Contains(p.body, msg("err_cross_origin")) {
			t.Errorf("cross-site sign-up: status %d, want 403 with the refusal page", p.status)
		}
		p = e.post(c, "/signup", url.Values{"username": {"mallory"}, "password": {"correct horse battery"}}, "Sec-Fetch-Site", "", "Origin", "https://evil.example")
		if p.status != http.StatusForbidden {
			t.Errorf("sign-up with a foreign Origin: status %d, want 403", p.status)
		}
		if users, _ := e.store.ListUsers(t.Context()); len(users) != 0 {
			t.Errorf("%d users after refused cross-site sign-ups, want 0", len(users))
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/users", strings.NewReader(`{"username":"bob","password":"correct horse battery"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if p := e.send(c, req); p.status != http.StatusCreated {
			t.Errorf("cross-site POST /api/users: status %d, want 201 (the API is not the pages')", p.status)
		}
	})
}

func sessionCookie(t *testing.T, e *testEnv, c *http.Client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "restauth-session" {
			return ck
		}
	}
	t.Fatal("no session cookie in the jar")
	return nil
}

// TestCookie checks the cookie's attributes, that it changes at every
// sign-in, and that the store keeps only its hash.
func TestCookie(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.client()
		p := e.post(c, "/signup", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
		set := p.header.Get("Set-Cookie")
		for _, want := range []string{"restauth-session=", "Path=/", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(set, want) {
				t.Errorf("Set-Cookie %q lacks %q", set, want)
			}
		}
		if strings.Contains(set, "Domain=") {
			t.Errorf("Set-Cookie %q has a Domain: the cookie must be host-only", set)
		}
		first := sessionCookie(t, e, c).Value
		if raw, err := base64.RawURLEncoding.DecodeString(first); err != nil || len(raw) != restauth.BrowserCookieBytes {
			t.Errorf("cookie value is %d bytes (%v), want %d random bytes", len(raw), err, restauth.BrowserCookieBytes)
		}
		if _, err := e.store.BrowserSession(t.Context(), []byte(first)); !errors.Is(err, restauth.ErrNotFound) {
			t.Errorf("the store finds the session by the raw cookie (%v); it must keep only the hash", err)
		}
		if _, err := e.store.BrowserSession(t.Context(), restauth.HashBrowserCookie(first)); err != nil {
			t.Errorf("the store does not find the session by the cookie's hash: %v", err)
		}

		p = e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d, want 303", p.status)
		}
		second := sessionCookie(t, e, c).Value
		if second == first {
			t.Errorf("sign-in kept the cookie value; want a new identifier")
		}
		// The identifier the browser held before signing in again is dead.
		old := e.client()
		u, _ := url.Parse(e.srv.URL)
		old.Jar.SetCookies(u, []*http.Cookie{{Name: "restauth-session", Value: first, Path: "/"}})
		if p := e.get(old, "/account"); p.status != http.StatusSeeOther {
			t.Errorf("GET /account with the previous cookie: status %d, want 303 to sign in", p.status)
		}
	})
}

// TestSecureCookie checks the __Host- prefix and Secure under TLS.
func TestSecureCookie(t *testing.T) {
	e := newEnv(t, Config{TLS: true})
	c := e.client()
	p := e.post(c, "/signup", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
	set := p.header.Get("Set-Cookie")
	for _, want := range []string{"__Host-restauth-session=", "Secure", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if p.header.Get("Strict-Transport-Security") == "" {
		t.Errorf("no Strict-Transport-Security under TLS")
	}
}

// TestRefusals checks that each refusal is shown next to its field, tied
// to it with aria-describedby, with the username kept and no password
// echoed.
func TestRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		e.signup("taken", "correct horse battery")
		const secret = "s3cret-Value"
		for _, tt := range []struct {
			name, path, user, pass string
			status                 int
			field, text            string
		}{
			{"short password", "/signup", "alice", "Ab1", 400, "f-password-error", msg("err_password_short", 8)},
			{"common password", "/signup", "alice", "password123", 400, "f-password-error", msg("err_password_common")},
			{"control character", "/signup", "alice", "correct horse\x07battery", 400, "f-password-error", msg("err_password_invalid")},
			{"taken username", "/signup", "TAKEN", secret, 400, "f-username-error", msg("err_username_taken")},
			{"invalid username", "/signup", "a:b", secret, 400, "f-username-error", msg("err_username_invalid", 64)},
			{"wrong password", "/signin", "taken", secret, 401, "form-alert", msg("err_credentials")},
			{"unknown user", "/signin", "nobody", secret, 401, "form-alert", msg("err_credentials")},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := e.post(e.client(), tt.path, url.Values{"username": {tt.user}, "password": {tt.pass}})
				if p.status != tt.status {
					t.Fatalf("status %d, want %d", p.status, tt.status)
				}
				if !strings.Contains(p.body, `id="`+tt.field+`"`) || !strings.Contains(p.body, htmlEscape(tt.text)) {
					t.Errorf("body lacks %q with %q:\n%s", tt.field, tt.text, p.body)
				}
				if !strings.Contains(p.body, `aria-describedby="`+tt.field) {
					t.Errorf("no field is described by %s", tt.field)
				}
				if !strings.Contains(p.body, `value="`+htmlEscape(tt.user)+`"`) {
					t.Errorf("the username %q is not kept", tt.user)
				}
				if strings.Contains(p.body, tt.pass) {
					t.Errorf("the page echoes the password")
				}
			})
		}
	})
}

func htmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '\'':
			b.WriteString("&#39;")
		case '"':
			b.WriteString("&#34;")
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// overloaded is a hasher whose admission gate is always full.
type overloaded struct{ restauth.PasswordHasher }

type busyErr struct{}

func (busyErr) Error() string                                   { return "busy" }
func (overloaded) Hash(context.Context, string) (string, error) { return "", busyErr{} }
func (overloaded) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, busyErr{}
}

// Busy recognises the hasher's own refusal, as password.Hasher does.
func (overloaded) Busy(err error) (time.Duration, bool) {
	_, ok := err.(busyErr)
	return 2 * time.Second, ok
}

// TestBusy checks that a full hashing gate becomes a 503 "busy" page with
// the form kept.
func TestBusy(t *testing.T) {
	e := newEnv(t, Config{}, func(_ *restauth.Config, h *restauth.PasswordHasher) { *h = overloaded{*h} })
	for _, path := range []string{"/signup", "/signin"} {
		p := e.post(e.client(), path, url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
		if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, msg("err_busy")) || p.header.Get("Retry-After") == "" {
			t.Errorf("POST %s with the gate full: status %d, Retry-After %q; want 503 with the busy sentence", path, p.status, p.header.Get("Retry-After"))
		}
		if !strings.Contains(p.body, `value="alice"`) {
			t.Errorf("POST %s: the username is not kept on the busy page", path)
		}
	}
}

// tarpitConfig makes the tarpit bite after one failure and wait a minute.
func tarpitConfig(cfg *restauth.Config, _ *restauth.PasswordHasher) {
	cfg.AccountFreeFailures = 1
	cfg.AccountDelayBase = time.Minute
	cfg.AccountDelayMax = time.Minute
}

// TestTarpit checks that the tarpit's 429 becomes a page saying when to
// retry.
func TestTarpit(t *testing.T) {
	e := newEnv(t, Config{}, tarpitConfig)
	e.signup("alice", "correct horse battery")
	form := url.Values{"username": {"alice"}, "password": {"wrong password"}}
	var p page
	for range 3 {
		p = e.post(e.client(), "/signin", form)
	}
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("third failure: status %d, Retry-After %q; want 429 with Retry-After", p.status, p.header.Get("Retry-After"))
	}
	if !strings.Contains(p.body, "Wait ") || !strings.Contains(p.body, "try again") {
		t.Errorf("tarpit page does not say when to retry:\n%s", p.body)
	}
}

func TestWaitText(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1 second"}, {300 * time.Millisecond, "1 second"}, {1500 * time.Millisecond, "2 seconds"},
		{59 * time.Second, "59 seconds"}, {119 * time.Second, "119 seconds"}, {120 * time.Second, "2 minutes"},
		{121 * time.Second, "3 minutes"}, {time.Hour, "60 minutes"},
	} {
		if got := waitText(tt.d); got != tt.want {
			t.Errorf("waitText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// apiLogin opens an API session and returns its access token.
func (e *testEnv) apiLogin(c *http.Client, user, pass string) string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/tokens", nil)
	req.SetBasicAuth(user, pass)
	p := e.send(c, req)
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &body) != nil {
		e.t.Fatalf("API login: status %d; body %s", p.status, p.body)
	}
	return body.AccessToken
}

func (e *testEnv) apiStatus(c *http.Client, token string) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(c, req).status
}

// TestLifecycle walks the account page without a browser: a browser
// session and an API session side by side, ending one from the other, a
// password change, sign-out and deletion.
func TestLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.signup("alice", "correct horse battery")
		tok := e.apiLogin(e.client(), "alice", "correct horse battery")
		if st := e.apiStatus(e.client(), tok); st != http.StatusOK {
			t.Fatalf("API token before: status %d, want 200", st)
		}
		p := e.get(c, "/account")
		if n := strings.Count(p.body, `name="session"`); n != 2 {
			t.Fatalf("account page lists %d sessions, want 2", n)
		}
		users, _ := e.store.ListUsers(t.Context())
		list, _ := e.store.ListSessions(t.Context(), users[0].ID, time.Now())
		for _, s := range list {
			if !strings.Contains(p.body, s.ID) {
				t.Errorf("session %s is not on the account page", s.ID)
			}
		}
		apiID := list[len(list)-1].ID // Sessions are listed oldest first.
		if p := e.post(c, "/account/sessions/end", url.Values{"session": {apiID}}); p.status != http.StatusSeeOther {
			t.Fatalf("end session: status %d, want 303", p.status)
		}
		if st := e.apiStatus(e.client(), tok); st != http.StatusUnauthorized {
			t.Errorf("API token after its session was ended on the page: status %d, want 401", st)
		}

		tok = e.apiLogin(e.client(), "alice", "correct horse battery")
		p = e.post(c, "/account/password", url.Values{"current_password": {"wrong one"}, "new_password": {"another fine passphrase"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `id="f-current_password-error"`) {
			t.Errorf("wrong current password: status %d, want 401 with the error next to the field", p.status)
		}
		p = e.post(c, "/account/password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"another fine passphrase"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("change password: status %d, want 303; body %s", p.status, p.body)
		}
		if st := e.apiStatus(e.client(), tok); st != http.StatusUnauthorized {
			t.Errorf("API token after a password change: status %d, want 401", st)
		}
		if p := e.get(c, "/account"); p.status != http.StatusOK {
			t.Errorf("account page after a password change: status %d, want 200 (this browser stays signed in)", p.status)
		}

		other := e.client()
		e.post(other, "/signin", url.Values{"username": {"alice"}, "password": {"another fine passphrase"}})
		if p := e.post(c, "/account/sessions/end-others", nil); p.status != http.StatusSeeOther {
			t.Fatalf("sign out everywhere else: status %d, want 303", p.status)
		}
		if p := e.get(other, "/account"); p.status != http.StatusSeeOther {
			t.Errorf("other browser after \"sign out everywhere else\": status %d, want 303 to sign in", p.status)
		}

		if p := e.post(c, "/signout", nil); p.status != http.StatusSeeOther {
			t.Fatalf("sign out: status %d, want 303", p.status)
		}
		if p := e.get(c, "/account"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/signin?") {
			t.Errorf("account after sign-out: status %d, Location %q; want 303 to sign in", p.status, p.header.Get("Location"))
		}

		e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"another fine passphrase"}})
		p = e.post(c, "/account/delete", url.Values{"delete_password": {"wrong"}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `id="f-delete_password-error"`) {
			t.Errorf("delete with a wrong password: status %d, want 401 with the error next to the field", p.status)
		}
		if p := e.post(c, "/account/delete", url.Values{"delete_password": {"another fine passphrase"}}); p.status != http.StatusSeeOther {
			t.Fatalf("delete: status %d, want 303", p.status)
		}
		if users, _ := e.store.ListUsers(t.Context()); len(users) != 0 {
			t.Errorf("%d users after deletion, want 0", len(users))
		}
	})
}

// TestSigninReturnTo checks that sign-in goes back to a local return_to and
// nowhere else.
func TestSigninReturnTo(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		e.signup("alice", "correct horse battery")
		for _, tt := range []struct{ returnTo, want string }{
			{"/account?x=1", "/account?x=1"},
			{"//evil.example/", "/account"},
			{"https://evil.example/", "/account"},
		} {
			c := e.client()
			if p := e.get(c, "/signin?return_to="+url.QueryEscape(tt.returnTo)); strings.Contains(p.body, "evil.example") {
				t.Errorf("sign-in page carries return_to %q", tt.returnTo)
			}
			p := e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "return_to": {tt.returnTo}})
			if got := p.header.Get("Location"); p.status != http.StatusSeeOther || got != tt.want {
				t.Errorf("sign-in with return_to %q: %d to %q, want 303 to %q", tt.returnTo, p.status, got, tt.want)
			}
		}
	})
}

// TestSignupOff checks that sign-up can be turned off.
func TestSignupOff(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{NoSignup: true})
		c := e.client()
		if p := e.get(c, "/signup"); p.status != http.StatusNotFound || !strings.Contains(p.body, htmlEscape(msg("signup_closed"))) {
			t.Errorf("GET /signup with sign-up off: status %d, want 404 with the closed sentence", p.status)
		}
		e.post(c, "/signup", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
		if users, _ := e.store.ListUsers(t.Context()); len(users) != 0 {
			t.Errorf("%d users after a sign-up with sign-up off, want 0", len(users))
		}
		if p := e.get(c, "/signin"); strings.Contains(p.body, `href="/signup"`) {
			t.Errorf("the sign-in page links to sign-up while it is off")
		}
	})
}

// TestRevokedOnAnotherInstance checks that a browser session ended through
// another instance sharing the database is refused at once here.
func TestRevokedOnAnotherInstance(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.signup("alice", "correct horse battery")
		other, _ := newService(t, e.store, restauth.DefaultConfig(), overloaded{})
		users, _ := e.store.ListUsers(t.Context())
		if err := other.RevokeAllSessions(t.Context(), &restauth.Principal{UserID: users[0].ID}); err != nil {
			t.Fatal(err)
		}
		if p := e.get(c, "/account"); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=session-expired") {
			t.Errorf("account page after another instance ended the session: status %d, Location %q; want 303 to sign in", p.status, p.header.Get("Location"))
		}
	})
}

// TestCatalogUsed checks that every sentence in the catalog is used by a
// template or the code, so that a translator translates nothing in vain.
// (A key used but missing fails every test that renders it.)
func TestCatalogUsed(t *testing.T) {
	var src strings.Builder
	for _, dir := range []string{"templates", "."} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasSuffix(name, "_test.go") || name == "messages.go" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	for key := range messages {
		if !strings.Contains(src.String(), `"`+key+`"`) {
			t.Errorf("message %q is not used", key)
		}
	}
}
