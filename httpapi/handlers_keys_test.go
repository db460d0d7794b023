package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
)

// createKey makes an API key with the access token and returns its id and
// the key.
func (e *testEnv) createKey(access, body string) (id, key string) {
	e.t.Helper()
	r := e.do("POST", "/api/keys", body, "Authorization", "Bearer "+access)
	if r.status != http.StatusCreated {
		e.t.Fatalf("create key %s: status %d, want 201; body %s", body, r.status, r.body)
	}
	return r.json["id"].(string), r.json["key"].(string)
}

// newKeyEnv is an environment with alice registered and logged in; it
// returns her access token.
func newKeyEnv(t *testing.T, kind storeKind) (*testEnv, string) {
	t.Helper()
	e := newEnvOn(t, kind)
	e.register("alice", "correct horse battery")
	access, _ := e.login("alice", "correct horse battery")
	return e, access
}

// keyRows counts the api_keys rows and reports whether any column of any
// row holds the key itself.
func (e *testEnv) keyRows(key string) (n int, leaked bool) {
	e.t.Helper()
	rows, err := e.raw.Query(`SELECT id, name, key_hash, scopes FROM api_keys`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, scopes string
		var h []byte
		if err := rows.Scan(&id, &name, &h, &scopes); err != nil {
			e.t.Fatal(err)
		}
		n++
		for _, v := range []string{id, name, string(h), scopes} {
			leaked = leaked || key != "" && strings.Contains(v, key[3:])
		}
	}
	return n, leaked
}

func TestAPIKeyLifecycle(t *testing.T) { forEachStore(t, testAPIKeyLifecycle) }

