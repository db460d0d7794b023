package oidc_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/internal/totptest"
	"github.com/restauth/restauth/oidc"
	"github.com/restauth/restauth/pages"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

const redirect = "https://app.example/cb"

// env is the whole server (API, provider, pages) on a real SQLite file, as
// cmd/restauth wires it, with a user and three clients.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	svc     *restauth.Service
	conf    *restauth.OAuthClient // Confidential, trusted (no consent page).
	secret  string
	other   *restauth.OAuthClient // Confidential, trusted, another secret.
	oSecret string
	pub     *restauth.OAuthClient // Public, asks for consent.
	db      *sql.DB
	clock   *stoppableClock // The Service's.
}

// stoppableClock is the wall clock, or one instant while stopped.
type stoppableClock struct{ at atomic.Pointer[time.Time] }

func (c *stoppableClock) Now() time.Time {
	if at := c.at.Load(); at != nil {
		return *at
	}
	return time.Now()
}

// stop holds the clock at now until start.
func (c *stoppableClock) stop()  { now := time.Now(); c.at.Store(&now) }
func (c *stoppableClock) start() { c.at.Store(nil) }

// snapshot reads every stored row, to show that a refused request stored
// nothing.
func (e *env) snapshot() teststore.Snapshot {
	e.t.Helper()
	s, err := teststore.TakeSnapshot(context.Background(), e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// unchanged fails the test when a table other than those in except holds
// other rows than in before.
func (e *env) unchanged(what string, before teststore.Snapshot, except ...string) {
	e.t.Helper()
	if changed := before.Diff(e.snapshot(), except...); len(changed) > 0 {
		e.t.Errorf("%s: tables %v changed, want nothing stored", what, changed)
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, teststore.SQLite)
}

// newEnvOn is newEnv on a fresh store of kind.
func newEnvOn(t *testing.T, kind teststore.Kind) *env {
	t.Helper()
	return newEnvConfig(t, kind, restauth.DefaultConfig())
}

// newEnvConfig is newEnvOn with the Service's configuration cfg.
func newEnvConfig(t *testing.T, kind teststore.Kind, cfg restauth.Config) *env {
	t.Helper()
	st, db := kind.Open(t)
	// The issuer is the test server's URL, known only once it listens.
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	clock := &stoppableClock{}
	inst, err := instance.New(context.Background(), st, instance.Options{Config: cfg,
		Hasher: password.New(password.Options{Params: teststore.FastParams}), VerifierCacheSize: -1, OIDCIssuer: srv.URL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc := inst.Service
	jwks := func() []byte { return inst.IDTokens.JWKS(inst.Ring.JWKS()) }
	var h http.Handler = httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: svc, JWKS: jwks, Ready: st.Ping})
	h = oidc.NewServer(oidc.Deps{Service: svc}, h)
	h = pages.NewServer(pages.Config{}, pages.Deps{Service: svc}, h)
	srv.Config.Handler = h
	e := &env{t: t, srv: srv, svc: svc, db: db, clock: clock}
	ctx := context.Background()
	if _, err := svc.AddUser(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	all := []string{restauth.GrantAuthorizationCode, restauth.GrantRefreshToken, restauth.GrantClientCredentials}
	if e.conf, e.secret, err = svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Conf", RedirectURIs: []string{redirect},
		Trusted: true, Grants: all, Scopes: []string{"openid", "profile", "api"}}); err != nil {
		t.Fatal(err)
	}
	if e.other, e.oSecret, err = svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Other", RedirectURIs: []string{redirect}, Trusted: true}); err != nil {
		t.Fatal(err)
	}
	if e.pub, _, err = svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Public App", Public: true,
		RedirectURIs: []string{redirect, "http://127.0.0.1/native"}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// browser is a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) location() *url.URL {
	u, _ := url.Parse(r.header.Get("Location"))
	return u
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return m
}

func (e *env) do(c *http.Client, req *http.Request) resp {
	e.t.Helper()
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, string(b)}
}

func (e *env) get(c *http.Client, path string) resp {
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.do(c, req)
}

