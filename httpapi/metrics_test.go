package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// observation is one ObserveRequest call.
type observation struct {
	pattern string
	status  int
	code    string
}

type recordingObserver struct {
	mu  sync.Mutex
	got []observation
}

func (o *recordingObserver) ObserveRequest(pattern string, status int, code string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, observation{pattern, status, code})
}

// TestMetricsObserver checks what the observer is told about each kind of
// answer: the route pattern (never the path), the status, whether the
// handler wrote it or not, the error code writeError sent, and a panic as
// the 500 that recoverPanics answers.
func TestMetricsObserver(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /api/users/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, nil, restauth.ErrNotFound)
	}))
	mux.Handle("GET /ok", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	mux.Handle("POST /created", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusCreated, map[string]string{})
	}))
	mux.Handle("GET /panic", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	mux.Handle("/", handleUnrouted(mux))
	obs := &recordingObserver{}
	h := recoverPanics(slog.New(slog.NewTextHandler(io.Discard, nil)))(observe(obs)(mux))

	tests := []struct {
		method, target string
		want           observation
	}{
		{"GET", "/api/users/12345", observation{"GET /api/users/{id}", 404, restauth.ENotFound}},
		{"GET", "/ok", observation{"GET /ok", 200, ""}},
		{"POST", "/created", observation{"POST /created", 201, ""}},
		{"GET", "/panic", observation{"GET /panic", 500, restauth.EInternal}},
		{"GET", "/no/such/path", observation{"/", 404, restauth.ENotFound}},
		{"DELETE", "/ok", observation{"/", 405, restauth.EMethodNotAllowed}},
	}
	for _, tt := range tests {
		obs.got = nil
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.target, nil))
		if want := []observation{tt.want}; !slices.Equal(obs.got, want) {
			t.Errorf("%s %s: observed %+v, want %+v", tt.method, tt.target, obs.got, want)
		}
		if w.Code != tt.want.status {
			t.Errorf("%s %s: answered %d, want %d", tt.method, tt.target, w.Code, tt.want.status)
		}
	}
}
