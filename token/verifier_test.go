package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

type hostileCase struct {
	name    string
	tok     string
	wantMsg string // Empty: any invalid_token refusal will do.
}

// hostileTokens returns tokens that must all be refused by a Verifier over r
// for testIssuer and testAudience at now.
func hostileTokens(tb testing.TB, r *Ring, now time.Time) []hostileCase {
	tb.Helper()
	kid, priv := ringPrivate(tb, r)
	pub := priv.Public().(ed25519.PublicKey)
	hdr, cl := validHeader(kid), validClaims(now)
	sign := edSign(priv)
	valid := rawToken(tb, hdr, cl, sign)
	parts := strings.Split(valid, ".")

	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[10] ^= 0x01
	flipped := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	tampered := strings.Split(rawToken(tb, hdr, with(cl, "sub", "1"), nil), ".")[1]

	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)

	cases := []hostileCase{
		{"alg none", rawToken(tb, with(hdr, "alg", "none"), cl, nil), "token algorithm is not accepted"},
		{"alg None", rawToken(tb, with(hdr, "alg", "None"), cl, nil), "token algorithm is not accepted"},
		{"alg NONE", rawToken(tb, with(hdr, "alg", "NONE"), cl, nil), "token algorithm is not accepted"},
		{"alg nOnE", rawToken(tb, with(hdr, "alg", "nOnE"), cl, nil), "token algorithm is not accepted"},
		{"alg none with a signature", rawToken(tb, with(hdr, "alg", "none"), cl, sign), "token algorithm is not accepted"},
		{"alg missing", rawToken(tb, with(hdr, "alg", nil), cl, sign), "token algorithm is not accepted"},
		{"alg eddsa lowercase", rawToken(tb, with(hdr, "alg", "eddsa"), cl, sign), "token algorithm is not accepted"},
		{"alg Ed25519", rawToken(tb, with(hdr, "alg", "Ed25519"), cl, sign), "token algorithm is not accepted"},
		{"HS256 keyed with the public key", rawToken(tb, with(hdr, "alg", "HS256"), cl, hmacSign(pub)), "token algorithm is not accepted"},
		{"HS256 keyed with the base64 public key", rawToken(tb, with(hdr, "alg", "HS256"), cl, hmacSign([]byte(base64.RawURLEncoding.EncodeToString(pub)))), "token algorithm is not accepted"},
		{"RS256", rawToken(tb, with(hdr, "alg", "RS256"), cl, sign), "token algorithm is not accepted"},
		{"ES256", rawToken(tb, with(hdr, "alg", "ES256"), cl, sign), "token algorithm is not accepted"},
		{"PS256", rawToken(tb, with(hdr, "alg", "PS256"), cl, sign), "token algorithm is not accepted"},
		{"stripped signature", parts[0] + "." + parts[1] + ".", "token signature is invalid"},
		{"flipped signature bit", flipped, "token signature is invalid"},
		{"tampered payload", parts[0] + "." + tampered + "." + parts[2], "token signature is invalid"},
		{"signed by another key", rawToken(tb, hdr, cl, edSign(otherPriv)), "token signature is invalid"},
		{"truncated", valid[:len(valid)-12], ""},
		{"header only", parts[0], "token is malformed"},
		{"two parts", parts[0] + "." + parts[1], "token is malformed"},
		{"four parts", valid + "." + parts[2], "token is malformed"},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], "token is malformed"},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{alg")) + "." + parts[1] + "." + parts[2], "token is malformed"},
		{"empty", "", "token is malformed"},
		{"unknown kid", rawToken(tb, with(hdr, "kid", "no-such-key"), cl, edSign(otherPriv)), "token signing key is unknown"},
		{"kid path traversal", rawToken(tb, with(hdr, "kid", "../../etc/passwd"), cl, sign), "token key id is invalid"},
		{"kid SQL", rawToken(tb, with(hdr, "kid", "1' OR '1'='1"), cl, sign), "token key id is invalid"},
		{"kid 65 characters", rawToken(tb, with(hdr, "kid", strings.Repeat("a", 65)), cl, sign), "token key id is invalid"},
		{"kid 10 KB", rawToken(tb, with(hdr, "kid", strings.Repeat("x", 10<<10)), cl, sign), "token is too long"},
		{"kid missing", rawToken(tb, with(hdr, "kid", nil), cl, sign), "token key id is invalid"},
		{"kid a number", rawToken(tb, with(hdr, "kid", 7), cl, sign), "token key id is invalid"},
		{"kid empty", rawToken(tb, with(hdr, "kid", ""), cl, sign), "token key id is invalid"},
		{"jku header", rawToken(tb, with(hdr, "jku", "https://evil.example/jwks"), cl, sign), "token header is not accepted"},
		{"x5u header", rawToken(tb, with(hdr, "x5u", "https://evil.example/cert"), cl, sign), "token header is not accepted"},
		{"jwk header", rawToken(tb, with(hdr, "jwk", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(pub)}), cl, sign), "token header is not accepted"},
		{"x5c header", rawToken(tb, with(hdr, "x5c", []string{"MIIB"}), cl, sign), "token header is not accepted"},
		{"crit header", rawToken(tb, with(hdr, "crit", []string{"exp"}), cl, sign), "token header is not accepted"},
		{"typ missing", rawToken(tb, with(hdr, "typ", nil), cl, sign), "token type is not accepted"},
		{"typ JWT", rawToken(tb, with(hdr, "typ", "JWT"), cl, sign), "token type is not accepted"},
		{"exp missing", rawToken(tb, hdr, with(cl, "exp", nil), sign), "token has no expiry"},
		{"exp a string", rawToken(tb, hdr, with(cl, "exp", "never"), sign), "token is malformed"},
		{"exp in the past", rawToken(tb, hdr, with(cl, "exp", now.Add(-time.Hour).Unix()), sign), "token has expired"},
		{"exp just past the leeway", rawToken(tb, hdr, with(cl, "exp", now.Add(-31*time.Second).Unix()), sign), "token has expired"},
		{"nbf in the future", rawToken(tb, hdr, with(cl, "nbf", now.Add(time.Hour).Unix()), sign), "token is not valid yet"},
		{"nbf just beyond the leeway", rawToken(tb, hdr, with(cl, "nbf", now.Add(31*time.Second).Unix()), sign), "token is not valid yet"},
		{"iat in the future", rawToken(tb, hdr, with(cl, "iat", now.Add(time.Hour).Unix(), "nbf", nil), sign), "token is issued in the future"},
		{"wrong iss", rawToken(tb, hdr, with(cl, "iss", "https://evil.example"), sign), "token issuer is not accepted"},
		{"iss missing", rawToken(tb, hdr, with(cl, "iss", nil), sign), "token issuer is not accepted"},
		{"wrong aud", rawToken(tb, hdr, with(cl, "aud", "other"), sign), "token audience is not accepted"},
		{"aud array without ours", rawToken(tb, hdr, with(cl, "aud", []string{"a", "b"}), sign), "token audience is not accepted"},
		{"aud missing", rawToken(tb, hdr, with(cl, "aud", nil), sign), "token audience is not accepted"},
		{"aud a number", rawToken(tb, hdr, with(cl, "aud", 5), sign), "token is malformed"},
		{"sub missing", rawToken(tb, hdr, with(cl, "sub", nil), sign), "token subject is invalid"},
		{"sub zero", rawToken(tb, hdr, with(cl, "sub", "0"), sign), "token subject is invalid"},
		{"sub negative", rawToken(tb, hdr, with(cl, "sub", "-42"), sign), "token subject is invalid"},
		{"sub plus sign", rawToken(tb, hdr, with(cl, "sub", "+42"), sign), "token subject is invalid"},
		{"sub leading zero", rawToken(tb, hdr, with(cl, "sub", "042"), sign), "token subject is invalid"},
		{"sub not a number", rawToken(tb, hdr, with(cl, "sub", "alice"), sign), "token subject is invalid"},
		{"sub overflows int64", rawToken(tb, hdr, with(cl, "sub", "9223372036854775808"), sign), "token subject is invalid"},
		{"sub a JSON number", rawToken(tb, hdr, with(cl, "sub", 42), sign), "token is malformed"},
		{"sid missing", rawToken(tb, hdr, with(cl, "sid", nil), sign), "token has no session id"},
		{"jti missing", rawToken(tb, hdr, with(cl, "jti", nil), sign), "token has no token id"},
		{"refresh token", "rt_" + strings.Repeat("A", 43), "token is malformed"},
		{"over 4 KiB", rawToken(tb, hdr, with(cl, "username", strings.Repeat("a", 4096)), sign), "token is too long"},
		{"100,000 dots", strings.Repeat(".", 100_000), "token is too long"},
		{"4,000 dots", strings.Repeat(".", 4000), "token is malformed"},
	}
	return cases
}