func (e *env) post(c *http.Client, path string, form url.Values, mod ...func(*http.Request)) resp {
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mod {
		m(req)
	}
	return e.do(c, req)
}

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func (e *env) signIn(c *http.Client) {
	e.t.Helper()
	r := e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
	if r.status != http.StatusSeeOther {
		e.t.Fatalf("sign in: %d %s", r.status, r.body)
	}
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-more-entropy"

func authQuery(clientID string, extra ...string) url.Values {
	q := url.Values{"client_id": {clientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"xyz"}, "nonce": {"n-0S6"},
		"code_challenge": {restauth.S256(verifier)}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q
}

var hidden = regexp.MustCompile(`name="(request_id|consent_token)" value="([^"]*)"`)

// consentForm returns the hidden fields of a consent page.
func consentForm(t *testing.T, body string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		f.Set(m[1], m[2])
	}
	if f.Get("request_id") == "" || f.Get("consent_token") == "" {
		t.Fatalf("no consent form in %q", body)
	}
	return f
}

// code signs in (when needed) and returns a code for the client.
func (e *env) code(c *http.Client, clientID string) string {
	e.t.Helper()
	r := e.get(c, "/oauth/authorize?"+authQuery(clientID).Encode())
	if r.status == http.StatusSeeOther && r.location().Path == "/signin" {
		e.signIn(c)
		r = e.get(c, "/oauth/authorize?"+authQuery(clientID).Encode())
	}
	if r.status == http.StatusOK {
		f := consentForm(e.t, r.body)
		f.Set("decision", "allow")
		r = e.post(c, "/oauth/authorize/consent", f)
	}
	if r.status != http.StatusSeeOther || r.location().Query().Get("code") == "" {
		e.t.Fatalf("authorize: %d %v %s", r.status, r.header.Get("Location"), r.body)
	}
	return r.location().Query().Get("code")
}

func (e *env) exchange(code, clientID, secret string) resp {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	if secret == "" {
		f.Set("client_id", clientID)
		return e.post(http.DefaultClient, "/oauth/token", f)
	}
	return e.post(http.DefaultClient, "/oauth/token", f, basic(clientID, secret))
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	r := e.get(http.DefaultClient, "/.well-known/openid-configuration")
	m := r.json(t)
	if m["issuer"] != e.srv.URL || m["authorization_endpoint"] != e.srv.URL+"/oauth/authorize" {
		t.Errorf("discovery issuer %v, authorize %v; want %s", m["issuer"], m["authorization_endpoint"], e.srv.URL)
	}
	if got := m["code_challenge_methods_supported"]; len(got.([]any)) != 1 || got.([]any)[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
	has := func(member, value string) bool {
		l, _ := m[member].([]any)
		for _, v := range l {
			if v == value {
				return true
			}
		}
		return false
	}
	for _, want := range [][2]string{
		{"id_token_signing_alg_values_supported", "RS256"},
		{"id_token_signing_alg_values_supported", "EdDSA"},
		{"grant_types_supported", restauth.GrantDeviceCode},
		{"grant_types_supported", restauth.GrantClientCredentials},
	} {
		if !has(want[0], want[1]) {
			t.Errorf("%s = %v, want it to include %s", want[0], m[want[0]], want[1])
		}
	}
	if m["device_authorization_endpoint"] != e.srv.URL+"/oauth/device_authorization" {
		t.Errorf("device_authorization_endpoint = %v, want %s/oauth/device_authorization", m["device_authorization_endpoint"], e.srv.URL)
	}
	var set struct {
		Keys []struct{ Kty, Alg, Kid string }
	}
	json.Unmarshal([]byte(e.get(http.DefaultClient, "/.well-known/jwks.json").body), &set)
	algs := map[string]bool{}
	for _, k := range set.Keys {
		algs[k.Alg] = true
	}
	if !algs["RS256"] || !algs["EdDSA"] {
		t.Errorf("JWKS algorithms %v, want RS256 and EdDSA", algs)
	}
}

// TestOIDCOff checks that without an issuer there is nothing of OAuth.
func TestOIDCOff(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "off.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, ring := teststore.NewService(t, st, restauth.DefaultConfig(), password.New(password.Options{Params: teststore.FastParams}), nil)
	var h http.Handler = httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: svc, JWKS: ring.JWKS, Ready: st.Ping})
	h = pages.NewServer(pages.Config{}, pages.Deps{Service: svc}, oidc.NewServer(oidc.Deps{Service: svc}, h))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/.well-known/openid-configuration", "/oauth/authorize", "/oauth/token", "/oauth/userinfo"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s with OpenID Connect off: %d, want 404", p, res.StatusCode)
		}
	}
}

// TestRedirectURIExact checks that every near miss of a registered redirect
// URI, and an unknown client, get an error page and never a redirect.
func TestRedirectURIExact(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	e.signIn(c)
	for _, tt := range []struct{ name, client, uri string }{
		{"trailing slash", e.pub.ID, redirect + "/"},
		{"case", e.pub.ID, "https://APP.example/cb"},
		{"path case", e.pub.ID, "https://app.example/Cb"},
		{"extra path", e.pub.ID, redirect + "/x"},
		{"extra query", e.pub.ID, redirect + "?x=1"},
		{"fragment", e.pub.ID, redirect + "#x"},
		{"userinfo", e.pub.ID, "https://app.example@evil.example/cb"},
		{"good@evil", e.pub.ID, "https://good@evil.example/cb"},
		{"another port", e.pub.ID, "https://app.example:444/cb"},
		{"http for https", e.pub.ID, "http://app.example/cb"},
		{"loopback, another path", e.pub.ID, "http://127.0.0.1:5555/other"},
		{"localhost for loopback", e.pub.ID, "http://localhost:5555/native"},
		{"unknown client", "nope", redirect},
		{"no client", "", redirect},
	} {
		before := e.snapshot()
		r := e.get(c, "/oauth/authorize?"+authQuery(tt.client, "redirect_uri", tt.uri, "client_id", tt.client).Encode())
		e.unchanged(tt.name, before, "counters")
		if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d Location %q type %q, want a 400 error page and no redirect", tt.name, r.status, r.header.Get("Location"), r.header.Get("Content-Type"))
		}
		if strings.Contains(r.body, "evil") {
			t.Errorf("%s: the error page repeats request text", tt.name)
		}
	}
	// A native client's loopback redirect may use any port.
	r := e.get(c, "/oauth/authorize?"+authQuery(e.pub.ID, "redirect_uri", "http://127.0.0.1:5555/native").Encode())
	if r.status != http.StatusOK {
		t.Errorf("loopback redirect on another port: %d, want the consent page", r.status)
	}
}

