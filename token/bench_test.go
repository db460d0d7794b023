package token

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func benchToken(b *testing.B) (*Ring, string) {
	r, _ := newTestRing(b)
	tok, err := NewSigner(r).Issue(context.Background(), testClaims(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	return r, tok
}

func BenchmarkVerifyCold(b *testing.B) {
	r, tok := benchToken(b)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	r, tok := benchToken(b)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	r, _ := newTestRing(b)
	s := NewSigner(r)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
	ctx := context.Background()
	// Distinct tokens spread the lookups over the cache's shards, as
	// distinct users would.
	toks := make([]string, 1024)
	for i := range toks {
		var err error
		if toks[i], err = s.Issue(ctx, testClaims(time.Now())); err != nil {
			b.Fatal(err)
		}
		v.Verify(ctx, toks[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkIssue(b *testing.B) {
	r, _ := newTestRing(b)
	s := NewSigner(r)
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c := testClaims(now)
		if _, err := s.Issue(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	r, tok := benchToken(b)
	k := r.signing()
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	msg := []byte(tok[:i])
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(k.pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkVerifyCachedMany(b *testing.B) {
	r, _ := newTestRing(b)
	s := NewSigner(r)
	v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
	ctx := context.Background()
	toks := make([]string, 1024)
	for i := range toks {
		toks[i], _ = s.Issue(ctx, testClaims(time.Now()))
		v.Verify(ctx, toks[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
