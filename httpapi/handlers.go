package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth"
)

type userResponse struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// handleRegister serves POST /api/users (REST-auth registration).
func handleRegister(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[credentialsRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		u, err := svc.Register(r.Context(), req.Username, req.Password, meta(r))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.Header().Set("Location", absoluteURL(r, "/api/users/"+strconv.FormatInt(u.ID, 10)))
		encode(w, http.StatusCreated, userResponse{ID: u.ID, Username: u.Username})
	})
}

// handleGetUser serves GET /api/users/{id}.
func handleGetUser(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := parseUserID(r.PathValue("id"))
		if !ok {
			writeError(w, r, logger, restauth.ErrNotFound)
			return
		}
		u, err := svc.User(r.Context(), id)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		encode(w, http.StatusOK, userResponse{ID: u.ID, Username: u.Username})
	})
}

// handleMe serves GET /api/users/me.
func handleMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		encode(w, http.StatusOK, userResponse{ID: p.UserID, Username: p.Username})
	})
}

// handleResource serves GET /api/resource, the REST-auth protected example.
// It is the route every token benchmark measures, so it writes its small
// body without an encoder.
func handleResource() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeData(w, "Hello, ", principalFrom(r.Context()).Username, "!")
	})
}

// handleUnrouted answers the requests no other route matches: 405 with
// Allow when the path exists under other methods, 404 otherwise, both in
// JSON. Being a route itself keeps every routed request to one match; the
// probing for other methods happens only on this error path.
func handleUnrouted(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, r, nil, restauth.Errorf(restauth.EMethodNotAllowed, "method %s is not allowed here", r.Method))
			return
		}
		writeError(w, r, nil, restauth.ErrNotFound)
	})
}

type renewResponse struct {
	Token     string `json:"token"`
	Duration  int64  `json:"duration"`
	TokenType string `json:"token_type"`
	ExpiresIn int64  `json:"expires_in"`
}

// handleRenewToken serves GET /api/token (REST-auth): a password opens a
// session; a token renews within its own session.
func handleRenewToken(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pair, err := svc.Renew(r.Context(), principalFrom(r.Context()), meta(r))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		secs := int64(pair.ExpiresIn / time.Second)
		encode(w, http.StatusOK, renewResponse{Token: pair.AccessToken, Duration: secs, TokenType: "Bearer", ExpiresIn: secs})
	})
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func writePair(w http.ResponseWriter, pair *restauth.TokenPair) {
	encode(w, http.StatusOK, tokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer",
		ExpiresIn: int64(pair.ExpiresIn / time.Second), RefreshToken: pair.RefreshToken,
	})
}

// handleLogin serves POST /api/tokens: Basic username:password, or a JSON
// {"username", "password"} body.
func handleLogin(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req credentialsRequest
		if authFrom(r).present {
			c, err := basicCredentials(r)
			if err != nil {
				writeError(w, r, logger, err)
				return
			}
			req = credentialsRequest{Username: c.username, Password: c.password}
		} else {
			var err error
			if req, err = decode[credentialsRequest](w, r); err != nil {
				writeError(w, r, logger, err)
				return
			}
		}
		if !basicNameOK(req.Username) {
			writeError(w, r, logger, errUnknownName)
			return
		}
		u, pair, err := svc.Login(r.Context(), req.Username, req.Password, meta(r))
		if err != nil {
			writeLoginError(w, r, logger, err)
			return
		}
		setLogUser(r.Context(), u.ID)
		writePair(w, pair)
	})
}

// handleRefresh serves POST /api/tokens/refresh with {"refresh_token"}.
func handleRefresh(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[refreshRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		pair, err := svc.RefreshTokens(r.Context(), req.RefreshToken, meta(r))
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		writePair(w, pair)
	})
}

