package token

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestCacheStats checks that the cache's counters follow its lookups: a
// first verification misses, a repeat hits, an expired entry misses, and a
// disabled cache counts nothing.
func TestCacheStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, _ := newTestRing(t)
		s := NewSigner(r)
		ctx := context.Background()
		tok, err := s.Issue(ctx, testClaims(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
		off := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
		steps := []struct {
			name  string
			sleep time.Duration
			want  CacheStats
		}{
			{"first", 0, CacheStats{Misses: 1, Entries: 1}},
			{"repeat", 0, CacheStats{Hits: 1, Misses: 1, Entries: 1}},
			{"again", time.Minute, CacheStats{Hits: 2, Misses: 1, Entries: 1}},
			{"past exp", 10 * time.Minute, CacheStats{Hits: 2, Misses: 2, Entries: 0}},
		}
		for _, st := range steps {
			time.Sleep(st.sleep)
			_, _ = v.Verify(ctx, tok)
			_, _ = off.Verify(ctx, tok)
			if got := v.CacheStats(); got != st.want {
				t.Errorf("%s: CacheStats = %+v, want %+v", st.name, got, st.want)
			}
			if got := off.CacheStats(); got != (CacheStats{}) {
				t.Errorf("%s: disabled cache's CacheStats = %+v, want zero", st.name, got)
			}
		}
	})
}
