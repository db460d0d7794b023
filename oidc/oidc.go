// Package oidc serves the back channel of restauth's OpenID Connect
// provider: discovery, the token endpoint, userinfo, revocation (RFC 7009),
// introspection (RFC 7662) and RP-initiated logout. The authorization
// endpoint and the consent page are pages for people and live in package
// pages, beside sign-in, sharing its layout, CSP and session cookie. Every
// rule is the Service's; this package translates OAuth's form-encoded
// requests and JSON answers.
package oidc

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/clientip"
	"github.com/restauth/restauth/httpapi"
)

// Paths of the endpoints, relative to the issuer.
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/.well-known/jwks.json"
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token"
	PathUserInfo   = "/oauth/userinfo"
	PathRevoke     = "/oauth/revoke"
	PathIntrospect = "/oauth/introspect"
	PathEndSession = "/oauth/logout"
	PathDevice     = "/oauth/device_authorization"
	// PathDeviceVerify is the page where a person enters a user code.
	PathDeviceVerify = "/device"
)

// maxFormBytes bounds a token, revocation or introspection request body.
const maxFormBytes = 16 << 10

// Deps are what the endpoints need.
type Deps struct {
	Service *restauth.Service
	Logger  *slog.Logger
	// TrustedProxies are the peers whose forwarding headers are believed
	// for the address recorded on the sessions a token request opens.
	TrustedProxies []netip.Prefix
}

type server struct {
	svc     *restauth.Service
	log     *slog.Logger
	proxies []netip.Prefix
}

// NewServer returns a handler serving the provider's endpoints and passing
// every other request to next. When the Service has no issuer (no public
// URL), OpenID Connect is off: it returns next, so the endpoints answer
// 404 and there is no discovery document.
func NewServer(deps Deps, next http.Handler) http.Handler {
	if deps.Service == nil || !deps.Service.OIDCEnabled() {
		return next
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{svc: deps.Service, log: deps.Logger, proxies: deps.TrustedProxies}
	mux := http.NewServeMux()
	s.routes(mux)
	h := logRequests(deps.Logger)(mux)
	return httpapi.Branch([]string{PathDiscovery, PathToken, PathUserInfo, PathRevoke, PathIntrospect, PathDevice}, h, next)
}

func (s *server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PathDiscovery, s.discovery)
	mux.HandleFunc("POST "+PathToken, s.token)
	mux.HandleFunc("GET "+PathUserInfo, s.userinfo)
	mux.HandleFunc("POST "+PathUserInfo, s.userinfo)
	mux.HandleFunc("POST "+PathRevoke, s.revoke)
	mux.HandleFunc("POST "+PathIntrospect, s.introspect)
	mux.HandleFunc("POST "+PathDevice, s.deviceAuthorization)
}

// logRequests writes one line per request under the API's message, so that
// a log handler treats them alike. It never logs bodies or query strings,
// which hold codes, tokens and secrets.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &httpapi.StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, httpapi.RequestLogMessage,
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", rec.Status), slog.Duration("duration", time.Since(start)))
		})
	}
}

