package pages

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/restauth/restauth"
)

// addAuthenticator turns on the DevTools virtual authenticator for the tab:
// a platform authenticator (CTAP 2.1, internal transport) that keeps
// resident keys, verifies the user and answers at once.
func (b *b) addAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport:      webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// setSignCount replaces the authenticator's credential with a copy (same
// key) whose signature counter is count, as a cloned authenticator would
// hold.
func (b *b) setSignCount(auth webauthn.AuthenticatorID, id []byte, count float64) {
	b.t.Helper()
	got, err := chromedp.Call(b.ctx, webauthn.GetCredential, webauthn.GetCredentialParams{AuthenticatorID: auth, CredentialID: id})
	if err != nil {
		b.t.Fatalf("WebAuthn.getCredential: %v", err)
	}
	old := got.Credential
	// The credential is sent with only the fields this Chromium knows:
	// cdproto's Credential always sends generateCmtgKeyOnNextOperation,
	// which the virtual authenticator refuses.
	c := virtualCredential{
		CredentialID: old.CredentialID, IsResidentCredential: old.IsResidentCredential, RpID: old.RpID,
		PrivateKey: old.PrivateKey, UserHandle: old.UserHandle, SignCount: count,
	}
	if _, err := chromedp.Call(b.ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: id}); err != nil {
		b.t.Fatalf("WebAuthn.removeCredential: %v", err)
	}
	add := cdp.Command[addCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}
	if _, err := chromedp.Call(b.ctx, add, addCredentialParams{AuthenticatorID: auth, Credential: c}); err != nil {
		b.t.Fatalf("WebAuthn.addCredential: %v", err)
	}
}

// virtualCredential and addCredentialParams are WebAuthn.addCredential's
// parameters, as this Chromium takes them.
type virtualCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
}

type addCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      virtualCredential        `json:"credential"`
}

// waitFor polls the page until the script has reached what cond reports
// (a new page, or a sentence in the status line), and fails after a
// minute: the script's work has no fixed duration on a loaded machine.
func (b *b) waitFor(what string, cond func() bool) {
	b.t.Helper()
	for deadline := time.Now().Add(time.Minute); !b.loaded() || !cond(); {
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: path %s, status %q", what, b.path(), b.status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loaded reports whether the page open has finished loading, so that a
// page the script navigated to is read whole.
func (b *b) loaded() bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.readyState === "complete"`))
	return err == nil && ok
}

// status returns the passkey status line's text, or "" on a page without
// one.
func (b *b) status() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.getElementById("passkey-status") || {}).textContent || ""`))
	if err != nil {
		b.t.Fatalf("status line: %v", err)
	}
	return s
}

// passkeySignIn clicks "Sign in with a passkey" on the page open and waits
// for the account page or a refusal in the status line.
func (b *b) passkeySignIn(what string) {
	b.t.Helper()
	b.do(what, click("#passkey-signin"))
	b.waitFor(what, func() bool {
		path, status, ok := b.pageState()
		return ok && (strings.HasPrefix(path, "/account") || (status != "" && status != msg("passkey_working")))
	})
}

