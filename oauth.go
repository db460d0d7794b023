package restauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// restauth is an OAuth 2.1 authorization server and OpenID Connect provider
// for the clients an operator registers. The vocabulary and the rules are
// here: which client may ask for what, how an authorization request is
// checked, how a code is issued and redeemed (once, by the client it was
// issued to, with the redirect URI and PKCE verifier it was bound to), what
// consent is remembered, and how the tokens a client holds are refreshed and
// revoked. The HTTP surfaces (package oidc for the back channel, package
// pages for the browser) only translate.

// OAuth limits and defaults. docs/oidc.md states each.
const (
	// OAuthCodeTTL is how long an authorization code may be redeemed.
	OAuthCodeTTL = 60 * time.Second
	// OAuthCodeKeep is how long a redeemed or expired code is kept, so that
	// a replay within it still revokes what the code issued.
	OAuthCodeKeep = 10 * time.Minute
	// OAuthRequestTTL is how long an authorization request waits for the
	// person to sign in and consent.
	OAuthRequestTTL = 10 * time.Minute
	// OAuthRequestsPerAddress bounds the authorization requests stored
	// for one client from one client address per OAuthRequestTTL.
	OAuthRequestsPerAddress = 120
	// MaxOAuthClientNameLen bounds a client's registered name, in characters.
	MaxOAuthClientNameLen = 64
	// MaxRedirectURIs bounds the redirect URIs one client may register.
	MaxRedirectURIs = 16
	// MaxRedirectURILen bounds a redirect URI, in bytes.
	MaxRedirectURILen = 512
	// MaxOAuthParamLen bounds state and nonce, in bytes.
	MaxOAuthParamLen = 512
	// MaxScopes bounds the scopes a client may register or a request name.
	MaxScopes = 32
	// OAuthSecretBytes is the number of random bytes in a client secret.
	OAuthSecretBytes = 32
	// IDTokenTTL is the lifetime of an ID token.
	IDTokenTTL = time.Hour
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Scopes restauth gives a meaning to. A client may register other scopes
// (names its resource servers understand); they are carried in the access
// token's "scope" claim and shown on the consent page by name.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
)

// OAuth error codes, as RFC 6749, OpenID Connect and RFC 7009 name them.
// They are the "error" of OAuth responses and never change meaning.
const (
	EOAuthInvalidRequest   = "invalid_request"
	EOAuthInvalidClient    = "invalid_client"
	EOAuthUnauthorized     = "unauthorized_client"
	EOAuthInvalidScope     = "invalid_scope"
	EOAuthUnsupportedType  = "unsupported_response_type"
	EOAuthUnsupportedGrant = "unsupported_grant_type"
	EOAuthAccessDenied     = "access_denied"
	EOAuthLoginRequired    = "login_required"
	EOAuthConsentRequired  = "consent_required"
	EOAuthServerError      = "server_error"
)

// OAuthClient is an application registered by the operator.
type OAuthClient struct {
	ID   string
	Name string // Shown on the consent page; the operator's words.
	// SecretHash is the SHA-256 of the client secret; nil for a public
	// client (a browser or native app, which cannot keep a secret).
	SecretHash   []byte
	RedirectURIs []string
	// LogoutURIs are the post_logout_redirect_uri values accepted.
	LogoutURIs []string
	Grants     []string
	Scopes     []string // The scopes the client may ask for.
	// Trusted marks a first-party client: its users are not asked to
	// consent.
	Trusted bool
	// IDTokenAlg is the algorithm of the client's ID tokens (its
	// id_token_signed_response_alg): IDTokenRS256, or IDTokenEdDSA for a
	// client that asked for it.
	IDTokenAlg string
	CreatedAt  time.Time
}

// ID token algorithms a client may be registered for.
const (
	IDTokenRS256 = "RS256"
	IDTokenEdDSA = "EdDSA"
)

// Public reports whether the client has no secret.
func (c *OAuthClient) Public() bool { return len(c.SecretHash) == 0 }

// HasGrant reports whether the client is registered for grant.
func (c *OAuthClient) HasGrant(grant string) bool { return slices.Contains(c.Grants, grant) }

// AuthorizationRequest is a checked authorization request, kept in the
// store while the person signs in and consents, so that any instance may
// continue it.
type AuthorizationRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string // S256 only.
	// Prompt holds "none", "login", "consent" or "" (prompt=select_account
	// is treated as "").
	Prompt string
	// MaxAge is the max_age parameter in seconds, -1 when absent.
	MaxAge    int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OAuthCode is an issued authorization code, stored by the hash of the code.
type OAuthCode struct {
	Hash          []byte
	ClientID      string
	RedirectURI   string
	CodeChallenge string
	Scopes        []string
	Nonce         string
	UserID        int64
	AuthTime      time.Time
	CreatedAt     time.Time
	ExpiresAt     time.Time
	// SessionID names the session the code's redemption opens; it is
	// chosen at redemption, and a replay revokes it.
	SessionID string
	UsedAt    time.Time
}

// CodeRedemption asks a store to mark a code used, only if every binding
// matches and it is unused and unexpired, in one conditional statement.
type CodeRedemption struct {
	Hash          []byte
	ClientID      string
	RedirectURI   string
	CodeChallenge string
	SessionID     string
	Now           time.Time
}

// OAuthGrant binds a session to the client it was issued to: the scopes
// consented, the time the person authenticated and the nonce of the
// request. A session without one belongs to restauth's own API or pages.
type OAuthGrant struct {
	SessionID string
	ClientID  string
	UserID    int64
	Scopes    []string
	AuthTime  time.Time
	// RefreshUsed is set by OAuthGrantByRefresh when the refresh token it
	// was found by has already been rotated: spent, no longer active.
	RefreshUsed bool
}

// OAuthConsent is a person's remembered consent for a client and scopes.
type OAuthConsent struct {
	UserID    int64
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
}

// ErrOAuthCodeUsed is returned by RedeemOAuthCode for a code that was
// redeemed before; the code returned with it names the session it opened.
var ErrOAuthCodeUsed = &Error{Code: EInvalidGrant, Message: "the authorization code was used already"}

// ErrOAuthClientExists is returned by CreateOAuthClient for a taken id.
var ErrOAuthClientExists = &Error{Code: EInvalid, Message: "a client with that id exists"}

