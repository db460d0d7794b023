// Package pages serves restauth's pages for people: sign-up, sign-in,
// sign-out and the account page (sessions, password, deletion). They are
// server-rendered html/template pages with one embedded style sheet and,
// for passkeys only, one script file, talking to the same restauth.Service
// as the JSON API, so that no rule is written twice. A browser session is
// an ordinary restauth session reached through a cookie.
package pages

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
)

// Config holds the pages' settings.
type Config struct {
	// ProductName is shown in titles and headers; empty means "restauth".
	ProductName string
	// NoSignup turns sign-up off, for invite-only deployments.
	NoSignup bool
	// CustomCSS, when not empty, is served after the built-in style sheet.
	CustomCSS []byte
	// Logo, when not empty, is shown beside the product name; LogoType is
	// its media type (image/png, image/svg+xml…).
	Logo     []byte
	LogoType string
	// TLS marks the server as HTTPS: cookies get Secure and the __Host-
	// prefix, and responses carry Strict-Transport-Security.
	TLS bool
	// TrustedProxies lists the peers whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed.
	TrustedProxies []netip.Prefix
}

// Deps are what the pages need.
type Deps struct {
	Service *restauth.Service
	Logger  *slog.Logger
}

//go:embed templates/*.html static/style.css static/passkeys.js
var files embed.FS

// Paths of the pages, for links and redirects.
const (
	pathSignup  = "/signup"
	pathSignin  = "/signin"
	pathSignout = "/signout"
	pathAccount = "/account"
)

// server holds the parsed templates and the settings.
type server struct {
	cfg   Config
	svc   *restauth.Service
	log   *slog.Logger
	pages map[string]*template.Template
	css   []byte
	// script is static/passkeys.js, served only when passkeys are on.
	script []byte
	now    func() time.Time
}

// NewServer returns a handler that serves the pages and passes every other
// request to next (the JSON API). Cross-origin protection, the pages'
// security headers and their request log apply to the pages only.
func NewServer(cfg Config, deps Deps, next http.Handler) http.Handler {
	if cfg.ProductName == "" {
		cfg.ProductName = "restauth"
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{cfg: cfg, svc: deps.Service, log: deps.Logger, now: time.Now}
	s.pages = mustParse()
	s.css, _ = files.ReadFile("static/style.css")
	s.script, _ = files.ReadFile("static/passkeys.js")

	mux := http.NewServeMux()
	s.routes(mux)
	protect := http.NewCrossOriginProtection()
	protect.SetDenyHandler(http.HandlerFunc(s.crossOrigin))
	var pages http.Handler = protect.Handler(mux)
	pages = s.headers(pages)
	pages = logRequests(deps.Logger)(pages)

	patterns := routePatterns
	if s.svc.OIDCEnabled() {
		patterns = append(slices.Clip(patterns), oauthPatterns...)
	}
	return httpapi.Branch(patterns, pages, next)
}

// routePatterns are the paths the pages own; everything else goes to the
// API. Method-less, so that a wrong method gets the pages' 405.
var routePatterns = []string{
	pathSignup, pathSignin, pathSignout, pathAccount, pathAccount + "/",
	pathSigninMFA,
	"/pages/", pathSignin + "/",
}

func (s *server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /pages/style.css", s.static(s.css, "text/css; charset=utf-8"))
	if len(s.cfg.CustomCSS) > 0 {
		mux.HandleFunc("GET /pages/custom.css", s.static(s.cfg.CustomCSS, "text/css; charset=utf-8"))
	}
	if len(s.cfg.Logo) > 0 {
		mux.HandleFunc("GET /pages/logo", s.static(s.cfg.Logo, s.cfg.LogoType))
	}
	mux.HandleFunc("GET /signup", s.getSignup)
	mux.HandleFunc("POST /signup", s.postSignup)
	mux.HandleFunc("GET /signin", s.getSignin)
	mux.HandleFunc("POST /signin", s.postSignin)
	mux.HandleFunc("POST /signout", s.postSignout)
	mux.HandleFunc("GET /account", s.getAccount)
	mux.HandleFunc("POST /account/sessions/end", s.postEndSession)
	mux.HandleFunc("POST /account/sessions/end-others", s.postEndOthers)
	mux.HandleFunc("POST /account/password", s.postPassword)
	mux.HandleFunc("POST /account/delete", s.postDelete)
	mux.HandleFunc("POST /account/keys", s.postCreateKey)
	mux.HandleFunc("POST /account/keys/revoke", s.postRevokeKey)
	s.mfaRoutes(mux)
	if s.svc.PasskeysEnabled() {
		s.passkeyRoutes(mux)
	}
	if s.svc.OIDCEnabled() {
		s.oauthRoutes(mux)
	}
	mux.HandleFunc("/", s.notFound)
}

// csp allows the page's own style sheets, images and forms, and nothing
// else: no script at all (cspScript, for the pages offering passkeys, is
// the one exception), no inline style, and no framing. form-action
// also governs where the redirect after a form POST may go in Chromium;
// every redirect the pages make is local.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// headers sets what every page response carries.
func (s *server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.cfg.TLS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) static(body []byte, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
	}
}

// logRequests writes one line per page request, under the API's message so
// that a log handler treats both alike. It never logs query strings or
// bodies, which may hold passwords or return_to values.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &httpapi.StatusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, httpapi.RequestLogMessage,
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.Status),
				slog.Duration("duration", time.Since(start)))
		})
	}
}
