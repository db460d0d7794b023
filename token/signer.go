package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// TokenType is the JWT "typ" header of access tokens (RFC 9068).
const TokenType = "at+jwt"

// Signer issues access tokens with the Ring's current signing key. It
// implements restauth.TokenIssuer and is safe for concurrent use.
type Signer struct {
	ring *Ring
	now  func() time.Time
}

// NewSigner returns a Signer that signs with ring.
func NewSigner(ring *Ring) *Signer {
	return &Signer{ring: ring, now: time.Now}
}

// Issue signs c as a JWT. It fills in what the caller left empty: IssuedAt
// (now) and ID (16 random bytes, base64url). It sets NotBefore to IssuedAt and
// truncates the times to whole seconds in UTC, so that c afterwards equals
// what Verify will return for the token.
func (s *Signer) Issue(ctx context.Context, c *restauth.Claims) (string, error) {
	if c == nil {
		return "", errors.New("token: issue: nil claims")
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = s.now()
	}
	if c.ID == "" {
		c.ID = randomID()
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second).UTC()
	c.NotBefore = c.IssuedAt
	c.ExpiresAt = c.ExpiresAt.Truncate(time.Second).UTC()
	switch {
	case c.Issuer == "":
		return "", errors.New("token: issue: empty issuer")
	case len(c.Audience) == 0:
		return "", errors.New("token: issue: no audience")
	case c.UserID < 0 || c.UserID == 0 && c.ClientID == "":
		return "", errors.New("token: issue: user id is not positive")
	case c.SessionID == "":
		return "", errors.New("token: issue: empty session id")
	case !c.ExpiresAt.After(c.IssuedAt):
		return "", errors.New("token: issue: expiry is not after issue time")
	}
	k := s.ring.signing()
	if k == nil {
		return "", errors.New("token: issue: no signing key is loaded")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, toWire(c))
	t.Header["typ"] = TokenType
	t.Header["kid"] = k.key.ID
	signed, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("token: issue: %w", err)
	}
	return signed, nil
}
