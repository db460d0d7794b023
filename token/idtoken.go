package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// IDTokenAlgorithm is the JWS algorithm of ID tokens: RS256, the one every
// OpenID Connect client must support.
const IDTokenAlgorithm = "RS256"

// rsaBits is the size of the generated RSA keys.
const rsaBits = 2048

// IDKeyStore persists the RSA keys that sign ID tokens, staged as the
// access-token keys are: a key is published from CreatedAt, signs from
// ActivatesAt, and is dropped after ExpiresAt. PrivateKey is PKCS #8 DER.
type IDKeyStore interface {
	// IDTokenKeys returns every key whose ExpiresAt is zero or after now.
	IDTokenKeys(ctx context.Context, now time.Time) ([]*restauth.SigningKey, error)
	AddIDTokenKey(ctx context.Context, k *restauth.SigningKey) error
	// AddFirstIDTokenKey stores k only when the store holds no key
	// unexpired at now, atomically, so that instances starting together
	// on an empty database store one key between them. It reports
	// whether k was stored.
	AddFirstIDTokenKey(ctx context.Context, k *restauth.SigningKey, now time.Time) (bool, error)
	// RetireIDTokenKeys sets ExpiresAt on every unretired key but keep.
	RetireIDTokenKeys(ctx context.Context, keep string, expiresAt time.Time) error
}

// IDTokens signs ID tokens and implements restauth.IDTokenSigner. It signs
// RS256 with the newest RSA key whose ActivatesAt has passed (ties broken by
// the greater kid, so that instances agree), and, for clients registered for
// EdDSA, with the access tokens' current key of ring. It is safe for
// concurrent use.
type IDTokens struct {
	store IDKeyStore
	ring  *Ring
	now   func() time.Time
	mu    sync.Mutex // Serialises reloads.
	state atomic.Pointer[idKeys]
}

type rsaKey struct {
	key  *restauth.SigningKey
	priv *rsa.PrivateKey
	jwk  json.RawMessage
}

// idKeys is an immutable snapshot of the RSA keys, newest ActivatesAt first.
type idKeys struct {
	keys []*rsaKey
	byID map[string]*rsaKey
}

// LoadIDTokens loads the RSA keys from store and, when there is none,
// generates one that signs at once. Two instances starting together may
// both add one; both are published, and every instance signs with the same
// one once it has reloaded.
func LoadIDTokens(ctx context.Context, store IDKeyStore, ring *Ring) (*IDTokens, error) {
	t := &IDTokens{store: store, ring: ring, now: time.Now}
	if err := t.Reload(ctx); err != nil {
		return nil, err
	}
	if len(t.state.Load().keys) > 0 {
		return t, nil
	}
	now := t.now()
	k, err := generateRSAKey(now, now)
	if err != nil {
		return nil, err
	}
	// Another instance may be starting on the same empty database: only
	// one key is stored, and every instance then signs with what the
	// store holds.
	if _, err := store.AddFirstIDTokenKey(ctx, k, now); err != nil {
		return nil, fmt.Errorf("token: store the ID-token key: %w", err)
	}
	if err := t.Reload(ctx); err != nil {
		return nil, err
	}
	if len(t.state.Load().keys) == 0 {
		return nil, errors.New("token: no usable ID-token key after storing one")
	}
	return t, nil
}

func generateRSAKey(createdAt, activatesAt time.Time) (*restauth.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("token: generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	_, kid := rsaJWK(&priv.PublicKey)
	return &restauth.SigningKey{ID: kid, Algorithm: IDTokenAlgorithm, PrivateKey: der, CreatedAt: createdAt, ActivatesAt: activatesAt}, nil
}

// rsaJWK returns the public JWK of pub and its kid, the RFC 7638
// thumbprint, which every instance derives alike.
func rsaJWK(pub *rsa.PublicKey) (json.RawMessage, string) {
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	thumb := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(thumb[:])
	b, _ := json.Marshal(map[string]string{"kty": "RSA", "alg": IDTokenAlgorithm, "use": "sig", "kid": kid, "n": n, "e": e})
	return b, kid
}

// Reload reads the keys again, so that keys added or retired by another
// instance or by restauth keys rotate are used. A stored key that cannot
// be used is skipped: unlike an access-token key, no session depends on an
// old ID token, so it is not worth refusing to start over.
func (t *IDTokens) Reload(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	stored, err := t.store.IDTokenKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("token: load ID-token keys: %w", err)
	}
	st := &idKeys{byID: map[string]*rsaKey{}}
	for _, k := range stored {
		key, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
		priv, ok := key.(*rsa.PrivateKey)
		if err != nil || !ok || priv.N.BitLen() < 2048 {
			continue
		}
		jwk, kid := rsaJWK(&priv.PublicKey)
		if kid != k.ID {
			continue
		}
		rk := &rsaKey{key: k, priv: priv, jwk: jwk}
		st.keys = append(st.keys, rk)
		st.byID[kid] = rk
	}
	slices.SortFunc(st.keys, func(a, b *rsaKey) int {
		if c := b.key.ActivatesAt.Compare(a.key.ActivatesAt); c != 0 {
			return c
		}
		return strings.Compare(b.key.ID, a.key.ID)
	})
	t.state.Store(st)
	return nil
}

