package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/restauth/restauth/internal/browsertest"
	"golang.org/x/oauth2"
)

// startOIDCServer runs restauth serve with --public-url naming its own
// address, which must therefore be chosen first.
func startOIDCServer(t *testing.T, db string, env map[string]string) (base string, logs *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	return startOIDCServerAt(t, addr, db, "http://"+addr, env)
}

// startOIDCServerAt runs restauth serve on addr with the given public URL,
// which another instance may be serving too.
func startOIDCServerAt(t *testing.T, addr, db, publicURL string, env map[string]string) (base string, logs *syncBuffer) {
	t.Helper()
	base = "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		err := run(ctx, []string{"serve", "--addr", addr, "--db", db, "--public-url", publicURL}, func(k string) string { return env[k] },
			strings.NewReader(""), io.Discard, logs)
		close(exited)
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	waitReady(t, base, exited, logs)
	return base, logs
}

// runCommand runs one operator command on db and returns its standard output.
func runCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errs); err != nil {
		t.Fatalf("restauth %s: %v\n%s", strings.Join(args, " "), err, errs.String())
	}
	return out.String()
}

// field returns the value printed after "name: ".
func field(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// relyingParty is an ordinary OpenID Connect client built on coreos/go-oidc
// and golang.org/x/oauth2, knowing restauth only by its issuer URL.
type relyingParty struct {
	t        *testing.T
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	issuer   string

	mu       sync.Mutex
	state    string
	nonce    string
	pkce     string
	token    *oauth2.Token
	idToken  *oidc.IDToken
	userinfo *oidc.UserInfo
	err      error
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (rp *relyingParty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	switch r.URL.Path {
	case "/login":
		rp.state, rp.nonce, rp.pkce = randomString(), randomString(), oauth2.GenerateVerifier()
		http.Redirect(w, r, rp.conf.AuthCodeURL(rp.state, oidc.Nonce(rp.nonce), oauth2.S256ChallengeOption(rp.pkce)), http.StatusFound)
	case "/callback":
		q := r.URL.Query()
		rp.err = func() error {
			if q.Get("state") != rp.state {
				return fmt.Errorf("state %q, want %q", q.Get("state"), rp.state)
			}
			if q.Get("iss") != rp.issuer {
				return fmt.Errorf("iss %q, want %q (RFC 9207)", q.Get("iss"), rp.issuer)
			}
			if e := q.Get("error"); e != "" {
				return fmt.Errorf("authorization error %s: %s", e, q.Get("error_description"))
			}
			tok, err := rp.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(rp.pkce))
			if err != nil {
				return fmt.Errorf("exchange: %w", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := rp.verifier.Verify(ctx, raw)
			if err != nil {
				return fmt.Errorf("verify the ID token: %w", err)
			}
			if idt.Nonce != rp.nonce {
				return fmt.Errorf("nonce %q, want %q", idt.Nonce, rp.nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				return fmt.Errorf("at_hash: %w", err)
			}
			ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				return fmt.Errorf("userinfo: %w", err)
			}
			rp.token, rp.idToken, rp.userinfo = tok, idt, ui
			return nil
		}()
		if rp.err != nil {
			http.Error(w, rp.err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>RP</title><p id=who>signed in as %s</p>", rp.userinfo.Subject)
	default:
		http.NotFound(w, r)
	}
}

// TestOIDCEndToEnd runs the real server with --public-url, registers a
// client with restauth client add, and signs a person in to a relying party
// built on coreos/go-oidc through restauth's sign-in and consent pages in
// headless Chromium; the relying party verifies the ID token with the
// published keys, calls userinfo, and then refreshes.
func TestOIDCEndToEnd(t *testing.T) {
	browsertest.Path(t) // Skip before starting anything when Chromium is missing.
	dir := t.TempDir()
	db := filepath.Join(dir, "restauth.db")
	env := map[string]string{"RESTAUTH_USER_PASSWORD": "correct horse battery"}
	base, logs := startOIDCServer(t, db, env)

	rp := &relyingParty{t: t, issuer: base}
	rpSrv := httptest.NewServer(rp)
	t.Cleanup(rpSrv.Close)
	out := runCommand(t, env, "client", "add", "Photo Album", "--db", db, "--redirect-uri", rpSrv.URL+"/callback")
	clientID, secret := field(out, "client_id"), field(out, "client_secret")
	if clientID == "" || secret == "" {
		t.Fatalf("client add printed %q, want a client_id and a client_secret", out)
	}
	runCommand(t, env, "user", "add", "alice", "--db", db)

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatalf("discovery: %v\n%s", err, logs)
	}
	rp.provider = provider
	rp.conf = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: rpSrv.URL + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile"}}
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: clientID})

	bctx := browsertest.New(t)
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, logs)
		}
	}
	location := func() string {
		loc, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	// The relying party sends the browser to restauth, which asks it to
	// sign in, keeping the authorization request as return_to.
	do("open the relying party", chromedp.Navigate(rpSrv.URL+"/login"))
	if loc := location(); !strings.HasPrefix(loc, base+"/signin?return_to=%2Foauth%2Fauthorize%3Frequest_id%3D") {
		t.Fatalf("after /login the browser is at %s, want the sign-in page with the request as return_to", loc)
	}
	do("sign in", chromedp.SendKeys(chromedp.CSS("#f-username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("form.card button")))
	if loc := location(); !strings.HasPrefix(loc, base+"/oauth/authorize?request_id=") {
		t.Fatalf("after signing in the browser is at %s, want the consent page", loc)
	}
	name, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#h-consent")))
	if err != nil || !strings.Contains(name, "Photo Album") {
		t.Errorf("consent heading %q (%v), want the client's registered name", name, err)
	}
	do("allow", chromedp.Click(chromedp.CSS("#allow")))
	if loc := location(); !strings.HasPrefix(loc, rpSrv.URL+"/callback?") {
		t.Fatalf("after consenting the browser is at %s, want the relying party's callback", loc)
	}
	who, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	rp.mu.Lock()
	rpErr, tok, idt, ui := rp.err, rp.token, rp.idToken, rp.userinfo
	rp.mu.Unlock()
	if rpErr != nil || tok == nil {
		t.Fatalf("relying party: %v (page %q, %v)\n%s", rpErr, who, err, logs)
	}
	if idt.Issuer != base || idt.Audience[0] != clientID || idt.Subject != ui.Subject {
		t.Errorf("ID token iss %q aud %v sub %q, want %q [%s] %q", idt.Issuer, idt.Audience, idt.Subject, base, clientID, ui.Subject)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
		AuthTime          int64  `json:"auth_time"`
		Azp               string `json:"azp"`
		Sid               string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.PreferredUsername != "alice" || claims.AuthTime == 0 ||
		claims.Azp != clientID || claims.Sid == "" {
		t.Errorf("ID token claims %+v (%v), want preferred_username alice, auth_time, azp and sid", claims, err)
	}
	var info struct {
		PreferredUsername string `json:"preferred_username"`
	}
	if err := ui.Claims(&info); err != nil || info.PreferredUsername != "alice" {
		t.Errorf("userinfo %+v (%v), want preferred_username alice", info, err)
	}

	// The consent is remembered: a second sign-in goes straight back.
	do("sign in again", chromedp.Navigate(rpSrv.URL+"/login"))
	if loc := location(); !strings.HasPrefix(loc, rpSrv.URL+"/callback?") {
		t.Errorf("second sign-in ended at %s, want the callback at once", loc)
	}

	// Refresh through the token source, as a relying party does when the
	// access token has expired.
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	fresh, err := rp.conf.TokenSource(ctx, &stale).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Errorf("refresh gave %+v, want a new access and refresh token", fresh)
	}
	if raw, _ := fresh.Extra("id_token").(string); raw != "" {
		if _, err := rp.verifier.Verify(ctx, raw); err != nil {
			t.Errorf("refreshed ID token: %v", err)
		}
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err != nil {
		t.Errorf("userinfo with the refreshed token: %v", err)
	}
	// The old refresh token, replayed after the grace window, would revoke
	// the family; within it the same child comes back. Revoking the new
	// one (RFC 7009) ends the session at once.
	form := url.Values{"token": {fresh.RefreshToken}}
	req, _ := http.NewRequest("POST", base+"/oauth/revoke", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Error("userinfo accepted an access token whose session was revoked")
	}

	// restauth keys rotate stages a new ID-token key beside the new
	// access-token key.
	if out := runCommand(t, env, "keys", "rotate", "--db", db); !strings.Contains(out, "added ID-token key") {
		t.Errorf("keys rotate printed %q, want an ID-token key added", out)
	}
}
