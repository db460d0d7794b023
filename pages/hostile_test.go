package pages

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/teststore"
)

// The pages take identifiers and text from forms, query strings, paths and
// cookies. The tests here send each of them values that PostgreSQL refuses
// and SQLite stores (invalid UTF-8, NUL), and values far over any limit, on
// both stores: the answer is the 4xx or the 303 a plain wrong value gets,
// never a 5xx, and a refused request stores nothing.

// hostileValues are the odd values every field is sent.
var hostileValues = []string{"\xff", "\x00", "a\x00b", "\xc3\x28", strings.Repeat("a", 10<<10)}

// hostileName names a hostile value in a subtest name.
func hostileName(v string) string {
	if len(v) > 16 {
		return fmt.Sprintf("%d_bytes", len(v))
	}
	return fmt.Sprintf("%q", v)
}

// hostileSessionIDs are session ids for POST /account/sessions/end: the
// hostile values, and others that are nearly the shape of a real one.
var hostileSessionIDs = append(slices.Clone(hostileValues),
	"", strings.Repeat("\xff", 22), "AAAAAAAAAAAAAAAAAAAAA\x00", "AAAAAAAAAAAAAAAAAAAAAB",
	"AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAA==", "AAAAAAAAAAAAAAAAAAAA+/", "%ff", "1")

// hostileReturns are return_to values that must each send the browser to
// the account page: hostile values, and paths made hostile.
var hostileReturns = func() []string {
	out := slices.Clone(hostileValues)
	for _, v := range hostileValues {
		out = append(out, "/"+v, "/account?x="+v)
	}
	return append(out, "/"+strings.Repeat("a", maxReturnTo), "//evil.example", "/\\evil.example")
}()

// hostileSegments are path segments and hostileQueries query strings sent
// to every page route.
var (
	hostileSegments = []string{"%ff", "%00", "a%00b", "%c3%28", "%2e%2e", "%2f", strings.Repeat("a", 10<<10)}
	hostileQueries  = []string{"%ff", "%00", "a=%00", "done=%ff", "done=%c3%28", "return_to=%00", "a=%zz", "done=" + strings.Repeat("a", 10<<10), ";;;", "return_to=%2F%2Fevil.example"}
)