func testAPIKeyLifecycle(t *testing.T, kind storeKind) {
	e, access := newKeyEnv(t, kind)

	r := e.do("POST", "/api/keys", `{"name":"deploy","expires_at":"`+time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)+`","scopes":"read"}`,
		"Authorization", "Bearer "+access)
	wantStatus(t, r, 201, "")
	id, key := r.json["id"].(string), r.json["key"].(string)
	if !strings.HasPrefix(key, "ra_") || len(key) != 46 {
		t.Fatalf("key has %d characters and prefix %q; want ra_ and 43 more", len(key), key[:3])
	}
	if r.json["last_used_at"] != nil || r.json["expires_at"] == nil {
		t.Errorf("new key: last_used_at %v, expires_at %v; want null and a time", r.json["last_used_at"], r.json["expires_at"])
	}
	// Only the SHA-256 is stored.
	var stored []byte
	if err := e.raw.QueryRow(`SELECT key_hash FROM api_keys WHERE id = `+placeholder(e), id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(key)); string(stored) != string(want[:]) {
		t.Errorf("stored hash is not the SHA-256 of the key")
	}
	if _, leaked := e.keyRows(key); leaked {
		t.Errorf("the key itself is stored")
	}

	// The key works as a Bearer token and as the Basic username with any
	// password, on the routes its read scope allows.
	for _, auth := range []string{"Bearer " + key, basic(key, ""), basic(key, "anything"), "bearer " + key} {
		r := e.do("GET", "/api/resource", "", "Authorization", auth)
		wantStatus(t, r, 200, "")
		if r.json["data"] != "Hello, alice!" {
			t.Errorf("%.10s…: data %v, want Hello, alice!", auth, r.json["data"])
		}
		wantStatus(t, e.do("GET", "/api/users/me", "", "Authorization", auth), 200, "")
	}
	// A read-only key may not write, nor manage keys, nor mint tokens, nor
	// act on a session it does not have.
	wantStatus(t, e.do("DELETE", "/api/sessions", "", "Authorization", "Bearer "+key), 403, "forbidden")
	wantStatus(t, e.do("GET", "/api/keys", "", "Authorization", "Bearer "+key), 403, "forbidden")
	wantStatus(t, e.do("GET", "/api/token", "", "Authorization", "Bearer "+key), 403, "forbidden")
	wantStatus(t, e.do("GET", "/api/sessions", "", "Authorization", "Bearer "+key), 401, "invalid_token")
	// The access token still works: the refusals ended nothing.
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 200, "")

	// The listing shows the key's data, never the key.
	r = e.do("GET", "/api/keys", "", "Authorization", "Bearer "+access)
	wantStatus(t, r, 200, "")
	keys := r.json["keys"].([]any)
	if len(keys) != 1 {
		t.Fatalf("GET /api/keys: %d keys, want 1; body %s", len(keys), r.body)
	}
	k := keys[0].(map[string]any)
	if k["id"] != id || k["name"] != "deploy" || k["last_used_at"] == nil || strings.Contains(string(r.body), key[3:]) {
		t.Errorf("listed key = %v; want id %s, name deploy, a last use, and no key", k, id)
	}
	if sc, _ := json.Marshal(k["scopes"]); string(sc) != `["read"]` {
		t.Errorf("scopes = %s, want [\"read\"]", sc)
	}

	// A write key may revoke sessions, but not manage keys. Sent with a
	// password, it is still only a key: refused for its scope, never tried
	// as a username (whose failure counters would store it).
	_, wkey := e.createKey(access, `{"name":"writer","scopes":"write"}`)
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+wkey), 403, "forbidden")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic(wkey, "a password")), 403, "forbidden")
	var counted int
	if err := e.raw.QueryRow(`SELECT count(*) FROM counters WHERE key LIKE '%ra_%'`).Scan(&counted); err != nil || counted != 0 {
		t.Errorf("counters naming a key: %d rows, %v; want none", counted, err)
	}
	wantStatus(t, e.do("POST", "/api/keys", `{"name":"minted"}`, "Authorization", "Bearer "+wkey), 403, "forbidden")
	wantStatus(t, e.do("DELETE", "/api/keys/"+id, "", "Authorization", basic(wkey, "")), 403, "forbidden")
	// Nor second factors: a leaked key must not put a factor the owner
	// lacks in front of the owner's password, nor take one away.
	for _, rt := range [][2]string{{"POST", "/api/users/me/totp"}, {"POST", "/api/users/me/totp/confirm"}, {"DELETE", "/api/users/me/totp"}} {
		wantStatus(t, e.do(rt[0], rt[1], `{"code":"123456"}`, "Authorization", "Bearer "+wkey), 403, "forbidden")
	}
	var factors int
	if err := e.raw.QueryRow(`SELECT count(*) FROM totp`).Scan(&factors); err != nil || factors != 0 {
		t.Errorf("totp rows after key attempts: %d, %v; want none", factors, err)
	}

	// Revocation: refused at once, with the Bearer challenge.
	wantStatus(t, e.do("DELETE", "/api/keys/"+id, "", "Authorization", "Bearer "+access), 204, "")
	r = e.do("GET", "/api/resource", "", "Authorization", "Bearer "+key)
	wantStatus(t, r, 401, "invalid_token")
	if ch := r.header.Values("WWW-Authenticate"); len(ch) != 2 || ch[1] != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate = %q, want Basic and Bearer error=\"invalid_token\"", ch)
	}
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic(key, "")), 401, "invalid_token")
	wantStatus(t, e.do("DELETE", "/api/keys/"+id, "", "Authorization", "Bearer "+access), 404, "not_found")
	if n, _ := e.keyRows(""); n != 1 {
		t.Errorf("%d key rows after the revocation, want 1", n)
	}
}

// placeholder is the first bind parameter in the store's SQL dialect.
func placeholder(e *testEnv) string {
	if e.kind.Name == "postgres" {
		return "$1"
	}
	return "?"
}

func TestAPIKeyCreateRefusals(t *testing.T) { forEachStore(t, testAPIKeyCreateRefusals) }

func testAPIKeyCreateRefusals(t *testing.T, kind storeKind) {
	e, access := newKeyEnv(t, kind)
	bearer := []string{"Authorization", "Bearer " + access}
	now := time.Now().UTC()
	for _, tt := range []struct{ body, code string }{
		{`{}`, "invalid_request"},
		{`{"name":""}`, "invalid_request"},
		{`{"name":"` + strings.Repeat("n", 65) + `"}`, "invalid_request"},
		{`{"name":" padded"}`, "invalid_request"},
		{`{"name":"a\u0000b"}`, "invalid_request"},
		{`{"name":"ci","expires_at":"tomorrow"}`, "invalid_request"},
		{`{"name":"ci","expires_at":"` + now.Add(-time.Hour).Format(time.RFC3339) + `"}`, "invalid_request"},
		{`{"name":"ci","expires_at":"` + now.Add(400*24*time.Hour).Format(time.RFC3339) + `"}`, "invalid_request"},
		{`{"name":"ci","scopes":"admin"}`, "invalid_request"},
		{`{"name":"ci","scopes":["read"]}`, "invalid_json"},
		{`{"name":"ci","user_id":"2"}`, "invalid_json"},
		{`{"name":"ci","key":"ra_chosen"}`, "invalid_json"},
	} {
		r := e.do("POST", "/api/keys", tt.body, bearer...)
		wantStatus(t, r, 400, tt.code)
	}
	if n, _ := e.keyRows(""); n != 0 {
		t.Fatalf("%d keys stored by refused requests, want 0", n)
	}
	for i := range restauth.MaxAPIKeysPerUser {
		e.createKey(access, `{"name":"key `+itoa(i)+`"}`)
	}
	wantStatus(t, e.do("POST", "/api/keys", `{"name":"one too many"}`, bearer...), 400, "invalid_request")
	if n, _ := e.keyRows(""); n != restauth.MaxAPIKeysPerUser {
		t.Fatalf("%d keys stored, want %d", n, restauth.MaxAPIKeysPerUser)
	}
	// Password and browser-less credentials manage keys too.
	r := e.do("GET", "/api/keys", "", "Authorization", basic("alice", "correct horse battery"))
	wantStatus(t, r, 200, "")
	if got := len(r.json["keys"].([]any)); got != restauth.MaxAPIKeysPerUser {
		t.Errorf("listed %d keys, want %d", got, restauth.MaxAPIKeysPerUser)
	}
}

