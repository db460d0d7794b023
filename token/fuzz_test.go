package token

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func FuzzVerify(f *testing.F) {
	// The key and the clock are fixed so that the seeds made here verify the
	// same way in every fuzzing worker process.
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	now := time.Unix(1_700_000_000, 0)
	st := &memKeyStore{keys: []*restauth.SigningKey{{
		ID: "fuzz-key", Algorithm: Algorithm, PrivateKey: seed,
		CreatedAt: now.Add(-time.Hour), ActivatesAt: now.Add(-time.Hour),
	}}}
	r := NewRing(st, RingOptions{})
	r.now = func() time.Time { return now }
	if err := r.Load(context.Background()); err != nil {
		f.Fatal(err)
	}
	c := testClaims(now)
	c.ID = "fuzz-jti"
	tok, err := NewSigner(r).Issue(context.Background(), c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	for _, tc := range hostileTokens(f, r, now) {
		f.Add(tc.tok)
	}
	v := fixedVerifier(r, now, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: 1024})
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(context.Background(), s)
		switch {
		case err == nil && c == nil:
			t.Fatal("Verify returned neither claims nor error")
		case err != nil && restauth.ErrorCode(err) != restauth.EInvalidToken:
			t.Fatalf("Verify error %v, want code invalid_token", err)
		case err == nil && (c.UserID <= 0 || c.SessionID == "" || c.ID == "" || c.Issuer != testIssuer):
			t.Fatalf("Verify accepted claims %+v", c)
		}
	})
}
