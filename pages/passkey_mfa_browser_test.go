package pages

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/restauth/restauth/internal/totptest"
)

// eval runs a script in the page, awaiting its promise, and returns its
// string result. DevTools' evaluation is not bound by the page's CSP; the
// pages' own script never is inline.
func (b *b) eval(what, js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return s
}

// signupWithPasskey signs name up in the browser and adds a passkey from
// the account page, kept by the tab's virtual authenticator.
func (b *b) signupWithPasskey(name, pass, key string) {
	b.t.Helper()
	b.open("/signup")
	wantEq(b.t, "sign-up status", b.submit("sign up "+name, fill("#f-username", name), fill("#f-password", pass), click("form.card button")), 200)
	b.do("add a passkey for "+name, fill("#f-passkey_name", key), click("#passkey-add button"))
	b.waitFor("the account page after adding", func() bool { return b.path() == "/account?done=passkey-added" })
}

// usePasskey clicks "Use a passkey" at the second step and waits for a new
// page or a refusal in the status line.
func (b *b) usePasskey(what string) {
	b.t.Helper()
	// A refusal from an earlier try must not pass for this one's.
	b.eval("clear the status line", `(() => { document.getElementById("passkey-status").textContent = ""; return ""; })()`)
	b.do(what, click("#passkey-mfa"))
	b.waitFor(what, func() bool {
		path, status, ok := b.pageState()
		return ok && (!strings.HasPrefix(path, "/signin") || (status != "" && status != msg("passkey_working")))
	})
}

