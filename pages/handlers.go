package pages

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/clientip"
)

// maxFormBytes bounds a form body; the largest form holds two passwords.
const maxFormBytes = 16 << 10

// cookieName is the browser session cookie: under TLS, the __Host- prefix
// makes the browser refuse it unless it is Secure, host-only and Path=/, so
// that no sibling subdomain can plant or shadow it.
func (s *server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return "__Host-restauth-session"
	}
	return "restauth-session"
}

// secure reports whether the browser reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (s *server) secure(r *http.Request) bool {
	if r.TLS != nil || s.cfg.TLS {
		return true
	}
	return clientip.Trusted(clientip.Peer(r), s.cfg.TrustedProxies) &&
		strings.EqualFold(clientip.LastValue(r.Header.Get("X-Forwarded-Proto")), "https")
}

func (s *server) setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(r), Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *server) meta(r *http.Request) restauth.ClientMeta {
	return restauth.ClientMeta{IP: clientip.Resolve(r, s.cfg.TrustedProxies), UserAgent: r.UserAgent()}
}

// current returns the request's browser session, or nil when it has none
// that is live. A cookie that no longer opens a session is cleared. An
// error means the session could not be checked (the store is down).
func (s *server) current(w http.ResponseWriter, r *http.Request) (*restauth.Principal, error) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil || c.Value == "" {
		return nil, nil
	}
	p, _, err := s.svc.AuthenticateBrowser(r.Context(), c.Value)
	if restauth.ErrorCode(err) == restauth.EInvalidToken {
		s.clearCookie(w, r)
		return nil, nil
	}
	return p, err
}

// requireUser returns the signed-in principal, or sends the browser to the
// sign-in page (coming back here afterwards) and returns nil.
func (s *server) requireUser(w http.ResponseWriter, r *http.Request) *restauth.Principal {
	p, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	if p == nil {
		q := url.Values{"return_to": {pathAccount}}
		if _, err := r.Cookie(s.cookieName(r)); err == nil {
			q.Set("done", "session-expired")
		}
		redirect(w, r, pathSignin+"?"+q.Encode())
		return nil
	}
	return p
}

// redirect answers a form with 303 See Other, so that the browser GETs the
// next page and a reload never sends the form again.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// maxReturnTo bounds a return_to value in bytes.
const maxReturnTo = 1024

// safeReturn returns to when it is a path on this site, and def otherwise.
// It refuses absolute URLs, scheme-relative "//host" and "/\host" (which
// browsers read as "//host"), and anything with control characters (NUL
// among them), invalid UTF-8 or more than maxReturnTo bytes, so that the
// sign-in page cannot be used to send people elsewhere and no odd bytes
// reach a Location header or a page.
func safeReturn(to, def string) string {
	if to == "" || len(to) > maxReturnTo || to[0] != '/' || strings.HasPrefix(to, "//") || !utf8.ValidString(to) ||
		strings.ContainsAny(to, "\\") || strings.ContainsFunc(to, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return def
	}
	u, err := url.Parse(to)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return def
	}
	return to
}

// parseForm reads a form body of bounded size.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return false
	}
	return true
}

// refusal is how the pages show an error from the Service: the status, and
// either the field it belongs to or a sentence for the whole form.
type refusal struct {
	status int
	field  string
	text   string
	retry  time.Duration
}

// fieldNames name each form's fields for refusals: which field holds the
// username, the new password and the password being checked.
type fieldNames struct {
	username, newPassword, checked string
	// newValue is the new password sent, to tell a password the policy
	// refuses from another invalid request.
	newValue string
}

// refuse maps a Service error to what the page shows. Codes are the
// domain's, so a page and the API always refuse the same things.
func (s *server) refuse(err error, f fieldNames) refusal {
	cfg := s.svc.Config()
	var e *restauth.Error
	var retry time.Duration
	if errors.As(err, &e) {
		retry = e.RetryAfter
	}
	bad := http.StatusBadRequest
	switch restauth.ErrorCode(err) {
	case restauth.EInvalidUsername:
		return refusal{status: bad, field: f.username, text: msg("err_username_invalid", cfg.MaxUsernameLen)}
	case restauth.EUsernameTaken:
		return refusal{status: bad, field: f.username, text: msg("err_username_taken")}
	case restauth.EPasswordShort:
		return refusal{status: bad, field: f.newPassword, text: msg("err_password_short", cfg.MinPasswordLen)}
	case restauth.EPasswordLong:
		return refusal{status: bad, field: f.newPassword, text: msg("err_password_long", cfg.MaxPasswordLen)}
	case restauth.EPasswordCommon:
		return refusal{status: bad, field: f.newPassword, text: msg("err_password_common")}
	case restauth.EInvalid:
		if f.newPassword != "" && s.svc.CheckPassword(f.newValue) != nil {
			return refusal{status: bad, field: f.newPassword, text: msg("err_password_invalid")}
		}
		return refusal{status: http.StatusConflict, text: msg("err_conflict")}
	case restauth.EUnauthorized, restauth.EWrongPassword:
		if f.username != "" {
			// Signing in: one sentence for an unknown user and a wrong
			// password, about both fields.
			return refusal{status: http.StatusUnauthorized, text: msg("err_credentials")}
		}
		return refusal{status: http.StatusUnauthorized, field: f.checked, text: msg("err_current_wrong")}
	case restauth.ETooManyRequests:
		return refusal{status: http.StatusTooManyRequests, text: msg("err_too_many", waitText(retry)), retry: retry}
	case restauth.EOverloaded:
		return refusal{status: http.StatusServiceUnavailable, text: msg("err_busy"), retry: max(retry, time.Second)}
	case restauth.EUnavailable:
		return refusal{status: http.StatusServiceUnavailable, text: msg("err_unavailable")}
	}
	return refusal{status: http.StatusInternalServerError, text: msg("err_internal")}
}

