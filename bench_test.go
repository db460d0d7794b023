package restauth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// BenchmarkRevocationSetRevoked measures the revocation check that every
// token-authenticated request makes, for a live session (the common case)
// and a revoked one, with sets of several sizes: the set is bounded by the
// revocation rate over one access-token lifetime, not by the user count.
func BenchmarkRevocationSetRevoked(b *testing.B) {
	for _, size := range []int{0, 1_000, 100_000} {
		set := restauth.NewRevocationSet(restauth.DefaultConfig().RevocationKeep())
		now := time.Now()
		revs := make([]restauth.Revocation, size)
		for i := range revs {
			revs[i] = restauth.Revocation{SessionID: fmt.Sprintf("revoked-%022d", i), RevokedAt: now}
		}
		set.Add(revs...)
		for _, tc := range []struct {
			name, id string
			want     bool
		}{
			{"live", "live-session-id-0123456789", false},
			{"revoked", fmt.Sprintf("revoked-%022d", size/2), size > 0},
		} {
			b.Run(fmt.Sprintf("size=%d/%s", size, tc.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if got := set.Revoked(tc.id); got != tc.want {
						b.Fatalf("Revoked(%q) = %v, want %v", tc.id, got, tc.want)
					}
				}
			})
		}
	}
}

// BenchmarkRevocationSetRevokedParallel checks that concurrent readers do
// not contend: the set is read on every request from every connection.
func BenchmarkRevocationSetRevokedParallel(b *testing.B) {
	set := restauth.NewRevocationSet(restauth.DefaultConfig().RevocationKeep())
	set.Add(restauth.Revocation{SessionID: "revoked", RevokedAt: time.Now()})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if set.Revoked("live-session-id-0123456789") {
				b.Error("Revoked(live) = true, want false")
				return
			}
		}
	})
}

// BenchmarkAuthenticateCached measures Authenticate for a username and
// password verified moments before: the Basic-password fast path, an HMAC
// and a map lookup, beside the argon2id verification it replaces (with the
// tests' cheap parameters; production parameters cost about 30 ms).
func BenchmarkAuthenticateCached(b *testing.B) {
	for _, ttl := range []time.Duration{restauth.DefaultConfig().CredentialCacheTTL, 0} {
		name := "cache=on"
		if ttl == 0 {
			name = "cache=off"
		}
		b.Run(name, func(b *testing.B) {
			cfg := restauth.DefaultConfig()
			cfg.CredentialCacheTTL = ttl
			in := newInstance(b, openStore(b, false), cfg)
			ctx := b.Context()
			if _, err := in.svc.Register(ctx, "alice", "correct horse battery", restauth.ClientMeta{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := in.svc.Authenticate(ctx, "alice", "correct horse battery", restauth.ClientMeta{IP: "192.0.2.1"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
