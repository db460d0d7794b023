// Package instance wires one restauth instance: the Service on an open
// store, with the signing-key ring, the refresh-sealing secret, the token
// verifier and the revocation view loaded from that store. The server and
// every test and benchmark that needs a real Service build it here, so the
// wiring is written once and a test runs the Service the server runs.
package instance

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

// Store is what an instance needs of its database: the domain's stores and
// the key store the signing-key ring and the refresh secret live in.
type Store interface {
	restauth.UserStore
	restauth.SessionStore
	restauth.CounterStore
	restauth.BrowserStore
	restauth.KeyStore
	restauth.APIKeyStore
	restauth.MFAStore
	restauth.PasskeyStore
	restauth.OAuthStore
	token.IDKeyStore
}

// Options are what differs between instances.
type Options struct {
	Config restauth.Config
	// Hasher hashes and verifies passwords; required.
	Hasher restauth.PasswordHasher
	// Logger receives the Service's and the ring's warnings; nil discards
	// them.
	Logger *slog.Logger
	// Revocations is the instance's in-memory revocation view; nil makes a
	// new one. Either way it is synchronised from the store before New
	// returns.
	Revocations *restauth.RevocationSet
	// VerifierCacheSize is token.VerifierOptions.CacheSize: 0 for the
	// default, negative to verify every token in full.
	VerifierCacheSize int
	// Sessions, when set, stands in front of the store's sessions, so that
	// a test can put a store that fails on purpose there.
	Sessions restauth.SessionStore
	// Passkeys, when set, turns passkeys on with these ceremonies (the
	// relying party of the public URL) and the store's passkeys.
	Passkeys restauth.PasskeyCeremonies
	// OIDCIssuer, when set, turns the OpenID Connect provider on with this
	// issuer (the public URL) and the RSA keys that sign ID tokens (the
	// first is generated when the database has none).
	OIDCIssuer string
	// Now is the Service's clock; nil is time.Now. A test stops it to
	// decide what depends on the time between two requests.
	Now func() time.Time
}

// Instance is a wired Service with the collaborators that the server's
// background work (key reloads, revocation sync) and metrics reach.
type Instance struct {
	Service     *restauth.Service
	Ring        *token.Ring
	Verifier    *token.Verifier
	Revocations *restauth.RevocationSet
	// IDTokens signs ID tokens; nil when OpenID Connect is off.
	IDTokens *token.IDTokens
}

// DeviceSecretName names the stored secret that keys the device page's
// confirmation tokens (restauth.OIDC.DeviceSecret).
const DeviceSecretName = "oauth-device-token"

// RefreshSecretName names the stored secret that seals refresh-token
// children during the rotation grace window. Every instance on a database
// shares it, so a child sealed by one is opened by another.
const RefreshSecretName = "refresh-seal-v1"

// StageError says which step of wiring failed, so that the command line can
// put the cause in an operator's words.
type StageError struct {
	Stage string // Such as "load signing keys".
	Err   error
}

func (e *StageError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// New builds an instance on st: it loads the signing keys (generating the
// first when there is none), the refresh-sealing secret (creating it once
// per database) and the revocations.
func New(ctx context.Context, st Store, opts Options) (*Instance, error) {
	ring := token.NewRing(st, token.RingOptions{Logger: opts.Logger})
	if err := ring.Load(ctx); err != nil {
		return nil, &StageError{"load signing keys", err}
	}
	secret, err := st.Secret(ctx, RefreshSecretName, newSecret)
	if err != nil {
		return nil, &StageError{"load refresh secret", err}
	}
	codec, err := token.NewRefreshCodec(secret)
	if err != nil {
		return nil, &StageError{"use the stored refresh secret", err}
	}
	cfg := opts.Config
	verifier := token.NewVerifier(ring, token.VerifierOptions{
		Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway, CacheSize: opts.VerifierCacheSize,
		// The Service sorts clients' tokens from first-party ones itself:
		// the userinfo, revocation and introspection endpoints take them,
		// AuthenticateToken and Introspect refuse them.
		AcceptClientTokens: true,
	})
	revs := opts.Revocations
	if revs == nil {
		revs = restauth.NewRevocationSet(cfg.RevocationKeep())
	}
	if err := revs.Sync(ctx, st, time.Now()); err != nil {
		return nil, &StageError{"load revocations", err}
	}
	var sessions restauth.SessionStore = st
	if opts.Sessions != nil {
		sessions = opts.Sessions
	}
	deps := restauth.Deps{
		Users: st, Sessions: sessions, Counters: st, Browsers: st, APIKeys: st, MFA: st,
		Hasher: opts.Hasher, Issuer: token.NewSigner(ring), Verifier: verifier, Refresh: codec,
		Revocations: revs, Normalizer: Norm{}, IsCommon: password.IsCommon,
		Logger: opts.Logger, NewID: NewSessionID, Now: opts.Now,
	}
	if opts.Passkeys != nil {
		deps.Passkeys, deps.PasskeyCeremonies = st, opts.Passkeys
	}
	// The OAuth store is always given, so that a refresh token issued to
	// an OAuth client is refused at the first-party refresh endpoint even
	// while the provider is off; the issuer turns the provider on.
	deps.OIDC.Store = st
	var idt *token.IDTokens
	if opts.OIDCIssuer != "" {
		if idt, err = token.LoadIDTokens(ctx, st, ring); err != nil {
			return nil, &StageError{"load the ID-token signing keys", err}
		}
		deps.OIDC.Issuer, deps.OIDC.IDTokens = opts.OIDCIssuer, idt
		// The device page's confirmation tokens must verify on every
		// instance, so their key is one stored secret per database.
		deviceSecret, err := st.Secret(ctx, DeviceSecretName, newSecret)
		if err != nil {
			return nil, &StageError{"load the device-token secret", err}
		}
		deps.OIDC.DeviceSecret = deviceSecret
	}
	svc := restauth.NewService(cfg, deps)
	return &Instance{Service: svc, Ring: ring, Verifier: verifier, Revocations: revs, IDTokens: idt}, nil
}

// Norm is the Unicode normaliser restauth gives its Service, on
// golang.org/x/text, which the domain cannot import.
type Norm struct{}

// NFC returns s in Normalization Form C.
func (Norm) NFC(s string) string { return norm.NFC.String(s) }

// NFKC returns s in Normalization Form KC.
func (Norm) NFKC(s string) string { return norm.NFKC.String(s) }

// NewSessionID returns 128 random bits, URL-safe.
func NewSessionID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newSecret makes a stored secret: 32 random bytes, the key size of the
// HMACs and the sealing cipher that use them.
func newSecret() ([]byte, error) {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	return b, err
}