// handleLogout serves POST /api/logout.
func handleLogout(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.Logout(r.Context(), principalFrom(r.Context())); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type sessionResponse struct {
	ID         string    `json:"id"`
	Current    bool      `json:"current"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ClientIP   string    `json:"client_ip"`
	UserAgent  string    `json:"user_agent"`
}

// handleListSessions serves GET /api/sessions.
func handleListSessions(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		list, err := svc.ListSessions(r.Context(), p)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		out := make([]sessionResponse, 0, len(list))
		for _, s := range list {
			out = append(out, sessionResponse{
				ID: s.ID, Current: s.ID == p.SessionID,
				CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(),
				ClientIP: s.ClientIP, UserAgent: s.UserAgent,
			})
		}
		encode(w, http.StatusOK, map[string]any{"sessions": out})
	})
}

// handleRevokeSession serves DELETE /api/sessions/{id}.
func handleRevokeSession(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !validSessionID(id) {
			writeError(w, r, logger, restauth.ErrNotFound)
			return
		}
		if err := svc.RevokeSession(r.Context(), principalFrom(r.Context()), id); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleRevokeAllSessions serves DELETE /api/sessions; with keys=true it
// revokes the user's API keys as well.
func handleRevokeAllSessions(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys, err := revokeKeysParam(r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if err := svc.RevokeAllSessionsAndKeys(r.Context(), principalFrom(r.Context()), keys); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleChangePassword serves PUT /api/users/me/password with
// {"current_password", "new_password"}.
func handleChangePassword(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[changePasswordRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		p := principalFrom(r.Context())
		if err := svc.ChangePassword(r.Context(), p, req.CurrentPassword, req.NewPassword, meta(r)); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleDeleteMe serves DELETE /api/users/me with {"password"}.
func handleDeleteMe(logger *slog.Logger, svc *restauth.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[deleteAccountRequest](w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if err := svc.DeleteAccount(r.Context(), principalFrom(r.Context()), req.Password, meta(r)); err != nil {
			writeError(w, r, logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleIntrospect serves POST /api/introspect (RFC 7662) for configured
// client credentials only; without any, the route does not exist. The
// token comes as a form field or JSON.
func handleIntrospect(logger *slog.Logger, svc *restauth.Service, clients map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := basicCredentials(r)
		if err == nil && !clientOK(clients, formUnescape(c.username), formUnescape(c.password)) {
			err = errNoCredentials
		}
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		token, err := introspectToken(w, r)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		claims, active, err := svc.Introspect(r.Context(), token)
		if err != nil {
			writeError(w, r, logger, err)
			return
		}
		if !active {
			encode(w, http.StatusOK, map[string]any{"active": false})
			return
		}
		body := map[string]any{
			"active": true, "token_type": "access_token",
			"sub": restauth.FormatUserID(claims.UserID), "username": claims.Username, "sid": claims.SessionID,
			"iss": claims.Issuer, "aud": claims.Audience, "jti": claims.ID,
			"iat": claims.IssuedAt.Unix(), "exp": claims.ExpiresAt.Unix(),
		}
		// A token issued to an OAuth client says which, and for what.
		if claims.ClientID != "" {
			body["client_id"], body["scope"] = claims.ClientID, claims.Scope
			if claims.UserID == 0 {
				body["sub"] = restauth.ClientSubject(claims.ClientID)
			}
		}
		encode(w, http.StatusOK, body)
	})
}

// formUnescape undoes the form encoding that RFC 6749 section 2.3.1 applies
// to client credentials inside HTTP Basic; a value that is not validly
// encoded is taken as it is.
func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func introspectToken(w http.ResponseWriter, r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return "", tooLarge(w)
			}
			return "", restauth.Errorf(restauth.EInvalid, "the form could not be parsed")
		}
		return r.PostForm.Get("token"), nil
	}
	req, err := decode[introspectRequest](w, r)
	return req.Token, err
}

// clientOK compares client credentials in constant time, touching every
// configured client so that timing does not reveal client ids.
func clientOK(clients map[string]string, id, secret string) bool {
	ok := 0
	for cid, csecret := range clients {
		idEq := subtle.ConstantTimeCompare([]byte(cid), []byte(id))
		secEq := subtle.ConstantTimeCompare([]byte(csecret), []byte(secret))
		ok |= idEq & secEq
	}
	return ok == 1 && secret != ""
}

// handleJWKS serves the public signing keys. Verifiers may cache them for
// five minutes: a rotated key is published that long before it signs.
func handleJWKS(jwks func() []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(jwks())
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func handleReadyz(ready func(context.Context) error, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := ready(ctx); err != nil {
				logger.WarnContext(r.Context(), "not ready", "err", err)
				writeError(w, r, nil, restauth.ErrStoreUnavailable)
				return
			}
		}
		encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
