package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/token"
	"github.com/restauth/restauth/verify"
)

const (
	testIssuer   = "https://auth.example"
	testAudience = "orders"
)

// clock is a manual clock for the JWKS and introspection caches.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// authServer plays restauth: a key ring and a JWKS endpoint that counts its
// requests.
type authServer struct {
	ring   *token.Ring
	store  *memKeyStore
	hits   atomic.Int64
	srv    *httptest.Server
	header atomic.Value // Cache-Control value, a string.
	status atomic.Int64 // Zero means 200.
}

func newAuthServer(t *testing.T) *authServer {
	t.Helper()
	a := &authServer{store: &memKeyStore{}}
	a.ring = token.NewRing(a.store, token.RingOptions{})
	if err := a.ring.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.header.Store("")
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.hits.Add(1)
		if cc := a.header.Load().(string); cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		if s := a.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		w.Write(a.ring.JWKS())
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *authServer) issue(t *testing.T, change func(c *restauth.Claims)) string {
	t.Helper()
	c := &restauth.Claims{
		Issuer: testIssuer, Audience: []string{testAudience}, UserID: 42, Username: "alice",
		SessionID: "s1", ExpiresAt: time.Now().Add(10 * time.Minute),
	}
	if change != nil {
		change(c)
	}
	tok, err := token.NewSigner(a.ring).Issue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (a *authServer) jwks(clk *clock) *verify.JWKS {
	j := verify.NewJWKS(a.srv.URL, a.srv.Client(), verify.JWKSOptions{})
	verify.SetJWKSClock(j, clk.Now)
	return j
}

// waitFor polls cond, for background fetches. The deadline only ends a
// test that would otherwise hang; a busy machine never comes near it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestJWKSFetch(t *testing.T) {
	a := newAuthServer(t)
	j := a.jwks(newClock())
	ctx := context.Background()
	want := ed25519.PublicKey(a.ring.SigningKey().PublicKey)
	for i := range 3 {
		pub, err := j.PublicKey(ctx, a.ring.SigningKey().ID)
		if err != nil || !pub.Equal(want) {
			t.Fatalf("PublicKey #%d = %x, %v; want %x", i, pub, err, want)
		}
	}
	if got := a.hits.Load(); got != 1 {
		t.Errorf("JWKS requests = %d, want 1", got)
	}
}

