package oidc_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/teststore"
)

// hostileValues are sent in every parameter: values PostgreSQL refuses and
// SQLite stores (invalid UTF-8, NUL), and values far over any limit. The
// answer is always the 4xx (or the redirect) a plain wrong value gets,
// never a 5xx.
// Numbers at and over PostgreSQL's integer range probe max_age.
var hostileValues = []string{"\xff", "\x00", "a\x00b", "\xc3\x28", strings.Repeat("a", 10<<10),
	"2147483647", "2147483648", "9999999999", "-1"}

func hostileName(v string) string {
	if len(v) > 16 {
		return fmt.Sprintf("%d_bytes", len(v))
	}
	return fmt.Sprintf("%q", v)
}

func TestHostileParameters(t *testing.T) {
	teststore.ForEach(t, func(t *testing.T, kind teststore.Kind) {
		e := newEnvOn(t, kind)
		c := e.browser()
		e.signIn(c)
		fresh := func() url.Values { return authQuery(e.pub.ID) }
		for _, v := range hostileValues {
			t.Run(hostileName(v), func(t *testing.T) {
				check := func(what string, r resp) {
					t.Helper()
					if r.status >= 500 {
						t.Errorf("%s: %d %.200s, want a 4xx or a redirect", what, r.status, r.body)
					}
				}
				for _, name := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce",
					"code_challenge", "code_challenge_method", "prompt", "max_age", "response_mode", "request_id"} {
					q := fresh()
					q.Set(name, v)
					check("authorize "+name, e.get(c, "/oauth/authorize?"+q.Encode()))
				}
				check("authorize request_id alone", e.get(c, "/oauth/authorize?"+url.Values{"request_id": {v}}.Encode()))
				for _, name := range []string{"request_id", "consent_token", "decision"} {
					f := url.Values{"request_id": {"x"}, "consent_token": {"y"}, "decision": {"allow"}}
					f.Set(name, v)
					check("consent "+name, e.post(c, "/oauth/authorize/consent", f))
				}
				for _, grant := range []string{"authorization_code", "refresh_token", "client_credentials", restauth.GrantDeviceCode, v} {
					for _, name := range []string{"code", "redirect_uri", "code_verifier", "refresh_token", "scope", "device_code", "client_id", "client_secret"} {
						f := url.Values{"grant_type": {grant}, "client_id": {e.conf.ID}, "client_secret": {e.secret}}
						f.Set(name, v)
						check("token "+hostileName(grant)+" "+name, e.post(http.DefaultClient, "/oauth/token", f))
					}
				}
				check("token basic", e.post(http.DefaultClient, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic(v, v)))
				for _, path := range []string{"/oauth/revoke", "/oauth/introspect"} {
					for _, name := range []string{"token", "token_type_hint", "client_id"} {
						f := url.Values{"token": {"t"}, "client_id": {e.conf.ID}, "client_secret": {e.secret}}
						f.Set(name, v)
						check(path+" "+name, e.post(http.DefaultClient, path, f))
					}
				}
				check("device authorization", e.post(http.DefaultClient, "/oauth/device_authorization", url.Values{"client_id": {v}, "scope": {v}}))
				check("device page", e.get(c, "/device?"+url.Values{"user_code": {v}}.Encode()))
				check("device code", e.post(c, "/device", url.Values{"user_code": {v}}))
				check("device decide", e.post(c, "/device/decide", url.Values{"user_code": {v}, "device_token": {v}, "decision": {"allow"}}))
				check("logout", e.get(c, "/oauth/logout?"+url.Values{"id_token_hint": {v}, "post_logout_redirect_uri": {v}, "state": {v}}.Encode()))
				check("remove app", e.post(c, "/account/apps/remove", url.Values{"client_id": {v}}))
				req, _ := http.NewRequest("GET", e.srv.URL+"/oauth/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+strings.ToValidUTF8(strings.ReplaceAll(v, "\x00", ""), "?"))
				check("userinfo", e.do(http.DefaultClient, req))
			})
		}
	})
}