// fixedVerifier returns a Verifier over r whose clock stands still at now.
func fixedVerifier(r *Ring, now time.Time, opts VerifierOptions) *Verifier {
	v := NewVerifier(r, opts)
	v.now = func() time.Time { return now }
	return v
}

func TestVerifyRefusesHostileTokens(t *testing.T) {
	{
		r, _ := newTestRing(t)
		now := time.Now()
		v := fixedVerifier(r, now, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
		for _, tc := range hostileTokens(t, r, now) {
			t.Run(tc.name, func(t *testing.T) {
				c, err := v.Verify(context.Background(), tc.tok)
				if c != nil {
					t.Fatalf("Verify returned claims %+v, want none", c)
				}
				if got := restauth.ErrorCode(err); got != restauth.EInvalidToken {
					t.Fatalf("ErrorCode = %q (err %v), want %q", got, err, restauth.EInvalidToken)
				}
				msg := restauth.ErrorMessage(err)
				if tc.wantMsg != "" && msg != tc.wantMsg {
					t.Errorf("message = %q, want %q", msg, tc.wantMsg)
				}
				if len(tc.tok) > 8 && strings.Contains(err.Error(), tc.tok) {
					t.Errorf("error %q echoes the token", err)
				}
			})
		}
	}
}

func TestVerifyAccepts(t *testing.T) {
	{
		r, _ := newTestRing(t)
		now := time.Now()
		v := fixedVerifier(r, now, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
		kid, priv := ringPrivate(t, r)
		hdr, cl := validHeader(kid), validClaims(now)
		sign := edSign(priv)
		tests := []struct {
			name string
			tok  string
		}{
			{"as signed", rawToken(t, hdr, cl, sign)},
			{"typ application/at+jwt", rawToken(t, with(hdr, "typ", "application/at+jwt"), cl, sign)},
			{"typ in capitals", rawToken(t, with(hdr, "typ", "AT+JWT"), cl, sign)},
			{"exp within the leeway", rawToken(t, hdr, with(cl, "exp", now.Add(-20*time.Second).Unix()), sign)},
			{"nbf within the leeway", rawToken(t, hdr, with(cl, "nbf", now.Add(20*time.Second).Unix()), sign)},
			{"iat within the leeway", rawToken(t, hdr, with(cl, "iat", now.Add(20*time.Second).Unix(), "nbf", nil), sign)},
			{"no nbf or iat", rawToken(t, hdr, with(cl, "nbf", nil, "iat", nil), sign)},
			{"aud array with ours", rawToken(t, hdr, with(cl, "aud", []string{"other", testAudience}), sign)},
			{"unknown claims", rawToken(t, hdr, with(cl, "scope", "read"), sign)},
			{"x5t header", rawToken(t, with(hdr, "x5t", "abc"), cl, sign)},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c, err := v.Verify(context.Background(), tc.tok)
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				if c.UserID != 42 || c.SessionID != "sess-1" || c.Username != "alice" || c.ID != "jti-1" {
					t.Errorf("claims = %+v, want user 42 alice, sid sess-1, jti jti-1", c)
				}
			})
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	{
		r, _ := newTestRing(t)
		s := NewSigner(r)
		v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
		tests := []struct {
			name string
			aud  []string
		}{
			{"one audience", []string{testAudience}},
			{"two audiences", []string{testAudience, "other"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := testClaims(time.Now())
				in.Audience = tc.aud
				tok, err := s.Issue(context.Background(), in)
				if err != nil {
					t.Fatalf("Issue: %v", err)
				}
				if in.ID == "" || in.NotBefore != in.IssuedAt || in.IssuedAt.Nanosecond() != 0 {
					t.Errorf("Issue left claims %+v, want an ID, NotBefore = IssuedAt, whole seconds", in)
				}
				got, err := v.Verify(context.Background(), tok)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !reflect.DeepEqual(got, in) {
					t.Errorf("Verify = %+v, want %+v", got, in)
				}
			})
		}
	}
}

func TestIssueHeaderAndClaims(t *testing.T) {
	r, _ := newTestRing(t)
	now := time.Unix(1_700_000_000, 0)
	c := testClaims(now)
	c.ID = "fixed-jti"
	tok, err := NewSigner(r).Issue(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	dec := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	kid := r.SigningKey().ID
	tests := []struct{ name, got, want string }{
		{"header", dec(parts[0]), `{"alg":"EdDSA","kid":"` + kid + `","typ":"at+jwt"}`},
		{"claims", dec(parts[1]), `{"iss":"https://auth.example","aud":"api","sub":"42","username":"alice","sid":"sess-1","iat":1700000000,"nbf":1700000000,"exp":1700000600,"jti":"fixed-jti"}`},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestIssueRefusesIncompleteClaims(t *testing.T) {
	r, _ := newTestRing(t)
	s := NewSigner(r)
	now := time.Now()
	tests := []struct {
		name   string
		change func(c *restauth.Claims)
	}{
		{"no issuer", func(c *restauth.Claims) { c.Issuer = "" }},
		{"no audience", func(c *restauth.Claims) { c.Audience = nil }},
		{"zero user", func(c *restauth.Claims) { c.UserID = 0 }},
		{"no session", func(c *restauth.Claims) { c.SessionID = "" }},
		{"no expiry", func(c *restauth.Claims) { c.ExpiresAt = time.Time{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClaims(now)
			tc.change(c)
			if tok, err := s.Issue(context.Background(), c); err == nil {
				t.Errorf("Issue = %q, nil; want an error", tok)
			}
		})
	}
	if _, err := s.Issue(context.Background(), nil); err == nil {
		t.Error("Issue(nil) succeeded, want an error")
	}
}

func TestDotsAreCheap(t *testing.T) {
	r, _ := newTestRing(t)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
	ctx := context.Background()
	tests := []struct {
		name string
		tok  string
	}{
		{"10 dots", strings.Repeat(".", 10)},
		{"4,096 dots", strings.Repeat(".", 4096)},
		{"100,000 dots", strings.Repeat(".", 100_000)},
		{"4,096 bytes with 3 dots", strings.Repeat("a", 4093) + "..."},
	}
	for _, tc := range tests {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := v.Verify(ctx, tc.tok); err == nil {
				t.Fatal("Verify accepted dots")
			}
		})
		// One allocation: the *restauth.Error itself.
		if allocs > 1 {
			t.Errorf("%s: %v allocations per Verify, want at most 1", tc.name, allocs)
		}
	}
}

func TestCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newTestRing(t)
		s := NewSigner(r)
		v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
		ctx := context.Background()
		tok, err := s.Issue(ctx, testClaims(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		first, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		second, err := v.Verify(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if first != second || v.cache.len() != 1 {
			t.Fatalf("second Verify: same claims %v, cache len %d; want true, 1", first == second, v.cache.len())
		}

		v.Forget(tok)
		if n := v.cache.len(); n != 0 {
			t.Fatalf("after Forget cache len = %d, want 0", n)
		}
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}

		// Past exp the cached entry is dropped and the token verified anew:
		// still accepted within the leeway, refused after it.
		time.Sleep(10*time.Minute + time.Second)
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("Verify 1s past exp: %v, want success within the leeway", err)
		}
		if n := v.cache.len(); n != 0 {
			t.Errorf("cache len past exp = %d, want 0", n)
		}
		time.Sleep(30 * time.Second)
		_, err = v.Verify(ctx, tok)
		if got := restauth.ErrorMessage(err); got != "token has expired" {
			t.Errorf("Verify past exp and leeway: %q, want %q", got, "token has expired")
		}
	})
}

func TestCacheIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newTestRing(t)
		s := NewSigner(r)
		tests := []struct {
			size, tokens, max int
		}{
			{size: 1, tokens: 20, max: 1},
			{size: 64, tokens: 500, max: 64},
			{size: 256, tokens: 800, max: 256},
		}
		for _, tc := range tests {
			v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: tc.size})
			for range tc.tokens {
				tok, err := s.Issue(context.Background(), testClaims(time.Now()))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.Verify(context.Background(), tok); err != nil {
					t.Fatal(err)
				}
			}
			if n := v.cache.len(); n > tc.max || n == 0 {
				t.Errorf("size %d: cache holds %d tokens, want 1..%d", tc.size, n, tc.max)
			}
		}
		if v := NewVerifier(r, VerifierOptions{CacheSize: -1}); v.cache != nil {
			t.Error("CacheSize -1 kept a cache, want none")
		}
	})
}

