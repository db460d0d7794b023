package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/metrics"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/token"
)

// newObservedBenchStack is newBenchStack with a request observer: the
// production wiring with --metrics-addr set, Prometheus included.
func newObservedBenchStack(b testing.TB, w io.Writer, obs func(*restauth.RevocationSet, *token.Verifier, *password.Hasher) RequestObserver) *benchStack {
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
	hasher := password.New(password.Options{Params: fastParams})
	verifier := token.NewVerifier(ring, token.VerifierOptions{Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.Leeway})
	revs := restauth.NewRevocationSet(cfg.RevocationKeep())
	svc := restauth.NewService(cfg, restauth.Deps{
		Users: st, Sessions: st, Counters: st,
		Hasher: hasher, Issuer: token.NewSigner(ring), Verifier: verifier,
		Refresh: codec, Revocations: revs,
		Normalizer: testNorm{}, IsCommon: password.IsCommon, Logger: logger,
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
	var o RequestObserver
	if obs != nil {
		o = obs(revs, verifier, hasher)
	}
	h := NewServer(Config{}, Deps{Service: svc, Logger: logger, JWKS: ring.JWKS, Ready: st.Ping, Observer: o})
	return &benchStack{handler: h, token: pair.AccessToken}
}

func prometheusObserver(revs *restauth.RevocationSet, v *token.Verifier, h *password.Hasher) RequestObserver {
	return metrics.New(metrics.Sources{Gate: h.GateStats, Revocations: revs, TokenCache: v.CacheStats})
}

// BenchmarkServeTokenMetrics runs token-authenticated GET /api/resource
// with metrics off and on: in process, as BenchmarkServeToken, and over
// loopback keep-alive connections next to a bare handler, as
// BenchmarkLoopback and restauth-bench measure the ratio. Compare the
// pairs: metrics must cost the token path under 3%.
func BenchmarkServeTokenMetrics(b *testing.B) {
	stacks := map[string]*benchStack{
		"off": newObservedBenchStack(b, io.Discard, nil),
		"on":  newObservedBenchStack(b, io.Discard, prometheusObserver),
	}
	for _, name := range []string{"off", "on"} {
		s := stacks[name]
		b.Run("inprocess/"+name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/resource", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			req.Header.Set("Authorization", "Bearer "+s.token)
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

	// The observer's own cost, on a route that does nothing: what metrics
	// add to each request, free of the token path's noise.
	mux := http.NewServeMux()
	mux.Handle("GET /api/resource", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"off", mux}, {"on", observe(prometheusObserver(nil, token.NewVerifier(nil, token.VerifierOptions{}), password.New(password.Options{Params: fastParams})))(mux)}} {
		b.Run("observer/"+tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/resource", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				tc.h.ServeHTTP(w, req)
			}
		})
	}

	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	body := []byte(`{"data":"Hello, bench-000001!"}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	off := newObservedBenchStack(b, devnull, nil)
	on := newObservedBenchStack(b, devnull, prometheusObserver)
	for _, tc := range []struct {
		name string
		h    http.Handler
		tok  string
	}{{"bare", bare, off.token}, {"off", off.handler, off.token}, {"on", on.handler, on.token}} {
		b.Run("loopback/"+tc.name, func(b *testing.B) { benchLoopback(b, tc.h, tc.tok, -1) })
	}
}
