package restauth_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

const testIssuer = "https://auth.example"

// newOIDCService is newService with the OpenID Connect provider on.
func newOIDCService(t *testing.T) *restauth.Service {
	t.Helper()
	svc, _ := newService(t, restauth.DefaultConfig(), func(o *instance.Options) { o.OIDCIssuer = testIssuer })
	return svc
}

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"https://app.example/cb", "http://127.0.0.1/native", "http://[::1]:8080/v6?x=1", "com.example.app:/cb"}
	public := &restauth.OAuthClient{RedirectURIs: registered}
	confidential := &restauth.OAuthClient{RedirectURIs: registered, SecretHash: []byte("hash")}
	// A confidential client's loopback URIs match byte for byte only: the
	// any-port exception of RFC 8252 is for native apps.
	for _, tt := range []struct {
		uri  string
		want bool
	}{
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:51234/native", false},
		{"http://[::1]:8080/v6?x=1", true},
		{"http://[::1]:9/v6?x=1", false},
		{"http://[::1]/v6?x=1", false},
		{"https://app.example/cb", true},
	} {
		if got := restauth.MatchRedirectURI(confidential, tt.uri); got != tt.want {
			t.Errorf("MatchRedirectURI(confidential, %q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
	for _, tt := range []struct {
		uri  string
		want bool
	}{
		{"https://app.example/cb", true},
		{"https://app.example/cb/", false},
		{"https://APP.example/cb", false},
		{"https://app.example/CB", false},
		{"https://app.example/cb/extra", false},
		{"https://app.example/cb?x=1", false},
		{"https://app.example/cb#frag", false},
		{"https://app.example/cb#", false},
		{"https://app.example@evil.example/cb", false},
		{"https://good@app.example/cb", false},
		{"https://app.example:8443/cb", false},
		{"http://app.example/cb", false},
		{"https://app.example/%63b", false},
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:51234/native", true},
		{"http://127.0.0.1:51234/native/", false},
		{"http://127.0.0.1:0/native", false},
		{"http://127.0.0.1:99999/native", false},
		{"http://127.0.0.1:/native", false},
		{"http://127.0.0.1:80@evil.example/native", false},
		{"http://127.0.0.10/native", false},
		{"http://localhost/native", false},
		{"https://127.0.0.1/native", false},
		{"http://[::1]:9/v6?x=1", true},
		{"http://[::1]/v6?x=1", true},
		{"http://[::1]:9/v6?x=2", false},
		{"com.example.app:/cb", true},
		{"com.example.app:/cb2", false},
		{"", false},
	} {
		if got := restauth.MatchRedirectURI(public, tt.uri); got != tt.want {
			t.Errorf("MatchRedirectURI(public, %q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func TestCheckRedirectURI(t *testing.T) {
	for _, tt := range []struct {
		uri string
		ok  bool
	}{
		{"https://app.example/cb", true},
		{"http://127.0.0.1/cb", true},
		{"http://[::1]:8080/cb", true},
		{"com.example.app:/cb", true},
		{"http://app.example/cb", false},
		{"http://localhost/cb", false},
		{"https://app.example/cb#x", false},
		{"https://user@app.example/cb", false},
		{"javascript:alert(1)", false},
		{"/relative", false},
		{"https:///nohost", false},
		{"https://app.example/a b", false},
	} {
		if err := restauth.CheckRedirectURI(tt.uri); (err == nil) != tt.ok {
			t.Errorf("CheckRedirectURI(%q) = %v, want ok %v", tt.uri, err, tt.ok)
		}
	}
}

func TestValidCodeVerifier(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{strings.Repeat("a", 43), true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "=", false},
		{strings.Repeat("a", 42) + "é", false},
		{"AZaz09-._~" + strings.Repeat("b", 33), true},
	} {
		if got := restauth.ValidCodeVerifier(tt.v); got != tt.ok {
			t.Errorf("ValidCodeVerifier(%q) = %v, want %v", tt.v, got, tt.ok)
		}
	}
}

// oauthFixture is a user signed in to a browser session and a registered
// client.
type oauthFixture struct {
	svc      *restauth.Service
	user     *restauth.User
	sess     *restauth.Session
	client   *restauth.OAuthClient
	secret   string
	verifier string
}

func newOAuthFixture(t *testing.T, svc *restauth.Service, spec restauth.OAuthClientSpec) *oauthFixture {
	t.Helper()
	ctx := context.Background()
	u, err := svc.AddUser(ctx, "alice", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := svc.OpenBrowserSession(ctx, u, restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Name == "" {
		spec = restauth.OAuthClientSpec{Name: "Photos", RedirectURIs: []string{"https://app.example/cb"}}
	}
	c, secret, err := svc.RegisterOAuthClient(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	return &oauthFixture{svc: svc, user: u, sess: sess, client: c, secret: secret, verifier: strings.Repeat("v", 50)}
}

func (f *oauthFixture) query(extra ...string) url.Values {
	q := url.Values{
		"client_id": {f.client.ID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s t"}, "nonce": {"n1"},
		"code_challenge": {restauth.S256(f.verifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q
}

// code runs an authorization request to its code.
func (f *oauthFixture) code(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	ar, err := f.svc.ParseAuthorization(ctx, f.query())
	if err != nil {
		t.Fatalf("ParseAuthorization: %v", err)
	}
	loc, err := f.svc.IssueCode(ctx, ar, f.sess)
	if err != nil {
		t.Fatalf("IssueCode: %v", err)
	}
	u, _ := url.Parse(loc)
	if got := u.Query().Get("iss"); got != testIssuer {
		t.Errorf("iss in the redirect = %q, want %q", got, testIssuer)
	}
	if got := u.Query().Get("state"); got != "s t" {
		t.Errorf("state in the redirect = %q, want it unchanged", got)
	}
	return u.Query().Get("code")
}

func oauthCode(err error) string {
	var oe *restauth.OAuthError
	if errors.As(err, &oe) {
		return oe.Code
	}
	return restauth.ErrorCode(err)
}

func TestParseAuthorization(t *testing.T) {
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	for _, tt := range []struct {
		name     string
		q        url.Values
		code     string
		redirect bool
	}{
		{"good", f.query(), "", false},
		{"unknown client", f.query("client_id", "nope"), "invalid_request", false},
		{"unregistered redirect", f.query("redirect_uri", "https://evil.example/cb"), "invalid_request", false},
		{"redirect with a slash", f.query("redirect_uri", "https://app.example/cb/"), "invalid_request", false},
		{"repeated redirect", func() url.Values { q := f.query(); q.Add("redirect_uri", "https://evil.example/"); return q }(), "invalid_request", false},
		{"token response type", f.query("response_type", "token"), "unsupported_response_type", true},
		{"plain PKCE", f.query("code_challenge_method", "plain", "code_challenge", f.verifier), "invalid_request", true},
		{"missing challenge", f.query("code_challenge", ""), "invalid_request", true},
		{"missing method", f.query("code_challenge_method", ""), "invalid_request", true},
		{"short challenge", f.query("code_challenge", "abc"), "invalid_request", true},
		{"challenge with a bad alphabet", f.query("code_challenge", strings.Repeat("+", 43)), "invalid_request", true},
		{"unknown scope", f.query("scope", "openid admin"), "invalid_scope", true},
		{"no scope", f.query("scope", ""), "invalid_scope", true},
		{"bad prompt", f.query("prompt", "always"), "invalid_request", true},
		{"bad max_age", f.query("max_age", "-1"), "invalid_request", true},
		{"max_age over the int32 range", f.query("max_age", "2147483648"), "invalid_request", true},
		{"max_age of ten nines", f.query("max_age", "9999999999"), "invalid_request", true},
		{"max_age at the int32 bound", f.query("max_age", "2147483647"), "", false},
		{"missing response type", f.query("response_type", ""), "invalid_request", true},
		{"request object", f.query("request", "x"), "request_not_supported", true},
	} {
		ar, err := svc.ParseAuthorization(context.Background(), tt.q)
		var oe *restauth.OAuthError
		errors.As(err, &oe)
		if oauthCode(err) != tt.code || (oe != nil && oe.Redirect != tt.redirect) {
			t.Errorf("%s: error %v, want code %q redirect %v", tt.name, err, tt.code, tt.redirect)
		}
		if tt.redirect && (ar == nil || ar.RedirectURI != "https://app.example/cb") {
			t.Errorf("%s: request %+v, want one that names the registered redirect URI", tt.name, ar)
		}
	}
}

func TestExchangeCode(t *testing.T) {
	ctx := context.Background()
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	meta := restauth.ClientMeta{}

	other, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Other", RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	c := f.code(t)
	for _, tt := range []struct {
		name     string
		client   *restauth.OAuthClient
		redirect string
		verifier string
		want     string
	}{
		{"another client", other, "https://app.example/cb", f.verifier, "invalid_grant"},
		{"another redirect URI", f.client, "https://app.example/cb/", f.verifier, "invalid_grant"},
		{"a wrong verifier", f.client, "https://app.example/cb", strings.Repeat("w", 50), "invalid_grant"},
		{"no verifier", f.client, "https://app.example/cb", "", "invalid_request"},
		{"a short verifier", f.client, "https://app.example/cb", "abc", "invalid_request"},
	} {
		if _, err := svc.ExchangeCode(ctx, tt.client, c, tt.redirect, tt.verifier, meta); oauthCode(err) != tt.want {
			t.Errorf("exchange with %s: %v, want %s", tt.name, err, tt.want)
		}
	}
	// The refusals above did not consume the code.
	tok, err := svc.ExchangeCode(ctx, f.client, c, "https://app.example/cb", f.verifier, meta)
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	if tok.IDToken == "" || tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatalf("tokens %+v, want an access, refresh and ID token", tok)
	}
	// The client's access token is not one for restauth's own API.
	if _, err := svc.AuthenticateToken(ctx, tok.AccessToken); restauth.ErrorCode(err) != restauth.EInvalidToken {
		t.Errorf("AuthenticateToken(client token) = %v, want invalid_token", err)
	}
	claims, active, err := svc.IntrospectOAuth(ctx, f.client, tok.AccessToken)
	if err != nil || !active || claims.ClientID != f.client.ID || claims.Scope != "openid profile" {
		t.Errorf("IntrospectOAuth = %+v, %v, %v; want active with client_id and scope", claims, active, err)
	}
	// Nor is it one that first-party introspection vouches for.
	if claims, active, err := svc.Introspect(ctx, tok.AccessToken); err != nil || active {
		t.Errorf("Introspect(client token) = %+v, %v, %v; want inactive", claims, active, err)
	}
	// A replay fails and revokes what the code issued.
	if _, err := svc.ExchangeCode(ctx, f.client, c, "https://app.example/cb", f.verifier, meta); oauthCode(err) != "invalid_grant" {
		t.Errorf("replayed code: %v, want invalid_grant", err)
	}
	if _, active, _ := svc.IntrospectOAuth(ctx, f.client, tok.AccessToken); active {
		t.Error("the access token of a replayed code is still active")
	}
	if _, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "", meta); oauthCode(err) != "invalid_grant" {
		t.Errorf("refresh token of a replayed code: %v, want invalid_grant", err)
	}
}

func TestExchangeCodeConcurrently(t *testing.T) {
	ctx := context.Background()
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	c := f.code(t)
	const n = 6
	toks := make([]*restauth.OAuthTokens, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = svc.ExchangeCode(ctx, f.client, c, "https://app.example/cb", f.verifier, restauth.ClientMeta{})
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			// Every other attempt was a replay, so the winner's tokens
			// are revoked too.
			if _, active, _ := svc.IntrospectOAuth(ctx, f.client, toks[i].AccessToken); active {
				t.Error("the winner's access token is active after concurrent replays")
			}
		} else if oauthCode(err) != "invalid_grant" {
			t.Errorf("exchange %d: %v, want invalid_grant", i, err)
		}
	}
	if wins > 1 {
		t.Errorf("%d exchanges of one code succeeded, want at most 1", wins)
	}
}

func TestCodeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc := newOIDCService(t)
		f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
		c := f.code(t)
		time.Sleep(restauth.OAuthCodeTTL)
		if _, err := svc.ExchangeCode(ctx, f.client, c, "https://app.example/cb", f.verifier, restauth.ClientMeta{}); oauthCode(err) != "invalid_grant" {
			t.Errorf("exchange after %v: %v, want invalid_grant", restauth.OAuthCodeTTL, err)
		}
		c = f.code(t)
		time.Sleep(restauth.OAuthCodeTTL - time.Second)
		if _, err := svc.ExchangeCode(ctx, f.client, c, "https://app.example/cb", f.verifier, restauth.ClientMeta{}); err != nil {
			t.Errorf("exchange before expiry: %v", err)
		}
	})
}

func TestRefreshOAuth(t *testing.T) {
	ctx := context.Background()
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	b, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "B", RedirectURIs: []string{"https://b.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.ExchangeCode(ctx, f.client, f.code(t), "https://app.example/cb", f.verifier, restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RefreshOAuth(ctx, b, tok.RefreshToken, "", restauth.ClientMeta{}); oauthCode(err) != "invalid_grant" {
		t.Errorf("client B refreshing A's token: %v, want invalid_grant", err)
	}
	if _, err := svc.RefreshTokens(ctx, tok.RefreshToken, restauth.ClientMeta{}); restauth.ErrorCode(err) != restauth.EInvalidGrant {
		t.Errorf("first-party refresh of a client's token: %v, want invalid_grant", err)
	}
	if _, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "openid email", restauth.ClientMeta{}); oauthCode(err) != "invalid_scope" {
		t.Errorf("widening refresh: %v, want invalid_scope", err)
	}
	next, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "openid", restauth.ClientMeta{})
	if err != nil {
		t.Fatalf("RefreshOAuth (after the refusals, which must not consume it): %v", err)
	}
	c, _, _ := svc.IntrospectOAuth(ctx, f.client, next.AccessToken)
	if c == nil || c.Scope != "openid" {
		t.Errorf("narrowed token scope = %+v, want openid", c)
	}
	if _, err := svc.RefreshOAuth(ctx, f.client, next.RefreshToken, "", restauth.ClientMeta{}); err != nil {
		t.Errorf("second rotation: %v", err)
	}
}

func TestNextStep(t *testing.T) {
	ctx := context.Background()
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	parse := func(extra ...string) *restauth.AuthorizationRequest {
		ar, err := svc.ParseAuthorization(ctx, f.query(extra...))
		if err != nil {
			t.Fatal(err)
		}
		return ar
	}
	if st, err := svc.NextStep(ctx, parse(), nil); err != nil || st != restauth.StepSignIn {
		t.Errorf("nobody signed in: %v %v, want sign-in", st, err)
	}
	if _, err := svc.NextStep(ctx, parse("prompt", "none"), nil); oauthCode(err) != "login_required" {
		t.Errorf("prompt=none, nobody signed in: %v, want login_required", err)
	}
	if st, err := svc.NextStep(ctx, parse(), f.sess); err != nil || st != restauth.StepConsent {
		t.Errorf("no consent yet: %v %v, want consent", st, err)
	}
	if _, err := svc.NextStep(ctx, parse("prompt", "none"), f.sess); oauthCode(err) != "consent_required" {
		t.Errorf("prompt=none, no consent: %v, want consent_required", err)
	}
	p := &restauth.Principal{UserID: f.user.ID}
	if err := svc.Consent(ctx, p, parse("scope", "openid")); err != nil {
		t.Fatal(err)
	}
	if st, _ := svc.NextStep(ctx, parse("scope", "openid"), f.sess); st != restauth.StepRespond {
		t.Errorf("consented scopes: %v, want respond", st)
	}
	if st, _ := svc.NextStep(ctx, parse(), f.sess); st != restauth.StepConsent {
		t.Errorf("a new scope: %v, want consent", st)
	}
	if st, _ := svc.NextStep(ctx, parse("scope", "openid", "prompt", "consent"), f.sess); st != restauth.StepConsent {
		t.Errorf("prompt=consent: %v, want consent", st)
	}
	older := *f.sess
	older.CreatedAt = older.CreatedAt.Add(-restauth.DefaultConfig().Leeway - time.Second)
	if st, _ := svc.NextStep(ctx, parse("scope", "openid", "prompt", "login"), &older); st != restauth.StepSignIn {
		t.Errorf("prompt=login with an older session: %v, want sign-in", st)
	}
	// A sign-in on an instance whose clock lags, within the leeway, is
	// still after the request.
	// The request is parsed first and the sign-in placed against its
	// time, so that the time the machine takes in between does not count.
	ar := parse("scope", "openid", "prompt", "login")
	lagging := *f.sess
	lagging.CreatedAt = ar.CreatedAt.Add(-restauth.DefaultConfig().Leeway / 2)
	if st, _ := svc.NextStep(ctx, ar, &lagging); st != restauth.StepRespond {
		t.Errorf("prompt=login, signed in within the leeway: %v, want respond", st)
	}
	// A trusted client skips consent unless it asks with prompt=consent.
	trusted, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Own", Trusted: true, RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := svc.NextStep(ctx, parse("client_id", trusted.ID), f.sess); err != nil || st != restauth.StepRespond {
		t.Errorf("trusted client: %v %v, want respond", st, err)
	}
	if st, err := svc.NextStep(ctx, parse("client_id", trusted.ID, "prompt", "consent"), f.sess); err != nil || st != restauth.StepConsent {
		t.Errorf("trusted client, prompt=consent: %v %v, want consent", st, err)
	}
	// Removing the app forgets the consent.
	if err := svc.DisconnectApp(ctx, p, f.client.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := svc.NextStep(ctx, parse("scope", "openid"), f.sess); st != restauth.StepConsent {
		t.Errorf("after disconnecting: %v, want consent", st)
	}
}

func TestAuthenticateOAuthClient(t *testing.T) {
	ctx := context.Background()
	svc := newOIDCService(t)
	f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
	pub, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "SPA", Public: true, RedirectURIs: []string{"https://spa.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, id, secret string
		ok               bool
	}{
		{"right secret", f.client.ID, f.secret, true},
		{"wrong secret", f.client.ID, f.secret + "x", false},
		{"no secret", f.client.ID, "", false},
		{"unknown client", "nope", f.secret, false},
		{"public, no secret", pub.ID, "", true},
		{"public with a secret", pub.ID, "x", false},
	} {
		_, err := svc.AuthenticateOAuthClient(ctx, tt.id, tt.secret)
		if (err == nil) != tt.ok || (!tt.ok && oauthCode(err) != "invalid_client") {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	if _, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "x", Public: true,
		Grants: []string{restauth.GrantClientCredentials}}); restauth.ErrorCode(err) != restauth.EInvalid {
		t.Errorf("public client_credentials client: %v, want invalid_request", err)
	}
	secret, err := svc.RotateOAuthClientSecret(ctx, f.client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateOAuthClient(ctx, f.client.ID, f.secret); err == nil {
		t.Error("the old secret works after a rotation")
	}
	if _, err := svc.AuthenticateOAuthClient(ctx, f.client.ID, secret); err != nil {
		t.Errorf("the new secret: %v", err)
	}
}

// FuzzAuthorization sends arbitrary authorization requests: the parser
// never panics, refuses every redirect URI the client did not register
// without offering a redirect, and never redirects anywhere else.
func FuzzAuthorization(f *testing.F) {
	f.Add("https://app.example/cb", "code", "openid", "S256", strings.Repeat("a", 43), "none", "10")
	f.Add("http://127.0.0.1:8080/cb", "code", "openid profile", "plain", "x", "login", "")
	f.Add("https://app.example/cb#x", "token", "", "", "", "", "-1")
	f.Add("https://good@evil/cb", "code", "openid", "S256", "", "", "")
	svc := newOIDCServiceTB(f)
	ctx := context.Background()
	c, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "Fuzz",
		RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, redirect, rtype, scope, method, challenge, prompt, maxAge string) {
		q := url.Values{"client_id": {c.ID}, "redirect_uri": {redirect}, "response_type": {rtype}, "scope": {scope},
			"code_challenge_method": {method}, "code_challenge": {challenge}, "prompt": {prompt}, "max_age": {maxAge}}
		ar, err := svc.ParseAuthorization(ctx, q)
		registered := restauth.MatchRedirectURI(c, redirect)
		var oe *restauth.OAuthError
		if errors.As(err, &oe) && oe.Redirect || err == nil {
			if !registered || ar == nil || ar.RedirectURI != redirect {
				t.Fatalf("redirect offered for %q (registered %v): %+v", redirect, registered, ar)
			}
		}
		if err == nil && (ar.CodeChallenge == "" || method != "S256") {
			t.Fatalf("accepted without an S256 challenge: %+v", ar)
		}
	})
}

// newOIDCServiceTB wires a provider for a fuzz target, whose setup runs
// on a *testing.F.
func newOIDCServiceTB(tb testing.TB) *restauth.Service {
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "fuzz.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	inst, err := instance.New(context.Background(), st, instance.Options{Config: restauth.DefaultConfig(),
		Hasher: password.New(password.Options{Params: fastParams}), OIDCIssuer: testIssuer})
	if err != nil {
		tb.Fatal(err)
	}
	return inst.Service
}

