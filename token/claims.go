package token

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// accessClaims is the wire form of an access token's claims, in the order
// they are written.
type accessClaims struct {
	Issuer    string           `json:"iss,omitempty"`
	Audience  audience         `json:"aud,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Username  string           `json:"username,omitempty"`
	SessionID string           `json:"sid,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	ID        string           `json:"jti,omitempty"`
	ClientID  string           `json:"client_id,omitempty"`
	Scope     string           `json:"scope,omitempty"`
}

// The getters let jwt's validator check exp, nbf and iat with the leeway;
// the other claims are checked by Verifier itself.

func (c *accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *accessClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings(c.Audience), nil
}

// audience is the "aud" claim: a single string when there is one audience
// (RFC 7519 allows both shapes), an array otherwise. jwt.ClaimStrings can only
// be switched to that behaviour through a package-level variable, which would
// change it for every other user of the library in the process.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// parseSubject parses "sub" as restauth writes it: a positive decimal int64
// with no sign and no leading zeros.
func parseSubject(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

func numericTime(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.UTC()
}

// toWire converts domain claims into wire claims. Times are truncated to
// whole seconds, as NumericDate carries them.
func toWire(c *restauth.Claims) *accessClaims {
	return &accessClaims{
		Issuer:    c.Issuer,
		Audience:  audience(c.Audience),
		Subject:   subject(c),
		Username:  c.Username,
		SessionID: c.SessionID,
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		NotBefore: jwt.NewNumericDate(c.NotBefore),
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
	}
}

// subject is the "sub" claim: the user's id, or, for a token a client
// obtained for itself (client_credentials), restauth.ClientSubject.
func subject(c *restauth.Claims) string {
	if c.UserID == 0 && c.ClientID != "" {
		return restauth.ClientSubject(c.ClientID)
	}
	return strconv.FormatInt(c.UserID, 10)
}
