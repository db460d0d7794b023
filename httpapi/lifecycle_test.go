package httpapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
)

func refreshBody(rt string) string {
	b, _ := json.Marshal(map[string]string{"refresh_token": rt})
	return string(b)
}

func TestLoginRefreshLogout(t *testing.T) { forEachStore(t, testLoginRefreshLogout) }

func testLoginRefreshLogout(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")

	// JSON login works as well as Basic.
	r := e.do("POST", "/api/tokens", `{"username":"alice","password":"correct horse battery"}`)
	wantStatus(t, r, 200, "")
	for _, k := range []string{"access_token", "refresh_token", "token_type", "expires_in"} {
		if _, ok := r.json[k]; !ok {
			t.Errorf("login response lacks %q: %s", k, r.body)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
	access, refresh := r.json["access_token"].(string), r.json["refresh_token"].(string)

	// A refresh token is not an access token, nor the reverse.
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+refresh), 401, "invalid_token")
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(access)), 400, "invalid_grant")

	// Rotation: the child works, the parent is consumed.
	r = e.do("POST", "/api/tokens/refresh", refreshBody(refresh))
	wantStatus(t, r, 200, "")
	access2, refresh2 := r.json["access_token"].(string), r.json["refresh_token"].(string)
	if refresh2 == refresh {
		t.Fatal("refresh returned the same refresh token")
	}
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access2), 200, "")

	// Within the grace window, the parent yields the same child.
	r = e.do("POST", "/api/tokens/refresh", refreshBody(refresh))
	wantStatus(t, r, 200, "")
	if got := r.json["refresh_token"]; got != refresh2 {
		t.Errorf("retry in grace window returned a different child")
	}

	// Logout ends the session: its access tokens are refused at once.
	wantStatus(t, e.do("POST", "/api/logout", "", "Authorization", "Bearer "+access2), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 401, "invalid_token")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access2), 401, "invalid_token")
	wantStatus(t, e.do("GET", "/api/token", "", "Authorization", basic(access2, "")), 401, "invalid_token")
	// A refresh on the ended session is refused and writes nothing: the
	// token stays unused, no child is stored, the session is not touched.
	before, err := takeSnapshot(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(refresh2)), 400, "invalid_grant")
	after, err := takeSnapshot(t.Context(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	if changed := before.Diff(after); len(changed) > 0 {
		t.Errorf("a refresh on a logged-out session changed the tables %q", changed)
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) { forEachStore(t, testRefreshReuseRevokesSession) }

func testRefreshReuseRevokesSession(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(c *restauthConfig, _ *Config) { c.RefreshGrace = 0 })
	e.register("alice", "correct horse battery")
	access, refresh := e.login("alice", "correct horse battery")
	r := e.do("POST", "/api/tokens/refresh", refreshBody(refresh))
	wantStatus(t, r, 200, "")
	child := r.json["refresh_token"].(string)
	// The parent presented again after the grace window: theft is assumed.
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(refresh)), 400, "invalid_grant")
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(child)), 400, "invalid_grant")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 401, "invalid_token")
}

func TestParallelRefreshLeavesOneChild(t *testing.T) {
	forEachStore(t, testParallelRefreshLeavesOneChild)
}

func testParallelRefreshLeavesOneChild(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	_, refresh := e.login("alice", "correct horse battery")
	const n = 20
	var wg sync.WaitGroup
	start := make(chan struct{})
	children := make([]string, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/tokens/refresh", stringsReader(refreshBody(refresh)))
			req.Header.Set("Content-Type", "application/json")
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var body map[string]any
			json.NewDecoder(res.Body).Decode(&body)
			statuses[i] = res.StatusCode
			children[i], _ = body["refresh_token"].(string)
		}()
	}
	close(start)
	wg.Wait()
	distinct := map[string]bool{}
	for i := range n {
		if statuses[i] != 200 {
			t.Errorf("refresh %d: status %d, want 200 (within the grace window)", i, statuses[i])
		}
		distinct[children[i]] = true
	}
	if len(distinct) != 1 {
		t.Fatalf("parallel refreshes produced %d distinct children, want 1", len(distinct))
	}
	// And the one child is live.
	var child string
	for c := range distinct {
		child = c
	}
	wantStatus(t, e.do("POST", "/api/tokens/refresh", refreshBody(child)), 200, "")
}

func TestSessionsAndAccount(t *testing.T) { forEachStore(t, testSessionsAndAccount) }

