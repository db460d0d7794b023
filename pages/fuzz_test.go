package pages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// FuzzPages drives the pages end to end on SQLite: method, path and query,
// the live account's cookie or none, a few headers and a form body. The
// properties: no request is answered with a 5xx (a panic is one: the server
// recovers it into a 500), and a request refused with a 4xx leaves users,
// sessions and their revocations as they were (storedState). Requests are
// same-origin unless the input's headers say otherwise.
func FuzzPages(f *testing.F) { fuzzPages(f, sqliteStore) }

// FuzzPagesPostgres is FuzzPages on PostgreSQL, which refuses bytes that
// SQLite stores (invalid UTF-8, NUL); it skips unless
// RESTAUTH_TEST_POSTGRES is set.
func FuzzPagesPostgres(f *testing.F) {
	if os.Getenv(postgresEnv) == "" {
		f.Skip(postgresEnv + " not set: skipping the pages fuzz target on PostgreSQL")
	}
	fuzzPages(f, postgresStore)
}

// fuzzPageMethods are the methods a fuzz input picks from by index.
var fuzzPageMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"}

// seedFuzzPages adds every case of the hostile table, with the table's
// account replaced by the placeholders {user} and {pw} (the live
// account's, form-escaped), and a success on every route.
func seedFuzzPages(f *testing.F) {
	add := func(method, target string, signedIn bool, header []string, body string) {
		m := byte(0)
		for i, v := range fuzzPageMethods {
			if v == method {
				m = byte(i)
			}
		}
		var lines []string
		for i := 0; i+1 < len(header); i += 2 {
			lines = append(lines, header[i]+": "+header[i+1])
		}
		f.Add(m, target, signedIn, strings.Join(lines, "\n"), []byte(body))
	}
	for _, tc := range hostileCases() {
		body := tc.body
		if tc.form != nil {
			body = tc.form.Encode()
		}
		body = strings.ReplaceAll(body, "password="+url.QueryEscape(hostilePass), "password={pw}")
		body = strings.ReplaceAll(body, "username="+hostileUser, "username={user}")
		add(tc.method, tc.target, tc.signedIn, tc.header, body)
	}
	add("POST", "/signup", false, nil, "username=new{user}&password={pw}")
	add("POST", "/signin", false, nil, "username={user}&password={pw}&return_to=%2Faccount")
	add("GET", "/account", true, nil, "")
	add("POST", "/account/sessions/end", true, nil, "session={sid}")
	add("POST", "/account/sessions/end-others", true, nil, "")
	add("POST", "/account/password", true, nil, "current_password={pw}&new_password=another+horse+battery")
	add("POST", "/account/delete", true, nil, "delete_password={pw}")
	add("POST", "/account/keys", true, nil, "key_name=ci&key_expiry=30&key_scope=read&key_scope=write")
	add("POST", "/account/keys/revoke", true, nil, "key={sid}")
	add("POST", "/signout", true, nil, "")
	add("POST", "/signin/mfa", false, nil, "mfa_token=x&code=123456&return_to=%2Faccount")
	add("POST", "/account/totp", true, nil, "")
	add("GET", "/account/totp/qr.png", true, nil, "")
	add("POST", "/account/totp/confirm", true, nil, "code=123456")
	add("POST", "/account/totp/disable", true, nil, "totp_password={pw}")
	add("POST", "/account/totp/disable", true, nil, "totp_code=abcd-efgh-ijkm-nopq")
	add("POST", "/account/password", true, []string{"Sec-Fetch-Site", "cross-site"}, "current_password={pw}&new_password=another+horse+battery")
}

// pagesAccount is the live account and browser session the fuzz inputs
// may use.
type pagesAccount struct {
	user, pw    string
	cookie, sid string
	stale       bool // A request may have ended the session or the account.
	made        int  // Accounts registered so far, for fresh names.
}

// mint registers a fresh account and opens a browser session for it:
// whatever the last input did (signed out, changed the password, deleted
// the account), the next one starts from a live account it knows.
func (a *pagesAccount) mint(ctx context.Context, svc *restauth.Service) error {
	a.made++
	a.user, a.pw = "fuzz"+fmt.Sprint(a.made), "correct horse battery"
	u, err := svc.Register(ctx, a.user, a.pw, restauth.ClientMeta{})
	if err != nil {
		return err
	}
	sess, cookie, err := svc.OpenBrowserSession(ctx, u, restauth.ClientMeta{})
	if err != nil {
		return err
	}
	a.cookie, a.sid, a.stale = cookie, sess.ID, false
	return nil
}

func fuzzPages(f *testing.F, kind storeKind) {
	seedFuzzPages(f)
	e := newEnvOn(f, kind, Config{}, noLimits)
	client := &http.Client{
		Transport: e.srv.Client().Transport,
		// A redirect is an answer; following it would send a second
		// request the property does not describe.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	ctx := context.Background()
	acct := &pagesAccount{stale: true}
	var before storedState

	f.Fuzz(func(t *testing.T, m byte, target string, signedIn bool, headers string, body []byte) {
		if acct.stale {
			if err := acct.mint(ctx, e.svc); err != nil {
				t.Fatalf("open a session for the fuzz input: %v", err)
			}
			before = nil
		}
		if before == nil {
			var err error
			if before, err = readStored(ctx, e.raw); err != nil {
				t.Fatal(err)
			}
		}
		method := fuzzPageMethods[int(m)%len(fuzzPageMethods)]
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		fill := strings.NewReplacer("{user}", url.QueryEscape(acct.user), "{pw}", url.QueryEscape(acct.pw), "{sid}", acct.sid)
		var rd io.Reader
		if len(body) > 0 {
			rd = strings.NewReader(fill.Replace(string(body)))
		}
		req, err := http.NewRequest(method, e.srv.URL+target, rd)
		if err != nil || req.URL.Host != e.srv.Listener.Addr().String() {
			return // Not a request a client can send to this server.
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if signedIn {
			req.Header.Set("Cookie", "restauth-session="+acct.cookie)
		}
		for line := range strings.SplitSeq(headers, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}

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
			t.Fatalf("%s %q (signed in %v, headers %q, body %q): status %d %.500s",
				method, target, signedIn, headers, body, res.StatusCode, resBody)
		}
		after, err := readStored(ctx, e.raw)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode >= 400 {
			if diff := before.diff(after); diff != "" {
				t.Fatalf("%s %q (signed in %v, headers %q, body %q): refused with %d, and changed what is stored: %s",
					method, target, signedIn, headers, body, res.StatusCode, diff)
			}
		} else if method != "GET" && method != "HEAD" && method != "OPTIONS" {
			// A success may have ended the session, the account or the
			// password: start the next input from a fresh account.
			acct.stale = true
		}
		before = after
	})
}
