package token

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// memKeyStore is an in-memory restauth.KeyStore for tests.
type memKeyStore struct {
	mu      sync.Mutex
	keys    []*restauth.SigningKey
	secrets map[string][]byte
	loads   int // Calls to SigningKeys.
	fail    error
}

func (s *memKeyStore) SigningKeys(_ context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.fail != nil {
		return nil, s.fail
	}
	var out []*restauth.SigningKey
	for _, k := range s.keys {
		if k.ExpiresAt.IsZero() || k.ExpiresAt.After(now) {
			c := *k
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *memKeyStore) AddSigningKey(_ context.Context, k *restauth.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.keys {
		if o.ID == k.ID {
			return errors.New("duplicate kid")
		}
	}
	c := *k
	s.keys = append(s.keys, &c)
	return nil
}

func (s *memKeyStore) RetireSigningKeys(_ context.Context, keep string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.ID != keep && k.ExpiresAt.IsZero() {
			k.ExpiresAt = expiresAt
		}
	}
	return nil
}

func (s *memKeyStore) Secret(_ context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.secrets[name]; ok {
		return b, nil
	}
	b, err := gen()
	if err != nil {
		return nil, err
	}
	if s.secrets == nil {
		s.secrets = make(map[string][]byte)
	}
	s.secrets[name] = b
	return b, nil
}

func (s *memKeyStore) loadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// Test fixture values.
const (
	testIssuer   = "https://auth.example"
	testAudience = "api"
)

// newTestRing returns a loaded ring over a fresh in-memory store.
func newTestRing(tb testing.TB) (*Ring, *memKeyStore) {
	tb.Helper()
	st := &memKeyStore{}
	r := NewRing(st, RingOptions{})
	if err := r.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return r, st
}

func testClaims(now time.Time) *restauth.Claims {
	return &restauth.Claims{
		Issuer:    testIssuer,
		Audience:  []string{testAudience},
		UserID:    42,
		Username:  "alice",
		SessionID: "sess-1",
		IssuedAt:  now,
		ExpiresAt: now.Add(10 * time.Minute),
	}
}

// rawToken builds a compact JWS from arbitrary header and claims maps, signed
// by sign over the signing input (sign may be nil for an empty signature).
func rawToken(tb testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + enc.EncodeToString(sig)
}

func edSign(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

func hmacSign(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// ringPrivate returns the signing key pair of the ring, for crafting tokens.
func ringPrivate(tb testing.TB, r *Ring) (kid string, priv ed25519.PrivateKey) {
	tb.Helper()
	k := r.signing()
	if k == nil {
		tb.Fatal("ring has no signing key")
	}
	return k.key.ID, k.priv
}

// validHeader and validClaims are what a Signer would write at now.
func validHeader(kid string) map[string]any {
	return map[string]any{"alg": "EdDSA", "typ": "at+jwt", "kid": kid}
}

func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "42", "username": "alice",
		"sid": "sess-1", "jti": "jti-1",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
}

// with returns a copy of m with the given changes; a nil value deletes.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}
