package pages

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth"
)

// postJSON sends body to path as the pages' script does.
func (e *testEnv) postJSON(c *http.Client, path, contentType, body string) page {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return e.send(c, req)
}

// options starts a ceremony and returns the challenge's id.
func (e *testEnv) options(c *http.Client, path string) string {
	e.t.Helper()
	p := e.postJSON(c, path, "application/json", "{}")
	var got struct {
		Challenge string `json:"challenge"`
		Options   struct {
			PublicKey map[string]any `json:"publicKey"`
		} `json:"options"`
	}
	if p.status != http.StatusOK || json.Unmarshal([]byte(p.body), &got) != nil || !restauth.ValidSessionID(got.Challenge) || got.Options.PublicKey["challenge"] == nil {
		e.t.Fatalf("POST %s: %d %s; want a challenge and its options", path, p.status, p.body)
	}
	return got.Challenge
}

// jsonBody builds a request body from fields.
func jsonBody(fields map[string]any) string {
	b, _ := json.Marshal(fields)
	return string(b)
}

// TestPasskeyHostileJSON sends the passkey endpoints bodies that are not
// what the script sends: each is a 4xx with a JSON error, never a 5xx, and
// stores no passkey and opens no session.
func TestPasskeyHostileJSON(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e, _ := newPasskeyEnv(t, kind)
		c := e.signup("alice", "correct horse battery")
		anon := e.client()
		longName := strings.Repeat("n", restauth.MaxPasskeyNameLen+1)
		bigCredential := `{"id":"` + strings.Repeat("A", restauth.MaxPasskeyResponseBytes) + `"}`

		// Each case gets a fresh challenge where it names "CHALLENGE".
		type tcase struct {
			name, path, ctype, body string
			client                  *http.Client
			status                  int
		}
		var cases []tcase
		add := func(name, path, body string, status int) {
			cases = append(cases, tcase{name, path, "application/json", body, c, status})
		}
		for _, path := range []string{pathPasskeyAdd, pathSigninPasskey} {
			add("form body", path, "", 0)
			cases[len(cases)-1].ctype, cases[len(cases)-1].body, cases[len(cases)-1].status = "application/x-www-form-urlencoded", "challenge=x", 415
			add("not JSON", path, "{", 400)
			add("an array", path, "[]", 400)
			add("a string", path, `"x"`, 400)
			add("trailing data", path, `{"challenge":"CHALLENGE"} {}`, 400)
			add("unknown field", path, `{"challenge":"CHALLENGE","admin":true}`, 400)
			add("wrong type", path, `{"challenge":1}`, 400)
			add("too large", path, `{"challenge":"`+strings.Repeat("a", maxPasskeyJSON)+`"}`, 413)
			add("no credential", path, `{"challenge":"CHALLENGE","name":"k"}`, 400)
			add("null credential", path, `{"challenge":"CHALLENGE","name":"k","credential":null}`, 400)
			add("empty credential", path, `{"challenge":"CHALLENGE","name":"k","credential":{}}`, 400)
			add("credential of garbage", path, `{"challenge":"CHALLENGE","name":"k","credential":{"id":"\u0000","rawId":"%%","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA","authenticatorData":"AA","signature":"AA","userHandle":"AA"}}}`, 400)
			add("credential too large", path, `{"challenge":"CHALLENGE","name":"k","credential":`+bigCredential+`}`, 400)
			add("unknown challenge", path, `{"challenge":"AAAAAAAAAAAAAAAAAAAAAA","name":"k","credential":{}}`, 400)
			for _, v := range hostileValues {
				add("challenge "+hostileName(v), path, jsonBody(map[string]any{"challenge": v, "name": "k", "credential": map[string]any{}}), 400)
			}
		}
		for _, name := range []string{"", " ", "a\u0000b", "\u202e", longName} {
			add("name "+hostileName(name), pathPasskeyAdd, jsonBody(map[string]any{"challenge": "CHALLENGE", "name": name, "credential": map[string]any{}}), 400)
		}
		add("name of invalid UTF-8", pathPasskeyAdd, `{"challenge":"CHALLENGE","name":"\xff","credential":{}}`, 400)
		cases = append(cases,
			tcase{"signed out, options", pathPasskeyOptions, "application/json", "{}", anon, 401},
			tcase{"signed out, add", pathPasskeyAdd, "application/json", `{"challenge":"x","name":"k","credential":{}}`, anon, 401},
		)

		sessions := countRows(t, e, "sessions")
		for _, tt := range cases {
			t.Run(strings.TrimPrefix(tt.path, "/")+"/"+tt.name, func(t *testing.T) {
				body := tt.body
				if strings.Contains(body, "CHALLENGE") {
					from := pathPasskeyOptions
					if tt.path == pathSigninPasskey {
						from = pathSigninPasskeyOptions
					}
					body = strings.ReplaceAll(body, "CHALLENGE", e.options(tt.client, from))
				}
				p := e.postJSON(tt.client, tt.path, tt.ctype, body)
				var got jsonError
				if p.status != tt.status || json.Unmarshal([]byte(p.body), &got) != nil || got.Error == "" || got.Message == "" {
					t.Fatalf("status %d, body %.200s; want %d with a JSON error", p.status, p.body, tt.status)
				}
				if ct := p.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
			})
		}
		if n := countRows(t, e, "passkeys"); n != 0 {
			t.Errorf("%d passkeys stored after hostile requests, want 0", n)
		}
		if n := countRows(t, e, "sessions"); n != sessions {
			t.Errorf("%d sessions after hostile requests, want %d", n, sessions)
		}
	})
}