func TestJWKSRefetchOnUnknownKidIsRateLimited(t *testing.T) {
	a := newAuthServer(t)
	clk := newClock()
	j := a.jwks(clk)
	ctx := context.Background()
	if _, err := j.PublicKey(ctx, a.ring.SigningKey().ID); err != nil {
		t.Fatal(err)
	}

	// A key rotated in on the server is unknown to the client.
	nk, err := a.ring.Rotate(ctx, time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lookups := func(n int, kid string) (found int) {
		var wg sync.WaitGroup
		var ok atomic.Int64
		for range n {
			wg.Go(func() {
				_, err := j.PublicKey(ctx, kid)
				switch {
				case err == nil:
					ok.Add(1)
				case !errors.Is(err, token.ErrUnknownKey):
					t.Errorf("PublicKey error = %v, want ErrUnknownKey", err)
				}
			})
		}
		wg.Wait()
		return int(ok.Load())
	}
	steps := []struct {
		name      string
		advance   time.Duration
		kid       string
		wantFound int
		wantHits  int64
	}{
		{"within the interval: no fetch", 0, nk.ID, 0, 1},
		{"random kids within the interval: no fetch", 5 * time.Second, "nope", 0, 1},
		{"after the interval: one shared fetch", 5 * time.Second, nk.ID, 100, 2},
		{"unknown again at once: no fetch", 0, "still-nope", 0, 2},
		{"unknown after the interval: one fetch", verify.DefaultRefetchInterval, "still-nope", 0, 3},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if got := lookups(100, s.kid); got != s.wantFound {
			t.Errorf("%s: %d of 100 lookups found the key, want %d", s.name, got, s.wantFound)
		}
		if got := a.hits.Load(); got != s.wantHits {
			t.Errorf("%s: JWKS requests = %d, want %d", s.name, got, s.wantHits)
		}
	}
}

func TestJWKSMaxAge(t *testing.T) {
	tests := []struct {
		cacheControl string
		fresh        time.Duration
	}{
		{"", verify.DefaultMaxAge},
		{"public, max-age=60", time.Minute},
		{"Max-Age=3600, must-revalidate", time.Hour},
		{"max-age=999999999", 24 * time.Hour},
		{"no-store", 0},
	}
	for _, tc := range tests {
		t.Run(tc.cacheControl, func(t *testing.T) {
			a := newAuthServer(t)
			a.header.Store(tc.cacheControl)
			clk := newClock()
			j := a.jwks(clk)
			ctx := context.Background()
			kid := a.ring.SigningKey().ID
			if _, err := j.PublicKey(ctx, kid); err != nil {
				t.Fatal(err)
			}
			if tc.fresh > verify.DefaultRefetchInterval {
				clk.Advance(tc.fresh - time.Second)
				if _, err := j.PublicKey(ctx, kid); err != nil {
					t.Fatal(err)
				}
				if got := a.hits.Load(); got != 1 {
					t.Errorf("requests just before max-age = %d, want 1", got)
				}
			}
			clk.Advance(max(time.Second, verify.DefaultRefetchInterval))
			if _, err := j.PublicKey(ctx, kid); err != nil {
				t.Fatalf("PublicKey of a stale known key: %v, want it served", err)
			}
			waitFor(t, "a background refetch", func() bool { return a.hits.Load() == 2 })
		})
	}
}

func TestJWKSFailureKeepsKeys(t *testing.T) {
	a := newAuthServer(t)
	clk := newClock()
	j := a.jwks(clk)
	ctx := context.Background()
	kid := a.ring.SigningKey().ID
	if _, err := j.PublicKey(ctx, kid); err != nil {
		t.Fatal(err)
	}
	a.status.Store(http.StatusServiceUnavailable)
	clk.Advance(verify.DefaultMaxAge)
	if err := j.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("Refresh against a failing server: %v, want status 503", err)
	}
	if _, err := j.PublicKey(ctx, kid); err != nil {
		t.Errorf("PublicKey after a failed refetch: %v, want the old key", err)
	}
	_, err := j.PublicKey(ctx, "unknown")
	if !errors.Is(err, token.ErrUnknownKey) {
		t.Errorf("PublicKey(unknown) = %v, want ErrUnknownKey", err)
	}
}

