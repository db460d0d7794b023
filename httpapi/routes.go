package httpapi

// addRoutes declares every route of the API in one place.
func addRoutes(mux *router, cfg Config, deps Deps) {
	svc, log := deps.Service, deps.Logger
	auth := requireAuth(log, svc)
	session := requireSession(log, svc)

	// The REST-auth contract.
	mux.Handle("POST /api/users", handleRegister(log, svc))
	mux.Handle("GET /api/users/{id}", handleGetUser(log, svc))
	mux.Handle("GET /api/resource", auth(handleResource()))
	mux.Handle("GET /api/token", auth(handleRenewToken(log, svc)))

	// The token lifecycle.
	mux.Handle("POST /api/tokens", handleLogin(log, svc))
	mux.Handle("POST /api/tokens/refresh", handleRefresh(log, svc))
	mux.Handle("POST /api/logout", session(handleLogout(log, svc)))
	mux.Handle("GET /api/sessions", session(handleListSessions(log, svc)))
	mux.Handle("DELETE /api/sessions", auth(handleRevokeAllSessions(log, svc)))
	mux.Handle("DELETE /api/sessions/{id}", auth(handleRevokeSession(log, svc)))
	mux.Handle("GET /api/users/me", auth(handleMe()))
	mux.Handle("PUT /api/users/me/password", auth(handleChangePassword(log, svc)))
	mux.Handle("DELETE /api/users/me", auth(handleDeleteMe(log, svc)))

	// Personal API keys.
	mux.Handle("POST /api/keys", auth(handleCreateKey(log, svc)))
	mux.Handle("GET /api/keys", auth(handleListKeys(log, svc)))
	mux.Handle("DELETE /api/keys/{id}", auth(handleRevokeKey(log, svc)))
	if len(cfg.IntrospectClients) > 0 {
		mux.Handle("POST /api/introspect", handleIntrospect(log, svc, cfg.IntrospectClients))
	}

	// Second factors.
	mux.Handle("POST /api/tokens/mfa", handleMFALogin(log, svc))
	mux.Handle("POST /api/tokens/mfa/passkey/options", handleMFAPasskeyOptions(log, svc))
	mux.Handle("GET /api/users/me/totp", auth(handleTOTPStatus(log, svc)))
	mux.Handle("POST /api/users/me/totp", auth(handleTOTPEnrol(log, svc)))
	mux.Handle("POST /api/users/me/totp/confirm", auth(handleTOTPConfirm(log, svc)))
	mux.Handle("DELETE /api/users/me/totp", auth(handleTOTPDisable(log, svc)))

	mux.Handle("GET /.well-known/jwks.json", handleJWKS(deps.JWKS))
	mux.Handle("GET /api/openapi.json", handleOpenAPI())

	// Probes for load balancers.
	mux.Handle("GET /healthz", handleHealthz())
	mux.Handle("GET /readyz", handleReadyz(deps.Ready, deps.Logger))

	// Everything else: 404, or 405 with Allow, in JSON.
	mux.Handle("/", handleUnrouted(mux.ServeMux))
}
