// Package httpapi serves restauth's HTTP API: the REST-auth contract
// (POST /api/users, GET /api/token, GET /api/resource with Basic or Bearer
// credentials) and the token lifecycle routes around it. Every route is
// declared in routes.go; handlers talk only to the domain Service.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/restauth/restauth"
)

// MaxBodyBytes caps every request body; larger bodies get 413 without being
// read whole.
const MaxBodyBytes = 64 << 10

// Config holds the HTTP layer's settings.
type Config struct {
	// TrustedProxies lists the peers whose X-Forwarded-For, Forwarded,
	// X-Forwarded-Proto and X-Forwarded-Host headers are believed.
	TrustedProxies []netip.Prefix
	// CORSOrigins lists the exact origins allowed to call the API from a
	// browser. Empty disables CORS; "*" is refused by the config loader
	// because restauth responses carry credentials.
	CORSOrigins []string
	// IntrospectClients maps client ids to secrets for POST /api/introspect.
	// Empty disables the endpoint.
	IntrospectClients map[string]string
	// TLS adds Strict-Transport-Security to every response.
	TLS bool
}

// Deps are what the handlers need beyond the Service.
type Deps struct {
	Service *restauth.Service
	Logger  *slog.Logger
	// JWKS returns the current JSON Web Key Set document.
	JWKS func() []byte
	// Ready reports whether the database is reachable and migrated.
	Ready func(ctx context.Context) error
	// Observer, when set, is told about every request (see metrics.go).
	Observer RequestObserver
}

// NewServer returns the restauth HTTP handler.
func NewServer(cfg Config, deps Deps) http.Handler {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	mux := newRouter()
	addRoutes(mux, cfg, deps)
	var h http.Handler = mux
	if deps.Observer != nil {
		h = observe(deps.Observer)(h)
	}
	h = cors(cfg.CORSOrigins)(h)
	h = securityHeaders(cfg.TLS)(h)
	h = recoverPanics(deps.Logger)(h)
	h = logRequests(deps.Logger, cfg.TrustedProxies)(h)
	return h
}
