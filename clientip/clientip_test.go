package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
)

func TestResolveClientIP(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}
	tests := []struct {
		name    string
		remote  string
		headers []string // Name, value pairs, added in order.
		want    string
	}{
		{"untrusted peer, no headers", "198.51.100.1:1234", nil, "198.51.100.1"},
		{"untrusted peer, X-Forwarded-For", "198.51.100.1:1234", []string{"X-Forwarded-For", "203.0.113.9"}, "198.51.100.1"},
		{"untrusted peer, Forwarded", "198.51.100.1:1234", []string{"Forwarded", "for=203.0.113.9"}, "198.51.100.1"},
		{"untrusted peer, X-Real-IP", "198.51.100.1:1234", []string{"X-Real-IP", "203.0.113.9"}, "198.51.100.1"},
		{"untrusted peer claims a trusted hop", "198.51.100.1:1234", []string{"X-Forwarded-For", "203.0.113.9, 127.0.0.1"}, "198.51.100.1"},
		{"untrusted IPv6 peer", "[2001:db8::5]:443", []string{"X-Forwarded-For", "203.0.113.9"}, "2001:db8::5"},
		{"mapped IPv4 peer", "[::ffff:198.51.100.1]:1", nil, "198.51.100.1"},
		{"trusted peer, no headers", "127.0.0.1:1", nil, "127.0.0.1"},
		{"trusted peer, X-Real-IP is never read", "127.0.0.1:1", []string{"X-Real-IP", "203.0.113.9"}, "127.0.0.1"},
		{"trusted mapped peer", "[::ffff:127.0.0.1]:1", []string{"X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
		{"one hop", "127.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
		{"client-supplied left part", "127.0.0.1:1", []string{"X-Forwarded-For", "1.2.3.4, 5.6.7.8, 203.0.113.9"}, "203.0.113.9"},
		{"client-supplied trusted-looking left part", "127.0.0.1:1", []string{"X-Forwarded-For", "10.0.0.1, 203.0.113.9"}, "203.0.113.9"},
		{"header lines", "127.0.0.1:1", []string{"X-Forwarded-For", "1.2.3.4", "X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", "127.0.0.1:1", []string{"X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.1.2.3, 10.4.5.6"}, "203.0.113.9"},
		{"only trusted hops", "127.0.0.1:1", []string{"X-Forwarded-For", "10.1.2.3, 10.4.5.6"}, "10.1.2.3"},
		{"spaces", "127.0.0.1:1", []string{"X-Forwarded-For", "  203.0.113.9  "}, "203.0.113.9"},
		{"mapped hop", "127.0.0.1:1", []string{"X-Forwarded-For", "::ffff:203.0.113.9"}, "203.0.113.9"},
		{"IPv6 hop and peer", "[::1]:5000", []string{"X-Forwarded-For", "2001:db8::7"}, "2001:db8::7"},
		{"garbage left of the vouched hop", "127.0.0.1:1", []string{"X-Forwarded-For", "<script>, 203.0.113.9"}, "203.0.113.9"},
		{"garbage as the proxy's own hop", "127.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.9, garbage"}, "127.0.0.1"},
		{"garbage behind a trusted hop", "127.0.0.1:1", []string{"X-Forwarded-For", "garbage, 10.1.2.3"}, "10.1.2.3"},
		{"hop with a port is not vouched for", "127.0.0.1:1", []string{"X-Forwarded-For", "203.0.113.9:4711"}, "127.0.0.1"},
		{"empty header", "127.0.0.1:1", []string{"X-Forwarded-For", ""}, "127.0.0.1"},
		{"Forwarded", "127.0.0.1:1", []string{"Forwarded", "for=203.0.113.9"}, "203.0.113.9"},
		{"Forwarded with parameters", "127.0.0.1:1", []string{"Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"},
		{"Forwarded quoted IPv6 with port", "127.0.0.1:1", []string{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"Forwarded quoted IPv4 with port", "127.0.0.1:1", []string{"Forwarded", `For="192.0.2.43:47011"`}, "192.0.2.43"},
		{"Forwarded rightmost element", "127.0.0.1:1", []string{"Forwarded", "for=198.51.100.1, for=203.0.113.9"}, "203.0.113.9"},
		{"Forwarded header lines", "127.0.0.1:1", []string{"Forwarded", "for=198.51.100.1", "Forwarded", "for=203.0.113.9;proto=https"}, "203.0.113.9"},
		{"Forwarded obfuscated", "127.0.0.1:1", []string{"Forwarded", "for=_hidden"}, "127.0.0.1"},
		{"Forwarded unknown", "127.0.0.1:1", []string{"Forwarded", "for=unknown"}, "127.0.0.1"},
		{"Forwarded without for", "127.0.0.1:1", []string{"Forwarded", "proto=https;by=10.0.0.1"}, "127.0.0.1"},
		{"X-Forwarded-For wins over Forwarded", "127.0.0.1:1", []string{"Forwarded", "for=198.51.100.1", "X-Forwarded-For", "203.0.113.9"}, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for i := 0; i+1 < len(tt.headers); i += 2 {
				r.Header.Add(tt.headers[i], tt.headers[i+1])
			}
			if got := Resolve(r, trusted); got != tt.want {
				t.Errorf("Resolve(%s, %q) = %q, want %q", tt.remote, tt.headers, got, tt.want)
			}
			// With no trusted proxies the headers never matter.
			want := Peer(r).String()
			if got := Resolve(r, nil); got != want {
				t.Errorf("Resolve(%s, %q) without trusted proxies = %q, want %q", tt.remote, tt.headers, got, want)
			}
		})
	}
}

// FuzzClientIP checks the client-address resolution, which parses
// X-Forwarded-For and Forwarded from anyone: it never panics, headers from
// an untrusted peer change nothing, and behind a trusted peer the result is
// an address that the headers or the socket gave.
func FuzzClientIP(f *testing.F) {
	f.Add("127.0.0.1:1", "1.2.3.4, 203.0.113.9", "", true)
	f.Add("127.0.0.1:1", "", `for="[2001:db8::1]:4711";proto=https, for=_x`, true)
	f.Add("198.51.100.1:9", "203.0.113.9", "for=203.0.113.9", false)
	f.Add("[::1]:5000", "::ffff:10.1.2.3,,  ,2001:db8::7%eth0", "", true)
	f.Add("127.0.0.1:1", "", `for="[`, true)
	f.Add("garbage", "1.2.3.4", "for=1.2.3.4", true)
	f.Add("127.0.0.1:1", "10.1.2.3, 10.4.5.6", "For=\"10.0.0.1:1\";By=x;for=y", true)
	trusted := []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}
	f.Fuzz(func(t *testing.T, remote, xff, fwd string, trustPeer bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			r.Header.Set("Forwarded", fwd)
		}
		trust := trusted
		if !trustPeer {
			trust = nil
		}
		got := Resolve(r, trust)
		peer := Peer(r)
		bare := r.Clone(r.Context())
		bare.Header = http.Header{}
		if !Trusted(peer, trust) {
			if want := Resolve(bare, trust); got != want {
				t.Fatalf("untrusted peer %q: headers changed the client address from %q to %q", remote, want, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("Resolve = %q, not an address", got)
		}
		if a != a.Unmap() {
			t.Fatalf("Resolve = %q, want IPv4-mapped addresses unmapped", got)
		}
		given := []string{peer.String()}
		for _, h := range forwardedFor(r) {
			if a, err := netip.ParseAddr(h); err == nil {
				given = append(given, a.Unmap().String())
			}
		}
		if !slices.Contains(given, got) {
			t.Fatalf("Resolve = %q, which is not among the socket's and the headers' addresses %q", got, given)
		}
	})
}
