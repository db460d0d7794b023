package httpapi

import (
	"net/http"
)

// addRoutes declares every route of the API in one place.
func addRoutes(mux *http.ServeMux, cfg Config, deps Deps) {
	svc := deps.Service
	auth := requireAuth(svc)
	session := requireSession(svc)

	// The REST-auth contract.
	mux.Handle("POST /api/users", handleRegister(svc))
	mux.Handle("GET /api/users/{id}", handleGetUser(svc))
	mux.Handle("GET /api/resource", auth(handleResource()))
	mux.Handle("GET /api/token", auth(handleRenewToken(svc)))

	// The token lifecycle.
	mux.Handle("POST /api/tokens", handleLogin(svc))
	mux.Handle("POST /api/tokens/refresh", handleRefresh(svc))
	mux.Handle("POST /api/logout", session(handleLogout(svc)))
	mux.Handle("GET /api/sessions", session(handleListSessions(svc)))
	mux.Handle("DELETE /api/sessions", auth(handleRevokeAllSessions(svc)))
	mux.Handle("DELETE /api/sessions/{id}", auth(handleRevokeSession(svc)))
	mux.Handle("GET /api/users/me", auth(handleMe()))
	mux.Handle("PUT /api/users/me/password", auth(handleChangePassword(svc)))
	mux.Handle("DELETE /api/users/me", auth(handleDeleteMe(svc)))
	mux.Handle("POST /api/introspect", handleIntrospect(svc, cfg.IntrospectClients))
	mux.Handle("GET /.well-known/jwks.json", handleJWKS(deps.JWKS))

	// Probes for load balancers.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(deps.Ready, deps.Logger))

	// Everything else: 404, or 405 with Allow, in JSON.
	mux.Handle("/", handleUnrouted(mux))

}
