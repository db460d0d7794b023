package httpapi

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"

	"github.com/restauth/restauth"
)

// credentials is what an Authorization header offers.
type credentials struct {
	scheme   string // "basic" or "bearer"; empty when absent.
	username string // Basic: the username, or a token in REST-auth style.
	password string
	token    string // Bearer.
}

// maxAuthHeader bounds the Authorization header we parse; tokens are at
// most 4 KiB and passwords are far shorter.
const maxAuthHeader = 8 << 10

// parseAuthorization parses an Authorization header value. The scheme name
// is case-insensitive (RFC 7235). It returns ok false for a malformed or
// unsupported header.
func parseAuthorization(h string) (c credentials, ok bool) {
	if h == "" || len(h) > maxAuthHeader {
		return c, false
	}
	scheme, rest, found := strings.Cut(h, " ")
	if !found {
		return c, false
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return c, false
		}
		user, pass, found := strings.Cut(string(raw), ":")
		if !found || !basicNameOK(user) {
			return c, false
		}
		return credentials{scheme: "basic", username: user, password: pass}, true
	case strings.EqualFold(scheme, "Bearer"):
		// Two IndexByte scans are vectorised; ContainsAny walks a token of
		// hundreds of bytes one byte at a time.
		if rest == "" || strings.IndexByte(rest, ' ') >= 0 || strings.IndexByte(rest, '\t') >= 0 {
			return c, false
		}
		return credentials{scheme: "bearer", token: rest}, true
	}
	return c, false
}

// authHeader is the request's Authorization header, parsed once, on first
// use, and kept in the request state: the authentication middleware, the
// login and introspection handlers and the error writer all read it there.
type authHeader struct {
	parsed  bool
	present bool // A non-empty header was sent.
	// bearer is set when the header offered a Bearer token, well-formed or
	// not, so that its refusal carries the Bearer challenge.
	bearer bool
	creds  credentials
	err    error // Why the header offers nothing usable; nil otherwise.
}

var (
	errNoCredentials = restauth.Errorf(restauth.EUnauthorized, "authentication required")
	errNeedsSession  = restauth.Errorf(restauth.EInvalidToken, "this route needs an access token")
	// errAmbiguousAuth refuses more than one Authorization header: picking
	// one would let a proxy and the server disagree about who is calling.
	errAmbiguousAuth = restauth.Errorf(restauth.EInvalid, "send one Authorization header, not several")
	// errBadBearer refuses a Bearer token that cannot be one (too long,
	// with spaces), in the same words as any other refused token.
	errBadBearer = restauth.Errorf(restauth.EInvalidToken, "token is invalid or expired")
)

// authFrom returns the request's parsed Authorization header.
func authFrom(r *http.Request) *authHeader {
	st := stateFrom(r.Context())
	if st == nil {
		a := parseAuthHeader(r.Header)
		return &a
	}
	if !st.auth.parsed {
		st.auth = parseAuthHeader(r.Header)
	}
	return &st.auth
}

func parseAuthHeader(h http.Header) authHeader {
	a := authHeader{parsed: true}
	vals := h["Authorization"]
	switch {
	case len(vals) == 0 || len(vals) == 1 && vals[0] == "":
		return a
	case len(vals) > 1:
		a.present, a.err = true, errAmbiguousAuth
		return a
	}
	v := vals[0]
	a.present = true
	c, ok := parseAuthorization(v)
	if ok {
		a.creds, a.bearer = c, c.scheme == "bearer"
		return a
	}
	a.err = errNoCredentials
	scheme, rest, _ := strings.Cut(v, " ")
	if strings.EqualFold(scheme, "Bearer") && strings.TrimLeft(rest, " ") != "" {
		// A token was offered, and refused before it reached the verifier.
		a.bearer, a.err = true, errBadBearer
	}
	return a
}

// looksLikeToken reports whether a Basic username has the shape of a
// compact JWT, as REST-auth clients send tokens in the username.
func looksLikeToken(s string) bool {
	return len(s) > 32 && strings.Count(s, ".") == 2
}

