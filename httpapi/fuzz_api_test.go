package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// FuzzAPI drives the whole handler on SQLite: method, path and query,
// credentials, a few headers and a body, with a live account and session
// available to every input. The properties: no request is answered with a
// 5xx (a panic is one: the server recovers it into a 500), and a refused
// request changes no stored row, save the brute-force counters of a
// request that offered a password or registered. A 503 is a finding too:
// with the tests' fast hash parameters and one request at a time, the
// hashing gate never fills, so only a store failure could answer one.
func FuzzAPI(f *testing.F) { fuzzAPI(f, sqliteStore) }

// FuzzAPIPostgres is FuzzAPI on PostgreSQL, which refuses bytes that
// SQLite stores (invalid UTF-8, NUL); it skips unless
// RESTAUTH_TEST_POSTGRES is set.
func FuzzAPIPostgres(f *testing.F) {
	if os.Getenv(postgresEnv) == "" {
		f.Skip(postgresEnv + " not set: skipping the API fuzz target on PostgreSQL")
	}
	fuzzAPI(f, postgresStore)
}

// fuzzMethods are the methods a fuzz input picks from by index.
var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

// Credential choices a fuzz input picks by index; others attach nothing
// beyond what its headers carry.
const (
	authNone = iota
	authBearer
	authBasicPassword
	authBasicToken
	authBasicWrong
	authBearerRefresh
)

// fuzzAdd adds one seed: method by name, target (path and query), the
// credential choice, header lines ("Name: value" separated by "\n"), and
// the body. Targets, headers and bodies may hold {access}, {refresh},
// {sid}, {uid}, {user}, {newuser} and {pw}, replaced by the live account's
// values ({newuser} by a name derived from the account's).
func fuzzAdd(f *testing.F, method, target string, auth byte, headers, body string) {
	m := byte(0)
	for i, v := range fuzzMethods {
		if v == method {
			m = byte(i)
		}
	}
	f.Add(m, target, auth, headers, []byte(body))
}

