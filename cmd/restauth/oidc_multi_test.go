package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// TestOIDCMultiInstance runs two instances on one database, as behind a
// load balancer at one public URL: a code issued by one is redeemed on the
// other, a refresh works on either, and a revocation on one is seen by the
// other. SQLite always; PostgreSQL too when RESTAUTH_TEST_POSTGRES is set.
func TestOIDCMultiInstance(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testOIDCMultiInstance(t, filepath.Join(t.TempDir(), "shared.db")) })
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("RESTAUTH_TEST_POSTGRES")
		if base == "" {
			t.Skip("RESTAUTH_TEST_POSTGRES not set")
		}
		testOIDCMultiInstance(t, freshPostgresSchema(t, base))
	})
}

func testOIDCMultiInstance(t *testing.T, db string) {
	env := map[string]string{"RESTAUTH_USER_PASSWORD": "correct horse battery"}
	addrA, addrB := freeAddr(t), freeAddr(t)
	public := "http://" + addrA
	a, logsA := startOIDCServerAt(t, addrA, db, public, env)
	b, logsB := startOIDCServerAt(t, addrB, db, public, env)
	out := runCommand(t, env, "client", "add", "Shared", "--db", db, "--trusted", "--redirect-uri", "https://app.example/cb")
	id, secret := field(out, "client_id"), field(out, "client_secret")
	runCommand(t, env, "user", "add", "alice", "--db", db)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := browser.PostForm(a+"/signin", url.Values{"username": {"alice"}, "password": {"correct horse battery"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on A: %v %v\n%s", res, err, logsA)
	}
	res.Body.Close()
	// The browser's cookie works on B too (same host, another port: cookies
	// ignore ports), as it would behind one public URL.
	const verifier = "a-verifier-of-enough-length-for-pkce-0123456789"
	q := url.Values{"client_id": {id}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
		"scope": {"openid profile"}, "state": {"s"}, "code_challenge": {restauth.S256(verifier)}, "code_challenge_method": {"S256"}}
	res, err = browser.Get(a + "/oauth/authorize?" + q.Encode())
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("authorize on A: %v %v", res, err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("iss") != public {
		t.Fatalf("authorize on A redirected to %s, want a code and iss %s", loc, public)
	}

	token := func(base string, f url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	st, tok := token(b, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}})
	if st != 200 {
		t.Fatalf("code from A redeemed on B: %d %v\n%s", st, tok, logsB)
	}
	// The same code on A is a replay, whichever instance sees it.
	if st, m := token(a, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code replayed on A: %d %v, want invalid_grant", st, m)
	}
	userinfo := func(base, at string) int {
		req, _ := http.NewRequest("GET", base+"/oauth/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+at)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if st := userinfo(a, tok["access_token"].(string)); st != 401 {
		t.Errorf("userinfo on A after the replay revoked the code's session: %d, want 401", st)
	}

	// A fresh code, redeemed on A and refreshed on B; then revoked on A
	// and refused on B.
	res, _ = browser.Get(b + "/oauth/authorize?" + q.Encode())
	res.Body.Close()
	loc, _ = url.Parse(res.Header.Get("Location"))
	st, tok = token(a, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}})
	if st != 200 {
		t.Fatalf("code from B redeemed on A: %d %v", st, tok)
	}
	st, tok = token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	if st != 200 {
		t.Fatalf("refresh on B: %d %v", st, tok)
	}
	at := tok["access_token"].(string)
	if st := userinfo(b, at); st != 200 {
		t.Fatalf("userinfo on B: %d", st)
	}
	req, _ := http.NewRequest("POST", a+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok["refresh_token"].(string)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("revoke on A: %v %v", res, err)
	}
	// Seen by B: polled with a generous bound, since a busy machine may
	// delay the revocation feed, which normally carries it within a second.
	deadline := time.Now().Add(30 * time.Second)
	for userinfo(b, at) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("B still accepts the access token 30s after A revoked its session")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
