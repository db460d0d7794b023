package httpapi

import (
	"net/http"
	"strings"

	"github.com/restauth/restauth/clientip"
)

// clientIPFrom returns the client address: the socket peer, or, when the
// peer is a trusted proxy, the rightmost address in X-Forwarded-For (or
// Forwarded) that is not itself a trusted proxy. Headers from anyone else
// are ignored, so a client cannot choose the address its limits are
// counted under. It is resolved once per request, on first use.
func clientIPFrom(r *http.Request) string {
	st := stateFrom(r.Context())
	if st == nil {
		return clientip.Resolve(r, nil)
	}
	st.resolve(r)
	return st.clientIP
}

// forwarded holds the scheme and host a trusted proxy reported.
type forwarded struct {
	proto, host string
}

// resolveFW resolves the request's origin and reports whether a trusted
// proxy described it.
func (st *requestState) resolveFW(r *http.Request) bool {
	st.resolve(r)
	return st.fwOK
}

func (st *requestState) resolve(r *http.Request) {
	if st.resolved {
		return
	}
	st.resolved = true
	st.clientIP = clientip.Resolve(r, st.trusted)
	if len(st.trusted) > 0 && clientip.Trusted(clientip.Peer(r), st.trusted) {
		st.fw = forwarded{
			proto: clientip.LastValue(r.Header.Get("X-Forwarded-Proto")),
			host:  clientip.LastValue(r.Header.Get("X-Forwarded-Host")),
		}
		st.fwOK = true
	}
}

// absoluteURL builds the absolute URL of path for a Location header from
// the request's Host and scheme, or from a trusted proxy's report of them.
func absoluteURL(r *http.Request, path string) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if st := stateFrom(r.Context()); st != nil && st.resolveFW(r) {
		fw := st.fw
		if p := strings.ToLower(fw.proto); p == "http" || p == "https" {
			scheme = p
		}
		if fw.host != "" && hostOK(fw.host) {
			host = fw.host
		}
	}
	if !hostOK(host) {
		host = "localhost"
	}
	return scheme + "://" + host + path
}
