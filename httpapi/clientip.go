package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

type clientIPKey struct{}

// clientIPFrom returns the client address resolved by the clientIP
// middleware.
func clientIPFrom(ctx context.Context) string {
	s, _ := ctx.Value(clientIPKey{}).(string)
	return s
}

type forwardedKey struct{}

// forwarded holds the scheme and host a trusted proxy reported.
type forwarded struct {
	proto, host string
}

// clientIP resolves the client address: the socket peer, or, when the peer
// is a trusted proxy, the rightmost address in X-Forwarded-For (or
// Forwarded) that is not itself a trusted proxy. Headers from anyone else
// are ignored, so a client cannot choose the address its limits are
// counted under.
func clientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := resolveClientIP(r, trusted)
			ctx := context.WithValue(r.Context(), clientIPKey{}, ip)
			if len(trusted) > 0 && isTrusted(peerAddr(r), trusted) {
				fw := forwarded{
					proto: lastValue(r.Header.Get("X-Forwarded-Proto")),
					host:  lastValue(r.Header.Get("X-Forwarded-Host")),
				}
				ctx = context.WithValue(ctx, forwardedKey{}, fw)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
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
	if fw, ok := r.Context().Value(forwardedKey{}).(forwarded); ok {
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