// TestAuthorizeErrorsRedirect checks that refusals after the redirect URI
// is verified go back to the client with error, state and iss.
func TestAuthorizeErrorsRedirect(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	for _, tt := range []struct {
		name  string
		extra []string
		want  string
	}{
		{"implicit flow", []string{"response_type", "token"}, "unsupported_response_type"},
		{"plain PKCE", []string{"code_challenge_method", "plain", "code_challenge", verifier}, "invalid_request"},
		{"no challenge", []string{"code_challenge", "", "code_challenge_method", ""}, "invalid_request"},
		{"challenge too short", []string{"code_challenge", "abc"}, "invalid_request"},
		{"challenge alphabet", []string{"code_challenge", strings.Repeat("*", 43)}, "invalid_request"},
		{"unknown scope", []string{"scope", "openid admin"}, "invalid_scope"},
		{"prompt=none, signed out", []string{"prompt", "none"}, "login_required"},
	} {
		before := e.snapshot()
		r := e.get(c, "/oauth/authorize?"+authQuery(e.pub.ID, tt.extra...).Encode())
		e.unchanged(tt.name, before, "counters")
		loc := r.location()
		if r.status != http.StatusSeeOther || loc == nil || loc.Host != "app.example" {
			t.Errorf("%s: %d to %v, want a redirect to the client", tt.name, r.status, r.header.Get("Location"))
			continue
		}
		q := loc.Query()
		if q.Get("error") != tt.want || q.Get("state") != "xyz" || q.Get("iss") != e.srv.URL || q.Get("code") != "" {
			t.Errorf("%s: redirect query %v, want error %s, state xyz, iss %s", tt.name, q, tt.want, e.srv.URL)
		}
	}
}

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	c := e.browser()

	// Wrong secret, secret in the query string, public client_credentials.
	code := e.code(c, e.conf.ID)
	before := e.snapshot()
	r := e.exchange(code, e.conf.ID, e.secret+"x")
	if r.status != 401 || r.json(t)["error"] != "invalid_client" || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("wrong secret: %d %s, want 401 invalid_client with a challenge", r.status, r.body)
	}
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/oauth/token?client_id="+e.conf.ID+"&client_secret="+e.secret, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.do(http.DefaultClient, req); r.status != 400 || r.json(t)["error"] != "invalid_request" {
		t.Errorf("secret in the query string: %d %s, want 400 invalid_request", r.status, r.body)
	}
	r = e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {e.pub.ID}})
	if r.status != 400 || r.json(t)["error"] != "unauthorized_client" {
		t.Errorf("public client_credentials: %d %s, want 400 unauthorized_client", r.status, r.body)
	}
	// PKCE at the token endpoint: no verifier, a short one, a bad alphabet.
	for _, v := range []string{"", "short", strings.Repeat("é", 30)} {
		f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {v}}
		if r := e.post(http.DefaultClient, "/oauth/token", f, basic(e.conf.ID, e.secret)); r.status != 400 || r.json(t)["error"] != "invalid_request" {
			t.Errorf("verifier %q: %d %s, want 400 invalid_request", v, r.status, r.body)
		}
	}
	// The code is bound to its client: another client's good secret does not redeem it.
	if r := e.exchange(code, e.other.ID, e.oSecret); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("another client: %d %s, want invalid_grant", r.status, r.body)
	}
	// None of the refusals above used the code or opened a session.
	e.unchanged("refused token requests", before, "counters")
	r = e.exchange(code, e.conf.ID, e.secret)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange: %d %s (Cache-Control %q), want 200 no-store", r.status, r.body, r.header.Get("Cache-Control"))
	}
	tok := r.json(t)
	if tok["token_type"] != "Bearer" || tok["id_token"] == nil || tok["refresh_token"] == nil {
		t.Errorf("token response %v, want a Bearer access token, an ID token and a refresh token", tok)
	}
	// Error responses are not cached either.
	if r := e.exchange(code, e.conf.ID, e.secret); r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("error response Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
	}
	// A refresh token of one client is refused for another, and not consumed.
	rt := tok["refresh_token"].(string)
	if r := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic(e.other.ID, e.oSecret)); r.status != 400 || r.json(t)["error"] != "invalid_grant" {
		t.Errorf("client B with A's refresh token: %d %s, want invalid_grant", r.status, r.body)
	}
	// The replay above revoked the session, so the refresh token is dead:
	// take a fresh code.
	tok = e.exchange(e.code(c, e.conf.ID), e.conf.ID, e.secret).json(t)
	rt = tok["refresh_token"].(string)
	if r := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic(e.other.ID, e.oSecret)); r.json(t)["error"] != "invalid_grant" {
		t.Errorf("client B with A's refresh token: %s, want invalid_grant", r.body)
	}
	if r := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic(e.conf.ID, e.secret)); r.status != 200 {
		t.Errorf("client A with its refresh token after B's attempt: %d %s, want 200", r.status, r.body)
	}
	// client_credentials for the confidential client: a token for itself.
	r = e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, basic(e.conf.ID, e.secret))
	cc := r.json(t)
	if r.status != 200 || cc["refresh_token"] != nil || cc["id_token"] != nil || cc["scope"] != "api" {
		t.Fatalf("client_credentials: %d %v, want an access token only, scope api", r.status, cc)
	}
	in := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {cc["access_token"].(string)}}, basic(e.conf.ID, e.secret)).json(t)
	if in["active"] != true || in["sub"] != "client:"+e.conf.ID || in["client_id"] != e.conf.ID || in["scope"] != "api" {
		t.Errorf("introspection of a client_credentials token: %v", in)
	}
	newSecret, err := e.svc.RotateOAuthClientSecret(context.Background(), e.conf.ID)
	if err != nil {
		t.Fatal(err)
	}
	in = e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {cc["access_token"].(string)}}, basic(e.conf.ID, newSecret)).json(t)
	if in["active"] != false {
		t.Errorf("client_credentials token after rotating the secret: %v, want inactive", in)
	}
}

// TestCodeConcurrentExchange sends one code twice at once: at most one
// exchange succeeds, and the replay revokes what it issued.
func TestCodeConcurrentExchange(t *testing.T) {
	e := newEnv(t)
	code := e.code(e.browser(), e.conf.ID)
	var wg sync.WaitGroup
	res := make([]resp, 2)
	for i := range res {
		wg.Go(func() { res[i] = e.exchange(code, e.conf.ID, e.secret) })
	}
	wg.Wait()
	ok := 0
	for _, r := range res {
		if r.status == 200 {
			ok++
			at := r.json(t)["access_token"].(string)
			in := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {at}}, basic(e.conf.ID, e.secret)).json(t)
			if in["active"] != false {
				t.Error("the access token from a replayed code is still active")
			}
		} else if r.json(t)["error"] != "invalid_grant" {
			t.Errorf("losing exchange: %d %s, want invalid_grant", r.status, r.body)
		}
	}
	if ok > 1 {
		t.Errorf("%d exchanges of one code succeeded, want at most one", ok)
	}
}

