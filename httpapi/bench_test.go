package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/token"
)

// benchStack is the production wiring of the handler on a temporary SQLite
// file, with one user and one access token.
type benchStack struct {
	handler http.Handler
	token   string
}

// newBenchStack wires the handler as cmd/restauth does, logging at the
// default level to w, so that the request log's cost is measured too.
func newBenchStack(b testing.TB, w io.Writer) *benchStack {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	cfg := restauth.DefaultConfig()
	ring := token.NewRing(st, token.RingOptions{})
	if err := ring.Load(ctx); err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	codec, err := token.NewRefreshCodec(secret)
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(w, nil))
	svc := restauth.NewService(cfg, restauth.Deps{
		Users: st, Sessions: st, Counters: st,
		Hasher:      password.New(password.Options{Params: fastParams}),
		Issuer:      token.NewSigner(ring),
		Verifier:    token.NewVerifier(ring, token.VerifierOptions{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway}),
		Refresh:     codec,
		Revocations: restauth.NewRevocationSet(cfg.RevocationKeep()),
		Normalizer:  testNorm{}, IsCommon: password.IsCommon, Logger: logger,
		NewID: func() (string, error) {
			b := make([]byte, 16)
			_, err := rand.Read(b)
			return base64.RawURLEncoding.EncodeToString(b), err
		},
	})
	meta := restauth.ClientMeta{IP: "127.0.0.1"}
	if _, err := svc.Register(ctx, "bench-000001", "restauth bench password", meta); err != nil {
		b.Fatal(err)
	}
	_, pair, err := svc.Login(ctx, "bench-000001", "restauth bench password", meta)
	if err != nil {
		b.Fatal(err)
	}
	h := NewServer(Config{}, Deps{Service: svc, Logger: logger, JWKS: ring.JWKS, Ready: st.Ping})
	return &benchStack{handler: h, token: pair.AccessToken}
}

func BenchmarkParseAuthorization(b *testing.B) {
	tok := "eyJhbGciOiJFZERTQSIsImtpZCI6IlBxU3JaWlpGNXl0akJGZDNaRFZJY1EiLCJ0eXAiOiJhdCtqd3QifQ." +
		"eyJpc3MiOiJyZXN0YXV0aCIsImF1ZCI6InJlc3RhdXRoIiwic3ViIjoiMSJ9." +
		"jKDfSuxm_KisvXX7Sc-LkICa7m_8pmiEtzT0fgPjgPnkkepfdKTQ80HobGZUUGHMgURC_8AcslzeMYizPGVcCw"
	for _, tc := range []struct{ name, header, scheme string }{
		{"bearer", "Bearer " + tok, "bearer"},
		{"basic-token", basic(tok, "unused"), "basic"},
		{"basic-password", basic("miguel", "python is fun"), "basic"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, ok := parseAuthorization(tc.header)
				if !ok || c.scheme != tc.scheme {
					b.Fatalf("parseAuthorization = %+v, %v; want scheme %q", c, ok, tc.scheme)
				}
			}
		})
	}
}

// BenchmarkServeToken runs whole token-authenticated GET /api/resource
// requests through the handler, without the network: parsing, the verified
// token cache, the revocation check, the middleware chain, the request log
// and the JSON response.
func BenchmarkServeToken(b *testing.B) {
	s := newBenchStack(b, io.Discard)
	for _, tc := range []struct{ name, header string }{
		{"bearer", "Bearer " + s.token},
		{"basic-token", basic(s.token, "unused")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/resource", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Authorization", tc.header)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				s.handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkLoopback serves token-authenticated requests over real keep-alive
// connections on 127.0.0.1, next to a bare handler answering a body of the
// same size: the in-process version of restauth-bench's ratio, and the one
// to profile with -cpuprofile. The request log goes to /dev/null, through a
// real write per line as on a server.
func BenchmarkLoopback(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	s := newBenchStack(b, devnull)
	body := []byte(`{"data":"Hello, bench-000001!"}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"restauth", s.handler}} {
		b.Run(tc.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: tc.h}
			go srv.Serve(ln)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
			defer tr.CloseIdleConnections()
			url := fmt.Sprintf("http://%s/api/resource", ln.Addr())
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+s.token)
				for pb.Next() {
					res, err := tr.RoundTrip(req)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK || n != int64(len(body)) {
						b.Errorf("status %d, %d bytes; want 200, %d bytes", res.StatusCode, n, len(body))
						return
					}
				}
			})
		})
	}
}