// show puts a refusal on the view and returns the status to send.
func (s *server) show(w http.ResponseWriter, r *http.Request, v *view, err error, f fieldNames) int {
	rf := s.refuse(err, f)
	if rf.status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "page request failed", "path", r.URL.Path, "err", err)
	}
	if rf.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(restauth.RetrySeconds(rf.retry)))
	}
	switch {
	case rf.field != "":
		v.Errors[rf.field] = rf.text
	case rf.status == http.StatusUnauthorized:
		v.Alert, v.AlertFields = rf.text, []string{f.username, f.checked}
	default:
		v.Alert = rf.text
	}
	return rf.status
}

// fail shows the error page for an error outside any form.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	v := s.newView(r, "title_error")
	status := s.show(w, r, v, err, fieldNames{})
	v.Text, v.Alert = v.Alert, ""
	s.render(w, r, status, "error", v)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "title_404")
	v.Text = msg("notfound_text")
	s.render(w, r, http.StatusNotFound, "error", v)
}

// crossOrigin answers a form sent from another site.
func (s *server) crossOrigin(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "title_error")
	v.Text = msg("err_cross_origin")
	s.render(w, r, http.StatusForbidden, "error", v)
}

func (s *server) getSignup(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "title_signup")
	status := http.StatusOK
	if s.cfg.NoSignup {
		v.Text, status = msg("signup_closed"), http.StatusNotFound
	}
	s.render(w, r, status, "signup", v)
}

func (s *server) postSignup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.NoSignup {
		s.getSignup(w, r)
		return
	}
	if !parseForm(w, r) {
		return
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	v := s.newView(r, "title_signup")
	v.Values["username"] = name
	ctx := r.Context()
	u, err := s.svc.Register(ctx, name, pw, s.meta(r))
	if err != nil {
		status := s.show(w, r, v, err, fieldNames{username: "username", newPassword: "password", newValue: pw})
		if status == http.StatusUnauthorized {
			status = http.StatusBadRequest
		}
		s.render(w, r, status, "signup", v)
		return
	}
	sess, cookie, err := s.svc.OpenBrowserSession(ctx, u, s.meta(r))
	if err != nil {
		// The account exists; signing in is what is left to do.
		s.log.WarnContext(ctx, "session after sign-up not opened", "user_id", u.ID, "err", err)
		redirect(w, r, pathSignin)
		return
	}
	s.setCookie(w, r, cookie, sess.ExpiresAt)
	redirect(w, r, pathAccount+"?done=signup")
}

func (s *server) getSignin(w http.ResponseWriter, r *http.Request) {
	returnTo := safeReturn(r.URL.Query().Get("return_to"), "")
	p, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// reauth asks for a fresh sign-in although someone is signed in (an
	// authorization with prompt=login or max_age); the session ends only
	// when the form is posted.
	if p != nil && r.URL.Query().Get("reauth") != "1" {
		redirect(w, r, safeReturn(returnTo, pathAccount))
		return
	}
	v := s.newView(r, "title_signin")
	v.ReturnTo = returnTo
	s.render(w, r, http.StatusOK, "signin", v)
}

func (s *server) postSignin(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	name, pw := r.PostForm.Get("username"), r.PostForm.Get("password")
	returnTo := safeReturn(r.PostForm.Get("return_to"), "")
	// A browser signing in again leaves its previous session behind; end
	// it, so that the new identifier is the only one that works.
	previous, _ := s.current(w, r)
	_, sess, cookie, err := s.svc.SignIn(r.Context(), name, pw, s.meta(r))
	if s.mfaStep(w, r, err, returnTo) {
		return
	}
	if err != nil {
		v := s.newView(r, "title_signin")
		v.Values["username"], v.ReturnTo = name, returnTo
		status := s.show(w, r, v, err, fieldNames{username: "username", checked: "password"})
		s.render(w, r, status, "signin", v)
		return
	}
	s.signedIn(w, r, previous, sess, cookie, returnTo)
}

// signedIn ends the browser's previous session, if any, sets the new
// session's cookie and goes where the person was going.
func (s *server) signedIn(w http.ResponseWriter, r *http.Request, previous *restauth.Principal, sess *restauth.Session, cookie, returnTo string) {
	s.switchSession(w, r, previous, sess, cookie)
	redirect(w, r, safeReturn(returnTo, pathAccount))
}

