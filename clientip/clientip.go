// Package clientip resolves the address a request came from, trusting the
// forwarding headers only when the socket peer is a configured proxy. The
// JSON API and the pages both count their per-IP limits under this address,
// so one person is counted alike on both.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolve returns the client address: the socket peer, or, when the peer is
// a trusted proxy, the rightmost address in X-Forwarded-For (or Forwarded,
// when X-Forwarded-For is absent) that is not itself a trusted proxy.
// Headers from anyone else are ignored, so a client cannot choose the
// address its limits are counted under. IPv4-mapped IPv6 addresses are
// unmapped. When the peer address cannot be parsed, RemoteAddr is returned
// as it is.
func Resolve(r *http.Request, trusted []netip.Prefix) string {
	peer := Peer(r)
	if !Trusted(peer, trusted) {
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
		if !Trusted(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// Peer returns the unmapped address of the socket peer, or the zero Addr
// when RemoteAddr is not an address.
func Peer(r *http.Request) netip.Addr {
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

// Trusted reports whether a is a valid address inside one of the trusted
// prefixes.
func Trusted(a netip.Addr, trusted []netip.Prefix) bool {
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

// LastValue returns the rightmost comma-separated value of a header such as
// X-Forwarded-Proto, the one the nearest proxy wrote, with spaces trimmed.
func LastValue(h string) string {
	if i := strings.LastIndex(h, ","); i >= 0 {
		h = h[i+1:]
	}
	return strings.TrimSpace(h)
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