// authenticate resolves the request's credentials to a principal: Basic
// username:password, Basic token:anything (REST-auth), or Bearer token.
func authenticate(r *http.Request, svc *restauth.Service) (*restauth.Principal, error) {
	a := authFrom(r)
	if !a.present {
		return nil, errNoCredentials
	}
	if a.err != nil {
		return nil, a.err
	}
	c := a.creds
	switch {
	case c.scheme == "bearer" && restauth.LooksLikeAPIKey(c.token):
		return keyPrincipal(r, svc, c.token)
	case c.scheme == "bearer":
		return svc.AuthenticateToken(r.Context(), c.token)
	case restauth.LooksLikeAPIKey(c.username):
		// With any password, and never tried as a username: a key must not
		// reach the password path, whose counters would store it.
		return keyPrincipal(r, svc, c.username)
	case looksLikeToken(c.username):
		p, err := svc.AuthenticateToken(r.Context(), c.username)
		if err == nil || c.password == "" {
			return p, err
		}
		// A username that merely looks like a token, sent with a password,
		// falls through to password authentication as in REST-auth.
	}
	u, err := svc.Authenticate(r.Context(), c.username, c.password, meta(r))
	if err != nil {
		return nil, err
	}
	return &restauth.Principal{UserID: u.ID, Username: u.Username}, nil
}

// keyPrincipal authenticates a personal API key and applies its scopes:
// a GET or HEAD needs the read scope, any other method the write scope.
func keyPrincipal(r *http.Request, svc *restauth.Service, key string) (*restauth.Principal, error) {
	p, err := svc.AuthenticateAPIKey(r.Context(), key)
	if err != nil {
		return nil, err
	}
	scope := restauth.ScopeWrite
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		scope = restauth.ScopeRead
	}
	if !p.APIKey.Allows(scope) {
		return nil, restauth.Errorf(restauth.EForbidden, "this API key lacks the %s scope", scope)
	}
	return p, nil
}

// basicCredentials returns the Basic credentials of a request whose
// Authorization header is present: any other scheme is refused.
func basicCredentials(r *http.Request) (credentials, error) {
	a := authFrom(r)
	if a.err != nil {
		return credentials{}, a.err
	}
	if a.creds.scheme != "basic" {
		return credentials{}, errNoCredentials
	}
	return a.creds, nil
}

// requireAuth admits requests with any of the three credentials.
func requireAuth(logger *slog.Logger, svc *restauth.Service) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := authenticate(r, svc)
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			if st := stateFrom(r.Context()); st != nil {
				st.principal, st.userID = p, p.UserID
			}
			next.ServeHTTP(w, r)
		})
	}
}

// requireSession admits only token-authenticated requests, which belong to
// a session.
func requireSession(logger *slog.Logger, svc *restauth.Service) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return requireAuth(logger, svc)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if principalFrom(r.Context()).SessionID == "" {
				writeError(w, r, logger, errNeedsSession)
				return
			}
			next.ServeHTTP(w, r)
		}))
	}
}

// fromScript reports whether a page's script sent the request (fetch or
// XMLHttpRequest) rather than a person's navigation or a non-browser
// client: a browser answers a Basic challenge to such a request with its
// own login dialog, which the page can neither style nor avoid. The
// browser itself sets Sec-Fetch-Mode (scripts cannot), libraries set
// X-Requested-With, and cors sets Access-Control-Allow-Origin only for a
// cross-origin script of an allowed origin.
func fromScript(w http.ResponseWriter, r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Mode") {
	case "cors", "same-origin":
		return true
	}
	return r.Header.Get("X-Requested-With") != "" || w.Header().Get("Access-Control-Allow-Origin") != ""
}

// meta describes the request's origin for sessions and per-IP limits.
func meta(r *http.Request) restauth.ClientMeta {
	return restauth.ClientMeta{IP: clientIPFrom(r), UserAgent: r.UserAgent()}
}
