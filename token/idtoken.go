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

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// IDTokenAlgorithm is the JWS algorithm of ID tokens: RS256, the one every
// OpenID Connect client must support.
const IDTokenAlgorithm = "RS256"

// IDTokenKeyName names the stored secret holding the RSA key that signs ID
// tokens (PKCS #8 DER). Like the refresh-sealing secret it is generated once
// per database, so that every instance signs with the same key.
const IDTokenKeyName = "oidc-rsa-v1"

// rsaBits is the size of the generated RSA key.
const rsaBits = 2048

// IDTokens signs ID tokens with the stored RSA key and implements
// restauth.IDTokenSigner. It is safe for concurrent use.
type IDTokens struct {
	priv *rsa.PrivateKey
	kid  string
	jwk  json.RawMessage
	// ring signs the ID tokens of clients registered for EdDSA, with the
	// access tokens' current key (published in the same JWKS).
	ring *Ring
}

// LoadIDTokens loads the RSA key from the store, generating and storing it
// first when there is none; concurrent first starts all receive the one
// stored key.
func LoadIDTokens(ctx context.Context, store restauth.KeyStore, ring *Ring) (*IDTokens, error) {
	der, err := store.Secret(ctx, IDTokenKeyName, func() ([]byte, error) {
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKCS8PrivateKey(k)
	})
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("token: the stored ID-token key is not PKCS #8: %w", err)
	}
	priv, ok := key.(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() < 2048 {
		return nil, errors.New("token: the stored ID-token key is not an RSA key of at least 2048 bits")
	}
	t := newIDTokens(priv)
	t.ring = ring
	return t, nil
}

func newIDTokens(priv *rsa.PrivateKey) *IDTokens {
	pub := priv.PublicKey
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	// The kid is the RFC 7638 thumbprint, so that every instance derives
	// the same one from the same key.
	thumb := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(thumb[:])
	b, _ := json.Marshal(map[string]string{"kty": "RSA", "alg": IDTokenAlgorithm, "use": "sig", "kid": kid, "n": n, "e": e})
	return &IDTokens{priv: priv, kid: kid, jwk: b}
}

// KeyID returns the kid of the RSA key.
func (t *IDTokens) KeyID() string { return t.kid }

// PublicKey returns the RSA public key.
func (t *IDTokens) PublicKey() *rsa.PublicKey { return &t.priv.PublicKey }

// JWKS returns base (a JWKS document as Ring.JWKS makes it) with the RSA
// key added, so that one document publishes every key restauth signs with.
func (t *IDTokens) JWKS(base []byte) []byte {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(base, &set); err != nil {
		set.Keys = nil
	}
	set.Keys = append(set.Keys, t.jwk)
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
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, w)
	tok.Header["kid"] = t.kid
	tok.Header["typ"] = "JWT"
	return tok.SignedString(t.priv)
}

// ParseIDTokenHint checks an ID token restauth signed, given back as an
// id_token_hint: RS256 with the RSA key, or EdDSA with a key of the ring
// (alg none and every other algorithm are refused), expiry not checked.
func (t *IDTokens) ParseIDTokenHint(ctx context.Context, s string) (*restauth.IDTokenClaims, error) {
	if len(s) > MaxTokenLen {
		return nil, refuse("id_token_hint is too long")
	}
	var w idClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{IDTokenAlgorithm, Algorithm}), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(s, &w, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if tok.Method.Alg() == Algorithm {
			// An EdDSA ID token is signed by one of the ring's keys.
			if t.ring == nil || !ValidKeyID(kid) {
				return nil, refuse("id_token_hint key is unknown")
			}
			return t.ring.PublicKey(ctx, kid)
		}
		if kid != t.kid {
			return nil, refuse("id_token_hint key is unknown")
		}
		return &t.priv.PublicKey, nil
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
