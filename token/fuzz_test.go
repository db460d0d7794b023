package token

import (
	"context"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func FuzzVerify(f *testing.F) {
	r, _ := newTestRing(f)
	now := time.Now()
	tok, err := NewSigner(r).Issue(context.Background(), testClaims(now))
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