// pageRoutes are every page route, with the status and Location a request
// without hostile input (an empty form for a POST) gets, signed in or not
// as the route is sent.
var pageRoutes = []struct {
	method, path string
	signedIn     bool
	status       int
	location     string
}{
	{"GET", "/signup", false, 200, ""},
	{"GET", "/signin", false, 200, ""},
	{"GET", "/account", true, 200, ""},
	{"GET", "/account", false, 303, "/signin?return_to=%2Faccount"},
	{"GET", "/pages/style.css", false, 200, ""},
	{"POST", "/signout", false, 303, "/signin?done=signed-out"},
	{"POST", "/account/sessions/end-others", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/account/sessions/end", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/account/password", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/account/delete", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/signup", false, 400, ""},
	{"POST", "/signin", false, 401, ""},
	{"POST", "/account/sessions/end", true, 303, "/account?done=session-gone"},
	{"POST", "/account/password", true, 400, ""},
	{"POST", "/account/delete", true, 400, ""},
	{"POST", "/account/keys", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/account/keys/revoke", false, 303, "/signin?return_to=%2Faccount"},
	{"POST", "/account/keys", true, 400, ""},
	{"POST", "/account/keys/revoke", true, 303, "/account?done=key-gone"},
}

// hostileCase is one request of the table.
type hostileCase struct {
	name     string
	method   string
	target   string     // Path and query.
	form     url.Values // Sent as the body of a POST when not nil.
	body     string     // Sent as is when form is nil.
	header   []string
	signedIn bool // Sent with the live account's cookie.
	status   int
	location string // The Location a 303 must carry; "" checks none.
	stores   bool   // A success that stores a row (a sign-up, a sign-in).
}

// Names and passwords of the table's account.
const (
	hostileUser = "alice"
	hostilePass = "correct horse battery"
)

// hostileCases returns the table: every field of every form with every
// hostile value, hostile return_to, session ids, path segments, query
// strings, cookies and user agents.
func hostileCases() []hostileCase {
	var cs []hostileCase
	add := func(c hostileCase) { cs = append(cs, c) }
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, v := range hostileValues {
		n := hostileName(v)
		add(hostileCase{name: "signup username " + n, method: "POST", target: "/signup",
			form: form("username", v, "password", hostilePass), status: 400})
		add(hostileCase{name: "signup password " + n, method: "POST", target: "/signup",
			form: form("username", "newcomer", "password", v), status: 400})
		add(hostileCase{name: "signup padded password " + n, method: "POST", target: "/signup",
			form: form("username", "newcomer", "password", "xx"+v+strings.Repeat("y", 260)), status: 400})
		add(hostileCase{name: "signin username " + n, method: "POST", target: "/signin",
			form: form("username", v, "password", hostilePass), status: 401})
		add(hostileCase{name: "signin username suffix " + n, method: "POST", target: "/signin",
			form: form("username", hostileUser+v, "password", hostilePass), status: 401})
		add(hostileCase{name: "signin password " + n, method: "POST", target: "/signin",
			form: form("username", hostileUser, "password", v), status: 401})
		add(hostileCase{name: "change current password " + n, method: "POST", target: "/account/password", signedIn: true,
			form: form("current_password", v, "new_password", "another horse battery"), status: 401})
		add(hostileCase{name: "change new password " + n, method: "POST", target: "/account/password", signedIn: true,
			form: form("current_password", hostilePass, "new_password", v), status: 400})
		add(hostileCase{name: "delete password " + n, method: "POST", target: "/account/delete", signedIn: true,
			form: form("delete_password", v), status: 401})
		add(hostileCase{name: "cookie " + n, method: "GET", target: "/account",
			header: []string{"Cookie", "restauth-session=" + url.QueryEscape(v)}, status: 303, location: "/signin?done=session-expired&return_to=%2Faccount"})
		// A user agent is only a label: a sign-up and a sign-in with an odd
		// one succeed, and store it cleaned.
		if !strings.ContainsRune(v, 0) {
			add(hostileCase{name: "signup user agent " + n, method: "POST", target: "/signup",
				form:   form("username", "agent"+fmt.Sprint(len(cs)), "password", hostilePass),
				header: []string{"User-Agent", v}, status: 303, location: "/account?done=signup", stores: true})
			add(hostileCase{name: "signin user agent " + n, method: "POST", target: "/signin",
				form:   form("username", hostileUser, "password", hostilePass),
				header: []string{"User-Agent", v}, status: 303, location: "/account", stores: true})
		}
	}
	for _, id := range hostileSessionIDs {
		add(hostileCase{name: "end session " + hostileName(id), method: "POST", target: "/account/sessions/end", signedIn: true,
			form: form("session", id), status: 303, location: "/account?done=session-gone"})
		add(hostileCase{name: "revoke key " + hostileName(id), method: "POST", target: "/account/keys/revoke", signedIn: true,
			form: form("key", id), status: 303, location: "/account?done=key-gone"})
		add(hostileCase{name: "key name " + hostileName(id), method: "POST", target: "/account/keys", signedIn: true,
			form: form("key_name", id, "key_expiry", id, "key_scope", id), status: 400})
	}
	for _, rt := range hostileReturns {
		n := hostileName(rt)
		add(hostileCase{name: "signin return_to " + n, method: "POST", target: "/signin",
			form: form("username", hostileUser, "password", hostilePass, "return_to", rt), status: 303, location: "/account", stores: true})
		add(hostileCase{name: "signed-in GET return_to " + n, method: "GET", target: "/signin?return_to=" + url.QueryEscape(rt),
			signedIn: true, status: 303, location: "/account"})
		add(hostileCase{name: "GET return_to " + n, method: "GET", target: "/signin?return_to=" + url.QueryEscape(rt), status: 200})
	}
	for _, rt := range pageRoutes {
		for _, seg := range hostileSegments {
			n := hostileName(seg)
			add(hostileCase{name: rt.method + " " + rt.path + "/" + n, method: rt.method, target: rt.path + "/" + seg,
				signedIn: rt.signedIn, status: 404, form: postForm(rt.method)})
		}
		for _, q := range hostileQueries {
			c := hostileCase{name: rt.method + " " + rt.path + "?" + hostileName(q), method: rt.method, target: rt.path + "?" + q,
				signedIn: rt.signedIn, status: rt.status, location: rt.location, form: postForm(rt.method)}
			if rt.method == "POST" && (strings.Contains(q, "%zz") || strings.Contains(q, ";")) && rt.location != "/signin?return_to=%2Faccount" && rt.path != "/signout" {
				// A POST form reads its query too; a malformed one (a bad
				// escape, a semicolon) is a malformed form, once the form
				// is read.
				c.status, c.location = 400, ""
			}
			add(c)
		}
	}
	// Malformed and oversized bodies.
	for _, path := range []string{"/signup", "/signin", "/account/sessions/end", "/account/password", "/account/delete"} {
		signedIn := strings.HasPrefix(path, "/account")
		add(hostileCase{name: path + " malformed body", method: "POST", target: path, body: "username=%zz&password=%",
			signedIn: signedIn, status: 400})
		add(hostileCase{name: path + " oversized body", method: "POST", target: path,
			body: "username=" + strings.Repeat("a", maxFormBytes), signedIn: signedIn, status: 400})
	}
	return cs
}

// postForm is an empty form for a POST, and nil for anything else.
func postForm(method string) url.Values {
	if method == "POST" {
		return url.Values{}
	}
	return nil
}

// noLimits turns the brute-force limits off, so that the table's failed
// sign-ins never throttle the ones after them and each case gets the answer
// its input deserves.
func noLimits(cfg *restauth.Config, _ *restauth.PasswordHasher) {
	cfg.AccountMaxFailures = 0
	cfg.LoginIPLimit = 0
	cfg.RegisterIPLimit = 0
}

// TestHostileInput sends the table to every page route on both stores.
func TestHostileInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, kind storeKind) {
		e := newEnvOn(t, kind, Config{}, noLimits)
		alice := e.signup(hostileUser, hostilePass)
		for _, tc := range hostileCases() {
			t.Run(tc.name, func(t *testing.T) {
				c := e.client()
				if tc.signedIn {
					c = alice
				}
				before := e.stored(t)
				p := e.sendCase(t, c, tc)
				if p.status != tc.status {
					t.Fatalf("%s %q: status %d, want %d; body %.300s", tc.method, tc.target, p.status, tc.status, p.body)
				}
				if loc := p.header.Get("Location"); tc.location != "" && loc != tc.location {
					t.Errorf("%s %q: Location %q, want %q", tc.method, tc.target, loc, tc.location)
				}
				if !tc.stores {
					if diff := before.diff(e.stored(t)); diff != "" {
						t.Errorf("%s %q answered %d and changed what is stored: %s", tc.method, tc.target, p.status, diff)
					}
				}
			})
		}
		// The account is intact: the table ended nothing of it.
		if p := e.get(alice, "/account"); p.status != http.StatusOK {
			t.Errorf("after the table, GET /account with the account's cookie: status %d, want 200", p.status)
		}
	})
}