// Rotate adds an RSA key, published at once and signing from
// now+publishDelay, and retires every other key at the new key's
// ActivatesAt plus retireAfter (which must cover an ID token's lifetime
// and the leeway). It returns the new key's kid.
func (t *IDTokens) Rotate(ctx context.Context, publishDelay, retireAfter time.Duration) (string, error) {
	if publishDelay <= 0 {
		publishDelay = DefaultPublishDelay
	}
	now := t.now()
	k, err := generateRSAKey(now, now.Add(publishDelay))
	if err != nil {
		return "", err
	}
	if err := t.store.AddIDTokenKey(ctx, k); err != nil {
		return "", fmt.Errorf("token: rotate: store the ID-token key: %w", err)
	}
	if err := t.store.RetireIDTokenKeys(ctx, k.ID, k.ActivatesAt.Add(retireAfter)); err != nil {
		return "", fmt.Errorf("token: rotate: retire old ID-token keys: %w", err)
	}
	return k.ID, t.Reload(ctx)
}

// signing returns the RSA key that signs now, as Ring.signing chooses.
func (t *IDTokens) signing() *rsaKey {
	now := t.now()
	var fallback *rsaKey
	for _, k := range t.state.Load().keys {
		if expired(k.key, now) {
			continue
		}
		if !k.key.ActivatesAt.After(now) {
			return k
		}
		fallback = k
	}
	return fallback
}

// KeyID returns the kid of the RSA key that signs now, or "".
func (t *IDTokens) KeyID() string {
	if k := t.signing(); k != nil {
		return k.key.ID
	}
	return ""
}

// JWKS returns base (a JWKS document as Ring.JWKS makes it) with the RSA
// keys added, those that do not sign yet among them, so that one document
// publishes every key restauth signs with.
func (t *IDTokens) JWKS(base []byte) []byte {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(base, &set); err != nil {
		set.Keys = nil
	}
	now := t.now()
	for _, k := range t.state.Load().keys {
		if !expired(k.key, now) {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	b, _ := json.Marshal(set)
	return b
}

// idClaims is the wire form of an ID token.
type idClaims struct {
	Issuer            string           `json:"iss"`
	Subject           string           `json:"sub"`
	Audience          string           `json:"aud"`
	AuthorizedParty   string           `json:"azp,omitempty"`
	ExpiresAt         *jwt.NumericDate `json:"exp"`
	IssuedAt          *jwt.NumericDate `json:"iat"`
	AuthTime          *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce             string           `json:"nonce,omitempty"`
	AccessTokenHash   string           `json:"at_hash,omitempty"`
	SessionID         string           `json:"sid,omitempty"`
	PreferredUsername string           `json:"preferred_username,omitempty"`
}

func (c *idClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *idClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *idClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (c *idClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *idClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *idClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// SignIDToken signs c, typ JWT: RS256 with the RSA key, or, for a client
// registered for EdDSA, with the access tokens' current Ed25519 key.
func (t *IDTokens) SignIDToken(ctx context.Context, c *restauth.IDTokenClaims) (string, error) {
	w := &idClaims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, AuthorizedParty: c.AuthorizedParty,
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt), IssuedAt: jwt.NewNumericDate(c.IssuedAt),
		Nonce: c.Nonce, AccessTokenHash: c.AccessTokenHash, SessionID: c.SessionID,
		PreferredUsername: c.PreferredUsername,
	}
	if !c.AuthTime.IsZero() {
		w.AuthTime = jwt.NewNumericDate(c.AuthTime)
	}
	if c.Algorithm == restauth.IDTokenEdDSA {
		k := t.ring.signing()
		if k == nil {
			return "", errors.New("token: sign ID token: no signing key is loaded")
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, w)
		tok.Header["kid"] = k.key.ID
		tok.Header["typ"] = "JWT"
		return tok.SignedString(k.priv)
	}
	k := t.signing()
	if k == nil {
		return "", errors.New("token: sign ID token: no RSA key is loaded")
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, w)
	tok.Header["kid"] = k.key.ID
	tok.Header["typ"] = "JWT"
	return tok.SignedString(k.priv)
}

// ParseIDTokenHint checks an ID token restauth signed, given back as an
// id_token_hint: RS256 with the RSA key, or EdDSA with a key of the ring
// (alg none and every other algorithm are refused), typ JWT (an access
// token, typ at+jwt and signed by the same Ed25519 keys, is not an ID
// token), expiry not checked.
func (t *IDTokens) ParseIDTokenHint(ctx context.Context, s string) (*restauth.IDTokenClaims, error) {
	if len(s) > MaxTokenLen {
		return nil, refuse("id_token_hint is too long")
	}
	var w idClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{IDTokenAlgorithm, Algorithm}), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(s, &w, func(tok *jwt.Token) (any, error) {
		if typ, _ := tok.Header["typ"].(string); !strings.EqualFold(typ, "JWT") {
			return nil, refuse("id_token_hint is not an ID token")
		}
		kid, _ := tok.Header["kid"].(string)
		if tok.Method.Alg() == Algorithm {
			// An EdDSA ID token is signed by one of the ring's keys.
			if t.ring == nil || !ValidKeyID(kid) {
				return nil, refuse("id_token_hint key is unknown")
			}
			return t.ring.PublicKey(ctx, kid)
		}
		k, ok := t.state.Load().byID[kid]
		if !ok || expired(k.key, t.now()) {
			return nil, refuse("id_token_hint key is unknown")
		}
		return &k.priv.PublicKey, nil
	})
	if err != nil {
		return nil, refuse("id_token_hint is invalid")
	}
	return &restauth.IDTokenClaims{
		Issuer: w.Issuer, Subject: w.Subject, Audience: w.Audience, AuthorizedParty: w.AuthorizedParty,
		IssuedAt: numericTime(w.IssuedAt), ExpiresAt: numericTime(w.ExpiresAt), AuthTime: numericTime(w.AuthTime),
		Nonce: w.Nonce, SessionID: w.SessionID,
	}, nil
}

var _ restauth.IDTokenSigner = (*IDTokens)(nil)