// TestFraming checks that the authorization, sign-in and consent pages
// refuse to be framed.
func TestFraming(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	check := func(name string, r resp) {
		t.Helper()
		if r.header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: X-Frame-Options %q, CSP %q; want DENY and frame-ancestors 'none'", name, r.header.Get("X-Frame-Options"), r.header.Get("Content-Security-Policy"))
		}
	}
	check("authorize (signed out)", e.get(c, "/oauth/authorize?"+authQuery(e.pub.ID).Encode()))
	check("authorize error page", e.get(c, "/oauth/authorize?client_id=nope"))
	check("sign-in", e.get(c, "/signin?return_to=%2Foauth%2Fauthorize%3Frequest_id%3Dx"))
	e.signIn(c)
	r := e.get(c, "/oauth/authorize?"+authQuery(e.pub.ID).Encode())
	if r.status != 200 {
		t.Fatalf("consent page: %d", r.status)
	}
	check("consent", r)
	if !strings.Contains(r.body, "Public App") {
		t.Error("the consent page does not show the client's registered name")
	}
}

// TestConsentForgery checks that consent is given only by a POST from this
// site, from the browser session that was shown the page.
func TestConsentForgery(t *testing.T) {
	e := newEnv(t)
	victim, attacker := e.browser(), e.browser()
	e.signIn(victim)
	e.signIn(attacker)
	r := e.get(victim, "/oauth/authorize?"+authQuery(e.pub.ID).Encode())
	f := consentForm(t, r.body)
	f.Set("decision", "allow")
	// A GET never approves.
	if r := e.get(victim, "/oauth/authorize/consent?"+f.Encode()); r.status == http.StatusSeeOther && r.location().Query().Get("code") != "" {
		t.Error("a GET approved the consent")
	}
	refused := e.snapshot()
	// From another site.
	r = e.post(victim, "/oauth/authorize/consent", f, func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
	})
	if r.status != http.StatusForbidden {
		t.Errorf("cross-site consent POST: %d, want 403", r.status)
	}
	// From another browser session, with the victim's form.
	if r := e.post(attacker, "/oauth/authorize/consent", f); r.status != http.StatusForbidden {
		t.Errorf("consent POST from another session: %d, want 403", r.status)
	}
	// With no session.
	if r := e.post(e.browser(), "/oauth/authorize/consent", f); r.status != http.StatusForbidden {
		t.Errorf("consent POST with no session: %d, want 403", r.status)
	}
	e.unchanged("refused consent POSTs", refused)
	// The victim's own POST still works, once.
	r = e.post(victim, "/oauth/authorize/consent", f)
	if r.status != http.StatusSeeOther || r.location().Query().Get("code") == "" {
		t.Errorf("the victim's consent: %d %s", r.status, r.header.Get("Location"))
	}
	if r := e.post(victim, "/oauth/authorize/consent", f); r.status == http.StatusSeeOther {
		t.Errorf("the same consent twice: %d, want refused", r.status)
	}
}

// TestIDTokenHintAlgNone checks that RP-initiated logout refuses an
// unsigned ID token, and follows a real one to a registered logout URI.
func TestIDTokenHintAlgNone(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	tok := e.exchange(e.code(c, e.conf.ID), e.conf.ID, e.secret).json(t)
	idt := tok["id_token"].(string)
	parts := strings.Split(idt, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	refused := e.snapshot()
	for _, hint := range []string{none, none + "x", parts[0] + "." + parts[1] + ".", "garbage"} {
		if r := e.get(c, "/oauth/logout?id_token_hint="+url.QueryEscape(hint)); r.status != 400 {
			t.Errorf("logout with hint %.30q…: %d, want 400", hint, r.status)
		}
	}
	// A real hint with an unregistered post_logout_redirect_uri is refused
	// before anything ends.
	if r := e.get(c, "/oauth/logout?"+url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode()); r.status != 400 {
		t.Errorf("logout to an unregistered URI: %d, want 400", r.status)
	}
	e.unchanged("refused logouts", refused)
	if in := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {tok["access_token"].(string)}}, basic(e.conf.ID, e.secret)).json(t); in["active"] != true {
		t.Error("the app's session ended although the logout was refused for its post_logout_redirect_uri")
	}
	// The browser session survived the refused attempts.
	if r := e.get(c, "/account"); r.status != 200 {
		t.Fatalf("account after refused logouts: %d, want 200", r.status)
	}
	r := e.get(c, "/oauth/logout?id_token_hint="+url.QueryEscape(idt))
	if r.status != http.StatusSeeOther || r.location().Path != "/signin" {
		t.Errorf("logout with a real hint: %d %s", r.status, r.header.Get("Location"))
	}
	in := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {tok["access_token"].(string)}}, basic(e.conf.ID, e.secret)).json(t)
	if in["active"] != false {
		t.Error("the app's access token is active after RP-initiated logout")
	}
}

func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	tok := e.exchange(e.code(e.browser(), e.conf.ID), e.conf.ID, e.secret).json(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	r := e.do(http.DefaultClient, req)
	if m := r.json(t); r.status != 200 || m["preferred_username"] != "alice" || m["sub"] == "" {
		t.Errorf("userinfo: %d %v", r.status, m)
	}
	// The client's access token is not restauth's own API's.
	req, _ = http.NewRequest("GET", e.srv.URL+"/api/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	if r := e.do(http.DefaultClient, req); r.status != 401 {
		t.Errorf("/api/users/me with a client's token: %d, want 401", r.status)
	}
	req, _ = http.NewRequest("GET", e.srv.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer nope")
	if r := e.do(http.DefaultClient, req); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("userinfo with a bad token: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

// TestConnectedApps checks that removing an app on the account page revokes
// its tokens at once.
func TestConnectedApps(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	code := e.code(c, e.pub.ID)
	tok := e.exchange(code, e.pub.ID, "").json(t)
	r := e.get(c, "/account")
	if !strings.Contains(r.body, "Public App") {
		t.Fatalf("the account page does not list the connected app: %d %s", r.status, r.body)
	}
	if r := e.post(c, "/account/apps/remove", url.Values{"client_id": {e.pub.ID}}); r.status != http.StatusSeeOther {
		t.Fatalf("remove app: %d", r.status)
	}
	in := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {tok["access_token"].(string)}}, basic(e.conf.ID, e.secret)).json(t)
	if in["active"] != false {
		t.Error("the removed app's access token is still active")
	}
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {e.pub.ID}}
	refused := e.snapshot()
	if r := e.post(http.DefaultClient, "/oauth/token", f); r.status != 400 {
		t.Errorf("the removed app's refresh token: %d, want 400", r.status)
	}
	e.unchanged("the removed app's refresh token", refused)
	// Asking again shows the consent page again.
	if r := e.get(c, "/oauth/authorize?"+authQuery(e.pub.ID).Encode()); r.status != 200 {
		t.Errorf("authorize after removal: %d, want the consent page", r.status)
	}
}

