package httpapi

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

type testEnv struct {
	t     testing.TB
	srv   *httptest.Server
	store testStore
	raw   *sql.DB // The store's database, for reading rows directly.
	kind  storeKind
	svc   *restauth.Service
	ring  *token.Ring
}

type envOption func(*restauth.Config, *Config)

// envExtras replaces collaborators that newEnv otherwise picks: zero
// fields keep the defaults.
type envExtras struct {
	hasher restauth.PasswordHasher
	logger *slog.Logger
	store  storeKind // SQLite when zero.
}

// newEnv builds the whole stack on a real SQLite file in a temp dir.
func newEnv(t testing.TB, opts ...envOption) *testEnv {
	t.Helper()
	return newEnvWith(t, envExtras{}, opts...)
}

// newEnvOn builds the whole stack on a fresh store of the given kind.
func newEnvOn(t testing.TB, kind storeKind, opts ...envOption) *testEnv {
	t.Helper()
	return newEnvWith(t, envExtras{store: kind}, opts...)
}

// newEnvWith is newEnv with some collaborators replaced.
func newEnvWith(t testing.TB, x envExtras, opts ...envOption) *testEnv {
	t.Helper()
	if x.hasher == nil {
		x.hasher = password.New(password.Options{Params: fastParams})
	}
	if x.store.Open == nil {
		x.store = sqliteStore
	}
	st, raw := x.store.Open(t)
	cfg := restauth.DefaultConfig()
	var hcfg Config
	for _, o := range opts {
		o(&cfg, &hcfg)
	}
	svc, ring := teststore.NewService(t, st, cfg, x.hasher, x.logger)
	h := NewServer(hcfg, Deps{Service: svc, Logger: x.logger, JWKS: ring.JWKS, Ready: st.Ping})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	validateOpenAPI(t, srv) // Every exchange is checked against openapi.json.
	return &testEnv{t: t, srv: srv, store: st, raw: raw, kind: x.store, svc: svc, ring: ring}
}

// response is a decoded HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

// do sends a request; header holds name, value pairs, set in order, and an
// empty value deletes the header.
func (e *testEnv) do(method, path string, body string, header ...string) *response {
	e.t.Helper()
	return e.request(method, path, body, func(h http.Header) {
		for i := 0; i+1 < len(header); i += 2 {
			if header[i+1] == "" {
				h.Del(header[i])
				continue
			}
			h.Set(header[i], header[i+1])
		}
	})
}

// request is do and doHeader: it builds the request, lets edit change its
// headers, and decodes the answer.
func (e *testEnv) request(method, path, body string, edit func(http.Header)) *response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	edit(req.Header)
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &response{status: res.StatusCode, header: res.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	return r
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func (e *testEnv) register(user, pass string) *response {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pass})
	r := e.do("POST", "/api/users", string(b))
	if r.status != http.StatusCreated {
		e.t.Fatalf("register %q: status %d, want 201; body %s", user, r.status, r.body)
	}
	return r
}

// login returns an access and a refresh token.
func (e *testEnv) login(user, pass string) (access, refresh string) {
	e.t.Helper()
	r := e.do("POST", "/api/tokens", "", "Authorization", basic(user, pass))
	if r.status != http.StatusOK {
		e.t.Fatalf("login %q: status %d, want 200; body %s", user, r.status, r.body)
	}
	return r.json["access_token"].(string), r.json["refresh_token"].(string)
}

func (e *testEnv) userCount() int {
	e.t.Helper()
	users, err := e.store.ListUsers(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(users)
}

func wantStatus(t *testing.T, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" {
		if got, _ := r.json["error"].(string); got != code {
			t.Fatalf("error code = %q, want %q; body %s", got, code, r.body)
		}
	}
}

type restauthConfig = restauth.Config

func itoa(i int) string { return strconv.Itoa(i) }

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