// TestRefreshOAuthReuse checks that a client's refresh tokens rotate
// through restauth's family rules: within the grace window the parent
// returns the same child; after it, a reuse revokes the session.
func TestRefreshOAuthReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		svc := newOIDCService(t)
		f := newOAuthFixture(t, svc, restauth.OAuthClientSpec{})
		tok, err := svc.ExchangeCode(ctx, f.client, f.code(t), "https://app.example/cb", f.verifier, restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		first, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "", restauth.ClientMeta{})
		if err != nil {
			t.Fatal(err)
		}
		again, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "", restauth.ClientMeta{})
		if err != nil || again.RefreshToken != first.RefreshToken {
			t.Fatalf("parent within the grace window: %v, child %q; want the same child %q", err, again.RefreshToken, first.RefreshToken)
		}
		time.Sleep(restauth.DefaultConfig().RefreshGrace + time.Second)
		if _, err := svc.RefreshOAuth(ctx, f.client, tok.RefreshToken, "", restauth.ClientMeta{}); oauthCode(err) != "invalid_grant" {
			t.Fatalf("parent after the grace window: %v, want invalid_grant", err)
		}
		if _, err := svc.RefreshOAuth(ctx, f.client, first.RefreshToken, "", restauth.ClientMeta{}); oauthCode(err) != "invalid_grant" {
			t.Errorf("child after the reuse: %v, want invalid_grant (the family is revoked)", err)
		}
		if _, active, _ := svc.IntrospectOAuth(ctx, f.client, first.AccessToken); active {
			t.Error("the access token of a revoked family is active")
		}
	})
}

