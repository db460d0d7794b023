package pages

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address the per-IP limits count a page request
// under: the socket peer or, when the peer is a trusted proxy, the
// rightmost X-Forwarded-For hop that is not itself trusted. It follows the
// API's rule, so a person is counted alike on both.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r)
	if !isTrusted(peer, trusted) {
		if !peer.IsValid() {
			return r.RemoteAddr
		}
		return peer.String()
	}
	var hops []string
	for _, line := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
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

func lastValue(h string) string {
	if i := strings.LastIndex(h, ","); i >= 0 {
		h = h[i+1:]
	}
	return strings.TrimSpace(h)
}
