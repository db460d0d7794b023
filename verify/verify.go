package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/token"
)

// DefaultTimeout is the timeout of the HTTP client used when
// Options.HTTPClient is nil.
const DefaultTimeout = 10 * time.Second

// Options configure a Verifier. JWKSURL, Issuer and Audience are required.
type Options struct {
	JWKSURL  string // restauth's JWKS endpoint.
	Issuer   string // Required "iss" of tokens.
	Audience string // The "aud" this service requires.
	// Leeway is the clock-skew allowance for exp, nbf and iat;
	// token.DefaultLeeway when zero.
	Leeway time.Duration
	// HTTPClient fetches the JWKS and calls introspection; a client with
	// DefaultTimeout when nil.
	HTTPClient *http.Client
	// RefetchInterval is the least time between JWKS fetches caused by
	// unknown kids; DefaultRefetchInterval when zero.
	RefetchInterval time.Duration
	// MaxAge is how long a fetched JWKS is fresh when the response has no
	// Cache-Control max-age; DefaultMaxAge when zero.
	MaxAge time.Duration
	// CacheSize bounds the cache of verified tokens, as in
	// token.VerifierOptions.
	CacheSize int
	// AcceptClientTokens accepts access tokens restauth's OpenID Connect
	// provider issued to OAuth clients (third-party apps, and clients
	// acting for themselves through client_credentials). They are refused
	// by default: they carry the same issuer and audience as a user's own
	// tokens, but only the scopes the user granted the app. A service
	// that serves such apps sets it and must then check Claims.ClientID
	// and Claims.Scope (a client_credentials token has UserID 0).
	// restauth's POST /api/introspect reports such tokens inactive, so
	// Introspection pointed there refuses them all; they are introspected
	// at /oauth/introspect with the credentials of the client they were
	// issued to.
	AcceptClientTokens bool
	// Introspection, when set, makes every locally valid token also be
	// confirmed active by restauth.
	Introspection *Introspection
	// Logger receives failures the client is not told about, such as an
	// unreachable JWKS; slog.Default() when nil. Tokens are never logged.
	Logger *slog.Logger
}

// Verifier verifies restauth access tokens for another service. It is safe
// for concurrent use.
type Verifier struct {
	tokens *token.Verifier
	jwks   *JWKS
	intro  *introspector
	log    *slog.Logger
}

// New returns a Verifier for opts. It fetches nothing yet: the JWKS is
// loaded with the first token, so the service may start before restauth.
func New(opts Options) (*Verifier, error) {
	if err := checkURL(opts.JWKSURL); err != nil {
		return nil, fmt.Errorf("verify: JWKSURL: %w", err)
	}
	if opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("verify: Issuer and Audience are required")
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	jwks := NewJWKS(opts.JWKSURL, client, JWKSOptions{RefetchInterval: opts.RefetchInterval, MaxAge: opts.MaxAge})
	v := &Verifier{
		jwks: jwks,
		log:  log,
		tokens: token.NewVerifier(jwks, token.VerifierOptions{
			Issuer: opts.Issuer, Audience: opts.Audience, Leeway: opts.Leeway, CacheSize: opts.CacheSize,
			AcceptClientTokens: opts.AcceptClientTokens,
		}),
	}
	if opts.Introspection != nil {
		in, err := newIntrospector(*opts.Introspection, client)
		if err != nil {
			return nil, err
		}
		v.intro = in
	}
	return v, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("not an absolute http(s) URL")
	}
	return nil
}

// JWKS returns the key source, for example to Refresh it at start-up.
func (v *Verifier) JWKS() *JWKS { return v.jwks }

// Verify checks tok and, when introspection is configured, that restauth
// still considers it active. Refused tokens give a *restauth.Error with code
// restauth.EInvalidToken; an unreachable introspection endpoint gives
// restauth.EUnavailable. The returned Claims may be shared and must not be
// modified.
func (v *Verifier) Verify(ctx context.Context, tok string) (*restauth.Claims, error) {
	c, err := v.tokens.Verify(ctx, tok)
	if err != nil {
		return nil, err
	}
	if v.intro != nil {
		if err := v.intro.check(ctx, tok, c.ExpiresAt); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Middleware requires a valid bearer token on every request. It responds 401
// with a JSON error body and a WWW-Authenticate header (RFC 6750) when the
// token is missing or refused, 503 when introspection is unavailable, and
// otherwise calls next with the claims in the request context.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearerToken(r.Header.Values("Authorization"))
		if !ok {
			// RFC 6750 section 3.1: a request without credentials gets no
			// error code in the challenge.
			writeError(w, http.StatusUnauthorized, "Bearer", restauth.EInvalidToken, "a bearer token is required")
			return
		}
		c, err := v.Verify(r.Context(), tok)
		if err != nil {
			var e *restauth.Error
			if errors.As(err, &e) && e.Err != nil {
				v.log.WarnContext(r.Context(), "verify: token refused", "code", e.Code, "reason", e.Message, "err", e.Err)
			}
			if restauth.ErrorCode(err) == restauth.EUnavailable {
				writeError(w, http.StatusServiceUnavailable, "", restauth.EUnavailable, restauth.ErrorMessage(err))
				return
			}
			writeError(w, http.StatusUnauthorized, `Bearer error="invalid_token"`, restauth.EInvalidToken, restauth.ErrorMessage(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
	})
}

// bearerToken extracts the token from a single "Bearer <token>"
// Authorization header; the scheme is case-insensitive.
func bearerToken(values []string) (string, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

func writeError(w http.ResponseWriter, status int, challenge, code, msg string) {
	h := w.Header()
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, msg})
}

type claimsKey struct{}

// NewContext returns a copy of ctx carrying c, as Middleware does; tests of
// handlers can use it to simulate an authenticated request.
func NewContext(ctx context.Context, c *restauth.Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the claims Middleware stored in ctx. They must
// not be modified.
func ClaimsFromContext(ctx context.Context) (*restauth.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*restauth.Claims)
	return c, ok && c != nil
}
