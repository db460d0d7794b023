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
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return c, false
		}
		return credentials{scheme: "bearer", token: rest}, true
	}
	return c, false
}

// bearerAttempt reports whether the request offered a Bearer credential, so
// that a refusal can carry the Bearer challenge too.
func bearerAttempt(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// looksLikeToken reports whether a Basic username has the shape of a
// compact JWT, as REST-auth clients send tokens in the username.
func looksLikeToken(s string) bool {
	return len(s) > 32 && strings.Count(s, ".") == 2
}

var (
	errNoCredentials = restauth.Errorf(restauth.EUnauthorized, "authentication required")
	errNeedsSession  = restauth.Errorf(restauth.EInvalidToken, "this route needs an access token")
)

// authenticate resolves the request's credentials to a principal: Basic
// username:password, Basic token:anything (REST-auth), or Bearer token.
func authenticate(r *http.Request, svc *restauth.Service) (*restauth.Principal, error) {
	c, ok := parseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		return nil, errNoCredentials
	}
	switch {
	case c.scheme == "bearer":
		return svc.AuthenticateToken(r.Context(), c.token)
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

// meta describes the request's origin for sessions and per-IP limits.
func meta(r *http.Request) restauth.ClientMeta {
	return restauth.ClientMeta{IP: clientIPFrom(r), UserAgent: clientLabel(r.UserAgent())}
}
