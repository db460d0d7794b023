package pages

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
)

// newOAuthEnv is the server with the OpenID Connect provider on, its issuer
// being the test server's own URL.
func newOAuthEnv(t testing.TB, kind storeKind) *testEnv {
	t.Helper()
	st, raw := kind.Open(t)
	srv := httptest.NewUnstartedServer(nil)
	inst, err := instance.New(t.Context(), st, instance.Options{Config: restauth.DefaultConfig(),
		Hasher: password.New(password.Options{Params: fastParams}), OIDCIssuer: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	api := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: inst.Service, JWKS: inst.Ring.JWKS, Ready: st.Ping})
	srv.Config.Handler = NewServer(Config{}, Deps{Service: inst.Service}, api)
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{t: t, srv: srv, store: st, raw: raw, svc: inst.Service}
}

// TestBrowserOAuthPages walks the provider's pages in Chromium: sign-in and
// consent for an app, the device page, and the account page's connected
// apps, each checked with axe-core (and saved as screenshots with
// RESTAUTH_SCREENSHOTS).
func TestBrowserOAuthPages(t *testing.T) {
	ctx := newBrowser(t)
	e := newOAuthEnv(t, sqliteStore)
	br := &b{t: t, ctx: ctx, e: e}
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><title>App</title><main><h1 id="back">Back at the app</h1></main></html>`))
	}))
	t.Cleanup(rp.Close)
	svc := e.svc
	if _, err := svc.AddUser(t.Context(), "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	app, _, err := svc.RegisterOAuthClient(t.Context(), restauth.OAuthClientSpec{Name: "Photo Album", Public: true,
		RedirectURIs: []string{rp.URL + "/cb"}, Grants: []string{restauth.GrantAuthorizationCode, restauth.GrantDeviceCode},
		Scopes: []string{"openid", "profile", "photos:read"}})
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"client_id": {app.ID}, "redirect_uri": {rp.URL + "/cb"}, "response_type": {"code"},
		"scope": {"openid profile photos:read"}, "state": {"s"},
		"code_challenge": {restauth.S256(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}}
	br.open("/oauth/authorize?" + q.Encode())
	wantContains(t, "page after authorize", br.path(), "/signin?return_to=")
	br.submit("sign in", fill("#f-username", "alice"), fill("#f-password", "correct horse battery"), click("form.card button"))
	wantContains(t, "page after sign-in", br.path(), "/oauth/authorize?request_id=")
	wantContains(t, "consent heading", br.text("#h-consent"), "Photo Album")
	wantEq(t, "scopes listed", br.count(".scopes li"), 3)
	br.check("consent")
	br.submit("allow", click("#allow"))
	wantEq(t, "back at the app", br.text("#back"), "Back at the app")

	// The device page.
	da, err := svc.StartDeviceAuthorization(t.Context(), app, "openid", restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "GET /device", br.open("/device"), 200)
	br.check("device")
	st := br.submit("enter the code", fill("#f-user_code", strings.ToLower(da.UserCode)), click("form.card button"))
	wantEq(t, "confirmation status", st, 200)
	wantContains(t, "confirmation heading", br.text("#h-device"), "Photo Album")
	br.check("device-confirm")
	br.submit("allow the device", click("#allow"))
	wantEq(t, "device done", br.text("#device-done"), msg("device_approved"))
	br.check("device-done")

	// The account page lists the app; removing it asks again next time.
	br.open("/account")
	wantContains(t, "connected apps", br.text("#h-apps + p + ul"), "Photo Album")
	br.check("account-apps")
	br.submit("remove the app", click("#h-apps ~ ul button"))
	wantEq(t, "notice", br.text(".notice"), msg("done_app_removed"))
	wantContains(t, "no app left", br.text("#h-apps ~ p:last-of-type"), msg("apps_none"))
}
