package httpapi

import (
	"net/http"
	"strings"
)

// router is the API's http.ServeMux with a table in front of it for the
// routes whose pattern is a method and a fixed path, such as
// "GET /api/resource". A ServeMux lookup cleans the path, walks its tree
// and allocates; the table is one map lookup, for the routes every token
// request takes. Whatever the table does not answer exactly (a path with
// wildcards, a HEAD for a GET route, a wrong method, an escaped or unclean
// path) goes to the ServeMux, so the two route every request alike.
type router struct {
	*http.ServeMux
	fixed map[string][]fixedRoute // By path.
}

type fixedRoute struct {
	method, pattern string
	h               http.Handler
}

func newRouter() *router {
	return &router{ServeMux: http.NewServeMux(), fixed: map[string][]fixedRoute{}}
}

// Handle registers h for pattern with the ServeMux, and in the table when
// the pattern is a method and a path without wildcards or a trailing
// slash.
func (rt *router) Handle(pattern string, h http.Handler) {
	rt.ServeMux.Handle(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") || strings.ContainsAny(path, "{}") {
		return
	}
	rt.fixed[path] = append(rt.fixed[path], fixedRoute{method: method, pattern: pattern, h: h})
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A path with RawPath set was escaped unusually, and the ServeMux
	// matches it segment by segment as sent: leave it the ServeMux.
	if r.URL.RawPath == "" {
		for _, f := range rt.fixed[r.URL.Path] {
			if f.method == r.Method {
				r.Pattern = f.pattern // As the ServeMux would; metrics label by it.
				f.h.ServeHTTP(w, r)
				return
			}
		}
	}
	rt.ServeMux.ServeHTTP(w, r)
}