// TestClientIDNeverLooksLikeAFlag checks that a client id is drawn again
// when it would begin with "-", which a command line would take for a
// flag.
func TestClientIDNeverLooksLikeAFlag(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ids.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ids := []string{"-dash-first", "plain-second"}
	deps := restauth.Deps{NewID: func() (string, error) {
		id := ids[0]
		ids = ids[1:]
		return id, nil
	}}
	deps.OIDC.Store = st
	svc := restauth.NewService(restauth.DefaultConfig(), deps)
	c, _, err := svc.RegisterOAuthClient(context.Background(), restauth.OAuthClientSpec{Name: "CLI", RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "plain-second" {
		t.Errorf("client id = %q, want %q (the id beginning with a dash drawn again)", c.ID, "plain-second")
	}
}

// TestDeviceCodesCountedPerIPv6Block checks that device authorizations are
// counted per /64 for IPv6 clients, as every address limit is: rotating
// addresses within one subscriber's block buys no more stored codes.
func TestDeviceCodesCountedPerIPv6Block(t *testing.T) {
	st, raw := teststore.SQLite.Open(t)
	svc := newServiceOn(t, restauth.DefaultConfig(), st, func(o *instance.Options) { o.OIDCIssuer = testIssuer })
	ctx := context.Background()
	tv, _, err := svc.RegisterOAuthClient(ctx, restauth.OAuthClientSpec{Name: "TV", Public: true,
		Grants: []string{restauth.GrantDeviceCode}, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	start := func(ip string) error {
		_, err := svc.StartDeviceAuthorization(ctx, tv, "", restauth.ClientMeta{IP: ip})
		return err
	}
	for i := range restauth.DeviceCodesPerAddress {
		if err := start(fmt.Sprintf("2001:db8::%x", i+1)); err != nil {
			t.Fatalf("device authorization %d: %v, want success", i, err)
		}
	}
	// The budget's counter counts the refused request too; nothing else
	// may change.
	storesNothing(t, raw, "the refused device authorization", func() {
		if err := start("2001:db8::ffff"); restauth.ErrorCode(err) != restauth.ETooManyRequests {
			t.Errorf("device authorization from a new address in the same /64: %v, want %s", err, restauth.ETooManyRequests)
		}
	}, "counters")
	if err := start("2001:db8:0:1::1"); err != nil {
		t.Errorf("device authorization from another /64: %v, want success", err)
	}
}

// TestDeviceMissesCountedPerIPv6Block checks that unknown user codes are
// counted against the client's /64, like every other address limit: one
// subscriber rotating through its block gets one budget, and another
// block is not charged for it.
func TestDeviceMissesCountedPerIPv6Block(t *testing.T) {
	st, raw := teststore.SQLite.Open(t)
	svc := newServiceOn(t, restauth.DefaultConfig(), st, func(o *instance.Options) { o.OIDCIssuer = testIssuer })
	ctx := context.Background()
	// Each person may try DeviceUserCodeAttempts codes; enough people to
	// spend the block's budget of misses, each from its own address.
	misses := 0
	for person := int64(1); misses < restauth.DeviceUserCodeIPMisses; person++ {
		for i := 0; i < restauth.DeviceUserCodeAttempts && misses < restauth.DeviceUserCodeIPMisses; i++ {
			ip := fmt.Sprintf("2001:db8::%x", misses+1)
			_, _, err := svc.DeviceRequest(ctx, &restauth.Principal{UserID: person}, "WDJB-MJHT", restauth.ClientMeta{IP: ip})
			if code(err) != restauth.ENotFound {
				t.Fatalf("unknown user code %d from %s: %v, want %s", misses+1, ip, err, restauth.ENotFound)
			}
			misses++
		}
	}
	other := &restauth.Principal{UserID: 1000}
	// The budget's counter may count the refused request; nothing else
	// may change.
	storesNothing(t, raw, "the refused user code", func() {
		if _, _, err := svc.DeviceRequest(ctx, other, "WDJB-MJHT", restauth.ClientMeta{IP: "2001:db8::ffff"}); code(err) != restauth.ETooManyRequests {
			t.Errorf("a user code from a new address in the spent /64: %v, want %s", err, restauth.ETooManyRequests)
		}
	}, "counters")
	if _, _, err := svc.DeviceRequest(ctx, other, "WDJB-MJHT", restauth.ClientMeta{IP: "2001:db8:0:1::1"}); code(err) != restauth.ENotFound {
		t.Errorf("a user code from another /64: %v, want %s, not throttled", err, restauth.ENotFound)
	}
}

// storesNothing runs refused, which makes a request the test expects to be
// refused, and fails the test if any table of raw but except changed.
func storesNothing(t *testing.T, raw *sql.DB, what string, refused func(), except ...string) {
	t.Helper()
	before, err := teststore.TakeSnapshot(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	refused()
	after, err := teststore.TakeSnapshot(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if changed := before.Diff(after, except...); len(changed) > 0 {
		t.Errorf("%s changed the tables %q, want nothing stored", what, changed)
	}
}