// TestAPIKeyEndedBy: a password change keeps keys; DELETE /api/sessions
// keeps them unless keys=true; deleting the account ends them.
func TestAPIKeyEndedBy(t *testing.T) { forEachStore(t, testAPIKeyEndedBy) }

func testAPIKeyEndedBy(t *testing.T, kind storeKind) {
	e, access := newKeyEnv(t, kind)
	_, key := e.createKey(access, `{"name":"ci"}`)
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+key), 200, "")

	wantStatus(t, e.do("PUT", "/api/users/me/password", `{"current_password":"correct horse battery","new_password":"another horse battery"}`,
		"Authorization", "Bearer "+access), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+key), 200, "")

	for _, q := range []string{"?keys=yes", "?keys=1", "?keys=true&keys=true", "?keys=TRUE"} {
		wantStatus(t, e.do("DELETE", "/api/sessions"+q, "", "Authorization", "Bearer "+access), 400, "invalid_request")
	}
	wantStatus(t, e.do("DELETE", "/api/sessions?keys=false", "", "Authorization", "Bearer "+access), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+key), 200, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 401, "invalid_token")

	// keys=true ends the keys, here with the key itself as the credential.
	_, key2 := e.createKey(e.mustLogin("alice", "another horse battery"), `{"name":"second"}`)
	wantStatus(t, e.do("DELETE", "/api/sessions?keys=true", "", "Authorization", "Bearer "+key2), 204, "")
	for _, k := range []string{key, key2} {
		wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+k), 401, "invalid_token")
	}
	if n, _ := e.keyRows(""); n != 0 {
		t.Errorf("%d keys left after keys=true, want 0", n)
	}

	access = e.mustLogin("alice", "another horse battery")
	_, key3 := e.createKey(access, `{"name":"third"}`)
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic(key3, "x")), 200, "")
	wantStatus(t, e.do("DELETE", "/api/users/me", `{"password":"another horse battery"}`, "Authorization", "Bearer "+access), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", basic(key3, "")), 401, "invalid_token")
	if n, _ := e.keyRows(""); n != 0 {
		t.Errorf("%d keys left after the account's deletion, want 0", n)
	}
}

func (e *testEnv) mustLogin(user, pass string) string {
	e.t.Helper()
	a, _ := e.login(user, pass)
	return a
}

// TestAPIKeySecondInstance: a key revoked on one instance is refused on a
// second one sharing the database once the revocation feed runs: at the
// next periodic sync on every store (every second by default), and through
// LISTEN/NOTIFY on PostgreSQL.
func TestAPIKeySecondInstance(t *testing.T) { forEachStore(t, testAPIKeySecondInstance) }