// sendCase sends one request of the table as a same-origin browser would.
func (e *testEnv) sendCase(t testing.TB, c *http.Client, tc hostileCase) page {
	t.Helper()
	body := tc.body
	if tc.form != nil {
		body = tc.form.Encode()
	}
	var req *http.Request
	var err error
	if tc.method == "POST" || body != "" {
		req, err = http.NewRequest(tc.method, e.srv.URL+tc.target, strings.NewReader(body))
	} else {
		req, err = http.NewRequest(tc.method, e.srv.URL+tc.target, nil)
	}
	if err != nil {
		t.Fatalf("%s %q: %v", tc.method, tc.target, err)
	}
	if body != "" || tc.method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(tc.header); i += 2 {
		req.Header.Set(tc.header[i], tc.header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %q: %v", tc.method, tc.target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

// storedState is what a refused request must leave as it was: the users
// (with their password hashes), the sessions and whether each is live, the
// browser sessions' cookies, and the user-level revocations and refresh
// tokens, each as printed rows. Brute-force counters and sessions' last-use
// times are left out: a refused sign-in may count, and a refused request
// from a signed-in browser uses its session.
type storedState map[string][]string

var storedQueries = []struct{ name, query string }{
	{"users", `SELECT id, username, username_key, password_hash FROM users ORDER BY id`},
	{"sessions", `SELECT id, user_id, revoked_at IS NULL FROM sessions ORDER BY id`},
	{"browser_sessions", `SELECT session_id, cookie_hash FROM browser_sessions ORDER BY session_id`},
	{"user_revocations", `SELECT count(*) FROM user_revocations`},
	{"refresh_tokens", `SELECT count(*) FROM refresh_tokens`},
}

// stored reads the stored state.
func (e *testEnv) stored(t testing.TB) storedState {
	t.Helper()
	s, err := readStored(context.Background(), e.raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readStored(ctx context.Context, db *sql.DB) (storedState, error) {
	s := storedState{}
	for _, q := range storedQueries {
		rows, err := teststore.Rows(ctx, db, q.query, func(_ []string, vals []any) string {
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = fmt.Sprintf("%q", fmt.Sprint(v))
			}
			return strings.Join(cells, " ")
		})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", q.name, err)
		}
		s[q.name] = rows
	}
	return s, nil
}

// diff describes how other differs from s, or returns "".
func (s storedState) diff(other storedState) string {
	var out []string
	for _, q := range storedQueries {
		a, b := s[q.name], other[q.name]
		if !slices.Equal(a, b) {
			out = append(out, fmt.Sprintf("%s: %d rows %v, then %d rows %v", q.name, len(a), abbreviate(a), len(b), abbreviate(b)))
		}
	}
	return strings.Join(out, "; ")
}

// abbreviate keeps a diff readable when a table holds many rows.
func abbreviate(rows []string) []string {
	if len(rows) > 4 {
		return append(slices.Clone(rows[:4]), "…")
	}
	return rows
}
