package pages

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/token"
)

// testEnv is the whole server (API and pages) on a real store: a SQLite
// file, or a fresh PostgreSQL schema.
type testEnv struct {
	t     testing.TB
	srv   *httptest.Server
	store testStore
	raw   *sql.DB // The same database, for counting its rows.
	svc   *restauth.Service
}

// envOption changes the domain configuration or the hasher of a testEnv.
type envOption func(cfg *restauth.Config, hasher *restauth.PasswordHasher)

// newEnv builds the server on SQLite.
func newEnv(t testing.TB, pcfg Config, opts ...envOption) *testEnv {
	t.Helper()
	return newEnvOn(t, sqliteStore, pcfg, opts...)
}

// newEnvOn builds the server on a fresh store of kind.
func newEnvOn(t testing.TB, kind storeKind, pcfg Config, opts ...envOption) *testEnv {
	t.Helper()
	st, raw := kind.Open(t)
	cfg := restauth.DefaultConfig()
	var hasher restauth.PasswordHasher = password.New(password.Options{Params: fastParams})
	for _, o := range opts {
		o(&cfg, &hasher)
	}
	svc, ring := newService(t, st, cfg, hasher)
	api := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: svc, JWKS: ring.JWKS, Ready: st.Ping})
	srv := httptest.NewServer(NewServer(pcfg, Deps{Service: svc}, api))
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, store: st, raw: raw, svc: svc}
}

// newService wires a Service on st, as each instance sharing a database
// does.
func newService(t testing.TB, st testStore, cfg restauth.Config, hasher restauth.PasswordHasher) (*restauth.Service, *token.Ring) {
	t.Helper()
	return teststore.NewService(t, st, cfg, hasher, nil)
}

// client is a browser-like HTTP client: a cookie jar, and redirects not
// followed so that tests see each answer.
func (e *testEnv) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) get(c *http.Client, path string) page {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	return e.send(c, req)
}

// post sends a form as a same-origin browser would.
func (e *testEnv) post(c *http.Client, path string, form url.Values, header ...string) page {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.send(c, req)
}

func (e *testEnv) send(c *http.Client, req *http.Request) page {
	e.t.Helper()
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

// signup registers through the page and returns the signed-in client.
func (e *testEnv) signup(name, pass string) *http.Client {
	e.t.Helper()
	c := e.client()
	p := e.post(c, "/signup", url.Values{"username": {name}, "password": {pass}})
	if p.status != http.StatusSeeOther {
		e.t.Fatalf("sign-up %q: status %d, want 303; body %s", name, p.status, p.body)
	}
	return c
}