// TestBrowserPasskeySecondStep signs in with a password and completes the
// second step with a passkey in Chromium's virtual authenticator, landing
// on return_to; then sees a replayed assertion and another account's
// passkey refused at the second step, which stays open for the right one.
func TestBrowserPasskeySecondStep(t *testing.T) {
	ctx := newBrowser(t)
	e, _ := newPasskeyEnv(t, sqliteStore)
	br := &b{t: t, ctx: ctx, e: e}
	br.addAuthenticator()
	const pass = "correct horse battery"

	// Bob and alice each add a passkey to the same authenticator; alice
	// turns two-step sign-in on.
	br.signupWithPasskey("bob", pass, "Bob's key")
	br.submit("sign out", click("nav button"))
	br.signupWithPasskey("alice", pass, "Laptop")
	wantEq(t, "enrolment status", br.submit("start enrolment", click("form[action='/account/totp'] button")), 200)
	secret, err := totptest.Secret(br.text("code.secret"))
	if err != nil {
		t.Fatal(err)
	}
	br.submit("confirm", fill("#f-code", totptest.Now(secret, 0)), click("form[action='/account/totp/confirm'] button"))
	wantEq(t, "recovery codes shown", br.count("ul.codes li"), 10)
	br.submit("sign out", click("nav button"))
	alice, err := e.svc.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.svc.UserByName(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}

	// The password, then the passkey; the browser lands on return_to,
	// which a sign-in started by an OAuth client depends on.
	const returnTo = "/account?from=oauth&state=s1"
	br.open("/signin?return_to=" + url.QueryEscape(returnTo))
	wantEq(t, "second step status", br.submit("sign in with the password", fill("#f-username", "alice"), fill("#f-password", pass), click("form.card button")), 200)
	wantEq(t, "passkey offered", br.count("#passkey-mfa"), 1)
	wantEq(t, "code field kept", br.count("#f-code"), 1)
	br.check("signin-mfa-passkey")
	// Keep what the script sends, across the navigation, to replay it.
	br.eval("record the assertion", `(() => {
		window.originalFetch = window.originalFetch || window.fetch;
		window.fetch = function (path, init) {
			if (path === "/signin/mfa/passkey") sessionStorage.setItem("sent", init.body);
			return window.originalFetch(path, init);
		};
		return "";
	})()`)
	br.usePasskey("complete the second step with the passkey")
	wantEq(t, "page after the second step", br.path(), returnTo)
	wantEq(t, "signed in as", br.text(".who strong"), "alice")
	stored, err := e.store.Passkeys(t.Context(), alice.ID)
	if err != nil || len(stored) != 1 || stored[0].LastUsedAt.IsZero() {
		t.Fatalf("alice's passkey after the second step: %v, %v; want its use recorded", stored, err)
	}
	sent := br.eval("read the assertion", `sessionStorage.getItem("sent") || ""`)
	var body map[string]any
	if err := json.Unmarshal([]byte(sent), &body); err != nil || body["credential"] == nil || body["return_to"] != returnTo {
		t.Fatalf("the script sent %q (%v); want the assertion and return_to", sent, err)
	}

	// A second sign-in: the first assertion, replayed with this step's
	// token or with its own, is refused and opens nothing.
	br.submit("sign out", click("nav button"))
	br.open("/signin")
	br.submit("sign in with the password again", fill("#f-username", "alice"), fill("#f-password", pass), click("form.card button"))
	sessions := countRows(t, e, "sessions")
	replay := func(what string, b map[string]any) string {
		t.Helper()
		js, _ := json.Marshal(b)
		lit, _ := json.Marshal(string(js))
		return br.eval(what, `(async () => {
			const r = await (window.originalFetch || window.fetch)("/signin/mfa/passkey",
				{method: "POST", headers: {"Content-Type": "application/json"}, body: `+string(lit)+`});
			const j = await r.json();
			return r.status + " " + j.error;
		})()`)
	}
	wantEq(t, "the assertion replayed with its own token", replay("replay with its token", body), "400 invalid_mfa_token")
	body["mfa_token"] = br.attr("input[name=mfa_token]", "value")
	wantEq(t, "the assertion replayed on a new step", replay("replay on a new step", body), "400 passkey_refused")
	wantEq(t, "sessions after the replays", countRows(t, e, "sessions"), sessions)

	// Bob's passkey for alice's step: the options are altered on their
	// way to the authenticator to allow only bob's credential, which then
	// signs alice's challenge. The server refuses it.
	stored, err = e.store.Passkeys(t.Context(), bob.ID)
	if err != nil || len(stored) != 1 {
		t.Fatalf("bob's passkeys: %v, %v", stored, err)
	}
	bobKey := base64.RawURLEncoding.EncodeToString(stored[0].CredentialID)
	br.eval("allow bob's passkey only", `(() => {
		window.originalFetch = window.originalFetch || window.fetch;
		window.fetch = async function (path, init) {
			const r = await window.originalFetch(path, init);
			if (path !== "/signin/mfa/passkey/options" || !r.ok) return r;
			const d = await r.json();
			d.options.publicKey.allowCredentials = [{type: "public-key", id: "`+bobKey+`"}];
			return new Response(JSON.stringify(d), {status: 200, headers: {"Content-Type": "application/json"}});
		};
		return "";
	})()`)
	br.usePasskey("use bob's passkey for alice")
	wantEq(t, "status with bob's passkey", br.status(), msg("err_passkey_refused"))
	wantEq(t, "page after bob's passkey", br.path(), "/signin")
	wantEq(t, "sessions after bob's passkey", countRows(t, e, "sessions"), sessions)
	if stored, _ := e.store.Passkeys(t.Context(), bob.ID); len(stored) != 1 || !stored[0].LastUsedAt.IsZero() {
		t.Errorf("bob's passkey after the refusal: %v; want it never used", stored)
	}

	// The step is still open: alice's passkey completes it.
	br.eval("restore fetch", `(() => { window.fetch = window.originalFetch; return ""; })()`)
	br.usePasskey("use alice's passkey")
	wantEq(t, "page after the refusals and alice's passkey", br.path(), "/account")
	wantEq(t, "signed in as", br.text(".who strong"), "alice")
}