func TestVerifierWithoutIssuerRefusesAll(t *testing.T) {
	r, _ := newTestRing(t)
	tok, err := NewSigner(r).Issue(context.Background(), testClaims(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []VerifierOptions{
		{Audience: testAudience},
		{Issuer: testIssuer},
	}
	for _, opts := range tests {
		if _, err := NewVerifier(r, opts).Verify(context.Background(), tok); restauth.ErrorCode(err) != restauth.EInvalidToken {
			t.Errorf("options %+v: Verify error %v, want invalid_token", opts, err)
		}
	}
}

func TestRefreshTokenIsNotAnAccessToken(t *testing.T) {
	r, _ := newTestRing(t)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
	codec, err := NewRefreshCodec(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		rt, _, err := codec.New()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), rt); restauth.ErrorCode(err) != restauth.EInvalidToken {
			t.Fatalf("Verify(refresh token) error = %v, want invalid_token", err)
		}
	}
}

// TestVerifyClientTokens checks that access tokens issued to OAuth clients
// (a user's token for an app, and a client_credentials token) are refused
// unless the Verifier was built to accept them, and that a first-party
// token is accepted either way.
func TestVerifyClientTokens(t *testing.T) {
	r, _ := newTestRing(t)
	now := time.Now()
	base := restauth.Claims{Issuer: testIssuer, Audience: []string{testAudience}, UserID: 42, Username: "alice",
		SessionID: "s1", IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	issue := func(change func(*restauth.Claims)) string {
		c := base
		change(&c)
		tok, err := NewSigner(r).Issue(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first := issue(func(*restauth.Claims) {})
	app := issue(func(c *restauth.Claims) { c.ClientID, c.Scope = "app1", "openid profile" })
	self := issue(func(c *restauth.Claims) { c.UserID, c.Username, c.ClientID, c.Scope = 0, "", "app1", "api" })
	tests := []struct {
		name   string
		tok    string
		accept bool
		ok     bool
	}{
		{"first-party, default", first, false, true},
		{"first-party, clients accepted", first, true, true},
		{"user token of a client, default", app, false, false},
		{"client_credentials token, default", self, false, false},
		{"user token of a client, clients accepted", app, true, true},
		{"client_credentials token, clients accepted", self, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := fixedVerifier(r, now, VerifierOptions{Issuer: testIssuer, Audience: testAudience, AcceptClientTokens: tc.accept})
			c, err := v.Verify(context.Background(), tc.tok)
			if tc.ok {
				if err != nil {
					t.Fatalf("Verify: %v, want accepted", err)
				}
				return
			}
			if c != nil || restauth.ErrorCode(err) != restauth.EInvalidToken || restauth.ErrorMessage(err) != "token was issued to an OAuth client" {
				t.Fatalf("Verify = %+v, %v; want refused: token was issued to an OAuth client", c, err)
			}
			// A refusal is not cached into an acceptance.
			if _, err := v.Verify(context.Background(), tc.tok); err == nil {
				t.Fatal("second Verify accepted the token")
			}
		})
	}
}
