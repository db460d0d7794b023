package pages

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/restauth/restauth/internal/browsertest"
)

// The browser tests drive a real headless Chromium through the pages. They
// skip when Chromium is missing, unless RESTAUTH_TEST_BROWSER=1 (set by
// .ci/run), which makes a missing browser a failure. RESTAUTH_SCREENSHOTS
// names a folder (docs/pages) to save a light and a dark screenshot of each
// page to.

// newBrowser starts a headless Chromium (see internal/browsertest).
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	return browsertest.New(t, extra...)
}

// b wraps a browser tab with the test's checks.
type b struct {
	t   *testing.T
	ctx context.Context
	e   *testEnv
}

func (b *b) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit runs actions that send a form and returns the status of the page
// the browser lands on (after any redirect).
func (b *b) submit(what string, actions ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	res, err := chromedp.RunResponse(b.ctx, actions...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return res.Status
}

func (b *b) open(path string) int64 {
	b.t.Helper()
	return b.submit("open "+path, chromedp.Navigate(b.e.srv.URL+path))
}

func (b *b) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *b) attr(sel, name string) string {
	b.t.Helper()
	a, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		b.t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return a.Value
}

func (b *b) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (b *b) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.e.srv.URL)
}

// fill types into a field after clearing it, as a person would.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// axeSource is axe-core, pinned and kept in testdata.
var axeSource = func() string {
	b, err := os.ReadFile("testdata/axe-core/axe.min.js")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// axe runs axe-core on the page, in light and dark, and fails on any
// serious or critical violation.
func (b *b) axe(name string) {
	b.t.Helper()
	for _, scheme := range []string{"light", "dark"} {
		b.scheme(scheme)
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			b.t.Fatalf("inject axe-core on %s: %v", name, err)
		}
		out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
			r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
				id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			b.t.Fatalf("run axe-core on %s: %v", name, err)
		}
		var violations []map[string]any
		if err := json.Unmarshal([]byte(out), &violations); err != nil {
			b.t.Fatalf("axe-core result on %s: %v", name, err)
		}
		for _, v := range violations {
			b.t.Errorf("axe on %s (%s): %v %v: %v at %v", name, scheme, v["impact"], v["id"], v["help"], v["nodes"])
		}
	}
	b.scheme("light")
}

// scheme sets prefers-color-scheme.
func (b *b) scheme(s string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}},
	}); err != nil {
		b.t.Fatal(err)
	}
}

// check runs axe on the page and saves its screenshots.
func (b *b) check(name string) {
	b.t.Helper()
	b.axe(name)
	dir := os.Getenv("RESTAUTH_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, scheme := range []string{"light", "dark"} {
		b.scheme(scheme)
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+scheme+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.scheme("light")
}

// checkPhone is check at a phone's width: the page must still pass axe
// (text reflows, nothing overlaps) and is saved as NAME-phone.
func (b *b) checkPhone(name string) {
	b.t.Helper()
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.check(name + "-phone")
	b.do("desktop viewport", chromedp.EmulateViewport(900, 800))
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantContains(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Errorf("%s = %q, want it to contain %q", what, got, want)
	}
}

// TestBrowserFlow walks a person's whole visit in Chromium: sign up (with
// a refusal first), the account page with a browser and an API session,
// ending the API one, changing the password, signing out, a wrong password,
// signing in again and deleting the account. axe-core checks every page.
func TestBrowserFlow(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, Config{})
	br := &b{t: t, ctx: ctx, e: e}
	const pass, pass2 = "correct horse battery", "another fine passphrase"

	wantEq(t, "GET /signup status", br.open("/signup"), 200)
	wantEq(t, "<html lang>", br.attr("html", "lang"), "en")
	wantEq(t, "username autocomplete", br.attr("#f-username", "autocomplete"), "username")
	wantEq(t, "password autocomplete", br.attr("#f-password", "autocomplete"), "new-password")
	br.check("signup")

	// A refusal is shown next to its field, tied to it, the username kept.
	st := br.submit("sign up with a short password", fill("#f-username", "alice"), fill("#f-password", "short"), click("form.card button"))
	wantEq(t, "short password status", st, 400)
	wantEq(t, "password error", br.text("#f-password-error"), msg("err_password_short", 8))
	wantContains(t, "password aria-describedby", br.attr("#f-password", "aria-describedby"), "f-password-error")
	wantEq(t, "password aria-invalid", br.attr("#f-password", "aria-invalid"), "true")
	wantEq(t, "kept username", br.attr("#f-username", "value"), "alice")
	wantEq(t, "kept password", br.attr("#f-password", "value"), "")
	br.check("signup-error")

	st = br.submit("sign up", fill("#f-password", pass), click("form.card button"))
	wantEq(t, "sign-up status", st, 200)
	wantEq(t, "page after sign-up", br.path(), "/account?done=signup")
	wantEq(t, "notice", br.text(".notice"), msg("done_signup"))
	wantEq(t, "sessions listed", br.count(".session"), 1)

	// A second session, from the API, appears on the account page.
	tok := e.apiLogin(e.client(), "alice", pass)
	br.open("/account")
	wantEq(t, "sessions listed with the API's", br.count(".session"), 2)
	wantEq(t, "sessions marked this device", br.count(".session.this"), 1)
	wantContains(t, "other session's agent", br.text(".session:not(.this) .agent"), "Go-http-client")
	br.check("account")
	br.checkPhone("account")

	// Ending the other session refuses its API token at once.
	st = br.submit("end the API session", click(".session:not(.this) button"))
	wantEq(t, "end session status", st, 200)
	wantEq(t, "notice", br.text(".notice"), msg("done_session_ended"))
	wantEq(t, "sessions left", br.count(".session"), 1)
	wantEq(t, "API token after its session ended", e.apiStatus(e.client(), tok), 401)

	// Changing the password: a wrong current password first.
	st = br.submit("change password, wrong current", fill("#f-current_password", "not it at all"), fill("#f-new_password", pass2), click("form[action='/account/password'] button"))
	wantEq(t, "wrong current password status", st, 401)
	wantEq(t, "current password error", br.text("#f-current_password-error"), msg("err_current_wrong"))
	wantContains(t, "current password aria-describedby", br.attr("#f-current_password", "aria-describedby"), "f-current_password-error")
	br.check("account-error")
	st = br.submit("change password", fill("#f-current_password", pass), fill("#f-new_password", pass2), click("form[action='/account/password'] button"))
	wantEq(t, "change password status", st, 200)
	wantEq(t, "notice", br.text(".notice"), msg("done_password"))

	// Sign out, then a wrong password shown in place.
	st = br.submit("sign out", click("nav button"))
	wantEq(t, "sign-out status", st, 200)
	wantEq(t, "page after sign-out", br.path(), "/signin?done=signed-out")
	wantEq(t, "account after sign-out", br.open("/account"), 200)
	wantEq(t, "redirected to sign in", br.path(), "/signin?return_to=%2Faccount")
	br.check("signin")
	st = br.submit("sign in with the old password", fill("#f-username", "alice"), fill("#f-password", pass), click("form.card button"))
	wantEq(t, "wrong password status", st, 401)
	wantEq(t, "alert", br.text("#form-alert"), msg("err_credentials"))
	wantEq(t, "username aria-describedby", br.attr("#f-username", "aria-describedby"), "form-alert")
	wantEq(t, "password aria-describedby", br.attr("#f-password", "aria-describedby"), "form-alert")
	wantEq(t, "kept username", br.attr("#f-username", "value"), "alice")
	br.check("signin-error")

	// Sign in goes back where the person was going.
	st = br.submit("sign in", fill("#f-password", pass2), click("form.card button"))
	wantEq(t, "sign-in status", st, 200)
	wantEq(t, "page after sign-in", br.path(), "/account")

	// Deleting the account asks for the password.
	st = br.submit("delete", fill("#f-delete_password", pass2), click("form[action='/account/delete'] button"))
	wantEq(t, "delete status", st, 200)
	wantEq(t, "page after deletion", br.path(), "/signup?done=deleted")
	wantEq(t, "notice", br.text(".notice"), msg("done_deleted"))
	if users, _ := e.store.ListUsers(t.Context()); len(users) != 0 {
		t.Errorf("%d users after deletion, want 0", len(users))
	}
}

