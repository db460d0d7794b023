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
)

// Algorithm is the only JWS algorithm restauth signs with and accepts.
const Algorithm = "EdDSA"

// Defaults for the Ring.
const (
	// DefaultPublishDelay is how long a rotated key is published before it
	// signs. It equals the JWKS max-age, so that every verifier caching the
	// JWKS has seen the new key before the first token signed with it.
	DefaultPublishDelay = 5 * time.Minute
	// DefaultReloadInterval is how often Run reloads keys from the store.
	DefaultReloadInterval = 30 * time.Second
	// DefaultMissReloadInterval is the least time between reloads triggered
	// by a lookup of an unknown kid.
	DefaultMissReloadInterval = time.Second
)

// ErrUnknownKey is returned by a KeySource when no usable key has the kid.
var ErrUnknownKey = errors.New("token: unknown signing key")

// errThrottled reports that a reload on a miss was skipped because the last
// one is too recent.
var errThrottled = errors.New("token: reload throttled")

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
	// Logger receives reload failures from Run and the ids of stored keys
	// that are skipped as unusable; slog.Default() when nil.
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
	miss     gate
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
		opts.Logger = slog.Default()
	}
	r := &Ring{store: store, log: opts.Logger, now: time.Now}
	r.miss.every = opts.MissReloadInterval
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

// Load loads the keys from the store and, when the store holds no usable
// key, generates one that signs at once, stores it and loads again. Two
// instances starting together may both add a key; both keys are published
// and every instance signs with the same one once it has reloaded.
func (r *Ring) Load(ctx context.Context) error {
	if err := r.Reload(ctx); err != nil {
		return err
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
	return nil
}

// Reload replaces the in-memory keys with those in the store.
func (r *Ring) Reload(ctx context.Context) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	now := r.now()
	stored, err := r.store.SigningKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("token: load signing keys: %w", err)
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
			continue
		}
		if k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt) {
			keys = append(keys, rk)
		}
	}
	r.state.Store(buildState(keys))
	return nil
}

// Run reloads the keys every interval (DefaultReloadInterval when zero or
// negative) until ctx ends, so that keys added or retired by other instances
// are picked up. Failures are logged and the previous keys kept.
func (r *Ring) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(ctx); err != nil && ctx.Err() == nil {
				r.log.Error("token: reloading signing keys failed", "err", err)
			}
		}
	}
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
	err := r.miss.do(ctx, r.now(), true, r.Reload)
	if pub := r.lookup(kid); pub != nil {
		return pub, nil
	}
	if err != nil && !errors.Is(err, errThrottled) {
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

// gate runs one reload at a time for callers that missed a key and rate
// limits them, so a flood of unknown kids costs at most one reload per
// interval.
type gate struct {
	every time.Duration

	mu   sync.Mutex
	last time.Time
	call *gateCall
}

type gateCall struct {
	done chan struct{}
	err  error
}

// do starts fn unless a call is in flight (which it joins) or the last one
// started less than every ago (errThrottled). When wait is false it returns
// at once without the result.
func (g *gate) do(ctx context.Context, now time.Time, wait bool, fn func(context.Context) error) error {
	g.mu.Lock()
	c := g.call
	if c == nil {
		if !g.last.IsZero() && now.Sub(g.last) < g.every {
			g.mu.Unlock()
			return errThrottled
		}
		g.last = now
		c = &gateCall{done: make(chan struct{})}
		g.call = c
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), missTimeout)
			defer cancel()
			c.err = fn(ctx)
			g.mu.Lock()
			g.call = nil
			g.mu.Unlock()
			close(c.done)
		}()
	}
	g.mu.Unlock()
	if !wait {
		return nil
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