// switchSession ends the browser's previous session, if any, once the new
// one is open, and sets the new one's cookie: every way of signing in
// (password, second step, passkey) ends the same way.
func (s *server) switchSession(w http.ResponseWriter, r *http.Request, previous *restauth.Principal, sess *restauth.Session, cookie string) {
	if previous != nil {
		if err := s.svc.Logout(r.Context(), previous); err != nil && !errors.Is(err, restauth.ErrNotFound) {
			s.log.WarnContext(r.Context(), "previous browser session not ended", "err", err)
		}
	}
	s.setCookie(w, r, cookie, sess.ExpiresAt)
}

func (s *server) postSignout(w http.ResponseWriter, r *http.Request) {
	p, err := s.current(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p != nil {
		if err := s.svc.Logout(r.Context(), p); err != nil && !errors.Is(err, restauth.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
	}
	s.clearCookie(w, r)
	redirect(w, r, pathSignin+"?done=signed-out")
}

// accountView fills the account page for p.
func (s *server) accountView(r *http.Request, p *restauth.Principal) (*view, error) {
	v := s.newView(r, "title_account")
	v.User = p.Username
	list, err := s.svc.ListSessions(r.Context(), p)
	if err != nil {
		return nil, err
	}
	for _, sess := range list {
		sv := sessionView{
			ID: sess.ID, This: sess.ID == p.SessionID,
			Created: newTime(sess.CreatedAt), LastUsed: newTime(sess.LastUsedAt),
			IP: sess.ClientIP, UserAgent: sess.UserAgent,
		}
		if sv.This {
			// This device first.
			v.Sessions = append([]sessionView{sv}, v.Sessions...)
			continue
		}
		v.Sessions = append(v.Sessions, sv)
	}
	if err := s.addKeys(r, p, v); err != nil {
		return nil, err
	}
	if err := s.fillMFA(r, p, v); err != nil {
		return nil, err
	}
	if err := s.passkeysView(r, v, p); err != nil {
		return nil, err
	}
	if err := s.appsView(r, v, p); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *server) getAccount(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil {
		return
	}
	v, err := s.accountView(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Only this GET shows, and forgets, a key just made.
	s.showNewKey(w, r, v)
	s.render(w, r, http.StatusOK, "account", v)
}

// accountRefusal shows the account page again with a refusal on one of its
// forms.
func (s *server) accountRefusal(w http.ResponseWriter, r *http.Request, p *restauth.Principal, err error, f fieldNames) {
	v, lerr := s.accountView(r, p)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	status := s.show(w, r, v, err, f)
	s.render(w, r, status, "account", v)
}

// emptyPassword asks for the password a form needs before anything is
// checked, so that an empty field costs no attempt against the tarpit.
func (s *server) emptyPassword(w http.ResponseWriter, r *http.Request, p *restauth.Principal, field string) {
	s.accountFieldError(w, r, p, field, "err_password_empty")
}

func (s *server) postEndSession(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	id := r.PostForm.Get("session")
	// An id of another shape than restauth makes names no session: it
	// gets the answer an unknown one gets, without reaching the store.
	var err error = restauth.ErrNotFound
	if restauth.ValidSessionID(id) {
		err = s.svc.RevokeSession(r.Context(), p, id)
	}
	switch {
	case errors.Is(err, restauth.ErrNotFound):
		redirect(w, r, pathAccount+"?done=session-gone")
	case err != nil:
		s.fail(w, r, err)
	case id == p.SessionID:
		s.clearCookie(w, r)
		redirect(w, r, pathSignin+"?done=signed-out")
	default:
		redirect(w, r, pathAccount+"?done=session-ended")
	}
}

func (s *server) postEndOthers(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil {
		return
	}
	if err := s.svc.RevokeOtherSessions(r.Context(), p); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, pathAccount+"?done=others-ended")
}

func (s *server) postPassword(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	f := fieldNames{newPassword: "new_password", checked: "current_password", newValue: next}
	if current == "" {
		s.emptyPassword(w, r, p, f.checked)
		return
	}
	if err := s.svc.ChangePassword(r.Context(), p, current, next, s.meta(r)); err != nil {
		s.accountRefusal(w, r, p, err, f)
		return
	}
	redirect(w, r, pathAccount+"?done=password")
}

func (s *server) postDelete(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	pw := r.PostForm.Get("delete_password")
	f := fieldNames{checked: "delete_password"}
	if pw == "" {
		s.emptyPassword(w, r, p, f.checked)
		return
	}
	if err := s.svc.DeleteAccount(r.Context(), p, pw, s.meta(r)); err != nil {
		s.accountRefusal(w, r, p, err, f)
		return
	}
	s.clearCookie(w, r)
	q := "?done=deleted"
	if !s.cfg.NoSignup {
		redirect(w, r, pathSignup+q)
		return
	}
	redirect(w, r, pathSignin+q)
}