// okp returns one JWK as a JSON object.
func okp(kid string, x []byte, extra ...string) string {
	m := map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": base64.RawURLEncoding.EncodeToString(x)}
	for i := 0; i < len(extra); i += 2 {
		if extra[i+1] == "" {
			delete(m, extra[i])
		} else {
			m[extra[i]] = extra[i+1]
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func set(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }

func TestJWKSDocuments(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	good := okp("good", pub)
	tests := []struct {
		name      string
		status    int
		body      string
		wantErr   bool
		wantFound bool
	}{
		{"valid", 200, set(good), false, true},
		{"without alg and use", 200, set(okp("good", pub, "alg", "", "use", "")), false, true},
		{"among foreign keys", 200, set(`{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}`, `{"kty":"OKP","kid":5}`, good), false, true},
		{"status 500", 500, set(good), true, false},
		{"status 204", 204, "", true, false},
		{"over 1 MiB", 200, `{"keys":[` + good + `],"pad":"` + strings.Repeat("a", verify.MaxJWKSSize) + `"}`, true, false},
		{"not JSON", 200, "<html>", true, false},
		{"keys not an array", 200, `{"keys":{}}`, true, false},
		{"no keys member", 200, `{}`, true, false},
		{"a bare array", 200, "[" + good + "]", true, false},
		{"empty set", 200, set(), false, false},
		{"RSA", 200, set(`{"kty":"RSA","kid":"good","n":"AQAB","e":"AQAB"}`), false, false},
		{"EC P-256", 200, set(`{"kty":"EC","crv":"P-256","kid":"good","x":"AA","y":"AA"}`), false, false},
		{"X25519", 200, set(okp("good", pub, "crv", "X25519")), false, false},
		{"alg RS256", 200, set(okp("good", pub, "alg", "RS256")), false, false},
		{"use enc", 200, set(okp("good", pub, "use", "enc")), false, false},
		{"private part", 200, set(okp("good", pub, "d", "AAAA")), false, false},
		{"short x", 200, set(okp("good", pub[:31])), false, false},
		{"padded x", 200, set(okp("good", pub, "x", base64.URLEncoding.EncodeToString(pub))), false, false},
		{"invalid kid", 200, set(okp("../good", pub)), false, false},
		{"duplicate kid", 200, set(good, okp("good", bytes.Repeat([]byte{1}, 32))), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			j := verify.NewJWKS(srv.URL, srv.Client(), verify.JWKSOptions{})
			if err := j.Refresh(context.Background()); (err != nil) != tc.wantErr {
				t.Errorf("Refresh error = %v, want error %v", err, tc.wantErr)
			}
			got, err := j.PublicKey(context.Background(), "good")
			if found := err == nil; found != tc.wantFound {
				t.Fatalf("PublicKey(good) = %x, %v; want found %v", got, err, tc.wantFound)
			}
			if tc.wantFound && !got.Equal(pub) {
				t.Errorf("PublicKey(good) = %x, want %x", got, pub)
			}
		})
	}
}

func FuzzParseJWKS(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(nil)
	f.Add([]byte(set(okp("good", pub))))
	f.Add([]byte(set(okp("good", pub), okp("good", pub))))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + strings.Repeat("A", 43) + `"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`{"keys":[null, 1, "x", {}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := verify.ParseJWKS(doc)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if !token.ValidKeyID(kid) || len(k) != ed25519.PublicKeySize {
				t.Fatalf("ParseJWKS accepted kid %q with a %d-byte key", kid, len(k))
			}
		}
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	good := verify.Options{JWKSURL: "https://auth.example/jwks", Issuer: testIssuer, Audience: testAudience}
	tests := []struct {
		name   string
		change func(o *verify.Options)
	}{
		{"no JWKS URL", func(o *verify.Options) { o.JWKSURL = "" }},
		{"relative JWKS URL", func(o *verify.Options) { o.JWKSURL = "/jwks" }},
		{"file JWKS URL", func(o *verify.Options) { o.JWKSURL = "file:///etc/passwd" }},
		{"no issuer", func(o *verify.Options) { o.Issuer = "" }},
		{"no audience", func(o *verify.Options) { o.Audience = "" }},
		{"introspection without URL", func(o *verify.Options) { o.Introspection = &verify.Introspection{ClientID: "svc"} }},
		{"introspection without client", func(o *verify.Options) {
			o.Introspection = &verify.Introspection{URL: "https://auth.example/introspect"}
		}},
	}
	if _, err := verify.New(good); err != nil {
		t.Fatalf("New(good options) = %v", err)
	}
	for _, tc := range tests {
		o := good
		tc.change(&o)
		if _, err := verify.New(o); err == nil {
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
}

type response struct {
	Error, Message string
}

// call sends a request with the given Authorization headers through the
// middleware and reports the status, challenge, error body and the claims
// the handler saw.
func call(t *testing.T, h http.Handler, auth ...string) (int, string, response, *restauth.Claims) {
	t.Helper()
	var seen *restauth.Claims
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(context.WithValue(req.Context(), seenKey{}, &seen)))
	var body response
	if rec.Code != http.StatusOK {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("error Content-Type = %q, want application/json", ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("error body %q: %v", rec.Body, err)
		}
	}
	return rec.Code, rec.Header().Get("WWW-Authenticate"), body, seen
}

type seenKey struct{}

// recordClaims is the protected handler: it stores the claims it was given.
var recordClaims = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := verify.ClaimsFromContext(r.Context())
	if !ok {
		http.Error(w, "no claims", http.StatusInternalServerError)
		return
	}
	*r.Context().Value(seenKey{}).(**restauth.Claims) = c
})

func newVerifier(t *testing.T, a *authServer, intro *verify.Introspection) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Options{
		JWKSURL: a.srv.URL + "/jwks", Issuer: testIssuer, Audience: testAudience,
		HTTPClient: a.srv.Client(), Introspection: intro,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMiddleware(t *testing.T) {
	a := newAuthServer(t)
	h := newVerifier(t, a, nil).Middleware(recordClaims)
	tok := a.issue(t, nil)
	expired := a.issue(t, func(c *restauth.Claims) {
		c.IssuedAt = time.Now().Add(-time.Hour)
		c.ExpiresAt = time.Now().Add(-50 * time.Minute)
	})
	otherAud := a.issue(t, func(c *restauth.Claims) { c.Audience = []string{"billing"} })
	const challenge = `Bearer error="invalid_token"`
	tests := []struct {
		name          string
		auth          []string
		wantStatus    int
		wantChallenge string
		wantMessage   string
	}{
		{"valid", []string{"Bearer " + tok}, 200, "", ""},
		{"lower-case scheme", []string{"bearer " + tok}, 200, "", ""},
		{"upper-case scheme", []string{"BEARER " + tok}, 200, "", ""},
		{"no header", nil, 401, "Bearer", "a bearer token is required"},
		{"Basic scheme", []string{"Basic YTpi"}, 401, "Bearer", "a bearer token is required"},
		{"scheme only", []string{"Bearer"}, 401, "Bearer", "a bearer token is required"},
		{"empty token", []string{"Bearer  "}, 401, "Bearer", "a bearer token is required"},
		{"token with space", []string{"Bearer " + tok + " x"}, 401, "Bearer", "a bearer token is required"},
		{"two headers", []string{"Bearer " + tok, "Bearer " + tok}, 401, "Bearer", "a bearer token is required"},
		{"garbage", []string{"Bearer a.b.c"}, 401, challenge, "token is malformed"},
		{"expired", []string{"Bearer " + expired}, 401, challenge, "token has expired"},
		{"other audience", []string{"Bearer " + otherAud}, 401, challenge, "token audience is not accepted"},
		{"refresh token", []string{"Bearer rt_" + strings.Repeat("x", 43)}, 401, challenge, "token is malformed"},
		{"tampered", []string{"Bearer " + tamper(tok)}, 401, challenge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, chal, body, claims := call(t, h, tc.auth...)
			if status != tc.wantStatus || chal != tc.wantChallenge {
				t.Fatalf("status %d, challenge %q; want %d, %q", status, chal, tc.wantStatus, tc.wantChallenge)
			}
			if status == 200 {
				if claims == nil || claims.UserID != 42 || claims.Username != "alice" {
					t.Errorf("handler saw claims %+v, want user 42 alice", claims)
				}
				return
			}
			if claims != nil {
				t.Error("handler ran for a refused request")
			}
			if body.Error != restauth.EInvalidToken || (tc.wantMessage != "" && body.Message != tc.wantMessage) {
				t.Errorf("body = %+v, want invalid_token %q", body, tc.wantMessage)
			}
		})
	}
}

// introspectionServer answers RFC 7662 requests from the set of active
// tokens, for client "svc" with secret "s3cret:x" (a colon, to check the
// credentials are form-encoded).
type introspectionServer struct {
	mu     sync.Mutex
	active map[string]bool
	hits   atomic.Int64
	broken atomic.Bool // Answer with something that is not JSON.
	srv    *httptest.Server
}

func newIntrospectionServer(t *testing.T) *introspectionServer {
	s := &introspectionServer{active: map[string]bool{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		id, secret, ok := r.BasicAuth()
		if !ok || id != "svc" || secret != "s3cret%3Ax" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.PostFormValue("token") == "" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		if s.broken.Load() {
			w.Write([]byte("<html>"))
			return
		}
		s.mu.Lock()
		active := s.active[r.PostFormValue("token")]
		s.mu.Unlock()
		fmt.Fprintf(w, `{"active":%t}`, active)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *introspectionServer) set(tok string, active bool) {
	s.mu.Lock()
	s.active[tok] = active
	s.mu.Unlock()
}

func TestIntrospection(t *testing.T) {
	a := newAuthServer(t)
	is := newIntrospectionServer(t)
	clk := newClock()
	cfg := &verify.Introspection{URL: is.srv.URL, ClientID: "svc", ClientSecret: "s3cret:x"}
	v := newVerifier(t, a, cfg)
	verify.SetIntrospectionClock(v, clk.Now)
	h := v.Middleware(recordClaims)

	live, revoked := a.issue(t, nil), a.issue(t, nil)
	is.set(live, true)
	is.set(revoked, false)

	steps := []struct {
		name       string
		setup      func()
		tok        string
		wantStatus int
		wantError  string
		wantHits   int64
	}{
		{"active", nil, live, 200, "", 1},
		{"active again: cached", nil, live, 200, "", 1},
		{"inactive", nil, revoked, 401, restauth.EInvalidToken, 2},
		{"inactive again: asked again", nil, revoked, 401, restauth.EInvalidToken, 3},
		{"locally invalid: not asked", nil, "a.b.c", 401, restauth.EInvalidToken, 3},
		{"revoked within the cache window: still cached", func() { is.set(live, false) }, live, 200, "", 3},
		{"revoked after the cache window", func() { clk.Advance(verify.DefaultIntrospectionCacheTTL) }, live, 401, restauth.EInvalidToken, 4},
		{"endpoint broken", func() { is.set(live, true); is.broken.Store(true) }, live, 503, restauth.EUnavailable, 5},
	}
	for _, s := range steps {
		if s.setup != nil {
			s.setup()
		}
		status, _, body, _ := call(t, h, "Bearer "+s.tok)
		if status != s.wantStatus || body.Error != s.wantError {
			t.Errorf("%s: status %d, error %q; want %d, %q", s.name, status, body.Error, s.wantStatus, s.wantError)
		}
		if got := is.hits.Load(); got != s.wantHits {
			t.Errorf("%s: introspection requests = %d, want %d", s.name, got, s.wantHits)
		}
	}

	// Wrong client credentials are the service's fault, not the token's.
	bad := newVerifier(t, a, &verify.Introspection{URL: is.srv.URL, ClientID: "svc", ClientSecret: "wrong"})
	if status, _, body, _ := call(t, bad.Middleware(recordClaims), "Bearer "+live); status != 503 || body.Error != restauth.EUnavailable {
		t.Errorf("wrong client secret: status %d, error %q; want 503 unavailable", status, body.Error)
	}
}

func TestClaimsFromContext(t *testing.T) {
	if c, ok := verify.ClaimsFromContext(context.Background()); ok || c != nil {
		t.Errorf("ClaimsFromContext(empty) = %v, %v; want nil, false", c, ok)
	}
	want := &restauth.Claims{UserID: 7}
	if c, ok := verify.ClaimsFromContext(verify.NewContext(context.Background(), want)); !ok || c != want {
		t.Errorf("ClaimsFromContext = %v, %v; want %v, true", c, ok, want)
	}
}

// tamper changes one character in the middle of the token's signature.
// Replacing the last characters is not enough: they may already hold the
// replacement, and the final base64url character carries padding bits that
// a lenient decoder ignores.
func tamper(tok string) string {
	i := len(tok) - 20
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// TestClientTokens checks that a resource server refuses access tokens
// issued to OAuth clients unless it opts in, and then sees their client_id
// and scope.
func TestClientTokens(t *testing.T) {
	a := newAuthServer(t)
	app := a.issue(t, func(c *restauth.Claims) { c.ClientID, c.Scope = "app1", "openid" })
	self := a.issue(t, func(c *restauth.Claims) { c.UserID, c.Username, c.ClientID, c.Scope = 0, "", "app1", "api" })
	for _, accept := range []bool{false, true} {
		v, err := verify.New(verify.Options{JWKSURL: a.srv.URL + "/jwks", Issuer: testIssuer, Audience: testAudience,
			HTTPClient: a.srv.Client(), AcceptClientTokens: accept})
		if err != nil {
			t.Fatal(err)
		}
		h := v.Middleware(recordClaims)
		for name, tok := range map[string]string{"user token of a client": app, "client_credentials token": self} {
			status, _, body, claims := call(t, h, "Bearer "+tok)
			if !accept {
				if status != 401 || body.Error != restauth.EInvalidToken || claims != nil {
					t.Errorf("%s, default options: status %d, body %+v; want 401 invalid_token", name, status, body)
				}
				continue
			}
			if status != 200 || claims == nil || claims.ClientID != "app1" {
				t.Errorf("%s, AcceptClientTokens: status %d, claims %+v; want 200 with client_id app1", name, status, claims)
			}
		}
		// A first-party token is accepted either way.
		if status, _, _, _ := call(t, h, "Bearer "+a.issue(t, nil)); status != 200 {
			t.Errorf("first-party token, AcceptClientTokens %v: status %d, want 200", accept, status)
		}
	}
}