var deviceHidden = regexp.MustCompile(`name="(user_code|device_token)" value="([^"]*)"`)

// TestDeviceGrant walks RFC 8628: the device asks, polls (pending, then
// slow_down), the person enters the code on /device and approves, and the
// next poll gets the tokens, once.
func TestDeviceGrant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tv, _, err := e.svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Living Room TV", Public: true,
		Grants: []string{restauth.GrantDeviceCode, restauth.GrantRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}, "scope": {"openid profile"}})
	da := r.json(t)
	if r.status != 200 || da["device_code"] == nil || da["verification_uri"] != e.srv.URL+"/device" || da["interval"] != float64(5) {
		t.Fatalf("device authorization: %d %v", r.status, da)
	}
	poll := func() map[string]any {
		return e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {restauth.GrantDeviceCode},
			"device_code": {da["device_code"].(string)}, "client_id": {tv.ID}}).json(t)
	}
	// With the clock stopped, the second poll comes within the interval
	// however long the machine takes between the two.
	e.clock.stop()
	if got := poll()["error"]; got != "authorization_pending" {
		t.Errorf("first poll: %v, want authorization_pending", got)
	}
	if got := poll()["error"]; got != "slow_down" {
		t.Errorf("immediate second poll: %v, want slow_down", got)
	}
	e.clock.start()
	// Another client cannot poll it.
	if got := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {restauth.GrantDeviceCode},
		"device_code": {da["device_code"].(string)}, "client_id": {e.pub.ID}}).json(t)["error"]; got != "unauthorized_client" && got != "invalid_grant" {
		t.Errorf("poll by another client: %v", got)
	}

	c := e.browser()
	if r := e.get(c, "/device?user_code="+url.QueryEscape(da["user_code"].(string))); r.status != http.StatusSeeOther || r.location().Path != "/signin" {
		t.Fatalf("/device signed out: %d %s, want the sign-in page", r.status, r.header.Get("Location"))
	}
	e.signIn(c)
	refused := e.snapshot()
	if r := e.post(c, "/device", url.Values{"user_code": {"BCDF-GHJK"}}); r.status != 400 {
		t.Errorf("a wrong code: %d, want 400", r.status)
	}
	e.unchanged("a wrong device code", refused, "counters")
	r = e.post(c, "/device", url.Values{"user_code": {strings.ToLower(da["user_code"].(string))}})
	if r.status != 200 || !strings.Contains(r.body, "Living Room TV") {
		t.Fatalf("confirmation: %d, want the client's name", r.status)
	}
	f := url.Values{}
	for _, m := range deviceHidden.FindAllStringSubmatch(r.body, -1) {
		f.Set(m[1], m[2])
	}
	f.Set("decision", "allow")
	other := e.browser()
	e.signIn(other)
	refused = e.snapshot()
	if r := e.post(other, "/device/decide", f); r.status != http.StatusForbidden {
		t.Errorf("decision from another browser session: %d, want 403", r.status)
	}
	e.unchanged("a device decision from another browser session", refused, "counters")
	if r := e.post(c, "/device/decide", f); r.status != 200 || !strings.Contains(r.body, "device-done") {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	tok := poll()
	if tok["access_token"] == nil || tok["id_token"] == nil || tok["refresh_token"] == nil {
		t.Fatalf("poll after approval: %v, want tokens", tok)
	}
	if got := poll()["error"]; got != "invalid_grant" {
		t.Errorf("poll after the tokens were issued: %v, want invalid_grant", got)
	}
}

var mfaHidden = regexp.MustCompile(`name="(mfa_token|return_to)" value="([^"]*)"`)

// TestAuthorizeThroughTOTP checks that an authorization request survives
// the sign-in's second step: the request is the return_to of the sign-in
// and of /signin/mfa, and the browser comes back to it with a code.
func TestAuthorizeThroughTOTP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.svc.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	p := &restauth.Principal{UserID: u.ID, Username: u.Username}
	enr, err := e.svc.EnrollTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	key, err := totptest.SecretOf(enr.URI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmTOTP(ctx, p, totptest.Now(key, 0), restauth.ClientMeta{}); err != nil {
		t.Fatal(err)
	}
	c := e.browser()
	r := e.get(c, "/oauth/authorize?"+authQuery(e.conf.ID).Encode())
	returnTo := r.location().Query().Get("return_to")
	if !strings.HasPrefix(returnTo, "/oauth/authorize?request_id=") {
		t.Fatalf("sign-in return_to %q, want the stored request", returnTo)
	}
	r = e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "return_to": {returnTo}})
	f := url.Values{}
	for _, m := range mfaHidden.FindAllStringSubmatch(r.body, -1) {
		f.Set(m[1], strings.ReplaceAll(m[2], "&amp;", "&"))
	}
	if f.Get("return_to") != returnTo || f.Get("mfa_token") == "" {
		t.Fatalf("second step form %v, want the request kept as return_to %q", f, returnTo)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://app.example") {
		t.Errorf("second step CSP %q, want the client's origin in form-action", csp)
	}
	f.Set("code", totptest.Now(key, 1))
	r = e.post(c, "/signin/mfa", f)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != returnTo {
		t.Fatalf("second step: %d to %q, want back to %q", r.status, r.header.Get("Location"), returnTo)
	}
	r = e.get(c, returnTo)
	if r.status != http.StatusSeeOther || r.location().Query().Get("code") == "" || r.location().Query().Get("state") != "xyz" {
		t.Fatalf("back at the request: %d %s, want a code and the state", r.status, r.header.Get("Location"))
	}
}

