package token

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/gate"
)

// Algorithm is the only JWS algorithm restauth signs with and accepts.
const Algorithm = "EdDSA"

// Defaults for the Ring.
const (
	// DefaultPublishDelay is how long a rotated key is published before it
	// signs. It equals the JWKS max-age, so that every verifier caching the
	// JWKS has seen the new key before the first token signed with it.
	DefaultPublishDelay = 5 * time.Minute
	// DefaultMissReloadInterval is the least time between reloads triggered
	// by a lookup of an unknown kid.
	DefaultMissReloadInterval = time.Second
)

// ErrUnusableKey is returned by Ring.Load when the store holds a key that
// cannot be used (corrupt or of another algorithm) and has not been retired.
var ErrUnusableKey = errors.New("token: unusable signing key in the store")

// ErrUnknownKey is returned by a KeySource when no usable key has the kid.
var ErrUnknownKey = errors.New("token: unknown signing key")

// missTimeout bounds a reload started by a lookup, which runs detached from
// the caller's context so that one impatient caller cannot fail it for the
// others waiting on it.
const missTimeout = 10 * time.Second

// KeySource finds the public key that verifies tokens carrying a kid. It
// returns an error wrapping ErrUnknownKey when there is no such key.
type KeySource interface {
	PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// RingOptions tune a Ring. The zero value is ready to use.
type RingOptions struct {
	// MissReloadInterval is the least time between reloads caused by a
	// lookup of an unknown kid; DefaultMissReloadInterval when zero.
	MissReloadInterval time.Duration
	// Logger receives the ids of stored keys that are skipped as unusable;
	// nothing is logged when nil.
	Logger *slog.Logger
}

// Ring holds the signing keys in memory. It signs with the newest key whose
// ActivatesAt has passed (ties broken by the greater ID, so that instances
// sharing a store agree), verifies with any unexpired key, and serves them
// all as a JWKS. It is safe for concurrent use.
type Ring struct {
	store restauth.KeyStore
	log   *slog.Logger
	now   func() time.Time

	state    atomic.Pointer[ringState]
	reloadMu sync.Mutex // Serialises reloads so an older read never replaces a newer one.
	miss     *gate.Gate
	// generated is the id of the key Load generated, or "".
	generated string
}

// ringKey is one usable key with its decoded material.
type ringKey struct {
	key  *restauth.SigningKey
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

// ringState is an immutable snapshot of the keys, swapped whole on reload.
type ringState struct {
	keys []*ringKey // Newest ActivatesAt first, then greatest ID.
	byID map[string]*ringKey
	jwks []byte
}

// NewRing returns a Ring over store. Call Load before using it.
func NewRing(store restauth.KeyStore, opts RingOptions) *Ring {
	if opts.MissReloadInterval <= 0 {
		opts.MissReloadInterval = DefaultMissReloadInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Ring{store: store, log: opts.Logger, now: time.Now, miss: gate.New(opts.MissReloadInterval, missTimeout)}
	r.state.Store(buildState(nil))
	return r
}

// String names the keys without revealing any key material.
func (r *Ring) String() string {
	st := r.state.Load()
	ids := make([]string, len(st.keys))
	for i, k := range st.keys {
		ids[i] = k.key.ID
	}
	return "token.Ring{kids: [" + strings.Join(ids, " ") + "]}"
}

// Load loads the keys from the store and, when the store holds no key at
// all, generates one that signs at once, stores it and loads again. Two
// instances starting together may both add a key; both keys are published
// and every instance signs with the same one once it has reloaded.
//
// A stored key that cannot be used and has not been retired is an error
// (wrapping ErrUnusableKey): skipping it would quietly invalidate every
// token it signed, and generating a replacement would hide the damage.
// Rotating (which retires it) is the way out.
func (r *Ring) Load(ctx context.Context) error {
	bad, err := r.reload(ctx)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrUnusableKey, strings.Join(bad, "; "))
	}
	if len(r.state.Load().keys) > 0 {
		return nil
	}
	now := r.now()
	k, err := generateKey(now, now)
	if err != nil {
		return err
	}
	if err := r.store.AddSigningKey(ctx, k); err != nil {
		return fmt.Errorf("token: store first signing key: %w", err)
	}
	if err := r.Reload(ctx); err != nil {
		return err
	}
	if len(r.state.Load().keys) == 0 {
		return errors.New("token: no usable signing key after storing one")
	}
	r.generated = k.ID
	return nil
}

// Generated returns the id of the key that Load generated because the store
// held none, or "" when it found one.
func (r *Ring) Generated() string {
	return r.generated
}

// Wait returns once no reload started by a lookup is in flight, so that the
// store can be closed without one still using it.
func (r *Ring) Wait() {
	r.miss.Wait()
}

// Reload replaces the in-memory keys with those in the store. A stored key
// that cannot be used is skipped and logged.
func (r *Ring) Reload(ctx context.Context) error {
	_, err := r.reload(ctx)
	return err
}

// reload is Reload that also returns what is wrong with each unusable key
// that has not been retired.
func (r *Ring) reload(ctx context.Context) (unretired []string, err error) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	now := r.now()
	stored, err := r.store.SigningKeys(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("token: load signing keys: %w", err)
	}
	keys := make([]*ringKey, 0, len(stored))
	for _, k := range stored {
		rk, err := decodeKey(k)
		if err != nil {
			// The id is checked before it is logged, so a corrupt row cannot
			// inject arbitrary text into the logs.
			id := k.ID
			if !ValidKeyID(id) {
				id = "(invalid)"
			}
			r.log.Warn("token: skipping unusable signing key", "kid", id, "err", err)
			if k.ExpiresAt.IsZero() {
				unretired = append(unretired, "key "+id+": "+err.Error())
			}
			continue
		}
		if k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt) {
			keys = append(keys, rk)
		}
	}
	r.state.Store(buildState(keys))
	return unretired, nil
}

