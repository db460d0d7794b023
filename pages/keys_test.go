package pages

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var newKeyRE = regexp.MustCompile(`id="new-key" type="text" value="(ra_[A-Za-z0-9_-]{43})"`)

// TestAPIKeysPage: the account page makes a key, shows it once (after the
// 303, from a cookie cleared in the same answer), lists it without the key,
// and revokes it; the key works on the API until then. Refusals show on the
// form and store nothing.
func TestAPIKeysPage(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{})
		c := e.signup("alice", "correct horse battery")

		p := e.post(c, "/account/keys", url.Values{"key_name": {"backup"}, "key_expiry": {"30"}, "key_scope": {"read"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/account?done=key-created#h-keys" {
			t.Fatalf("create: status %d Location %q, want 303 to the account page", p.status, p.header.Get("Location"))
		}
		p = e.get(c, "/account?done=key-created")
		m := newKeyRE.FindStringSubmatch(p.body)
		if p.status != 200 || m == nil {
			t.Fatalf("account after create: status %d, no key shown; body %.2000s", p.status, p.body)
		}
		key := m[1]
		if !strings.Contains(p.body, "backup") || !strings.Contains(p.body, msg("done_key_created")) {
			t.Errorf("account page lacks the key's name or the notice")
		}
		// Shown once: the next load has no key.
		if p = e.get(c, "/account"); strings.Contains(p.body, key) || strings.Contains(p.body, `id="new-key"`) {
			t.Errorf("the key is shown again on the next load")
		}
		// The key works on the API, for reading only.
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/resource", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("the page's key on the API: %v, %v; want 200", res, err)
		}

		// Refusals keep the page, store nothing.
		var before int
		e.raw.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&before)
		for _, tc := range []struct {
			form url.Values
			want string
		}{
			{url.Values{"key_name": {" "}, "key_expiry": {"30"}, "key_scope": {"read"}}, msg("err_key_name", 64)},
			{url.Values{"key_name": {strings.Repeat("n", 65)}, "key_expiry": {""}, "key_scope": {"write"}}, msg("err_key_name", 64)},
			{url.Values{"key_name": {"x"}, "key_expiry": {"90"}}, msg("err_key_scopes")},
			{url.Values{"key_name": {"x"}, "key_expiry": {"7"}, "key_scope": {"read"}}, "Bad Request"},
			{url.Values{"key_name": {"x"}, "key_expiry": {"30"}, "key_scope": {"admin"}}, msg("err_key_name", 64)},
		} {
			p := e.post(c, "/account/keys", tc.form)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) {
				t.Errorf("create %v: status %d, want 400 with %q; body %.300s", tc.form, p.status, tc.want, p.body)
			}
		}
		var after int
		e.raw.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&after)
		if after != before {
			t.Errorf("refused forms stored %d keys", after-before)
		}

		// Revoke through the page: the key stops at once.
		id := regexp.MustCompile(`name="key" value="([A-Za-z0-9_-]{22})"`).FindStringSubmatch(e.get(c, "/account").body)
		if id == nil {
			t.Fatal("no revoke form on the account page")
		}
		if p := e.post(c, "/account/keys/revoke", url.Values{"key": {id[1]}}); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=key-revoked") {
			t.Fatalf("revoke: status %d Location %q", p.status, p.header.Get("Location"))
		}
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
			t.Fatalf("a revoked key on the API: %v, %v; want 401", res, err)
		}
		for _, bad := range []string{id[1], "", "%ff", strings.Repeat("A", 4000)} {
			if p := e.post(c, "/account/keys/revoke", url.Values{"key": {bad}}); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=key-gone") {
				t.Errorf("revoke %.20q: status %d Location %q, want 303 to key-gone", bad, p.status, p.header.Get("Location"))
			}
		}
		if p := e.get(c, "/account"); !strings.Contains(p.body, msg("keys_none")) {
			t.Errorf("account page after the revocation does not say there are no keys")
		}
	})
}
