package main

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthcheck runs restauth healthcheck against servers that answer
// /healthz in different ways: it must succeed only on a 200 from the
// expected server.
func TestHealthcheck(t *testing.T) {
	var paths []string
	handler := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			paths = append(paths, r.URL.Path)
			w.WriteHeader(status)
		})
	}
	port := func(srv *httptest.Server) string {
		u, _ := url.Parse(srv.URL)
		return u.Port()
	}
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	otherCert, _ := writeSelfSigned(t, t.TempDir())
	tlsSrv := httptest.NewUnstartedServer(handler(http.StatusOK))
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	ok := httptest.NewServer(handler(http.StatusOK))
	defer ok.Close()
	down := httptest.NewServer(handler(http.StatusServiceUnavailable))
	defer down.Close()
	redirect := httptest.NewServer(http.RedirectHandler(ok.URL+"/healthz", http.StatusFound))
	defer redirect.Close()
	closed := httptest.NewServer(handler(http.StatusOK))
	closedPort := port(closed)
	closed.Close()

	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		wantErr string
	}{
		{"200 on loopback", []string{"--addr", "127.0.0.1:" + port(ok)}, nil, 0, ""},
		{"address from RESTAUTH_ADDR", nil, map[string]string{"RESTAUTH_ADDR": "127.0.0.1:" + port(ok)}, 0, ""},
		{"0.0.0.0 is asked on loopback", []string{"--addr", "0.0.0.0:" + port(ok)}, nil, 0, ""},
		{"empty host is asked on loopback", []string{"--addr", ":" + port(ok)}, nil, 0, ""},
		{"503 fails", []string{"--addr", "127.0.0.1:" + port(down)}, nil, 1, "answered 503 Service Unavailable"},
		{"a redirect is not followed", []string{"--addr", "127.0.0.1:" + port(redirect)}, nil, 1, "answered 302 Found"},
		{"nothing listening fails", []string{"--addr", "127.0.0.1:" + closedPort}, nil, 1, "connection refused"},
		{"HTTPS with the served certificate", []string{"--addr", "0.0.0.0:" + port(tlsSrv), "--tls-cert", certFile}, nil, 0, ""},
		{"HTTPS with another certificate fails", []string{"--addr", "127.0.0.1:" + port(tlsSrv), "--tls-cert", otherCert}, nil, 1, "not the one in --tls-cert"},
		{"plain HTTP to a TLS server fails", []string{"--addr", "127.0.0.1:" + port(tlsSrv)}, nil, 1, "answered 400"},
		{"unreadable certificate file", []string{"--addr", "127.0.0.1:" + port(tlsSrv), "--tls-cert", filepath.Join(dir, "missing.pem")}, nil, 1, "--tls-cert"},
		{"no certificate in the file", []string{"--addr", "127.0.0.1:" + port(tlsSrv), "--tls-cert", keyFile}, nil, 1, "no certificate"},
		{"serve's other flags are refused", []string{"--db", "x"}, nil, 2, "healthcheck does not take --db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths = nil
			r := cli(t, "", tt.env, "", append([]string{"healthcheck"}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.wantErr) || r.stdout != "" {
				t.Errorf("restauth healthcheck %v: got status %d, stdout %q, stderr %q; want status %d and stderr holding %q",
					tt.args, r.code, r.stdout, r.stderr, tt.code, tt.wantErr)
			}
			for _, p := range paths {
				if p != "/healthz" {
					t.Errorf("the probe asked for %q, want /healthz", p)
				}
			}
		})
	}
}

// TestHealthcheckRealServer probes the real server's /healthz.
func TestHealthcheckRealServer(t *testing.T) {
	dir := t.TempDir()
	base, _ := startServer(t, map[string]string{"RESTAUTH_DB": filepath.Join(dir, "db")})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "", nil, "", "healthcheck", "--addr", u.Host); r.code != 0 {
		t.Errorf("restauth healthcheck against a running server: got status %d, stderr %q; want 0", r.code, r.stderr)
	}
}