// TestIDTokenEdDSA checks that a client registered for EdDSA gets ID tokens
// an ordinary relying party (coreos/go-oidc) verifies with the published
// keys, at_hash included, and that such a token is a good id_token_hint.
func TestIDTokenEdDSA(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, secret, err := e.svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Ed", RedirectURIs: []string{redirect},
		Trusted: true, IDTokenAlg: restauth.IDTokenEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	tok := e.exchange(e.code(b, c.ID), c.ID, secret).json(t)
	raw := tok["id_token"].(string)
	provider, err := gooidc.NewProvider(ctx, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, algs := range [][]string{{gooidc.EdDSA}, {gooidc.RS256}} {
		idt, err := provider.Verifier(&gooidc.Config{ClientID: c.ID, SupportedSigningAlgs: algs}).Verify(ctx, raw)
		if algs[0] == gooidc.RS256 {
			if err == nil {
				t.Error("an EdDSA ID token verified as RS256")
			}
			continue
		}
		if err != nil {
			t.Fatalf("verify the EdDSA ID token: %v", err)
		}
		if err := idt.VerifyAccessToken(tok["access_token"].(string)); err != nil {
			t.Errorf("at_hash of the EdDSA ID token: %v", err)
		}
	}
	if r := e.get(b, "/oauth/logout?id_token_hint="+url.QueryEscape(raw)); r.status != http.StatusSeeOther {
		t.Errorf("logout with an EdDSA hint: %d, want a redirect", r.status)
	}
}

// TestLongAuthorizeSurvivesSignIn checks that an authorization request too
// long for the sign-in's 1024-byte return_to still comes back through the
// sign-in whole: it is stored, and return_to only names it.
func TestLongAuthorizeSurvivesSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	state, nonce := strings.Repeat("s", restauth.MaxOAuthParamLen), strings.Repeat("n", restauth.MaxOAuthParamLen)
	q := authQuery(e.conf.ID, "state", state, "nonce", nonce)
	if len(q.Encode()) <= 1024 {
		t.Fatalf("the request is %d bytes, want it over the return_to limit", len(q.Encode()))
	}
	r := e.get(c, "/oauth/authorize?"+q.Encode())
	returnTo := r.location().Query().Get("return_to")
	if len(returnTo) > 100 || !strings.HasPrefix(returnTo, "/oauth/authorize?request_id=") {
		t.Fatalf("return_to %q, want a short link to the stored request", returnTo)
	}
	r = e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "return_to": {returnTo}})
	if r.header.Get("Location") != returnTo {
		t.Fatalf("after sign-in: %d to %q, want %q", r.status, r.header.Get("Location"), returnTo)
	}
	r = e.get(c, returnTo)
	if got := r.location().Query().Get("state"); got != state {
		t.Errorf("state after the sign-in is %d bytes, want the %d sent, unchanged", len(got), len(state))
	}
	tok := e.exchange(r.location().Query().Get("code"), e.conf.ID, e.secret).json(t)
	parts := strings.Split(tok["id_token"].(string), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Nonce string }
	json.Unmarshal(payload, &claims)
	if claims.Nonce != nonce {
		t.Errorf("nonce in the ID token is %d bytes, want the %d sent", len(claims.Nonce), len(nonce))
	}
}

// TestIntrospectionIsPerClient checks who may learn what from token
// introspection: a client sees its own tokens only, a public client is
// refused, a spent refresh token is inactive, and the first-party surfaces
// (AuthenticateToken, and Introspect behind /api/introspect) refuse every
// token issued to a client.
func TestIntrospectionIsPerClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.exchange(e.code(e.browser(), e.conf.ID), e.conf.ID, e.secret).json(t)
	at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
	cc := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, basic(e.conf.ID, e.secret)).json(t)
	self := cc["access_token"].(string)
	_, own, err := e.svc.Login(ctx, "alice", "correct horse battery", restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(tok, id, secret string) map[string]any {
		t.Helper()
		return e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {tok}}, basic(id, secret)).json(t)
	}
	tests := []struct {
		name, tok, id, secret string
		active                bool
	}{
		{"own access token", at, e.conf.ID, e.secret, true},
		{"own refresh token", rt, e.conf.ID, e.secret, true},
		{"own client_credentials token", self, e.conf.ID, e.secret, true},
		{"another client's access token", at, e.other.ID, e.oSecret, false},
		{"another client's refresh token", rt, e.other.ID, e.oSecret, false},
		{"another client's client_credentials token", self, e.other.ID, e.oSecret, false},
		{"a first-party access token", own.AccessToken, e.conf.ID, e.secret, false},
		{"a first-party refresh token", own.RefreshToken, e.conf.ID, e.secret, false},
	}
	for _, tc := range tests {
		if got := introspect(tc.tok, tc.id, tc.secret); got["active"] != tc.active {
			t.Errorf("%s: %v, want active %v", tc.name, got, tc.active)
		}
	}

	// A public client cannot authenticate, so it may not introspect.
	refused := e.snapshot()
	r := e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {at}, "client_id": {e.pub.ID}})
	if r.status != http.StatusUnauthorized || r.json(t)["error"] != "invalid_client" {
		t.Errorf("public client introspects: %d %s, want 401 invalid_client", r.status, r.body)
	}
	e.unchanged("introspection by a public client", refused)
	for _, m := range e.get(http.DefaultClient, "/.well-known/openid-configuration").json(t)["introspection_endpoint_auth_methods_supported"].([]any) {
		if m == "none" {
			t.Errorf("discovery offers introspection without client authentication")
		}
	}

	// The first-party surfaces refuse clients' tokens.
	for name, tok := range map[string]string{"access token": at, "client_credentials token": self} {
		if p, err := e.svc.AuthenticateToken(ctx, tok); err == nil {
			t.Errorf("AuthenticateToken(%s) = %+v, want refused", name, p)
		}
		if c, active, err := e.svc.Introspect(ctx, tok); err != nil || active {
			t.Errorf("Introspect(%s) = %+v, %v, %v; want inactive", name, c, active, err)
		}
	}
	if _, active, err := e.svc.Introspect(ctx, own.AccessToken); err != nil || !active {
		t.Errorf("Introspect(first-party token) = %v, %v; want active", active, err)
	}

	// A refresh token, once rotated, is spent: inactive; its child is active.
	r = e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, basic(e.conf.ID, e.secret))
	if r.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	child := r.json(t)["refresh_token"].(string)
	if got := introspect(rt, e.conf.ID, e.secret); got["active"] != false {
		t.Errorf("rotated refresh token: %v, want inactive", got)
	}
	if got := introspect(child, e.conf.ID, e.secret); got["active"] != true {
		t.Errorf("its child: %v, want active", got)
	}
}