// seedFuzzAPI adds a success on every route and every hostile value of
// the tests' tables. Where a table crosses values with routes, each value
// is added once, on the routes in turn: the fuzzer makes the other
// combinations, and a shorter corpus leaves more of a short run to it.
func seedFuzzAPI(f *testing.F) {
	for _, rt := range everyRoute {
		hdr, auth := seedHeaders(rt.header)
		fuzzAdd(f, rt.method, rt.path, auth, hdr, rt.body)
	}
	route := func(i int) (method, path, body string, auth byte, hdr string) {
		rt := everyRoute[i%len(everyRoute)]
		hdr, auth = seedHeaders(rt.header)
		return rt.method, rt.path, rt.body, auth, hdr
	}
	for i, q := range hostileQueries {
		method, path, body, auth, hdr := route(i)
		fuzzAdd(f, method, path+"?"+q, auth, hdr, body)
	}
	for i, seg := range []string{"%ff", "%00", "a%00b", "%c3%28", "%2e%2e", "%2f"} {
		for j, shape := range []string{"%s%s", "%s/%s", "/%[2]s%[1]s"} {
			method, path, body, auth, hdr := route(3*i + j)
			fuzzAdd(f, method, fmt.Sprintf(shape, path, seg), auth, hdr, body)
		}
	}
	for i, seg := range hostileSegments {
		switch i % 3 {
		case 0:
			fuzzAdd(f, "GET", "/api/users/"+seg, authNone, "", "")
		case 1:
			fuzzAdd(f, "DELETE", "/api/sessions/"+seg, authBearer, "", "")
		case 2:
			fuzzAdd(f, "DELETE", "/api/sessions/"+seg, authBasicPassword, "", "")
		}
	}
	// Values shaped almost like personal API keys, as a Bearer token and as
	// the Basic username.
	for i, k := range hostileKeys("ra_" + strings.Repeat("A", 43)) {
		h := "Authorization: Bearer " + k
		if i%2 == 1 {
			h = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(k+":"))
		}
		fuzzAdd(f, "GET", "/api/resource", authNone, h, "")
	}
	for _, q := range []string{"keys=true", "keys=%ff", "keys=true&keys=false", "keys=" + strings.Repeat("t", 5000), "keys"} {
		fuzzAdd(f, "DELETE", "/api/sessions?"+q, authBearer, "", "")
	}
	passwordRoutes := []string{"GET /api/resource", "GET /api/token", "POST /api/tokens", "DELETE /api/sessions/{sid}", "POST /api/introspect"}
	for i, c := range hostileBasic {
		h := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(c.user+":"+c.pass))
		method, path, _ := strings.Cut(passwordRoutes[i%len(passwordRoutes)], " ")
		fuzzAdd(f, method, path, authNone, h, "")
	}
	// TestProtectedRouteCredentials's refused headers, with the live token
	// standing in for the one that test makes.
	for _, h := range []string{"Basic %%%", "Digest abc", "Bearer ", "Basic YWxpY2U=", "Basic Og==", "Bearer abc",
		"bearer {access}", "BEARER {access}", "Basic {access}", "Bearer {access} {access}", "Bearer {refresh}"} {
		fuzzAdd(f, "GET", "/api/resource", authNone, "Authorization: "+h, "")
	}
	// TestOversizedBodyClosesConnection's bodies, one size over the limit.
	big := strings.Repeat("x", MaxBodyBytes+1)
	fuzzAdd(f, "POST", "/api/users", authNone, "", `{"username":"`+big+`"}`)
	fuzzAdd(f, "POST", "/api/introspect", authNone, "Authorization: Basic Z3c6czNjcmV0LXMzY3JldC1zM2NyZXQ=\nContent-Type: application/x-www-form-urlencoded", "token="+big)
	for _, tok := range hostileBearer {
		fuzzAdd(f, "GET", "/api/sessions", authNone, "Authorization: Bearer "+tok, "")
	}
	for _, tc := range hostileHeaderCases {
		var lines []string
		for i := 0; i+1 < len(tc.header); i += 2 {
			lines = append(lines, tc.header[i]+": "+tc.header[i+1])
		}
		fuzzAdd(f, tc.method, tc.path, authNone, strings.Join(lines, "\n"), tc.body)
	}
	for _, ua := range hostileUserAgents {
		fuzzAdd(f, "POST", "/api/tokens", authBasicPassword, "User-Agent: "+ua, "")
	}
	for _, tt := range hostileJSON {
		fuzzAdd(f, "POST", "/api/users", authNone, "", tt.body)
	}
	for _, tt := range hostileLoginBodies {
		fuzzAdd(f, "POST", "/api/tokens", authNone, "", tt.body)
	}
	for _, tt := range registerBadInput {
		hdr := ""
		if tt.contentType != "" {
			hdr = "Content-Type: " + tt.contentType
		}
		fuzzAdd(f, "POST", "/api/users", authNone, hdr, tt.body)
	}
	// Bodies for the routes that read one, with hostile values.
	for _, v := range []string{`"\u0000"`, `"\ud800"`, `"` + "\xff" + `"`, `"{access}"`, `"{refresh}"`, `1`, `null`} {
		fuzzAdd(f, "POST", "/api/tokens/refresh", authNone, "", `{"refresh_token":`+v+`}`)
		fuzzAdd(f, "PUT", "/api/users/me/password", authBearer, "", `{"current_password":`+v+`,"new_password":"{pw}"}`)
		fuzzAdd(f, "DELETE", "/api/users/me", authBearer, "", `{"password":`+v+`}`)
		fuzzAdd(f, "POST", "/api/introspect", authNone, "Authorization: Basic Z3c6czNjcmV0LXMzY3JldC1zM2NyZXQ=", `{"token":`+v+`}`)
		fuzzAdd(f, "POST", "/api/introspect", authNone, "Authorization: Basic Z3c6czNjcmV0LXMzY3JldC1zM2NyZXQ=\nContent-Type: application/x-www-form-urlencoded", "token="+strings.Trim(v, `"`))
	}
}

// seedHeaders turns a route's header pairs into a credential choice and
// header lines.
func seedHeaders(pairs []string) (string, byte) {
	var lines []string
	auth := byte(authNone)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "Authorization" && pairs[i+1] == "Bearer {access}" {
			auth = authBearer
			continue
		}
		lines = append(lines, pairs[i]+": "+pairs[i+1])
	}
	return strings.Join(lines, "\n"), auth
}

// fuzzAccount is the live account and session the fuzz inputs may use.
type fuzzAccount struct {
	user, pw             string
	uid                  int64
	access, refresh, sid string
	stale                bool // A request may have ended the session or the account.
	made                 int  // Accounts registered so far, for fresh names.
}

// mint gives the account a fresh session, registering a new account when
// the old one can no longer log in (deleted, password changed, throttled).
func (a *fuzzAccount) mint(ctx context.Context, svc *restauth.Service) error {
	u, pair, err := svc.Login(ctx, a.user, a.pw, restauth.ClientMeta{})
	if err != nil {
		a.made++
		a.user, a.pw = "fuzz"+itoa(a.made), "correct horse battery"
		if _, err := svc.Register(ctx, a.user, a.pw, restauth.ClientMeta{}); err != nil {
			return err
		}
		if u, pair, err = svc.Login(ctx, a.user, a.pw, restauth.ClientMeta{}); err != nil {
			return err
		}
	}
	p, err := svc.AuthenticateToken(ctx, pair.AccessToken)
	if err != nil {
		return err
	}
	a.uid, a.access, a.refresh, a.sid, a.stale = u.ID, pair.AccessToken, pair.RefreshToken, p.SessionID, false
	return nil
}

