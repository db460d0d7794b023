package token

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// Defaults and limits for the Verifier.
const (
	// DefaultLeeway is the clock-skew allowance for exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultCacheSize is the number of verified tokens remembered.
	DefaultCacheSize = 65536
	// MaxTokenLen is the longest token looked at; restauth's tokens are
	// under 600 bytes.
	MaxTokenLen = 4096
)

// VerifierOptions configure a Verifier. Issuer and Audience are required: a
// Verifier with either empty refuses every token.
type VerifierOptions struct {
	Issuer   string // Required value of "iss".
	Audience string // Value that "aud" must contain.
	// Leeway is the clock-skew allowance for exp, nbf and iat;
	// DefaultLeeway when zero.
	Leeway time.Duration
	// CacheSize bounds the cache of verified tokens: DefaultCacheSize when
	// zero; a negative size disables the cache.
	CacheSize int
	// AcceptClientTokens accepts access tokens issued to OAuth clients
	// (those with a "client_id" claim, client_credentials tokens among
	// them). They carry the same issuer, audience and type as first-party
	// tokens but only the scopes a user granted to a third-party app, so
	// they are refused unless a resource server serving such apps asks
	// for them, and then checks Claims.ClientID and Claims.Scope itself.
	AcceptClientTokens bool
}

// Verifier verifies access tokens. It implements restauth.TokenVerifier and
// is safe for concurrent use.
type Verifier struct {
	keys     KeySource
	issuer   string
	audience string
	parser   *jwt.Parser
	cache    *claimsCache // Nil when disabled.
	now      func() time.Time
	// clients accepts tokens issued to OAuth clients.
	clients bool
}

// headers that make other JWT libraries fetch or trust keys named by the
// token itself, or that demand extensions restauth does not implement.
var refusedHeaders = [...]string{"jku", "x5u", "x5c", "jwk", "crit"}

// NewVerifier returns a Verifier that finds keys through keys.
func NewVerifier(keys KeySource, opts VerifierOptions) *Verifier {
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	v := &Verifier{keys: keys, issuer: opts.Issuer, audience: opts.Audience, now: time.Now, clients: opts.AcceptClientTokens}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithStrictDecoding(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	if opts.CacheSize > 0 {
		v.cache = newClaimsCache(opts.CacheSize)
	}
	return v
}

func refuse(msg string) *restauth.Error {
	return &restauth.Error{Code: restauth.EInvalidToken, Message: msg}
}

// Verify checks tok and returns its claims, or a *restauth.Error with code
// restauth.EInvalidToken saying briefly why it was refused. The returned
// Claims may be shared with other callers through the cache and must not be
// modified.
func (v *Verifier) Verify(ctx context.Context, tok string) (*restauth.Claims, error) {
	// Size and shape come first, so that hostile input costs O(n) and no
	// allocation before anything is decoded.
	if len(tok) > MaxTokenLen {
		return nil, refuse("token is too long")
	}
	if strings.Count(tok, ".") != 2 {
		return nil, refuse("token is malformed")
	}
	now := v.now()
	if v.cache != nil {
		if c := v.cache.get(tok, now); c != nil {
			return c, nil
		}
	}
	var wire accessClaims
	t, err := v.parser.ParseWithClaims(tok, &wire, func(t *jwt.Token) (any, error) {
		return v.key(ctx, t.Header)
	})
	if err != nil {
		return nil, refusal(t, err)
	}
	c, rerr := v.claims(&wire)
	if rerr != nil {
		return nil, rerr
	}
	if v.cache != nil && now.Before(c.ExpiresAt) {
		v.cache.put(strings.Clone(tok), c, now)
	}
	return c, nil
}

// Forget drops tok from the cache, so that its next use is verified again.
func (v *Verifier) Forget(tok string) {
	if v.cache != nil {
		v.cache.remove(tok)
	}
}

// key checks the protected header and looks up the key it names. It runs
// after the alg has passed the parser's allow-list and before the signature
// is checked.
func (v *Verifier) key(ctx context.Context, h map[string]any) (any, error) {
	if alg, _ := h["alg"].(string); alg != Algorithm {
		return nil, refuse("token algorithm is not accepted")
	}
	typ, _ := h["typ"].(string)
	if !strings.EqualFold(typ, TokenType) && !strings.EqualFold(typ, "application/"+TokenType) {
		return nil, refuse("token type is not accepted")
	}
	for _, name := range refusedHeaders {
		if _, ok := h[name]; ok {
			return nil, refuse("token header is not accepted")
		}
	}
	kid, _ := h["kid"].(string)
	if !ValidKeyID(kid) {
		return nil, refuse("token key id is invalid")
	}
	pub, err := v.keys.PublicKey(ctx, kid)
	if err != nil {
		e := refuse("token signing key is unknown")
		if err != ErrUnknownKey {
			e.Err = err // A store or network failure, kept for the logs.
		}
		return nil, e
	}
	return pub, nil
}

// claims checks the claims jwt does not know about and converts them.
func (v *Verifier) claims(w *accessClaims) (*restauth.Claims, *restauth.Error) {
	if v.issuer == "" || w.Issuer != v.issuer {
		return nil, refuse("token issuer is not accepted")
	}
	found := false
	for _, a := range w.Audience {
		if a == v.audience && a != "" {
			found = true
			break
		}
	}
	if !found {
		return nil, refuse("token audience is not accepted")
	}
	if w.ClientID != "" && !v.clients {
		return nil, refuse("token was issued to an OAuth client")
	}
	uid, ok := parseSubject(w.Subject)
	if !ok && w.ClientID != "" && w.Subject == restauth.ClientSubject(w.ClientID) {
		// A client's token for itself (client_credentials): no user.
		uid, ok = 0, true
	}
	if !ok {
		return nil, refuse("token subject is invalid")
	}
	if w.SessionID == "" {
		return nil, refuse("token has no session id")
	}
	if w.ID == "" {
		return nil, refuse("token has no token id")
	}
	return &restauth.Claims{
		Issuer:    w.Issuer,
		Audience:  []string(w.Audience),
		UserID:    uid,
		Username:  w.Username,
		SessionID: w.SessionID,
		ID:        w.ID,
		IssuedAt:  numericTime(w.IssuedAt),
		NotBefore: numericTime(w.NotBefore),
		ExpiresAt: numericTime(w.ExpiresAt),
		ClientID:  w.ClientID,
		Scope:     w.Scope,
	}, nil
}

// refusal turns a jwt error into a client-safe refusal. The jwt error itself
// is not kept: JSON errors quote bits of the token.
func refusal(t *jwt.Token, err error) *restauth.Error {
	var re *restauth.Error
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(err, jwt.ErrTokenMalformed):
		return refuse("token is malformed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if t != nil && t.Method != nil && t.Method.Alg() != Algorithm {
			return refuse("token algorithm is not accepted")
		}
		return refuse("token signature is invalid")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Raised for an unknown or missing alg.
		return refuse("token algorithm is not accepted")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refuse("token has no expiry")
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse("token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refuse("token is not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse("token is issued in the future")
	default:
		return refuse("token is invalid")
	}
}
