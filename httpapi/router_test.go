package httpapi

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// routed is what routing did with one request: the pattern it chose, or
// the status, Location and Allow of an answer the routing gave itself.
type routed struct {
	pattern, requestPattern string
	status                  int
	location, allow         string
}

// routeBoth builds a router and a plain ServeMux with routes.go's patterns,
// each served by a handler that names its pattern, and "/" answering as
// handleUnrouted does.
func routeBoth(t testing.TB) (rt *router, mux *http.ServeMux) {
	rt, mux = newRouter(), http.NewServeMux()
	for _, p := range routePatterns(t) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Pattern", p)
			w.Header().Set("X-Request-Pattern", r.Pattern)
		})
		rt.Handle(p, h)
		mux.Handle(p, h)
	}
	rt.Handle("/", handleUnrouted(rt.ServeMux))
	mux.Handle("/", handleUnrouted(mux))
	return rt, mux
}

func route(h http.Handler, method, target string) routed {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, "http://restauth.test/", nil)
	u, err := url.Parse("http://restauth.test" + target)
	if err != nil {
		panic(err)
	}
	r.URL, r.RequestURI = u, target
	h.ServeHTTP(w, r)
	return routed{pattern: w.Header().Get("X-Pattern"), requestPattern: w.Header().Get("X-Request-Pattern"),
		status: w.Code, location: w.Header().Get("Location"), allow: w.Header().Get("Allow")}
}

func TestRouter(t *testing.T) {
	rt, mux := routeBoth(t)
	if len(rt.fixed) < 10 {
		t.Fatalf("the router's table holds %d paths, want the fixed routes of routes.go", len(rt.fixed))
	}
	tests := []struct {
		method, target string
		want           routed
	}{
		{"GET", "/api/resource", routed{pattern: "GET /api/resource", requestPattern: "GET /api/resource", status: 200}},
		{"POST", "/api/tokens", routed{pattern: "POST /api/tokens", requestPattern: "POST /api/tokens", status: 200}},
		{"GET", "/api/users/me", routed{pattern: "GET /api/users/me", requestPattern: "GET /api/users/me", status: 200}},
		{"GET", "/api/users/7", routed{pattern: "GET /api/users/{id}", requestPattern: "GET /api/users/{id}", status: 200}},
		// HEAD is served by GET routes.
		{"HEAD", "/api/resource", routed{pattern: "GET /api/resource", requestPattern: "GET /api/resource", status: 200}},
		{"POST", "/api/resource", routed{status: 405, allow: "GET, HEAD"}},
		{"GET", "/api/%72esource", routed{pattern: "GET /api/resource", requestPattern: "GET /api/resource", status: 200}},
		{"GET", "/api%2Fresource", routed{status: 404}},
		{"GET", "/api//resource", routed{status: 307, location: "/api/resource"}},
		{"GET", "/api/resource/", routed{status: 404}},
	}
	for _, tt := range tests {
		got := route(rt, tt.method, tt.target)
		if got != tt.want {
			t.Errorf("%s %s through the router: got %+v, want %+v", tt.method, tt.target, got, tt.want)
		}
		if ref := route(mux, tt.method, tt.target); got != ref {
			t.Errorf("%s %s: the router gave %+v, a plain ServeMux %+v", tt.method, tt.target, got, ref)
		}
	}
}

// FuzzRouter checks that the router routes every request as the plain
// ServeMux it stands in front of.
func FuzzRouter(f *testing.F) {
	for _, s := range []string{"/api/resource", "/api/%72esource", "/api%2Fresource", "/api/users/me", "/api/users/1", "/healthz", "/api/./token"} {
		f.Add("GET", s)
	}
	f.Add("DELETE", "/api/sessions")
	f.Add("HEAD", "/api/token")
	rt, mux := routeBoth(f)
	fuzzRouting(f, "the router", rt, mux, "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
}

// fuzzRouting fuzzes requests of the given methods for origin-form targets
// and checks that h routes each as the plain ServeMux ref does.
func fuzzRouting(f *testing.F, name string, h, ref http.Handler, methods ...string) {
	f.Fuzz(func(t *testing.T, method, target string) {
		if !slices.Contains(methods, method) || !strings.HasPrefix(target, "/") {
			return
		}
		if _, err := url.Parse("http://restauth.test" + target); err != nil {
			return
		}
		if got, want := route(h, method, target), route(ref, method, target); got != want {
			t.Errorf("%s %q: %s gave %+v, a plain ServeMux %+v", method, target, name, got, want)
		}
	})
}

func BenchmarkRouter(b *testing.B) {
	rt, mux := routeBoth(b)
	benchRouting(b, "/api/resource", map[string]http.Handler{"servemux": mux, "router": rt})
}

// benchRouting times a GET of path through each handler.
func benchRouting(b *testing.B, path string, handlers map[string]http.Handler) {
	for _, name := range slices.Sorted(maps.Keys(handlers)) {
		b.Run(name, func(b *testing.B) {
			r := httptest.NewRequest("GET", path, nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				handlers[name].ServeHTTP(w, r)
			}
		})
	}
}