// TestBrowserTarpit checks the page the tarpit shows in the browser.
func TestBrowserTarpit(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, Config{}, tarpitConfig)
	e.signup("alice", "correct horse battery")
	br := &b{t: t, ctx: ctx, e: e}
	br.open("/signin")
	var st int64
	for range 3 {
		st = br.submit("wrong sign-in", fill("#f-username", "alice"), fill("#f-password", "not the password"), click("form.card button"))
	}
	wantEq(t, "tarpit status", st, 429)
	// The wait is counted from the first failure, so how much of the
	// minute is left depends on how fast the browser went.
	alert := br.text("#form-alert")
	var secs int
	if _, err := fmt.Sscanf(alert, msg("err_too_many", msg("seconds_other")), &secs); err != nil || secs < 1 || secs > 60 {
		t.Errorf("tarpit alert = %q, want %q with at most 60 seconds", alert, msg("err_too_many", waitText(time.Minute)))
	}
	br.check("tarpit")
}

// TestBrowserFraming checks that a page refuses to render inside a frame
// of another site, while a control frame (an API answer, which sets no
// framing policy) renders, so that the check can fail.
func TestBrowserFraming(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, Config{})
	target := e.srv.URL // http://127.0.0.1:port
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<iframe name="page" src="%s/signin"></iframe>
<iframe name="control" src="%s/healthz"></iframe>`, target, target)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // Another site.
	if err := chromedp.Do(ctx, chromedp.Navigate(evilURL), chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	tree, err := chromedp.Call(ctx, cdppage.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{}
	for _, c := range tree.FrameTree.ChildFrames {
		urls[c.Frame.Name] = c.Frame.URL
	}
	if got := urls["page"]; got == target+"/signin" || got == "" {
		t.Errorf("the sign-in page framed by another site has URL %q; want it refused (an error page)", got)
	}
	if got, want := urls["control"], target+"/healthz"; got != want {
		t.Errorf("the control frame has URL %q, want %q: the check cannot tell a refusal", got, want)
	}
}

// TestBrowserCrossSitePost checks that a form another site sends to the
// pages is refused and changes nothing.
func TestBrowserCrossSitePost(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, Config{})
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form method="post" action="%s/signup">
<input name="username" value="mallory"><input name="password" value="correct horse battery">
<button id="go">Win a prize</button></form>`, e.srv.URL)
	}))
	defer evil.Close()
	br := &b{t: t, ctx: ctx, e: e}
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // Another site.
	if err := chromedp.Do(ctx, chromedp.Navigate(evilURL)); err != nil {
		t.Fatal(err)
	}
	st := br.submit("cross-site form", click("#go"))
	wantEq(t, "cross-site POST status", st, 403)
	wantEq(t, "refusal", br.text("main p"), msg("err_cross_origin"))
	if users, _ := e.store.ListUsers(t.Context()); len(users) != 0 {
		t.Errorf("%d users after a cross-site sign-up, want 0", len(users))
	}
	br.check("cross-site")
}