// startDevice registers a device client and starts a device authorization,
// returning its device code and user code.
func (e *env) startDevice() (client *restauth.OAuthClient, deviceCode, userCode string) {
	e.t.Helper()
	tv, _, err := e.svc.RegisterOAuthClient(context.Background(), restauth.OAuthClientSpec{Name: "TV", Public: true,
		Grants: []string{restauth.GrantDeviceCode}, Scopes: []string{"openid"}})
	if err != nil {
		e.t.Fatal(err)
	}
	da := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}, "scope": {"openid"}}).json(e.t)
	if da["device_code"] == nil {
		e.t.Fatalf("device authorization: %v", da)
	}
	return tv, da["device_code"].(string), da["user_code"].(string)
}

// TestDeviceDecideGuessing checks that /device/decide cannot be used to
// guess user codes: a token the person computes from their own cookie is
// refused, every decision counts against the person's budget as a look-up
// does, and the device stays pending.
func TestDeviceDecideGuessing(t *testing.T) {
	e := newEnv(t)
	tv, device, userCode := e.startDevice()
	c := e.browser()
	e.signIn(c)
	var cookie string
	for _, k := range c.Jar.Cookies(mustURL(t, e.srv.URL)) {
		cookie = k.Value
	}
	code := restauth.NormalizeUserCode(userCode)
	// Every token a person could compute without the server's secret: the
	// digest of their cookie and the code (the old scheme), an empty one.
	h := sha256.Sum256([]byte("restauth consent\x00" + cookie + "\x00device\x00" + code))
	refused := e.snapshot()
	for _, tok := range []string{base64.RawURLEncoding.EncodeToString(h[:]), ""} {
		r := e.post(c, "/device/decide", url.Values{"user_code": {userCode}, "device_token": {tok}, "decision": {"allow"}})
		if r.status != http.StatusForbidden {
			t.Errorf("decide with a self-computed token %q: %d, want 403", tok, r.status)
		}
	}
	e.unchanged("forged device decisions", refused, "counters")
	poll := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {restauth.GrantDeviceCode},
		"device_code": {device}, "client_id": {tv.ID}}).json(t)
	if poll["error"] != "authorization_pending" {
		t.Errorf("poll after forged decisions: %v, want authorization_pending", poll)
	}
	// The two refusals were counted: the rest of the budget, then 429, even
	// for the right code with its right token.
	for i := 2; i < restauth.DeviceUserCodeAttempts; i++ {
		r := e.post(c, "/device/decide", url.Values{"user_code": {"BCDF-GHJK"}, "device_token": {"x"}, "decision": {"allow"}})
		if r.status != http.StatusForbidden {
			t.Fatalf("decision %d: %d, want 403", i, r.status)
		}
	}
	if r := e.post(c, "/device", url.Values{"user_code": {userCode}}); r.status != http.StatusTooManyRequests {
		t.Errorf("look-up after %d decisions: %d, want 429", restauth.DeviceUserCodeAttempts, r.status)
	}
}