// discovery serves the OpenID Provider Metadata. The issuer is the public
// URL byte for byte; every endpoint is under it.
func (s *server) discovery(w http.ResponseWriter, r *http.Request) {
	iss := s.svc.OIDCIssuer()
	doc := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + PathAuthorize,
		"token_endpoint":                                 iss + PathToken,
		"userinfo_endpoint":                              iss + PathUserInfo,
		"jwks_uri":                                       iss + PathJWKS,
		"revocation_endpoint":                            iss + PathRevoke,
		"introspection_endpoint":                         iss + PathIntrospect,
		"end_session_endpoint":                           iss + PathEndSession,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"device_authorization_endpoint":                  iss + PathDevice,
		"grant_types_supported":                          []string{restauth.GrantAuthorizationCode, restauth.GrantRefreshToken, restauth.GrantClientCredentials, restauth.GrantDeviceCode},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{restauth.IDTokenRS256, restauth.IDTokenEdDSA},
		"scopes_supported":                               []string{restauth.ScopeOpenID, restauth.ScopeProfile},
		"claims_supported":                               []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "preferred_username"},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"prompt_values_supported":                        []string{"none", "login", "consent"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"claims_parameter_supported":                     false,
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// noStore marks a response that carries tokens or token facts: never cached
// (RFC 6749 5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// oauthError writes an OAuth error body. A store or other unexpected error
// becomes server_error (500) or temporarily_unavailable (503), with the
// cause only logged.
func (s *server) oauthError(w http.ResponseWriter, r *http.Request, err error) {
	noStore(w)
	var oe *restauth.OAuthError
	if errors.As(err, &oe) {
		// RFC 6749 5.2: 401 for a failed client authentication, 400 for
		// every other refusal.
		status := http.StatusBadRequest
		if oe.Code == restauth.EOAuthInvalidClient {
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Basic realm="restauth", charset="UTF-8"`)
		}
		writeJSON(w, status, map[string]string{"error": oe.Code, "error_description": oe.Description})
		return
	}
	var retry time.Duration
	var re *restauth.Error
	if errors.As(err, &re) {
		retry = re.RetryAfter
	}
	switch restauth.ErrorCode(err) {
	case restauth.ETooManyRequests:
		if retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(restauth.RetrySeconds(retry)))
		}
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "slow_down",
			"error_description": restauth.ErrorMessage(err)})
		return
	case restauth.EUnavailable, restauth.EOverloaded:
		w.Header().Set("Retry-After", strconv.Itoa(restauth.RetrySeconds(max(retry, time.Second))))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable",
			"error_description": restauth.ErrorMessage(err)})
		return
	case restauth.EInvalid:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": restauth.EOAuthInvalidRequest,
			"error_description": restauth.ErrorMessage(err)})
		return
	}
	s.log.ErrorContext(r.Context(), "oauth request failed", "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": restauth.EOAuthServerError,
		"error_description": "an internal error occurred"})
}

func badRequest(desc string) *restauth.OAuthError {
	return &restauth.OAuthError{Code: restauth.EOAuthInvalidRequest, Description: desc}
}

var errInvalidClient = &restauth.OAuthError{Code: restauth.EOAuthInvalidClient, Description: "client authentication failed"}

// form reads a form-encoded body of bounded size. Parameters in the query
// string are refused: a secret there ends up in logs and histories (RFC
// 6749 2.3.1, 3.2), and a repeated parameter is refused (RFC 6749 3.2).
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.URL.RawQuery != "" {
		return nil, badRequest("parameters must be sent in the request body, not the query string")
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
		return nil, badRequest("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("the form could not be parsed")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, badRequest("the " + k + " parameter is repeated")
		}
	}
	return r.PostForm, nil
}

// meta is what the Service learns of the caller: its address (through
// the trusted proxies) and its user agent.
func (s *server) meta(r *http.Request) restauth.ClientMeta {
	return restauth.ClientMeta{IP: clientip.Resolve(r, s.proxies), UserAgent: r.UserAgent()}
}

// client authenticates the calling client: HTTP Basic (client_secret_basic,
// form-encoded per RFC 6749 2.3.1), the secret in the body
// (client_secret_post), or a public client's client_id alone. Using two
// methods at once is refused.
func (s *server) client(r *http.Request, f url.Values) (*restauth.OAuthClient, error) {
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		if secret != "" {
			return nil, badRequest("client credentials were sent twice")
		}
		bu, err1 := url.QueryUnescape(user)
		bp, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (id != "" && id != bu) {
			return nil, errInvalidClient
		}
		id, secret = bu, bp
		if secret == "" {
			return nil, errInvalidClient
		}
	} else if r.Header.Get("Authorization") != "" {
		return nil, errInvalidClient
	}
	if id == "" {
		return nil, errInvalidClient
	}
	c, err := s.svc.AuthenticateOAuthClient(r.Context(), id, secret)
	if err != nil {
		var oe *restauth.OAuthError
		if errors.As(err, &oe) {
			return nil, errInvalidClient
		}
		return nil, err
	}
	return c, nil
}

// clientRequest reads a back-channel request's form and authenticates its
// client; on failure it has answered with the OAuth error, and ok is false.
// Every endpoint a client calls starts with it.
func (s *server) clientRequest(w http.ResponseWriter, r *http.Request) (f url.Values, client *restauth.OAuthClient, ok bool) {
	f, err := form(w, r)
	if err == nil {
		client, err = s.client(r, f)
	}
	if err != nil {
		s.oauthError(w, r, err)
		return nil, nil, false
	}
	return f, client, true
}

// tokenResponse is the token endpoint's answer (RFC 6749 5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (s *server) token(w http.ResponseWriter, r *http.Request) {
	f, client, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	meta := s.meta(r)
	var (
		tok *restauth.OAuthTokens
		err error
	)
	switch f.Get("grant_type") {
	case restauth.GrantAuthorizationCode:
		tok, err = s.svc.ExchangeCode(r.Context(), client, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"), meta)
	case restauth.GrantRefreshToken:
		tok, err = s.svc.RefreshOAuth(r.Context(), client, f.Get("refresh_token"), f.Get("scope"), meta)
	case restauth.GrantClientCredentials:
		tok, err = s.svc.ClientCredentials(r.Context(), client, f.Get("scope"), meta)
	case restauth.GrantDeviceCode:
		tok, err = s.svc.PollDevice(r.Context(), client, f.Get("device_code"), meta)
	case "":
		err = badRequest("grant_type is required")
	default:
		err = &restauth.OAuthError{Code: restauth.EOAuthUnsupportedGrant, Description: "the grant type is not supported"}
	}
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: int64(tok.ExpiresIn / time.Second),
		RefreshToken: tok.RefreshToken, IDToken: tok.IDToken, Scope: strings.Join(tok.Scopes, " "),
	})
}

// bearer returns the access token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *server) userinfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	tok := bearer(r)
	if tok == "" || r.URL.Query().Has("access_token") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="restauth"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "send the access token in an Authorization: Bearer header"})
		return
	}
	u, c, err := s.svc.UserInfo(r.Context(), tok)
	if err != nil {
		switch restauth.ErrorCode(err) {
		case restauth.EInvalidToken:
			w.Header().Set("WWW-Authenticate", `Bearer realm="restauth", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": restauth.ErrorMessage(err)})
		case restauth.EForbidden:
			w.Header().Set("WWW-Authenticate", `Bearer realm="restauth", error="insufficient_scope", scope="openid"`)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": restauth.ErrorMessage(err)})
		default:
			s.oauthError(w, r, err)
		}
		return
	}
	body := map[string]any{"sub": restauth.FormatUserID(u.ID)}
	for _, sc := range strings.Fields(c.Scope) {
		if sc == restauth.ScopeProfile {
			body["preferred_username"] = u.Username
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// revoke serves RFC 7009: the answer is 200 whether or not the token was
// known, valid or the client's.
func (s *server) revoke(w http.ResponseWriter, r *http.Request) {
	f, client, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	if f.Get("token") == "" {
		s.oauthError(w, r, badRequest("token is required"))
		return
	}
	if err := s.svc.RevokeOAuthToken(r.Context(), client, f.Get("token"), f.Get("token_type_hint")); err != nil {
		s.oauthError(w, r, err)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

// introspect serves RFC 7662 to registered clients.
func (s *server) introspect(w http.ResponseWriter, r *http.Request) {
	f, client, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	c, active, err := s.svc.IntrospectOAuth(r.Context(), client, f.Get("token"))
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	noStore(w)
	if !active {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	sub := restauth.FormatUserID(c.UserID)
	if c.UserID == 0 {
		sub = restauth.ClientSubject(c.ClientID)
	}
	body := map[string]any{"active": true, "sub": sub, "sid": c.SessionID, "iss": c.Issuer,
		"exp": c.ExpiresAt.Unix(), "iat": c.IssuedAt.Unix(), "token_type": "Bearer"}
	if c.ClientID != "" {
		body["client_id"], body["scope"] = c.ClientID, c.Scope
	}
	if c.Username != "" {
		body["username"] = c.Username
	}
	if len(c.Audience) > 0 {
		body["aud"] = c.Audience
	}
	writeJSON(w, http.StatusOK, body)
}

// deviceAuthorization is the device authorization endpoint (RFC 8628 3.1).
func (s *server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	f, client, ok := s.clientRequest(w, r)
	if !ok {
		return
	}
	meta := s.meta(r)
	d, err := s.svc.StartDeviceAuthorization(r.Context(), client, f.Get("scope"), meta)
	if err != nil {
		s.oauthError(w, r, err)
		return
	}
	verify := s.svc.OIDCIssuer() + PathDeviceVerify
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": d.DeviceCode, "user_code": d.UserCode,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?" + url.Values{"user_code": {d.UserCode}}.Encode(),
		"expires_in":                int64(d.ExpiresIn / time.Second), "interval": int64(d.Interval / time.Second),
	})
}
