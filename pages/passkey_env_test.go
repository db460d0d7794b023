package pages

import (
	"fmt"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/passkey"
	"github.com/restauth/restauth/password"
)

// newPasskeyEnv builds the server with passkeys on, for the relying party
// http://localhost:PORT (browsers refuse an IP address as a relying party
// id). It also serves the very same handler on a second port, another
// origin of the same relying party id, as a site that copies the pages
// would: an assertion the browser makes there names that origin, which the
// server must refuse.
func newPasskeyEnv(t testing.TB, kind storeKind) (e *testEnv, otherOrigin string) {
	t.Helper()
	return newPasskeyEnvOIDC(t, kind, false)
}

// newPasskeyEnvOIDC is newPasskeyEnv, with the OpenID Connect provider on
// (issuer: the public URL) when oidc is set.
func newPasskeyEnvOIDC(t testing.TB, kind storeKind, oidc bool) (e *testEnv, otherOrigin string) {
	t.Helper()
	st, raw := kind.Open(t)
	srv := httptest.NewUnstartedServer(nil)
	other := httptest.NewUnstartedServer(nil)
	publicURL := fmt.Sprintf("http://localhost:%d", srv.Listener.Addr().(*net.TCPAddr).Port)
	otherOrigin = fmt.Sprintf("http://localhost:%d", other.Listener.Addr().(*net.TCPAddr).Port)
	ceremonies, err := passkey.New(publicURL, "restauth")
	if err != nil {
		t.Fatal(err)
	}
	opts := instance.Options{
		Config: restauth.DefaultConfig(), Hasher: password.New(password.Options{Params: fastParams}), Passkeys: ceremonies,
	}
	if oidc {
		opts.OIDCIssuer = publicURL
	}
	inst, err := instance.New(t.Context(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	svc := inst.Service
	api := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: svc, JWKS: inst.Ring.JWKS, Ready: st.Ping})
	h := NewServer(Config{}, Deps{Service: svc}, api)
	srv.Config.Handler, other.Config.Handler = h, h
	srv.Start()
	other.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(other.Close)
	srv.URL = publicURL
	return &testEnv{t: t, srv: srv, store: st, raw: raw, svc: svc}, otherOrigin
}
