package teststore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

// Norm is the Unicode normalizer the tests give the Service, the same
// forms production uses.
type Norm struct{}

// NFC returns s in Normalization Form C.
func (Norm) NFC(s string) string { return norm.NFC.String(s) }

// NFKC returns s in Normalization Form KC.
func (Norm) NFKC(s string) string { return norm.NFKC.String(s) }

// FastParams keeps tests quick; the production parameters are exercised by
// the password package's own tests and the end-to-end test.
var FastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// NewService wires a Service on st with a signing-key ring loaded from it
// and a fresh refresh-token secret, as each instance sharing a database
// does. A nil logger is the Service's default.
func NewService(t testing.TB, st Store, cfg restauth.Config, hasher restauth.PasswordHasher, logger *slog.Logger) (*restauth.Service, *token.Ring) {
	t.Helper()
	ctx := context.Background()
	ring := token.NewRing(st, token.RingOptions{})
	if err := ring.Load(ctx); err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	codec, err := token.NewRefreshCodec(secret)
	if err != nil {
		t.Fatal(err)
	}
	svc := restauth.NewService(cfg, restauth.Deps{
		Users: st, Sessions: st, Counters: st,
		Hasher:   hasher,
		Logger:   logger,
		Issuer:   token.NewSigner(ring),
		Verifier: token.NewVerifier(ring, token.VerifierOptions{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway}),
		Refresh:  codec, Normalizer: Norm{}, IsCommon: password.IsCommon,
		NewID: func() (string, error) {
			b := make([]byte, 16)
			_, err := rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b), err
		},
		MFA: st,
	})
	return svc, ring
}