func fuzzAPI(f *testing.F, kind storeKind) {
	seedFuzzAPI(f)
	var logs lockedBuffer
	e := newEnvWith(f, envExtras{store: kind, logger: slog.New(slog.NewTextHandler(&logs, nil))},
		func(_ *restauthConfig, h *Config) {
			h.IntrospectClients = map[string]string{"gw": "s3cret-s3cret-s3cret"}
		})
	client := &http.Client{
		Transport: e.srv.Client().Transport,
		// A redirect is an answer; following it would send a second
		// request the property does not describe.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	ctx := context.Background()
	acct := &fuzzAccount{user: "alice", pw: "correct horse battery"}
	if _, err := e.svc.Register(ctx, acct.user, acct.pw, restauth.ClientMeta{}); err != nil {
		f.Fatal(err)
	}
	acct.stale = true
	var before snapshot

	f.Fuzz(func(t *testing.T, m byte, target string, auth byte, headers string, body []byte) {
		if acct.stale {
			if err := acct.mint(ctx, e.svc); err != nil {
				t.Fatalf("open a session for the fuzz input: %v", err)
			}
			before = nil
		}
		if before == nil {
			var err error
			if before, err = takeSnapshot(ctx, e.raw); err != nil {
				t.Fatal(err)
			}
		}
		fill := strings.NewReplacer("{access}", acct.access, "{refresh}", acct.refresh, "{sid}", acct.sid,
			"{uid}", itoa(int(acct.uid)), "{user}", acct.user, "{newuser}", "new"+acct.user, "{pw}", acct.pw)
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		var rd io.Reader
		if len(body) > 0 {
			rd = strings.NewReader(fill.Replace(string(body)))
		}
		req, err := http.NewRequest(method, e.srv.URL+fill.Replace(target), rd)
		if err != nil || req.URL.Host != e.srv.Listener.Addr().String() {
			return // Not a request a client can send to this server.
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		switch auth % 8 {
		case authBearer:
			req.Header.Set("Authorization", "Bearer "+acct.access)
		case authBasicPassword:
			req.SetBasicAuth(acct.user, acct.pw)
		case authBasicToken:
			req.SetBasicAuth(acct.access, "")
		case authBasicWrong:
			req.SetBasicAuth(acct.user, "wrong horse battery")
		case authBearerRefresh:
			req.Header.Set("Authorization", "Bearer "+acct.refresh)
		}
		for line := range strings.SplitSeq(headers, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(fill.Replace(value)))
		}

		logs.Reset()
		res, err := client.Do(req)
		if err != nil {
			var ue interface{ Timeout() bool }
			if errors.As(err, &ue) && ue.Timeout() {
				t.Fatalf("%s %q: no answer: %v", method, target, err)
			}
			return // The client refused to send it (an invalid header, say).
		}
		resBody, _ := io.ReadAll(res.Body)
		res.Body.Close()

		if res.StatusCode >= 500 {
			t.Fatalf("%s %q (auth %d, headers %q, body %q): status %d %s\nlog:\n%s",
				method, target, auth%8, headers, body, res.StatusCode, resBody, logs.String())
		}
		after, err := takeSnapshot(ctx, e.raw)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 400 {
			var except []string
			if mayCount(req) {
				except = []string{"counters"}
			}
			if changed := before.Diff(after, except...); len(changed) > 0 {
				t.Fatalf("%s %q (auth %d, headers %q, body %q): refused with %d %s, and changed the tables %q",
					method, target, auth%8, headers, body, res.StatusCode, resBody, changed)
			}
		} else if method != "GET" && method != "HEAD" && method != "OPTIONS" {
			// A success may have ended the session, the account or the
			// password: start the next input from a fresh session.
			acct.stale = true
		}
		before = after
	})
}

// mayCount reports whether a request may be counted by the brute-force
// limits even when it is refused: it offers a password (Basic credentials,
// or a route whose body carries one) or registers.
func mayCount(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Basic") {
		return true
	}
	switch r.URL.Path {
	case "/api/users", "/api/tokens", "/api/users/me/password", "/api/users/me":
		return true
	}
	return false
}

// Reset empties the buffer.
func (b *lockedBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