func testSessionsAndAccount(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	a1, _ := e.login("alice", "correct horse battery")
	a2, _ := e.login("alice", "correct horse battery")
	a3, _ := e.login("alice", "correct horse battery")

	r := e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+a1)
	wantStatus(t, r, 200, "")
	sessions := r.json["sessions"].([]any)
	if len(sessions) != 3 {
		t.Fatalf("sessions = %d, want 3", len(sessions))
	}
	// Password-authenticated callers have no session to list.
	wantStatus(t, e.do("GET", "/api/sessions", "", "Authorization", basic("alice", "correct horse battery")), 401, "invalid_token")

	// End the second session by id.
	var id2 string
	me := e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+a2)
	for _, s := range me.json["sessions"].([]any) {
		m := s.(map[string]any)
		if m["current"] == true {
			id2 = m["id"].(string)
		}
	}
	wantStatus(t, e.do("DELETE", "/api/sessions/"+id2, "", "Authorization", "Bearer "+a1), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a2), 401, "invalid_token")
	wantStatus(t, e.do("DELETE", "/api/sessions/unknown", "", "Authorization", "Bearer "+a1), 404, "not_found")

	// Another user cannot end alice's session.
	e.register("bob", "another fine passphrase")
	b1, _ := e.login("bob", "another fine passphrase")
	r = e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+a1)
	aliceID := r.json["sessions"].([]any)[0].(map[string]any)["id"].(string)
	wantStatus(t, e.do("DELETE", "/api/sessions/"+aliceID, "", "Authorization", "Bearer "+b1), 404, "not_found")

	// GET /api/users/me.
	r = e.do("GET", "/api/users/me", "", "Authorization", "Bearer "+a1)
	wantStatus(t, r, 200, "")
	if r.json["username"] != "alice" {
		t.Errorf("me = %s, want alice", r.body)
	}

	// A password change ends every other session, keeps this one.
	wantStatus(t, e.do("PUT", "/api/users/me/password", `{"current_password":"wrong horse battery","new_password":"a new passphrase here"}`,
		"Authorization", "Bearer "+a1), 403, "wrong_current_password")
	wantStatus(t, e.do("PUT", "/api/users/me/password", `{"current_password":"correct horse battery","new_password":"password"}`,
		"Authorization", "Bearer "+a1), 400, "password_too_common")
	wantStatus(t, e.do("PUT", "/api/users/me/password", `{"current_password":"correct horse battery","new_password":"a new passphrase here"}`,
		"Authorization", "Bearer "+a1), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a1), 200, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a3), 401, "invalid_token")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic("alice", "correct horse battery")), 401, "invalid_credentials")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic("alice", "a new passphrase here")), 200, "")

	// DELETE /api/sessions ends all, including the current one.
	a4, _ := e.login("alice", "a new passphrase here")
	wantStatus(t, e.do("DELETE", "/api/sessions", "", "Authorization", "Bearer "+a4), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a4), 401, "invalid_token")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a1), 401, "invalid_token")

	// Account deletion needs the password and ends every session.
	a5, _ := e.login("alice", "a new passphrase here")
	wantStatus(t, e.do("DELETE", "/api/users/me", `{"password":"nope nope nope"}`, "Authorization", "Bearer "+a5), 403, "wrong_current_password")
	wantStatus(t, e.do("DELETE", "/api/users/me", `{"password":"a new passphrase here"}`, "Authorization", "Bearer "+a5), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+a5), 401, "invalid_token")
	wantStatus(t, e.do("GET", "/api/users/1", ""), 404, "not_found")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic("alice", "a new passphrase here")), 401, "invalid_credentials")
	// Bob is untouched.
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+b1), 200, "")
}

func TestIntrospect(t *testing.T) { forEachStore(t, testIntrospect) }

func testIntrospect(t *testing.T, kind storeKind) {
	e := newEnvOn(t, kind, func(_ *restauthConfig, c *Config) {
		c.IntrospectClients = map[string]string{"api-gateway": "s3cret-s3cret-s3cret"}
	})
	e.register("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	form := func(auth, tok string) *response {
		return e.do("POST", "/api/introspect", "token="+tok, "Content-Type", "application/x-www-form-urlencoded", "Authorization", auth)
	}
	wantStatus(t, form("", access), 401, "invalid_credentials")
	wantStatus(t, form(basic("api-gateway", "wrong"), access), 401, "invalid_credentials")
	r := form(basic("api-gateway", "s3cret-s3cret-s3cret"), access)
	wantStatus(t, r, 200, "")
	if r.json["active"] != true || r.json["username"] != "alice" {
		t.Errorf("introspect = %s, want active alice", r.body)
	}
	wantStatus(t, e.do("POST", "/api/logout", "", "Authorization", "Bearer "+access), 204, "")
	r = form(basic("api-gateway", "s3cret-s3cret-s3cret"), access)
	if r.status != 200 || r.json["active"] != false || len(r.json) != 1 {
		t.Errorf("introspect after logout = %d %s, want 200 {\"active\":false}", r.status, r.body)
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/.well-known/jwks.json", "")
	wantStatus(t, r, 200, "")
	keys, _ := r.json["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("jwks = %s, want one key", r.body)
	}
	k := keys[0].(map[string]any)
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["d"] != nil {
		t.Errorf("jwk = %v, want a public OKP Ed25519 key", k)
	}
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q, want public, max-age=300", cc)
	}
}