// TestDeviceMissesPerAddress checks that unknown user codes are counted
// per client address too, so that many accounts do not multiply the
// guessing budget.
func TestDeviceMissesPerAddress(t *testing.T) {
	e := newEnv(t)
	_, _, userCode := e.startDevice()
	ctx := context.Background()
	perUser := restauth.DeviceUserCodeAttempts - 1
	misses := 0
	for i := 0; misses < restauth.DeviceUserCodeIPMisses; i++ {
		name := "guesser" + strconv.Itoa(i)
		if _, err := e.svc.AddUser(ctx, name, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		c := e.browser()
		if r := e.post(c, "/signin", url.Values{"username": {name}, "password": {"correct horse battery"}}); r.status != http.StatusSeeOther {
			t.Fatalf("sign in %s: %d", name, r.status)
		}
		for j := 0; j < perUser && misses < restauth.DeviceUserCodeIPMisses; j++ {
			if r := e.post(c, "/device", url.Values{"user_code": {"BCDF-GHJK"}}); r.status != http.StatusBadRequest {
				t.Fatalf("miss %d: %d, want 400", misses, r.status)
			}
			misses++
		}
	}
	// A fresh account from the same address is refused too, with the right
	// code.
	c := e.browser()
	e.signIn(c)
	if r := e.post(c, "/device", url.Values{"user_code": {userCode}}); r.status != http.StatusTooManyRequests {
		t.Errorf("look-up after %d misses from this address: %d, want 429", misses, r.status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestPromptLoginKeepsSession checks that prompt=login, a GET any site can
// send, asks for a fresh sign-in without ending the browser session, and
// that the sign-in it leads to completes the authorization.
func TestPromptLoginKeepsSession(t *testing.T) {
	cfg := restauth.DefaultConfig()
	// A leeway of a millisecond makes the sign-in below old enough, after
	// the sleep, for prompt=login to ask again.
	cfg.Leeway = time.Millisecond
	e := newEnvConfig(t, teststore.SQLite, cfg)
	c := e.browser()
	e.signIn(c)
	time.Sleep(10 * time.Millisecond)
	for _, extra := range [][]string{{"prompt", "login"}, {"max_age", "0"}} {
		r := e.get(c, "/oauth/authorize?"+authQuery(e.conf.ID, extra...).Encode())
		loc := r.location()
		if r.status != http.StatusSeeOther || loc.Path != "/signin" || loc.Query().Get("reauth") != "1" {
			t.Fatalf("%s=%s: %d %s, want the sign-in page with reauth=1", extra[0], extra[1], r.status, r.header.Get("Location"))
		}
		if r := e.get(c, "/account"); r.status != http.StatusOK {
			t.Fatalf("%s=%s ended the browser session: /account %d, want 200", extra[0], extra[1], r.status)
		}
		// The sign-in form is shown although someone is signed in.
		if r := e.get(c, loc.RequestURI()); r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
			t.Fatalf("%s=%s: sign-in page %d, want the form", extra[0], extra[1], r.status)
		}
		r = e.post(c, "/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}, "return_to": {loc.Query().Get("return_to")}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("sign in again: %d %s", r.status, r.body)
		}
		r = e.get(c, r.header.Get("Location"))
		if r.status != http.StatusSeeOther || r.location().Query().Get("code") == "" {
			t.Fatalf("%s=%s after signing in again: %d %s, want a code", extra[0], extra[1], r.status, r.header.Get("Location"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeviceScopeDefault checks that scope is optional at the device
// authorization endpoint and then means the client's registered scopes,
// while an unregistered scope is still refused.
func TestDeviceScopeDefault(t *testing.T) {
	e := newEnv(t)
	tv, _, err := e.svc.RegisterOAuthClient(context.Background(), restauth.OAuthClientSpec{Name: "TV", Public: true,
		Grants: []string{restauth.GrantDeviceCode}, Scopes: []string{"openid", "profile"}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}})
	da := r.json(t)
	if r.status != http.StatusOK || da["user_code"] == nil {
		t.Fatalf("device authorization without scope: %d %v, want 200", r.status, da)
	}
	c := e.browser()
	e.signIn(c)
	r = e.post(c, "/device", url.Values{"user_code": {da["user_code"].(string)}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "See your username") {
		t.Errorf("confirmation of a device without scope: %d, want the registered scopes shown", r.status)
	}
	refused := e.snapshot()
	if r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}, "scope": {"admin"}}); r.status != http.StatusBadRequest || r.json(t)["error"] != "invalid_scope" {
		t.Errorf("unregistered scope: %d %s, want 400 invalid_scope", r.status, r.body)
	}
	e.unchanged("device authorization for an unregistered scope", refused)
}

// TestRevokeClientCredentialsToken checks that RFC 7009 revocation ends a
// client_credentials token (its session has no user), on both stores, and
// that another client's revocation leaves it alone.
func TestRevokeClientCredentialsToken(t *testing.T) {
	teststore.ForEach(t, func(t *testing.T, kind teststore.Kind) {
		e := newEnvOn(t, kind)
		cc := e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, basic(e.conf.ID, e.secret)).json(t)
		tok, _ := cc["access_token"].(string)
		if tok == "" {
			t.Fatalf("client_credentials: %v", cc)
		}
		active := func() any {
			return e.post(http.DefaultClient, "/oauth/introspect", url.Values{"token": {tok}}, basic(e.conf.ID, e.secret)).json(t)["active"]
		}
		if r := e.post(http.DefaultClient, "/oauth/revoke", url.Values{"token": {tok}}, basic(e.other.ID, e.oSecret)); r.status != http.StatusOK || active() != true {
			t.Fatalf("revocation by another client: %d, active %v; want 200 and still active", r.status, active())
		}
		if r := e.post(http.DefaultClient, "/oauth/revoke", url.Values{"token": {tok}}, basic(e.conf.ID, e.secret)); r.status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		if got := active(); got != false {
			t.Errorf("client_credentials token after revocation: active %v, want false", got)
		}
		// The client gets a new token, on a new session.
		cc = e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api"}}, basic(e.conf.ID, e.secret)).json(t)
		tok, _ = cc["access_token"].(string)
		if got := active(); got != true {
			t.Errorf("a new client_credentials token after revocation: active %v, want true", got)
		}
	})
}

// TestRowCreationLimits checks that the rows anyone can make restauth
// store (device codes, authorization requests) are limited per client and
// client address.
func TestRowCreationLimits(t *testing.T) {
	e := newEnv(t)
	tv, _, err := e.svc.RegisterOAuthClient(context.Background(), restauth.OAuthClientSpec{Name: "TV", Public: true,
		Grants: []string{restauth.GrantDeviceCode}, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < restauth.DeviceCodesPerAddress; i++ {
		if r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}}); r.status != http.StatusOK {
			t.Fatalf("device authorization %d: %d %s, want 200", i, r.status, r.body)
		}
	}
	refused := e.snapshot()
	r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {tv.ID}})
	if r.status != http.StatusTooManyRequests || r.json(t)["error"] != "slow_down" || r.header.Get("Retry-After") == "" {
		t.Errorf("device authorization over the limit: %d %s (Retry-After %q), want 429 slow_down", r.status, r.body, r.header.Get("Retry-After"))
	}
	e.unchanged("device authorization over the limit", refused, "counters")
	// Another client from the same address has its own budget.
	if r := e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {e.pub.ID}}); r.status == http.StatusTooManyRequests {
		t.Errorf("another client's device authorization: %d, want its own budget", r.status)
	}

	b := e.browser()
	for i := 0; i < restauth.OAuthRequestsPerAddress; i++ {
		if r := e.get(b, "/oauth/authorize?"+authQuery(e.pub.ID).Encode()); r.status != http.StatusSeeOther {
			t.Fatalf("authorization request %d: %d, want a redirect to sign in", i, r.status)
		}
	}
	refused = e.snapshot()
	if r := e.get(b, "/oauth/authorize?"+authQuery(e.pub.ID).Encode()); r.status != http.StatusTooManyRequests {
		t.Errorf("authorization request over the limit: %d, want 429", r.status)
	}
	e.unchanged("authorization request over the limit", refused, "counters")
}
