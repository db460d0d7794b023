package httpapi

import (
	"net/http"
	"testing"
)

// branchPatterns are the pages' and the provider's patterns, as they put
// Branch in front of the API.
var branchPatterns = []string{
	"/signup", "/signin", "/signout", "/account", "/account/", "/signin/mfa",
	"/pages/", "/signin/", "/oauth/authorize", "/oauth/authorize/", "/oauth/logout",
	"/device", "/device/", "/.well-known/openid-configuration", "/oauth/token",
}

func side(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pattern", name)
	})
}

// reference is the plain ServeMux that Branch must behave like.
func reference(own, next http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range branchPatterns {
		mux.Handle(p, own)
	}
	mux.Handle("/", next)
	return mux
}

func TestBranch(t *testing.T) {
	own, next := side("own"), side("next")
	b := Branch(branchPatterns, own, next)
	ref := reference(own, next)
	tests := []struct {
		target string
		want   routed
	}{
		{"/api/resource", routed{pattern: "next", status: 200}},
		{"/api/token", routed{pattern: "next", status: 200}},
		{"/", routed{pattern: "next", status: 200}},
		{"/signin", routed{pattern: "own", status: 200}},
		{"/signin/mfa", routed{pattern: "own", status: 200}},
		{"/signin/other", routed{pattern: "own", status: 200}},
		{"/signinx", routed{pattern: "next", status: 200}},
		{"/pages/style.css", routed{pattern: "own", status: 200}},
		{"/oauth/token", routed{pattern: "own", status: 200}},
		{"/oauth/userinfo", routed{pattern: "next", status: 200}},
		// A subtree's root without its slash is redirected to it.
		{"/pages", routed{status: http.StatusTemporaryRedirect, location: "/pages/"}},
		// Paths that are not clean are redirected to their cleaned form,
		// whichever side the cleaned path belongs to.
		{"/api/../signin", routed{status: http.StatusTemporaryRedirect, location: "/signin"}},
		{"//signin", routed{status: http.StatusTemporaryRedirect, location: "/signin"}},
		{"/signin/../api/resource", routed{status: http.StatusTemporaryRedirect, location: "/api/resource"}},
		{"/api//resource?x=1", routed{status: http.StatusTemporaryRedirect, location: "/api/resource?x=1"}},
	}
	for _, tt := range tests {
		got := route(b, "GET", tt.target)
		if got != tt.want {
			t.Errorf("GET %s through Branch: got %+v, want %+v", tt.target, got, tt.want)
		}
		if ref := route(ref, "GET", tt.target); got != ref {
			t.Errorf("GET %s: Branch gave %+v, a plain ServeMux %+v", tt.target, got, ref)
		}
	}
}

// FuzzBranch checks that Branch routes every path as the plain ServeMux
// it stands for.
func FuzzBranch(f *testing.F) {
	for _, s := range []string{"/api/resource", "/pages", "/api/../signin", "//signin", "/signin/./mfa", "/%2e%2e/signin", "/device/", "/x?y=/signin"} {
		f.Add("GET", s)
	}
	f.Add("CONNECT", "/signin")
	own, next := side("own"), side("next")
	b := Branch(branchPatterns, own, next)
	ref := reference(own, next)
	fuzzRouting(f, "Branch", b, ref, "GET", "POST", "CONNECT")
}

func BenchmarkBranch(b *testing.B) {
	own, next := side("own"), side("next")
	benchRouting(b, "/api/resource", map[string]http.Handler{"servemux": reference(own, next), "branch": Branch(branchPatterns, own, next)})
}