// OAuthStore persists clients, authorization requests, codes, grants and
// consents.
type OAuthStore interface {
	CreateOAuthClient(ctx context.Context, c *OAuthClient) error
	OAuthClient(ctx context.Context, id string) (*OAuthClient, error)
	OAuthClients(ctx context.Context) ([]*OAuthClient, error)
	// SetOAuthClientSecret replaces a confidential client's secret hash and
	// revokes every session issued to it at now, returning their ids.
	SetOAuthClientSecret(ctx context.Context, id string, hash []byte, now time.Time) ([]string, error)
	// DeleteOAuthClient deletes the client and its consents and revokes
	// every session issued to it at now, returning their ids.
	DeleteOAuthClient(ctx context.Context, id string, now time.Time) ([]string, error)

	// AddAuthorizationRequest stores r and deletes the expired requests.
	AddAuthorizationRequest(ctx context.Context, r *AuthorizationRequest, now time.Time) error
	// AuthorizationRequest returns an unexpired request, or ErrNotFound.
	AuthorizationRequest(ctx context.Context, id string, now time.Time) (*AuthorizationRequest, error)
	// DeleteAuthorizationRequest deletes the request; ErrNotFound when it
	// was gone already, so that only one answer is sent per request.
	DeleteAuthorizationRequest(ctx context.Context, id string) error

	// AddOAuthCode stores c and deletes codes that expired more than
	// OAuthCodeKeep before now.
	AddOAuthCode(ctx context.Context, c *OAuthCode, now time.Time) error
	// RedeemOAuthCode marks the code used by r.SessionID with one
	// conditional update, when its hash, client, redirect URI and
	// challenge match and it is unused and unexpired, and returns it. For
	// a code used before it returns the code (with the SessionID of its
	// first redemption) and ErrOAuthCodeUsed, having marked it replayed;
	// for anything else, ErrNotFound.
	RedeemOAuthCode(ctx context.Context, r CodeRedemption) (*OAuthCode, error)
	// CreateOAuthSession stores s, its refresh token (which may be nil)
	// and g in one transaction. When codeHash is not nil and that code was
	// marked replayed meanwhile, it stores nothing and returns
	// ErrOAuthCodeUsed, so that a replay racing the redemption cannot
	// leave the redemption's tokens alive.
	CreateOAuthSession(ctx context.Context, codeHash []byte, s *Session, refresh *RefreshRecord, g *OAuthGrant) error
	// OAuthGrant returns the grant of a session, or ErrNotFound.
	OAuthGrant(ctx context.Context, sessionID string) (*OAuthGrant, error)
	// OAuthGrantByRefresh returns the grant of the session that the
	// refresh token hashing to hash belongs to, or ErrNotFound (also for
	// a session of restauth's own API).
	OAuthGrantByRefresh(ctx context.Context, hash []byte) (*OAuthGrant, error)

	// OAuthConsent returns the user's consent for the client, or
	// ErrNotFound.
	OAuthConsent(ctx context.Context, userID int64, clientID string) (*OAuthConsent, error)
	// SaveOAuthConsent stores c, replacing an earlier consent of the same
	// user for the same client.
	SaveOAuthConsent(ctx context.Context, c *OAuthConsent) error
	// OAuthConsents returns the user's consents, oldest first.
	OAuthConsents(ctx context.Context, userID int64) ([]*OAuthConsent, error)
	// DeleteOAuthConsent deletes the user's consent for the client and
	// revokes the user's sessions issued to the client at now, returning
	// their ids; ErrNotFound when there was neither.
	DeleteOAuthConsent(ctx context.Context, userID int64, clientID string, now time.Time) ([]string, error)

	// ClientSession returns the newest unrevoked, unexpired session that a
	// client opened for itself (client_credentials: no user, UserID 0), or
	// ErrNotFound.
	ClientSession(ctx context.Context, clientID string, now time.Time) (*Session, error)
	// RevokeClientSession revokes the session sessionID that the client
	// opened for itself (no user: the session's user_id is NULL, so
	// RevokeSession cannot find it); ErrNotFound when there is no such
	// unrevoked session.
	RevokeClientSession(ctx context.Context, clientID, sessionID string, now time.Time) error

	DeviceStore
}

// IDTokenClaims are the claims of an OpenID Connect ID token.
type IDTokenClaims struct {
	// Algorithm is IDTokenRS256 or IDTokenEdDSA.
	Algorithm         string
	Issuer            string
	Subject           string
	Audience          string
	AuthorizedParty   string
	IssuedAt          time.Time
	ExpiresAt         time.Time
	AuthTime          time.Time
	Nonce             string
	AccessTokenHash   string // at_hash.
	SessionID         string
	PreferredUsername string // Set for the profile scope.
}

// IDTokenSigner signs ID tokens (RS256) and checks the ID tokens restauth
// signed, given back as id_token_hint.
type IDTokenSigner interface {
	SignIDToken(ctx context.Context, c *IDTokenClaims) (string, error)
	// ParseIDTokenHint returns the claims of an ID token restauth signed,
	// checking the signature and the algorithm but not the expiry (a hint
	// may be old); any other token is refused.
	ParseIDTokenHint(ctx context.Context, tok string) (*IDTokenClaims, error)
}

// OIDC turns restauth into an OpenID Connect provider; the zero value
// leaves it off.
type OIDC struct {
	// Issuer is the public URL, byte for byte as discovery announces it.
	Issuer   string
	Store    OAuthStore
	IDTokens IDTokenSigner
	// DeviceSecret keys the device page's confirmation tokens (an HMAC
	// over the browser session and the user code), so that a person cannot
	// compute one for a code they never looked up. It must be the same on
	// every instance (cmd/restauth keeps it in the database); when empty,
	// NewService draws one for this process alone.
	DeviceSecret []byte
}

// OAuthError is a refusal in OAuth's terms: an error code of RFC 6749 and a
// description safe to show. Redirect tells the authorization endpoint that
// the client and redirect URI were verified, so that the error may be sent
// back to the client; otherwise it is shown on an error page.
type OAuthError struct {
	Code        string
	Description string
	Redirect    bool
	// Status is the HTTP status of the token endpoint's answer.
	Status int
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, desc string) *OAuthError {
	return &OAuthError{Code: code, Description: desc}
}

var (
	errOIDCOff        = &Error{Code: ENotFound, Message: "OpenID Connect is not turned on"}
	errOAuthGrant     = oauthErr(EInvalidGrant, "the grant is invalid, expired, used or was issued to another client")
	errOAuthClient    = oauthErr(EOAuthInvalidClient, "client authentication failed")
	errOAuthClientTok = &Error{Code: EInvalidToken, Message: "the token was issued to an OAuth client"}
)

// OIDCEnabled reports whether restauth serves OpenID Connect.
func (s *Service) OIDCEnabled() bool {
	return s.deps.OIDC.Issuer != "" && s.deps.OIDC.Store != nil && s.deps.OIDC.IDTokens != nil
}

// OIDCIssuer returns the issuer URL, or "" when OpenID Connect is off.
func (s *Service) OIDCIssuer() string {
	if !s.OIDCEnabled() {
		return ""
	}
	return s.deps.OIDC.Issuer
}

func (s *Service) oauth() (OAuthStore, error) {
	if !s.OIDCEnabled() {
		return nil, errOIDCOff
	}
	return s.deps.OIDC.Store, nil
}

