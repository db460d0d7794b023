package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/restauth/restauth/verify"
)

// TestVerifyPackageAgainstServer checks the public verify package against
// the real program: JWKS discovery, a valid token admitted with its claims,
// and, with introspection on, a logged-out session refused at once.
func TestVerifyPackageAgainstServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	base, _ := startServer(t, map[string]string{"RESTAUTH_DB": db},
		"--introspect-clients", "orders-service:0123456789abcdef")
	do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
	login := do(t, "POST", base+"/api/tokens", "", basicAuth("miguel", "python is fun"))
	access, _ := login.body["access_token"].(string)
	if access == "" {
		t.Fatalf("login: %d %s", login.status, login.raw)
	}

	opts := verify.Options{JWKSURL: base + "/.well-known/jwks.json", Issuer: "restauth", Audience: "restauth"}
	plain, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Introspection = &verify.Introspection{URL: base + "/api/introspect", ClientID: "orders-service", ClientSecret: "0123456789abcdef", CacheTTL: time.Nanosecond}
	strict, err := verify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var gotUser string
	handler := func(v *verify.Verifier) http.Handler {
		return v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := verify.ClaimsFromContext(r.Context())
			gotUser = c.Username
		}))
	}
	call := func(v *verify.Verifier) int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		handler(v).ServeHTTP(rec, req)
		return rec.Code
	}
	if code := call(plain); code != 200 || gotUser != "miguel" {
		t.Fatalf("verify via JWKS: status %d user %q, want 200 miguel", code, gotUser)
	}
	if code := call(strict); code != 200 {
		t.Fatalf("verify with introspection: status %d, want 200", code)
	}
	if r := do(t, "POST", base+"/api/logout", "", "Bearer "+access); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.raw)
	}
	if code := call(strict); code != 401 {
		t.Errorf("after logout with introspection: status %d, want 401", code)
	}
	// Without introspection a service trusts the signature until exp; the
	// documented trade-off.
	if code := call(plain); code != 200 {
		t.Errorf("after logout without introspection: status %d, want 200 (signature-only)", code)
	}
}
