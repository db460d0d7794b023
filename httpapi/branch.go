package httpapi

import (
	"net/http"
	"strings"
)

// Branch returns a handler that sends the requests matching patterns
// (method-less and host-less http.ServeMux patterns, such as "/signin" or
// "/pages/") to own, and every other request to next. The pages and the
// OpenID provider put it in front of the API.
//
// It is an http.ServeMux holding patterns for own and "/" for next, with
// one shortcut: a request for a clean path whose first segment begins none
// of the patterns goes straight to next. Such a request could only have
// matched "/", and a ServeMux lookup costs about a third of a microsecond
// and three allocations, which every API request would otherwise pay once
// per surface in front of it. Paths that may not be clean (holding "//" or
// "/.") and CONNECT requests, which a ServeMux treats apart, take the
// ServeMux, so the redirects it answers are unchanged.
func Branch(patterns []string, own, next http.Handler) http.Handler {
	b := &branch{mux: http.NewServeMux(), next: next, first: map[string]bool{}}
	for _, p := range patterns {
		if !strings.HasPrefix(p, "/") {
			panic("httpapi.Branch: pattern " + p + " is not a path")
		}
		b.mux.Handle(p, own)
		b.first[firstSegment(p)] = true
	}
	b.mux.Handle("/", next)
	return b
}

type branch struct {
	mux   *http.ServeMux
	next  http.Handler
	first map[string]bool // The first path segments of the patterns.
}

func (b *branch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; r.Method != http.MethodConnect && !b.first[firstSegment(p)] &&
		strings.HasPrefix(p, "/") && !strings.Contains(p, "//") && !strings.Contains(p, "/.") {
		b.next.ServeHTTP(w, r)
		return
	}
	b.mux.ServeHTTP(w, r)
}

// firstSegment returns path's first segment, without slashes: "signin" for
// "/signin/mfa", "pages" for "/pages" and for "/pages/".
func firstSegment(path string) string {
	path = strings.TrimPrefix(path, "/")
	if i := strings.IndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return path
}