// randomToken returns n random bytes in unpadded base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashOAuthSecret returns the stored form of a client secret or code: its
// SHA-256. Secrets are 256 random bits, so a fast hash is enough, and a
// slow one would let anyone burn CPU at the token endpoint.
func HashOAuthSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// OAuthClientSpec is what the operator registers.
type OAuthClientSpec struct {
	Name         string
	RedirectURIs []string
	LogoutURIs   []string
	Public       bool
	Grants       []string // Empty: authorization_code and refresh_token.
	Scopes       []string // Empty: openid and profile.
	Trusted      bool
	IDTokenAlg   string // Empty: RS256.
}

// RegisterOAuthClient checks spec and stores a new client. For a
// confidential client it returns the secret, which is shown this once.
func (s *Service) RegisterOAuthClient(ctx context.Context, spec OAuthClientSpec) (*OAuthClient, string, error) {
	st, err := s.oauthStoreAny()
	if err != nil {
		return nil, "", err
	}
	c, err := checkClientSpec(spec)
	if err != nil {
		return nil, "", err
	}
	// An id is typed on command lines (restauth client rotate-secret ID),
	// where one that began with "-" would be read as a flag.
	for c.ID == "" || strings.HasPrefix(c.ID, "-") {
		if c.ID, err = s.deps.NewID(); err != nil {
			return nil, "", err
		}
	}
	c.CreatedAt = s.deps.Now()
	var secret string
	if !spec.Public {
		if secret, err = randomToken(OAuthSecretBytes); err != nil {
			return nil, "", err
		}
		c.SecretHash = HashOAuthSecret(secret)
	}
	if err := st.CreateOAuthClient(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

// oauthStoreAny returns the OAuth store whether or not the provider is
// served, for the operator's commands, which need no issuer.
func (s *Service) oauthStoreAny() (OAuthStore, error) {
	if s.deps.OIDC.Store == nil {
		return nil, errors.New("the Service was given no OAuth store")
	}
	return s.deps.OIDC.Store, nil
}

func checkClientSpec(spec OAuthClientSpec) (*OAuthClient, error) {
	name := strings.TrimSpace(spec.Name)
	if name == "" || utf8.RuneCountInString(name) > MaxOAuthClientNameLen || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, Errorf(EInvalid, "a client name is 1 to %d printable characters", MaxOAuthClientNameLen)
	}
	grants := spec.Grants
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	for _, g := range grants {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode:
		case GrantClientCredentials:
			if spec.Public {
				return nil, Errorf(EInvalid, "a public client cannot use client_credentials")
			}
		default:
			return nil, Errorf(EInvalid, "unknown grant %q (authorization_code, refresh_token, client_credentials, %s)", g, GrantDeviceCode)
		}
	}
	grants = dedupe(grants)
	if slices.Contains(grants, GrantAuthorizationCode) && len(spec.RedirectURIs) == 0 {
		return nil, Errorf(EInvalid, "the authorization_code grant needs at least one redirect URI")
	}
	if len(spec.RedirectURIs) > MaxRedirectURIs || len(spec.LogoutURIs) > MaxRedirectURIs {
		return nil, Errorf(EInvalid, "at most %d redirect URIs", MaxRedirectURIs)
	}
	for _, u := range append(slices.Clone(spec.RedirectURIs), spec.LogoutURIs...) {
		if err := CheckRedirectURI(u); err != nil {
			return nil, err
		}
	}
	scopes := spec.Scopes
	if len(scopes) == 0 {
		scopes = []string{ScopeOpenID, ScopeProfile}
	}
	if len(scopes) > MaxScopes {
		return nil, Errorf(EInvalid, "at most %d scopes", MaxScopes)
	}
	for _, sc := range scopes {
		if !validScopeToken(sc) {
			return nil, Errorf(EInvalid, "scope %q is not 1 to 64 of the characters OAuth allows", sc)
		}
	}
	alg := spec.IDTokenAlg
	switch alg {
	case "":
		alg = IDTokenRS256
	case IDTokenRS256, IDTokenEdDSA:
	default:
		return nil, Errorf(EInvalid, "the ID token algorithm is RS256 or EdDSA")
	}
	return &OAuthClient{
		Name: name, RedirectURIs: dedupe(spec.RedirectURIs), LogoutURIs: dedupe(spec.LogoutURIs),
		Grants: grants, Scopes: dedupe(scopes), Trusted: spec.Trusted, IDTokenAlg: alg,
	}, nil
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// validScopeToken reports whether sc is a scope-token of RFC 6749 3.3 (of
// at most 64 bytes).
func validScopeToken(sc string) bool {
	if sc == "" || len(sc) > 64 {
		return false
	}
	for i := 0; i < len(sc); i++ {
		c := sc[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// CheckRedirectURI says whether u may be registered as a redirect URI: an
// absolute https URL, an http URL on a loopback address (a native app's
// local listener, RFC 8252 7.3), or a private-use scheme holding a dot
// (RFC 8252 7.1); never with a fragment or user information.
func CheckRedirectURI(u string) error {
	p, err := url.Parse(u)
	bad := Errorf(EInvalid, "redirect URI %q must be an absolute https URL, http on 127.0.0.1 or [::1], or a private-use scheme such as com.example.app:/cb, without a fragment", truncate(u, 80))
	if err != nil || len(u) > MaxRedirectURILen || !p.IsAbs() || p.Fragment != "" || strings.Contains(u, "#") || p.User != nil ||
		strings.ContainsFunc(u, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		return bad
	}
	switch p.Scheme {
	case "https":
		if p.Host == "" {
			return bad
		}
	case "http":
		if _, ok := loopbackKey(u); !ok {
			return bad
		}
	default:
		if !strings.Contains(p.Scheme, ".") {
			return bad
		}
	}
	return nil
}

// loopbackKey returns u without its port when u is an http URL on the
// literal loopback addresses 127.0.0.1 or [::1], which a native app's local
// listener may use on any port (RFC 8252 7.3). The comparison stays textual
// so that nothing but the port can differ.
func loopbackKey(u string) (string, bool) {
	for _, host := range []string{"http://127.0.0.1", "http://[::1]"} {
		rest, ok := strings.CutPrefix(u, host)
		if !ok {
			continue
		}
		if port, ok := strings.CutPrefix(rest, ":"); ok {
			end := strings.IndexAny(port, "/?")
			if end < 0 {
				end = len(port)
			}
			digits := port[:end]
			if digits == "" || len(digits) > 5 || strings.ContainsFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) {
				return "", false
			}
			if n, _ := strconv.Atoi(digits); n == 0 || n > 65535 {
				return "", false
			}
			rest = port[end:]
		}
		if rest != "" && rest[0] != '/' && rest[0] != '?' {
			return "", false
		}
		return host + rest, true
	}
	return "", false
}

// MatchRedirectURI reports whether the redirect URI a request names is one
// the client registered: byte for byte, except that for a public (native)
// client the port of a registered loopback http URI may differ (RFC 8252
// 7.3). A confidential client runs on a server whose port is known, so its
// loopback URIs match exactly too: any local process listening on another
// port must not receive its codes.
func MatchRedirectURI(client *OAuthClient, requested string) bool {
	if requested == "" || len(requested) > MaxRedirectURILen || strings.Contains(requested, "#") {
		return false
	}
	rk, rloop := loopbackKey(requested)
	rloop = rloop && client.Public()
	for _, r := range client.RedirectURIs {
		if r == requested {
			return true
		}
		if rloop {
			if k, ok := loopbackKey(r); ok && k == rk {
				return true
			}
		}
	}
	return false
}

// ValidCodeVerifier reports whether v is a PKCE code verifier: 43 to 128
// characters of [A-Za-z0-9-._~] (RFC 7636 4.1).
func ValidCodeVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// S256 returns the PKCE S256 challenge of a verifier.
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// validChallenge reports whether c could be an S256 challenge: the
// unpadded base64url of 32 bytes.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == 32
}

// parseOAuthScopes splits a scope parameter, refusing malformed and repeated
// tokens.
func parseOAuthScopes(s string) ([]string, bool) {
	if s == "" || len(s) > 2048 {
		return nil, false
	}
	parts := strings.Split(s, " ")
	if len(parts) > MaxScopes {
		return nil, false
	}
	for i, p := range parts {
		if !validScopeToken(p) || slices.Contains(parts[:i], p) {
			return nil, false
		}
	}
	return parts, true
}

// singleParam returns the one value of name, refusing repeats (RFC 6749
// 3.1: parameters must not be included more than once).
func singleParam(q url.Values, name string) (string, bool) {
	v := q[name]
	switch len(v) {
	case 0:
		return "", true
	case 1:
		return v[0], true
	}
	return "", false
}

// ParseAuthorization checks an authorization request's parameters. Until
// the client and its redirect URI are known good, a refusal has Redirect
// false and must be shown on an error page, so that restauth is never an
// open redirector; after that it has Redirect true, and the returned
// request (with RedirectURI and State) says where to send it.
func (s *Service) ParseAuthorization(ctx context.Context, q url.Values) (*AuthorizationRequest, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	get := func(name string) (string, *OAuthError) {
		v, ok := singleParam(q, name)
		if !ok {
			return "", oauthErr(EOAuthInvalidRequest, "the "+name+" parameter is repeated")
		}
		return v, nil
	}
	clientID, oe := get("client_id")
	if oe != nil {
		return nil, oe
	}
	if clientID == "" || len(clientID) > 128 {
		return nil, oauthErr(EOAuthInvalidRequest, "client_id is missing or unknown")
	}
	redirect, oe := get("redirect_uri")
	if oe != nil {
		return nil, oe
	}
	client, err := st.OAuthClient(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, oauthErr(EOAuthInvalidRequest, "client_id is missing or unknown")
	}
	if err != nil {
		return nil, err
	}
	// OpenID Connect requires redirect_uri in every request, and the token
	// request repeats it, so it is never left to a default.
	if !MatchRedirectURI(client, redirect) {
		return nil, oauthErr(EOAuthInvalidRequest, "redirect_uri is not registered for this client")
	}
	now := s.deps.Now()
	ar := &AuthorizationRequest{ClientID: client.ID, RedirectURI: redirect, MaxAge: -1,
		CreatedAt: now, ExpiresAt: now.Add(OAuthRequestTTL)}
	state, oe := get("state")
	if oe != nil || len(state) > MaxOAuthParamLen || !vschars(state) {
		// The state cannot be trusted to be the client's, so none is sent.
		return ar, redirectErr(EOAuthInvalidRequest, "state is repeated, too long, or holds characters other than printable ASCII")
	}
	ar.State = state
	fail := func(code, desc string) (*AuthorizationRequest, error) { return ar, redirectErr(code, desc) }
	if _, ok := q["request"]; ok {
		return fail("request_not_supported", "request objects are not supported")
	}
	if _, ok := q["request_uri"]; ok {
		return fail("request_uri_not_supported", "request_uri is not supported")
	}
	vals := map[string]string{}
	for _, name := range []string{"response_type", "scope", "nonce", "code_challenge", "code_challenge_method", "prompt", "max_age", "response_mode"} {
		v, oe := get(name)
		if oe != nil {
			return fail(EOAuthInvalidRequest, oe.Description)
		}
		vals[name] = v
	}
	switch vals["response_type"] {
	case "code":
	case "":
		// A missing parameter is a malformed request (RFC 6749 4.1.2.1),
		// not an unsupported response type.
		return fail(EOAuthInvalidRequest, "response_type is required")
	default:
		return fail(EOAuthUnsupportedType, "only response_type=code is supported")
	}
	if m := vals["response_mode"]; m != "" && m != "query" {
		return fail(EOAuthInvalidRequest, "only response_mode=query is supported")
	}
	if !client.HasGrant(GrantAuthorizationCode) {
		return fail(EOAuthUnauthorized, "the client may not use the authorization code grant")
	}
	switch vals["code_challenge_method"] {
	case "S256":
	case "":
		return fail(EOAuthInvalidRequest, "code_challenge_method=S256 is required (PKCE)")
	default:
		return fail(EOAuthInvalidRequest, "only code_challenge_method=S256 is supported")
	}
	if !validChallenge(vals["code_challenge"]) {
		return fail(EOAuthInvalidRequest, "code_challenge must be the S256 challenge: 43 characters of base64url")
	}
	ar.CodeChallenge = vals["code_challenge"]
	scopes, ok := parseOAuthScopes(vals["scope"])
	if !ok {
		return fail(EOAuthInvalidScope, "scope is missing or malformed")
	}
	for _, sc := range scopes {
		if !slices.Contains(client.Scopes, sc) {
			return fail(EOAuthInvalidScope, "the client may not ask for scope "+sc)
		}
	}
	ar.Scopes = scopes
	if len(vals["nonce"]) > MaxOAuthParamLen || !vschars(vals["nonce"]) {
		return fail(EOAuthInvalidRequest, "nonce is too long or holds characters other than printable ASCII")
	}
	ar.Nonce = vals["nonce"]
	switch p := vals["prompt"]; p {
	case "", "none", "login", "consent":
		ar.Prompt = p
	case "select_account":
	default:
		return fail(EOAuthInvalidRequest, "prompt must be one of none, login, consent")
	}
	if ma := vals["max_age"]; ma != "" {
		// The bound keeps max_age within PostgreSQL's integer column and
		// its conversion to a time.Duration from overflowing.
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 || n > math.MaxInt32 || len(ma) > 10 {
			return fail(EOAuthInvalidRequest, "max_age must be a number of seconds")
		}
		ar.MaxAge = n
	}
	return ar, nil
}

func redirectErr(code, desc string) *OAuthError {
	return &OAuthError{Code: code, Description: desc, Redirect: true}
}

// SaveAuthorization stores a checked request so that any instance may
// continue it after the person has signed in, and sets its ID.
//
// Anyone may send the request, so the rows it creates are limited per
// client and client address (OAuthRequestsPerAddress per OAuthRequestTTL).
func (s *Service) SaveAuthorization(ctx context.Context, ar *AuthorizationRequest, meta ClientMeta) error {
	st, err := s.oauth()
	if err != nil {
		return err
	}
	if err := s.rowBudget(ctx, "oauth-request:", ar.ClientID, meta, OAuthRequestsPerAddress, OAuthRequestTTL); err != nil {
		return err
	}
	if ar.ID, err = s.deps.NewID(); err != nil {
		return err
	}
	return st.AddAuthorizationRequest(ctx, ar, s.deps.Now())
}

// rowBudget counts one stored row that an unauthenticated request creates
// for clientID from meta's address (an IPv6 address by its /64, as every
// address limit), and refuses it over limit per window.
func (s *Service) rowBudget(ctx context.Context, kind, clientID string, meta ClientMeta, limit int, window time.Duration) error {
	now := s.deps.Now()
	c, err := s.deps.Counters.Incr(ctx, limitKey(kind+clientID+"|", meta.IP), now, window)
	if err != nil {
		return err
	}
	if c.Count > limit {
		return tooMany(c.WindowStart.Add(window).Sub(now))
	}
	return nil
}

// Authorization returns a stored, unexpired request.
func (s *Service) Authorization(ctx context.Context, id string) (*AuthorizationRequest, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if id == "" || len(id) > 128 {
		return nil, ErrNotFound
	}
	return st.AuthorizationRequest(ctx, id, s.deps.Now())
}

// OAuthClient returns a registered client.
func (s *Service) OAuthClient(ctx context.Context, id string) (*OAuthClient, error) {
	st, err := s.oauthStoreAny()
	if err != nil {
		return nil, err
	}
	if id == "" || len(id) > 128 {
		return nil, ErrNotFound
	}
	return st.OAuthClient(ctx, id)
}

// AuthorizationStep is what the authorization endpoint does next.
type AuthorizationStep int

// The steps of an authorization: send the person to sign in (again), ask
// for consent, or answer the client.
const (
	StepSignIn AuthorizationStep = iota
	StepConsent
	StepRespond
)

// NextStep decides what an authorization request needs from the browser
// session sess (nil when nobody is signed in): a sign-in when there is
// none, when prompt=login asks for a fresh one, or when the last one is
// older than max_age; consent when the client is not trusted and the user
// has not consented to these scopes (or prompt=consent); otherwise the
// answer. For prompt=none, a step that would need the person is an
// OAuthError to send back instead.
func (s *Service) NextStep(ctx context.Context, ar *AuthorizationRequest, sess *Session) (AuthorizationStep, error) {
	st, err := s.oauth()
	if err != nil {
		return 0, err
	}
	now := s.deps.Now()
	// A sign-in is fresh when it happened after the request was made. The
	// two times may come from instances whose clocks differ, so they are
	// compared with the configured leeway: otherwise a sign-in on a lagging
	// instance would never count and the browser would loop.
	fresh := sess != nil && !sess.CreatedAt.Before(ar.CreatedAt.Truncate(time.Microsecond).Add(-s.cfg.Leeway))
	switch {
	case sess == nil,
		ar.Prompt == "login" && !fresh,
		ar.MaxAge >= 0 && now.Sub(sess.CreatedAt) > time.Duration(ar.MaxAge)*time.Second+s.cfg.Leeway && !fresh:
		if ar.Prompt == "none" {
			return 0, redirectErr(EOAuthLoginRequired, "the person must sign in")
		}
		return StepSignIn, nil
	}
	client, err := st.OAuthClient(ctx, ar.ClientID)
	if err != nil {
		return 0, err
	}
	// A trusted client's users are not asked, unless the client itself
	// asks for the consent page with prompt=consent.
	if client.Trusted && ar.Prompt != "consent" {
		return StepRespond, nil
	}
	if ar.Prompt != "consent" {
		c, err := st.OAuthConsent(ctx, sess.UserID, client.ID)
		switch {
		case err == nil && subset(ar.Scopes, c.Scopes):
			return StepRespond, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return 0, err
		}
	}
	if ar.Prompt == "none" {
		return 0, redirectErr(EOAuthConsentRequired, "the person must consent")
	}
	return StepConsent, nil
}

func subset(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// Consent records that the signed-in user consents to the request's scopes
// for its client, adding them to those consented before.
func (s *Service) Consent(ctx context.Context, p *Principal, ar *AuthorizationRequest) error {
	st, err := s.oauth()
	if err != nil {
		return err
	}
	scopes := slices.Clone(ar.Scopes)
	if c, err := st.OAuthConsent(ctx, p.UserID, ar.ClientID); err == nil {
		scopes = dedupe(append(c.Scopes, scopes...))
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return st.SaveOAuthConsent(ctx, &OAuthConsent{UserID: p.UserID, ClientID: ar.ClientID, Scopes: scopes, CreatedAt: s.deps.Now()})
}

// IssueCode answers an authorization request for the signed-in session:
// it deletes the request (so that it is answered once), stores a code bound
// to the client, redirect URI and challenge, and returns the redirect URL
// carrying the code, the state and the issuer (RFC 9207).
func (s *Service) IssueCode(ctx context.Context, ar *AuthorizationRequest, sess *Session) (string, error) {
	st, err := s.oauth()
	if err != nil {
		return "", err
	}
	if ar.ID != "" {
		if err := st.DeleteAuthorizationRequest(ctx, ar.ID); err != nil {
			return "", err
		}
	}
	code, err := randomToken(32)
	if err != nil {
		return "", err
	}
	now := s.deps.Now()
	c := &OAuthCode{
		Hash: HashOAuthSecret(code), ClientID: ar.ClientID, RedirectURI: ar.RedirectURI,
		CodeChallenge: ar.CodeChallenge, Scopes: ar.Scopes, Nonce: ar.Nonce, UserID: sess.UserID,
		AuthTime: sess.CreatedAt, CreatedAt: now, ExpiresAt: now.Add(OAuthCodeTTL),
	}
	if err := st.AddOAuthCode(ctx, c, now); err != nil {
		return "", err
	}
	return s.AuthorizationResponse(ar, url.Values{"code": {code}}), nil
}

// AuthorizationResponse returns the redirect URL answering ar with params,
// the state unchanged and the issuer (RFC 9207), added to the redirect
// URI's own query.
func (s *Service) AuthorizationResponse(ar *AuthorizationRequest, params url.Values) string {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		return ar.RedirectURI // Checked at registration; cannot happen.
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	q.Set("iss", s.deps.OIDC.Issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// AuthorizationError returns the redirect URL carrying an error.
func (s *Service) AuthorizationError(ar *AuthorizationRequest, e *OAuthError) string {
	return s.AuthorizationResponse(ar, url.Values{"error": {e.Code}, "error_description": {e.Description}})
}

// DenyAuthorization deletes the request and returns the redirect URL
// telling the client the person refused.
func (s *Service) DenyAuthorization(ctx context.Context, ar *AuthorizationRequest) (string, error) {
	st, err := s.oauth()
	if err != nil {
		return "", err
	}
	if err := st.DeleteAuthorizationRequest(ctx, ar.ID); err != nil {
		return "", err
	}
	return s.AuthorizationError(ar, redirectErr(EOAuthAccessDenied, "the person refused")), nil
}

// AuthenticateOAuthClient checks a client's credentials at the token,
// revocation and introspection endpoints. A confidential client must give
// its secret, compared in constant time; a public client gives none.
func (s *Service) AuthenticateOAuthClient(ctx context.Context, id, secret string) (*OAuthClient, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if id == "" || len(id) > 128 || len(secret) > 256 {
		return nil, errOAuthClient
	}
	c, err := st.OAuthClient(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Hash anyway, so that an unknown client costs what a known one
		// does.
		subtle.ConstantTimeCompare(HashOAuthSecret(secret), make([]byte, sha256.Size))
		return nil, errOAuthClient
	}
	if err != nil {
		return nil, err
	}
	if c.Public() {
		if secret != "" {
			return nil, errOAuthClient
		}
		return c, nil
	}
	if secret == "" || subtle.ConstantTimeCompare(HashOAuthSecret(secret), c.SecretHash) != 1 {
		return nil, errOAuthClient
	}
	return c, nil
}

// OAuthTokens is a token endpoint's answer.
type OAuthTokens struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string // Empty when the client has no refresh_token grant.
	IDToken      string // Set when the openid scope was granted.
	Scopes       []string
}

// ExchangeCode redeems an authorization code for the authenticated client
// (RFC 6749 4.1.3 with PKCE). The code must have been issued to the client
// for redirectURI, the verifier must match its challenge, and it may be
// redeemed once: a second redemption is a replay, and revokes the session
// the first one opened.
func (s *Service) ExchangeCode(ctx context.Context, client *OAuthClient, code, redirectURI, verifier string, meta ClientMeta) (*OAuthTokens, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if !client.HasGrant(GrantAuthorizationCode) {
		return nil, oauthErr(EOAuthUnauthorized, "the client may not use the authorization code grant")
	}
	if verifier == "" {
		return nil, oauthErr(EOAuthInvalidRequest, "code_verifier is required (PKCE)")
	}
	if !ValidCodeVerifier(verifier) {
		return nil, oauthErr(EOAuthInvalidRequest, "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~]")
	}
	if code == "" || len(code) > 128 {
		return nil, errOAuthGrant
	}
	sid, err := s.deps.NewID()
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	hash := HashOAuthSecret(code)
	c, err := st.RedeemOAuthCode(ctx, CodeRedemption{
		Hash: hash, ClientID: client.ID, RedirectURI: redirectURI, CodeChallenge: S256(verifier),
		SessionID: sid, Now: now,
	})
	switch {
	case errors.Is(err, ErrOAuthCodeUsed):
		s.deps.Logger.WarnContext(ctx, "authorization code replayed; its tokens revoked", "client_id", c.ClientID, "session_id", c.SessionID)
		if err := s.revokeOne(ctx, c.UserID, c.SessionID); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, errOAuthGrant
	case errors.Is(err, ErrNotFound):
		return nil, errOAuthGrant
	case err != nil:
		return nil, err
	}
	u, err := s.deps.Users.UserByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	g := &OAuthGrant{SessionID: sid, ClientID: client.ID, UserID: u.ID, Scopes: c.Scopes, AuthTime: c.AuthTime}
	return s.openOAuthSession(ctx, hash, client, u, g, c.Nonce, meta)
}

// openOAuthSession opens a session for a client's grant and issues its
// tokens.
func (s *Service) openOAuthSession(ctx context.Context, codeHash []byte, client *OAuthClient, u *User, g *OAuthGrant, nonce string, meta ClientMeta) (*OAuthTokens, error) {
	now := s.deps.Now()
	sess := &Session{
		ID: g.SessionID, UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
		ClientIP:  meta.IP, UserAgent: ClientLabel(meta.UserAgent),
	}
	var rt string
	var rec *RefreshRecord
	if client.HasGrant(GrantRefreshToken) {
		var rh []byte
		var err error
		if rt, rh, err = s.deps.Refresh.New(); err != nil {
			return nil, err
		}
		rec = &RefreshRecord{Hash: rh, SessionID: sess.ID, CreatedAt: now}
	}
	err := s.deps.OIDC.Store.CreateOAuthSession(ctx, codeHash, sess, rec, g)
	if errors.Is(err, ErrOAuthCodeUsed) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	return s.oauthTokens(ctx, client, u, sess, g, g.Scopes, nonce, rt, now)
}

// oauthTokens signs the access token (with client_id and scope) and, for
// the openid scope, the ID token.
func (s *Service) oauthTokens(ctx context.Context, client *OAuthClient, u *User, sess *Session, g *OAuthGrant, scopes []string, nonce, refresh string, now time.Time) (*OAuthTokens, error) {
	now = now.Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTTL)
	if sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt.Truncate(time.Second)
	}
	c := &Claims{
		Issuer: s.cfg.Issuer, Audience: []string{s.cfg.Audience},
		UserID: u.ID, Username: u.Username, SessionID: sess.ID,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp,
		ClientID: client.ID, Scope: strings.Join(scopes, " "),
	}
	at, err := s.deps.Issuer.Issue(ctx, c)
	if err != nil {
		return nil, err
	}
	out := &OAuthTokens{AccessToken: at, ExpiresIn: exp.Sub(now), RefreshToken: refresh, Scopes: scopes}
	if slices.Contains(scopes, ScopeOpenID) {
		h := sha256.Sum256([]byte(at))
		half := h[:16]
		// at_hash is the left half of the access token's hash under the
		// ID token's algorithm's hash: SHA-256 for RS256; for EdDSA on
		// Ed25519, OpenID Connect names SHA-512.
		if client.IDTokenAlg == IDTokenEdDSA {
			h := sha512.Sum512([]byte(at))
			half = h[:32]
		}
		idc := &IDTokenClaims{
			Algorithm: client.IDTokenAlg,
			Issuer:    s.deps.OIDC.Issuer, Subject: FormatUserID(u.ID), Audience: client.ID,
			AuthorizedParty: client.ID, IssuedAt: now, ExpiresAt: now.Add(IDTokenTTL),
			AuthTime: g.AuthTime, Nonce: nonce, SessionID: sess.ID,
			AccessTokenHash: base64.RawURLEncoding.EncodeToString(half),
		}
		if slices.Contains(scopes, ScopeProfile) {
			idc.PreferredUsername = u.Username
		}
		if out.IDToken, err = s.deps.OIDC.IDTokens.SignIDToken(ctx, idc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RefreshOAuth rotates a refresh token issued to client, through the same
// rotation as restauth's own refresh tokens (the grace window, and a reuse
// after it revoking the session). A token issued to another client, or to
// restauth's own API, is refused without being consumed. The scopes asked
// for may only narrow those granted.
func (s *Service) RefreshOAuth(ctx context.Context, client *OAuthClient, refreshToken, scope string, meta ClientMeta) (*OAuthTokens, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if !client.HasGrant(GrantRefreshToken) {
		return nil, oauthErr(EOAuthUnauthorized, "the client may not use the refresh_token grant")
	}
	if refreshToken == "" || len(refreshToken) > 256 {
		return nil, errOAuthGrant
	}
	g, err := st.OAuthGrantByRefresh(ctx, s.deps.Refresh.Hash(refreshToken))
	if errors.Is(err, ErrNotFound) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(g.ClientID), []byte(client.ID)) != 1 {
		return nil, errOAuthGrant
	}
	scopes := g.Scopes
	if scope != "" {
		asked, ok := parseOAuthScopes(scope)
		if !ok || !subset(asked, g.Scopes) {
			return nil, oauthErr(EOAuthInvalidScope, "scope may only narrow the scopes granted")
		}
		scopes = asked
	}
	sess, u, child, now, err := s.rotate(ctx, refreshToken)
	if err != nil {
		if ErrorCode(err) == EInvalidGrant {
			return nil, errOAuthGrant
		}
		return nil, err
	}
	// The nonce belongs to the authentication; a refreshed ID token has
	// none (OpenID Connect Core 12.2).
	return s.oauthTokens(ctx, client, u, sess, g, scopes, "", child, now)
}

// UserInfo returns the user an access token issued to a client stands for,
// with the scopes it carries, for the userinfo endpoint. The token must be
// live: verified, its session not revoked.
func (s *Service) UserInfo(ctx context.Context, token string) (*User, *Claims, error) {
	if _, err := s.oauth(); err != nil {
		return nil, nil, err
	}
	p, err := s.authenticateToken(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	if p.Claims.ClientID == "" || !slices.Contains(strings.Fields(p.Claims.Scope), ScopeOpenID) {
		return nil, nil, &Error{Code: EForbidden, Message: "the token was not issued for the openid scope"}
	}
	if _, err := s.liveSession(ctx, p.SessionID); err != nil {
		return nil, nil, err
	}
	u, err := s.deps.Users.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	return u, p.Claims, nil
}

// RevokeOAuthToken revokes, for client, a refresh token or an access token
// issued to it (RFC 7009): the whole session it belongs to ends, on every
// instance. A token that is unknown, invalid or another client's is left
// alone, and the answer is the same (RFC 7009 2.2).
func (s *Service) RevokeOAuthToken(ctx context.Context, client *OAuthClient, token, hint string) error {
	st, err := s.oauth()
	if err != nil {
		return err
	}
	if token == "" || len(token) > 8192 {
		return nil
	}
	if hint != "access_token" && len(token) <= 256 {
		g, err := st.OAuthGrantByRefresh(ctx, s.deps.Refresh.Hash(token))
		switch {
		case err == nil:
			if g.ClientID != client.ID {
				return nil
			}
			return ignoreNotFound(s.revokeOne(ctx, g.UserID, g.SessionID))
		case !errors.Is(err, ErrNotFound):
			return err
		}
	}
	c, err := s.deps.Verifier.Verify(ctx, token)
	if err != nil || c.ClientID != client.ID {
		return nil
	}
	if c.UserID == 0 {
		// A client_credentials token: the client's session for itself,
		// which has no user.
		now := s.deps.Now()
		if err := st.RevokeClientSession(ctx, client.ID, c.SessionID, now); err != nil {
			return ignoreNotFound(err)
		}
		s.remember([]string{c.SessionID}, 0, now)
		return nil
	}
	return ignoreNotFound(s.revokeOne(ctx, c.UserID, c.SessionID))
}

func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// IntrospectOAuth reports whether a token is active for a client's
// introspection request (RFC 7662): an access token issued to the asking
// client, verified and live, with its client_id and scope. A refresh token
// is reported active when it was issued to the asking client, has not been
// rotated away, and its session is live. Every other token (first-party
// ones, other clients') is inactive to the client, so that a client learns
// nothing about tokens that are not its own. Public clients cannot
// authenticate and are refused.
func (s *Service) IntrospectOAuth(ctx context.Context, client *OAuthClient, token string) (*Claims, bool, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, false, err
	}
	if client.Public() {
		return nil, false, oauthErr(EOAuthInvalidClient, "a public client cannot introspect tokens")
	}
	c, active, signed, err := s.introspectFor(ctx, token, client.ID)
	if err != nil || signed {
		return c, active, err
	}
	if len(token) > 256 || token == "" {
		return nil, false, nil
	}
	g, err := st.OAuthGrantByRefresh(ctx, s.deps.Refresh.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	// A rotated refresh token is spent: presented again it is reuse, which
	// revokes the session, not a token the client may rely on.
	if g.ClientID != client.ID || g.RefreshUsed {
		return nil, false, nil
	}
	sess, err := s.liveSession(ctx, g.SessionID)
	if err != nil {
		if ErrorCode(err) == EInvalidToken {
			return nil, false, nil
		}
		return nil, false, err
	}
	if s.deps.Revocations.Revoked(sess.ID) {
		return nil, false, nil
	}
	return &Claims{Issuer: s.deps.OIDC.Issuer, UserID: g.UserID, SessionID: g.SessionID, ClientID: g.ClientID,
		Scope: strings.Join(g.Scopes, " "), ExpiresAt: sess.ExpiresAt, IssuedAt: sess.CreatedAt}, true, nil
}

// ConnectedApp is a client a user has consented to, for the account page.
type ConnectedApp struct {
	Client *OAuthClient
	Scopes []string
	Since  time.Time
}

// ConnectedApps lists the clients the user has consented to.
func (s *Service) ConnectedApps(ctx context.Context, p *Principal) ([]ConnectedApp, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	cs, err := st.OAuthConsents(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectedApp, 0, len(cs))
	for _, c := range cs {
		client, err := st.OAuthClient(ctx, c.ClientID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ConnectedApp{Client: client, Scopes: c.Scopes, Since: c.CreatedAt})
	}
	return out, nil
}

// DisconnectApp forgets the user's consent for a client and revokes, at
// once and on every instance, every token the client holds for the user.
func (s *Service) DisconnectApp(ctx context.Context, p *Principal, clientID string) error {
	st, err := s.oauth()
	if err != nil {
		return err
	}
	if clientID == "" || len(clientID) > 128 {
		return ErrNotFound
	}
	now := s.deps.Now()
	ids, err := st.DeleteOAuthConsent(ctx, p.UserID, clientID, now)
	if err != nil {
		return err
	}
	s.remember(ids, 0, now)
	return nil
}

// OAuthClients lists the registered clients.
func (s *Service) OAuthClients(ctx context.Context) ([]*OAuthClient, error) {
	st, err := s.oauthStoreAny()
	if err != nil {
		return nil, err
	}
	return st.OAuthClients(ctx)
}

// DeleteOAuthClient deletes a client and revokes every token it holds.
func (s *Service) DeleteOAuthClient(ctx context.Context, id string) error {
	st, err := s.oauthStoreAny()
	if err != nil {
		return err
	}
	now := s.deps.Now()
	ids, err := st.DeleteOAuthClient(ctx, id, now)
	if err != nil {
		return err
	}
	s.remember(ids, 0, now)
	return nil
}

// RotateOAuthClientSecret gives a confidential client a new secret,
// returned this once; the old one stops working and every token the client
// holds is revoked.
func (s *Service) RotateOAuthClientSecret(ctx context.Context, id string) (string, error) {
	st, err := s.oauthStoreAny()
	if err != nil {
		return "", err
	}
	c, err := st.OAuthClient(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Public() {
		return "", Errorf(EInvalid, "a public client has no secret")
	}
	secret, err := randomToken(OAuthSecretBytes)
	if err != nil {
		return "", err
	}
	now := s.deps.Now()
	ids, err := st.SetOAuthClientSecret(ctx, id, HashOAuthSecret(secret), now)
	if err != nil {
		return "", err
	}
	s.remember(ids, 0, now)
	return secret, nil
}

// ClientSubject is the "sub" of a token a client obtained for itself with
// the client_credentials grant, where no user is involved.
func ClientSubject(clientID string) string { return "client:" + clientID }

// ClientCredentials issues a confidential client an access token for
// itself (RFC 6749 4.4): no user, so no refresh token and no ID token. Its
// "sub" is ClientSubject(client.ID) and it belongs to one session per
// client, reused while it lives, so that rotating the client's secret or
// deleting the client revokes every such token at once, on every instance.
// The scopes are those asked for, which must be registered for the client;
// openid and profile, which describe a user, are refused.
func (s *Service) ClientCredentials(ctx context.Context, client *OAuthClient, scope string, meta ClientMeta) (*OAuthTokens, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if client.Public() || !client.HasGrant(GrantClientCredentials) {
		return nil, oauthErr(EOAuthUnauthorized, "the client may not use the client_credentials grant")
	}
	var scopes []string
	if scope != "" {
		var ok bool
		if scopes, ok = parseOAuthScopes(scope); !ok || !subset(scopes, client.Scopes) ||
			slices.Contains(scopes, ScopeOpenID) || slices.Contains(scopes, ScopeProfile) {
			return nil, oauthErr(EOAuthInvalidScope, "the scopes must be registered for the client, and not openid or profile")
		}
	} else {
		for _, sc := range client.Scopes {
			if sc != ScopeOpenID && sc != ScopeProfile {
				scopes = append(scopes, sc)
			}
		}
	}
	now := s.deps.Now()
	sess, err := st.ClientSession(ctx, client.ID, now)
	switch {
	case err == nil && sess.Live(now, s.cfg.SessionIdle) && !s.deps.Revocations.Revoked(sess.ID):
	case err == nil || errors.Is(err, ErrNotFound):
		id, err := s.deps.NewID()
		if err != nil {
			return nil, err
		}
		sess = &Session{ID: id, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
			ClientIP: meta.IP, UserAgent: ClientLabel(meta.UserAgent)}
		g := &OAuthGrant{SessionID: id, ClientID: client.ID, Scopes: client.Scopes, AuthTime: now}
		if err := st.CreateOAuthSession(ctx, nil, sess, nil, g); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	now = now.Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTTL)
	if sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt.Truncate(time.Second)
	}
	c := &Claims{Issuer: s.cfg.Issuer, Audience: []string{s.cfg.Audience}, SessionID: sess.ID,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp, ClientID: client.ID, Scope: strings.Join(scopes, " ")}
	at, err := s.deps.Issuer.Issue(ctx, c)
	if err != nil {
		return nil, err
	}
	return &OAuthTokens{AccessToken: at, ExpiresIn: exp.Sub(now), Scopes: scopes}, nil
}

// MatchLogoutURI reports whether uri is a post_logout_redirect_uri the
// client registered, byte for byte.
func MatchLogoutURI(c *OAuthClient, uri string) bool {
	return c != nil && uri != "" && slices.Contains(c.LogoutURIs, uri)
}

// ErrLogoutURI is EndSession's refusal of a post_logout_redirect_uri the
// client did not register.
var ErrLogoutURI = &Error{Code: EInvalid, Message: "post_logout_redirect_uri is not registered for the client"}

// EndSession serves RP-initiated logout: the id_token_hint must be an ID
// token restauth signed (RS256; alg none and every other algorithm are
// refused) for this issuer, and, when clientID is given, for that client.
// postLogoutURI, when given, must be one of the client's logout URIs
// (ErrLogoutURI otherwise), and is checked before anything ends, so that a
// forged logout link with a bad target ends nothing. The session the ID
// token names ends, on every instance; the caller ends the browser session
// when it is the same person's.
func (s *Service) EndSession(ctx context.Context, hint, clientID, postLogoutURI string) (*IDTokenClaims, *OAuthClient, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, nil, err
	}
	c, err := s.deps.OIDC.IDTokens.ParseIDTokenHint(ctx, hint)
	if err != nil {
		return nil, nil, err
	}
	if c.Issuer != s.deps.OIDC.Issuer || (clientID != "" && clientID != c.Audience) {
		return nil, nil, errBadToken
	}
	client, err := st.OAuthClient(ctx, c.Audience)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	uid, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return nil, nil, errBadToken
	}
	if postLogoutURI != "" && !MatchLogoutURI(client, postLogoutURI) {
		return nil, nil, ErrLogoutURI
	}
	if g, err := st.OAuthGrant(ctx, c.SessionID); err == nil && g.ClientID == client.ID && g.UserID == uid {
		if err := s.revokeOne(ctx, uid, c.SessionID); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	}
	return c, client, nil
}

// vschars reports whether s is made of VSCHAR (printable ASCII, RFC 6749
// appendix A), the alphabet of state and, here, of nonce: whatever the
// client sends comes back byte for byte, and every store keeps it.
func vschars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
