package pages

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/restauth/restauth/internal/totptest"
)

// TestBrowserTOTP turns two-step sign-in on in Chromium, with the QR code
// shown under the pages' CSP, then signs in through the second step: a
// wrong code first, then the right one. axe-core checks both pages.
func TestBrowserTOTP(t *testing.T) {
	ctx := newBrowser(t)
	e := newEnv(t, Config{})
	const pass = "correct horse battery"
	e.signup("alice", pass)
	br := &b{t: t, ctx: ctx, e: e}

	br.open("/signin")
	wantEq(t, "sign-in status", br.submit("sign in", fill("#f-username", "alice"), fill("#f-password", pass), click("form.card button")), 200)
	st := br.submit("start enrolment", click("form[action='/account/totp'] button"))
	wantEq(t, "enrolment status", st, 200)
	// The QR code loaded: the image is same-origin, so img-src 'self'
	// allows it.
	loaded, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`(async () => {
		const img = document.querySelector("img.qr");
		if (!img) return false;
		if (!img.complete) await new Promise(r => { img.onload = img.onerror = r; });
		return img.naturalWidth === 256;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || !loaded {
		t.Fatalf("QR code image not loaded: %v", err)
	}
	br.check("account-totp-setup")
	secret, err := totptest.Secret(br.text("code.secret"))
	if err != nil {
		t.Fatal(err)
	}
	st = br.submit("confirm", fill("#f-code", totptest.Now(secret, 0)), click("form[action='/account/totp/confirm'] button"))
	wantEq(t, "confirm status", st, 200)
	wantEq(t, "recovery codes shown", br.count("ul.codes li"), 10)
	wantEq(t, "notice", br.text(".notice"), msg("done_totp_on"))
	br.check("account-totp-on")

	br.submit("sign out", click("nav button"))
	br.open("/signin")
	st = br.submit("sign in with the password", fill("#f-username", "alice"), fill("#f-password", pass), click("form.card button"))
	wantEq(t, "second step status", st, 200)
	wantEq(t, "code autocomplete", br.attr("#f-code", "autocomplete"), "one-time-code")
	br.check("signin-mfa")
	st = br.submit("a wrong code", fill("#f-code", totptest.Wrong(secret)), click("form.card button"))
	wantEq(t, "wrong code status", st, 400)
	wantEq(t, "code error", br.text("#f-code-error"), msg("err_code_wrong"))
	wantContains(t, "code aria-describedby", br.attr("#f-code", "aria-describedby"), "f-code-error")
	st = br.submit("the right code", fill("#f-code", totptest.Now(secret, 1)), click("form.card button"))
	wantEq(t, "right code status", st, 200)
	wantEq(t, "page after the second step", br.path(), "/account")
}