// TestPasskeyChallengeSingleUse checks that a challenge is gone once a
// response to it was checked, whatever the verdict, so that a response
// cannot be tried twice against it.
func TestPasskeyChallengeSingleUse(t *testing.T) {
	e, _ := newPasskeyEnv(t, sqliteStore)
	c := e.client()
	id := e.options(c, pathSigninPasskeyOptions)
	if n := countRows(t, e, "passkey_challenges"); n != 1 {
		t.Fatalf("%d challenges stored after options, want 1", n)
	}
	body := jsonBody(map[string]any{"challenge": id, "credential": map[string]any{"id": "x"}})
	for i := range 2 {
		p := e.postJSON(c, pathSigninPasskey, "application/json", body)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, restauth.EPasskeyRefused) {
			t.Fatalf("attempt %d: %d %s; want 400 %s", i, p.status, p.body, restauth.EPasskeyRefused)
		}
		if n := countRows(t, e, "passkey_challenges"); n != 0 {
			t.Fatalf("attempt %d: %d challenges stored, want 0", i, n)
		}
	}
}

// TestPasskeyPagesCSP checks that only the pages offering passkeys load
// the script and allow it, and that without a public URL nothing of
// passkeys is served.
func TestPasskeyPagesCSP(t *testing.T) {
	e, _ := newPasskeyEnv(t, sqliteStore)
	c := e.signup("alice", "correct horse battery")
	for _, tt := range []struct {
		path   string
		csp    string
		script bool
	}{
		{"/signin", cspScript, true},
		{"/account", cspScript, true},
		{"/signup", csp, false},
		{"/account/nothing", csp, false},
	} {
		cl := e.client()
		if tt.path == "/account" {
			cl = c
		}
		p := e.get(cl, tt.path)
		wantEq(t, tt.path+" CSP", p.header.Get("Content-Security-Policy"), tt.csp)
		wantEq(t, tt.path+" loads the script", strings.Contains(p.body, `<script src="/pages/passkeys.js"`), tt.script)
		wantEq(t, tt.path+" has inline script", strings.Contains(p.body, "<script>"), false)
	}
	p := e.get(c, pathPasskeyScript)
	wantEq(t, "script status", p.status, http.StatusOK)
	wantEq(t, "script type", p.header.Get("Content-Type"), "text/javascript; charset=utf-8")
	wantEq(t, "script CSP", p.header.Get("Content-Security-Policy"), csp)

	// A cross-origin request to an endpoint is refused as a form is.
	req, _ := http.NewRequest("POST", e.srv.URL+pathSigninPasskeyOptions, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	wantEq(t, "cross-site options status", e.send(e.client(), req).status, http.StatusForbidden)

	off := newEnv(t, Config{})
	oc := off.signup("bob", "correct horse battery")
	for _, path := range []string{"/signin", "/account"} {
		p := off.get(oc, path)
		if path == "/signin" {
			p = off.get(off.client(), path)
		}
		wantEq(t, "passkeys off: "+path+" CSP", p.header.Get("Content-Security-Policy"), csp)
		wantEq(t, "passkeys off: "+path+" mentions passkeys", strings.Contains(p.body, "passkey"), false)
	}
	wantEq(t, "passkeys off: script status", off.get(oc, pathPasskeyScript).status, http.StatusNotFound)
	wantEq(t, "passkeys off: options status", off.post(off.client(), pathSigninPasskeyOptions, url.Values{}).status, http.StatusNotFound)
}
