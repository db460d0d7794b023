package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIPFrom returns the client address: the socket peer, or, when the
// peer is a trusted proxy, the rightmost address in X-Forwarded-For (or
// Forwarded) that is not itself a trusted proxy. Headers from anyone else
// are ignored, so a client cannot choose the address its limits are
// counted under. It is resolved once per request, on first use.
func clientIPFrom(r *http.Request) string {
	st := stateFrom(r.Context())
	if st == nil {
		return resolveClientIP(r, nil)
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
	st.clientIP = resolveClientIP(r, st.trusted)
	if len(st.trusted) > 0 && isTrusted(peerAddr(r), st.trusted) {
		st.fw = forwarded{
			proto: lastValue(r.Header.Get("X-Forwarded-Proto")),
			host:  lastValue(r.Header.Get("X-Forwarded-Host")),
		}
		st.fwOK = true
	}
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func resolveClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r)
	if !isTrusted(peer, trusted) {
		if !peer.IsValid() {
			return r.RemoteAddr
		}
		return peer.String()
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			// An unparsable hop was written by someone untrusted; stop at
			// the last address we can vouch for.
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// forwardedFor returns the hops of X-Forwarded-For, or of the Forwarded
// header's for= parameters when X-Forwarded-For is absent, in order.
func forwardedFor(r *http.Request) []string {
	var hops []string
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		for _, line := range xff {
			for _, h := range strings.Split(line, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
		return hops
	}
	for _, line := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(line, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if !ok || !strings.EqualFold(k, "for") {
					continue
				}
				v = strings.Trim(v, `"`)
				if strings.HasPrefix(v, "[") {
					if end := strings.Index(v, "]"); end > 0 {
						v = v[1:end]
					}
				} else if host, _, err := net.SplitHostPort(v); err == nil {
					v = host
				}
				hops = append(hops, v)
			}
		}
	}
	return hops
}

func lastValue(h string) string {
	if i := strings.LastIndex(h, ","); i >= 0 {
		h = h[i+1:]
	}
	return strings.TrimSpace(h)
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
