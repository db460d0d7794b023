package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/metrics"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

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