func testAPIKeySecondInstance(t *testing.T, kind storeKind) {
	e, access := newKeyEnv(t, kind)
	id, key := e.createKey(access, `{"name":"ci"}`)

	// A second instance on the same database, with a revocation view of
	// its own.
	cfg := restauth.DefaultConfig()
	revs := restauth.NewRevocationSet(cfg.RevocationKeep())
	inst, err := instance.New(context.Background(), e.store, instance.Options{
		Config: cfg, Hasher: password.New(password.Options{Params: fastParams}), Revocations: revs,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(NewServer(Config{}, Deps{Service: inst.Service}))
	t.Cleanup(srv2.Close)
	validateOpenAPI(t, srv2)
	get := func() int {
		t.Helper()
		req, _ := http.NewRequest("GET", srv2.URL+"/api/resource", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := srv2.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("second instance before revocation: %d, want 200", got)
	}

	notified := make(chan struct{}, 16)
	var stopListen func()
	if kind.Name == "postgres" {
		stopListen = listenForRevocations(t, e.store, revs, notified)
	}

	wantStatus(t, e.do("DELETE", "/api/keys/"+id, "", "Authorization", "Bearer "+access), 204, "")
	wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+key), 401, "invalid_token")
	if stopListen != nil {
		// PostgreSQL: the notification alone brings the revocation.
		select {
		case <-notified:
		case <-time.After(10 * time.Second):
			t.Fatal("no revocation notification within 10 s")
		}
		stopListen()
	} else if err := revs.Sync(context.Background(), e.store, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != 401 {
		t.Fatalf("second instance after the revocation reached it: %d, want 401", got)
	}
}

// listenForRevocations starts PostgreSQL's LISTEN/NOTIFY listener, syncing
// revs on each notification and then signalling notified. It returns once
// the listener is connected (its first resync is done), with a function
// that stops it.
func listenForRevocations(t *testing.T, st testStore, revs *restauth.RevocationSet, notified chan struct{}) func() {
	l, ok := st.(interface {
		Listen(ctx context.Context, onRevoke, onKeys func(), logger *slog.Logger)
	})
	if !ok {
		t.Fatal("the PostgreSQL store has no Listen")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Listen(ctx, func() {
			if err := revs.Sync(ctx, st, time.Now()); err != nil && ctx.Err() == nil {
				t.Errorf("sync on notification: %v", err)
			}
			notified <- struct{}{}
		}, nil, slog.New(slog.DiscardHandler))
	}()
	stop := func() { cancel(); <-done }
	select {
	case <-notified: // The resync made on connecting.
	case <-time.After(10 * time.Second):
		stop()
		t.Fatal("the listener did not connect within 10 s")
	}
	return stop
}

// hostileKeys are Authorization values that offer something like a key:
// wrong prefix, wrong length, not base64url, padding bits set, huge, bytes
// a database refuses.
func hostileKeys(valid string) []string {
	body := valid[3:]
	return []string{
		"ra_", "ra_" + body[:42], valid + "A", "rb_" + body, "RA_" + body, "ra-" + body, "ra_" + body[:42] + "=",
		"ra_" + body[:42] + "+", "ra_" + body[:42] + "/", "ra_" + body[:42] + ".",
		"ra_" + strings.Repeat("A", 42) + "B",
		"ra_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32)), // Well formed, unknown.
		"ra_" + strings.Repeat("A", 6000), "ra_" + strings.Repeat("\xff", 43), "ra_" + strings.Repeat("A", 21) + "\x00" + strings.Repeat("A", 21),
		"ra_%ff" + body[3:],
	}
}

// TestHostileAPIKeys sends every hostile key as a Bearer token and as a
// Basic username (with and without a password): each is a 401 with
// WWW-Authenticate, never a 5xx, and stores nothing (but the password
// attempt's counters).
func TestHostileAPIKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newHostileEnv(t, kind)
		_, valid := e.createKey(e.access, `{"name":"ci"}`)
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		for i, k := range hostileKeys(valid) {
			for _, tc := range []hostileCase{
				{name: "bearer", header: []string{"Authorization", "Bearer " + k}, code: "invalid_token"},
				// A name without the shape of a key is a username, whose
				// refusal is a counted password attempt; one with it is a
				// key, with any password, and never counted.
				{name: "basic", header: []string{"Authorization", "Basic " + b64(k+":")}, attempt: !restauth.LooksLikeAPIKey(k)},
				{name: "basic with password", header: []string{"Authorization", "Basic " + b64(k+":pw")}, attempt: !restauth.LooksLikeAPIKey(k)},
			} {
				if tc.name == "bearer" && strings.ContainsRune(k, 0) {
					continue // No client sends a NUL in a header; Basic carries it.
				}
				tc.method, tc.path, tc.status = "GET", "/api/resource", 401
				t.Run(tc.name+" "+itoa(i), func(t *testing.T) {
					r := e.check(t, tc)
					if len(r.header.Values("WWW-Authenticate")) == 0 {
						t.Errorf("401 without WWW-Authenticate")
					}
				})
			}
		}
		wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+valid), 200, "")
	})
}