// Rotate adds a new key that is published at once and signs from
// now+publishDelay (DefaultPublishDelay when zero or negative), and retires
// every other unretired key at the new key's ActivatesAt plus retireAfter,
// which must cover the access-token lifetime and the leeway so that tokens
// signed by the old key verify until they expire. It returns the new key
// without its private part.
func (r *Ring) Rotate(ctx context.Context, publishDelay, retireAfter time.Duration) (*restauth.SigningKey, error) {
	if retireAfter <= 0 {
		return nil, errors.New("token: rotate: retireAfter must be positive")
	}
	if publishDelay <= 0 {
		publishDelay = DefaultPublishDelay
	}
	now := r.now()
	k, err := generateKey(now, now.Add(publishDelay))
	if err != nil {
		return nil, err
	}
	if err := r.store.AddSigningKey(ctx, k); err != nil {
		return nil, fmt.Errorf("token: rotate: store key: %w", err)
	}
	if err := r.store.RetireSigningKeys(ctx, k.ID, k.ActivatesAt.Add(retireAfter)); err != nil {
		return nil, fmt.Errorf("token: rotate: retire old keys: %w", err)
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	pub := *k
	pub.PrivateKey = nil
	return &pub, nil
}

// SigningKey returns the key that signs now: the newest unexpired key whose
// ActivatesAt has passed. When every key activates in the future (clock skew
// between instances) it falls back to the earliest of them rather than
// refusing to sign. It returns nil before a successful Load. The result is
// shared and must not be modified.
func (r *Ring) SigningKey() *restauth.SigningKey {
	if k := r.signing(); k != nil {
		return k.key
	}
	return nil
}

func (r *Ring) signing() *ringKey {
	now := r.now()
	var fallback *ringKey
	for _, k := range r.state.Load().keys {
		if expired(k.key, now) {
			continue
		}
		if !k.key.ActivatesAt.After(now) {
			return k
		}
		fallback = k // Keys are newest first, so the last one seen activates first.
	}
	return fallback
}

// PublicKey returns the public key with the given kid. On a miss it reloads
// from the store, at most once per MissReloadInterval however many callers
// miss at once, so that a key added by another instance is found.
func (r *Ring) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if pub := r.lookup(kid); pub != nil {
		return pub, nil
	}
	err := r.miss.Do(ctx, r.now(), false, true, r.Reload)
	if pub := r.lookup(kid); pub != nil {
		return pub, nil
	}
	if err != nil && !errors.Is(err, gate.ErrThrottled) {
		return nil, fmt.Errorf("%w: %w", ErrUnknownKey, err)
	}
	return nil, ErrUnknownKey
}

