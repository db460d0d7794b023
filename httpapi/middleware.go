package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/restauth/restauth"
)

// StatusRecorder remembers the status a handler wrote (200 when it wrote a
// body without one), for request logs and metrics; the pages use it too.
type StatusRecorder struct {
	http.ResponseWriter
	Status int // 0 until the handler writes.
}

// WriteHeader records the first status written.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records 200 when no status was written first.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests attaches the request state and writes one line per request:
// method, path, status, duration and user id. It never logs headers, query
// strings or bodies, which may hold credentials. It runs on every request,
// so it allocates once (the state) besides the request copy that carries
// it, and it writes through the handler's HandleRequest when it has one.
func logRequests(logger *slog.Logger, trusted []netip.Prefix) func(http.Handler) http.Handler {
	h := logger.Handler()
	fast, _ := h.(RequestLogHandler)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			r, st, rec := withState(w, r, trusted)
			next.ServeHTTP(rec, r)
			ctx := r.Context()
			if !h.Enabled(ctx, slog.LevelInfo) {
				return
			}
			// One clock read, not two: the end's wall time is the start's
			// plus the monotonic duration, which is what time.Now would
			// say unless the wall clock was set in between.
			d := time.Since(start)
			status := rec.Status
			if status == 0 {
				status = http.StatusOK // What net/http sends for a handler that wrote nothing.
			}
			l := RequestLog{Time: start.Add(d), Method: r.Method, Path: r.URL.Path, Status: status, Duration: d, UserID: st.userID}
			if fast != nil {
				_ = fast.HandleRequest(ctx, l)
				return
			}
			_ = h.Handle(ctx, l.Record())
		})
	}
}

// recoverPanics turns a handler panic into a generic 500 and keeps the
// process serving.
func recoverPanics(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "handler panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, r, nil, restauth.Errorf(restauth.EInternal, "an internal error occurred"))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

var (
	nosniff    = []string{"nosniff"}
	noStore    = []string{"no-store"}
	noReferrer = []string{"no-referrer"}
	hsts       = []string{"max-age=63072000; includeSubDomains"}
)

// securityHeaders sets the headers every response carries. API responses
// hold credentials or per-user data, so none may be cached or sniffed.
func securityHeaders(tls bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			// Shared value slices (len == cap, so an Add reallocates rather
			// than writing into them) save three allocations per request.
			h["X-Content-Type-Options"] = nosniff
			h["Cache-Control"] = noStore
			h["Referrer-Policy"] = noReferrer
			if tls {
				h["Strict-Transport-Security"] = hsts
			}
			next.ServeHTTP(w, r)
		})
	}
}

// cors allows exactly the configured origins. It never reflects an origin
// that is not on the list, so credentials cannot be read cross-site by an
// arbitrary page. An allowed page may read the headers its client needs:
// Retry-After on 429 and 503, Location on 201, and the challenges of a 401
// (which, for such a page, name no Basic scheme: see challenge).
func cors(origins []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(origins) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			w.Header().Add("Vary", "Origin")
			if origin == "" || !slices.Contains(origins, origin) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", "Retry-After, Location, WWW-Authenticate")
			next.ServeHTTP(w, r)
		})
	}
}

// hostOK reports whether a Host header value is safe to echo into a
// Location header.
func hostOK(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	return !strings.ContainsAny(h, " \t\r\n/\\@?#")
}