// pageState reads the page's path and status line at once. The page may be
// navigating while it is read: ok is then false, and the caller polls
// again rather than fail.
func (b *b) pageState() (path, status string, ok bool) {
	state, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + "\n" + ((document.getElementById("passkey-status") || {}).textContent || "")`))
	if err != nil {
		return "", "", false
	}
	path, status, _ = strings.Cut(state, "\n")
	return path, status, true
}

// TestBrowserPasskeys walks passkeys in Chromium with the virtual
// authenticator: register one from the account page, sign out, sign in
// with it alone (no username typed), see a copy of the pages on another
// origin refused and a cloned authenticator refused, remove it, and see it
// refused afterwards.
func TestBrowserPasskeys(t *testing.T) {
	ctx := newBrowser(t)
	e, otherOrigin := newPasskeyEnv(t, sqliteStore)
	br := &b{t: t, ctx: ctx, e: e}
	auth := br.addAuthenticator()
	users := func() []*restauth.User {
		list, err := e.store.ListUsers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	wantEq(t, "GET /signup status", br.open("/signup"), 200)
	st := br.submit("sign up", fill("#f-username", "alice"), fill("#f-password", "correct horse battery"), click("form.card button"))
	wantEq(t, "sign-up status", st, 200)
	alice := users()[0]
	wantEq(t, "passkeys listed at first", br.count(".passkey"), 0)
	wantEq(t, "no passkeys text", br.text("#h-passkeys ~ p:not(.aside)"), msg("passkeys_none"))
	br.axe("account-passkeys-none")

	// Register a passkey.
	br.do("add a passkey", fill("#f-passkey_name", "Laptop"), click("#passkey-add button"))
	br.waitFor("the account page after adding", func() bool { return br.path() == "/account?done=passkey-added" })
	wantEq(t, "notice", br.text(".notice"), msg("done_passkey_added"))
	wantEq(t, "passkeys listed", br.count(".passkey"), 1)
	wantEq(t, "passkey name", br.text(".passkey-name"), "Laptop")
	wantContains(t, "passkey last used", br.text(".passkey dl"), msg("passkey_never"))
	stored, err := e.store.Passkeys(t.Context(), alice.ID)
	if err != nil || len(stored) != 1 || stored[0].Name != "Laptop" || !stored[0].LastUsedAt.IsZero() {
		t.Fatalf("stored passkeys = %d, %v; want one named Laptop, never used", len(stored), err)
	}
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("authenticator credentials = %v, %v; want 1", creds, err)
	}
	c := creds.Credentials[0]
	if !c.IsResidentCredential || c.RpID != "localhost" || !bytes.Equal(c.UserHandle, restauth.PasskeyHandle(alice.ID)) ||
		!bytes.Equal(c.CredentialID, stored[0].CredentialID) {
		t.Fatalf("authenticator credential: resident %v, rp %q, handle %x, id %x; want resident, localhost, %x, %x",
			c.IsResidentCredential, c.RpID, c.UserHandle, c.CredentialID, restauth.PasskeyHandle(alice.ID), stored[0].CredentialID)
	}

	// Sign out, then sign in with the passkey alone.
	br.submit("sign out", click("nav button"))
	wantEq(t, "page after sign-out", br.path(), "/signin?done=signed-out")
	br.check("signin-passkeys")
	br.passkeySignIn("sign in with the passkey")
	wantEq(t, "page after passkey sign-in", br.path(), "/account")
	wantEq(t, "signed in as", br.text(".who strong"), "alice")
	stored, _ = e.store.Passkeys(t.Context(), alice.ID)
	if len(stored) != 1 || stored[0].LastUsedAt.IsZero() {
		t.Fatalf("passkey after sign-in: %d stored, last used %v; want its use recorded", len(stored), stored)
	}
	usedAt := stored[0].LastUsedAt
	wantEq(t, "passkey last used shown", br.count(".passkey dl time"), 2)

	// The same pages on another origin: the authenticator signs for the
	// relying party id, but the assertion names the origin it was made
	// on, which the server refuses.
	br.submit("sign out", click("nav button"))
	if _, err := chromedp.RunResponse(ctx, chromedp.Navigate(otherOrigin+"/signin")); err != nil {
		t.Fatal(err)
	}
	sessionsBefore := countRows(t, e, "sessions")
	br.passkeySignIn("sign in on another origin")
	wantEq(t, "status on another origin", br.status(), msg("err_passkey_refused"))
	if !strings.HasPrefix(br.path(), otherOrigin+"/signin") {
		t.Errorf("page after the refused sign-in on another origin = %s, want its sign-in page", br.path())
	}
	wantEq(t, "sessions after the refused sign-in", countRows(t, e, "sessions"), sessionsBefore)
	stored, _ = e.store.Passkeys(t.Context(), alice.ID)
	if len(stored) != 1 || !stored[0].LastUsedAt.Equal(usedAt) {
		t.Errorf("passkey after the refused sign-in: last used %v, want %v", stored, usedAt)
	}

	// A clone of the authenticator: the same key with a signature counter
	// that went back is refused; once the counter is ahead again, the
	// passkey signs in.
	br.open("/signin")
	br.setSignCount(auth, c.CredentialID, 0)
	br.passkeySignIn("sign in with a counter that went back")
	wantEq(t, "status with a counter that went back", br.status(), msg("err_passkey_refused"))
	wantEq(t, "page after the refused clone", br.path(), "/signin")
	br.setSignCount(auth, c.CredentialID, 100)
	br.open("/signin")
	br.passkeySignIn("sign in again")
	wantEq(t, "page after the second passkey sign-in", br.path(), "/account")
	br.check("account-passkeys")

	// Remove it.
	st = br.submit("remove the passkey", click(".passkey form button"))
	wantEq(t, "remove status", st, 200)
	wantEq(t, "page after removing", br.path(), "/account?done=passkey-removed")
	wantEq(t, "notice", br.text(".notice"), msg("done_passkey_removed"))
	wantEq(t, "passkeys listed after removing", br.count(".passkey"), 0)

	// The authenticator still holds the key, but the server has forgotten
	// it: signing in with it is refused.
	br.submit("sign out", click("nav button"))
	br.passkeySignIn("sign in with the removed passkey")
	wantEq(t, "status with the removed passkey", br.status(), msg("err_passkey_refused"))
	wantEq(t, "page after the refused sign-in", br.path(), "/signin?done=signed-out")
	if _, err := br.e.store.PasskeyByCredentialID(t.Context(), c.CredentialID); err == nil {
		t.Errorf("the removed passkey is still stored")
	}
}

// countRows counts a table's rows through the test's own handle on the
// database.
func countRows(t *testing.T, e *testEnv, table string) int {
	t.Helper()
	var n int
	if err := e.raw.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