func (r *Ring) lookup(kid string) ed25519.PublicKey {
	k, ok := r.state.Load().byID[kid]
	if !ok || expired(k.key, r.now()) {
		return nil
	}
	return k.pub
}

// JWKS returns the public keys as a JSON Web Key Set, built on each reload.
// Every unexpired key is included, among them keys that do not sign yet.
func (r *Ring) JWKS() []byte {
	return bytes.Clone(r.state.Load().jwks)
}

func expired(k *restauth.SigningKey, now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// jwk is the public form of one key (RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	X   string `json:"x"`
}

func buildState(keys []*ringKey) *ringState {
	slices.SortFunc(keys, func(a, b *ringKey) int {
		if c := b.key.ActivatesAt.Compare(a.key.ActivatesAt); c != 0 {
			return c
		}
		return strings.Compare(b.key.ID, a.key.ID)
	})
	st := &ringState{keys: keys, byID: make(map[string]*ringKey, len(keys))}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		st.byID[k.key.ID] = k
		set.Keys = append(set.Keys, jwk{
			Kty: "OKP", Crv: "Ed25519", Alg: Algorithm, Use: "sig",
			Kid: k.key.ID, X: base64.RawURLEncoding.EncodeToString(k.pub),
		})
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic("token: marshal jwks: " + err.Error()) // Only strings; cannot fail.
	}
	st.jwks = b
	return st
}

// decodeKey checks a stored key and derives its key pair. The errors name
// the problem, never the material.
func decodeKey(k *restauth.SigningKey) (*ringKey, error) {
	switch {
	case !ValidKeyID(k.ID):
		return nil, errors.New("key id is not 1-64 characters of [A-Za-z0-9_-]")
	case k.Algorithm != Algorithm:
		return nil, errors.New("algorithm is not EdDSA")
	case len(k.PrivateKey) != ed25519.SeedSize:
		return nil, errors.New("private key is not a 32-byte Ed25519 seed")
	}
	priv := ed25519.NewKeyFromSeed(k.PrivateKey)
	pub := priv.Public().(ed25519.PublicKey)
	if len(k.PublicKey) != 0 && !bytes.Equal(pub, k.PublicKey) {
		return nil, errors.New("public key does not match the private key")
	}
	return &ringKey{key: k, pub: pub, priv: priv}, nil
}

// generateKey makes a new Ed25519 key with a random 22-character kid.
func generateKey(createdAt, activatesAt time.Time) (*restauth.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("token: generate key: %w", err)
	}
	return &restauth.SigningKey{
		ID:          randomID(),
		Algorithm:   Algorithm,
		PrivateKey:  priv.Seed(),
		PublicKey:   pub,
		CreatedAt:   createdAt,
		ActivatesAt: activatesAt,
	}, nil
}

// randomID returns 16 random bytes in unpadded base64url: 22 characters.
func randomID() string {
	var b [16]byte
	rand.Read(b[:]) // Never fails (crypto/rand, Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidKeyID reports whether kid is 1 to 64 characters of [A-Za-z0-9_-],
// the only kids restauth makes or accepts.
func ValidKeyID(kid string) bool {
	if len(kid) == 0 || len(kid) > 64 {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
