package pages

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/restauth/restauth"
)

// The OpenID Connect provider's pages: the authorization endpoint (a page,
// since it needs the browser session), the consent page, RP-initiated
// logout, and the account page's connected apps. The protocol's rules are
// the Service's; the back channel is package oidc.

const (
	pathAuthorize  = "/oauth/authorize"
	pathEndSession = "/oauth/logout"
	pathApps       = "/account/apps/remove"
)

// oauthPatterns are the paths the pages own when the provider is on.
var oauthPatterns = []string{pathAuthorize, pathAuthorize + "/", pathEndSession, pathDevice, pathDevice + "/"}

func (s *server) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+pathAuthorize, s.getAuthorize)
	mux.HandleFunc("POST "+pathAuthorize+"/consent", s.postConsent)
	mux.HandleFunc("GET "+pathEndSession, s.endSession)
	mux.HandleFunc("POST "+pathApps, s.postRemoveApp)
	s.deviceRoutes(mux)
}

// consentView is what the consent page shows: the client's registered name
// (never text from the request) and what each scope means.
type consentView struct {
	Client    string
	Scopes    []scopeView
	RequestID string
	Token     string
}

type scopeView struct {
	Name, Text string
}

// appView is one connected app on the account page.
type appView struct {
	ID, Name string
	Scopes   []scopeView
	Since    timeView
}

// scopeViews describes scopes: restauth's own in the catalog's words, any
// other by its registered name.
func scopeViews(scopes []string) []scopeView {
	out := make([]scopeView, 0, len(scopes))
	for _, sc := range scopes {
		switch sc {
		case restauth.ScopeOpenID:
			out = append(out, scopeView{sc, msg("scope_openid")})
		case restauth.ScopeProfile:
			out = append(out, scopeView{sc, msg("scope_profile")})
		default:
			out = append(out, scopeView{sc, msg("scope_other", sc)})
		}
	}
	return out
}

// currentSession is current with the browser session itself, whose
// creation is the time the person last proved who they are.
func (s *server) currentSession(w http.ResponseWriter, r *http.Request) (*restauth.Principal, *restauth.Session, string, error) {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil || c.Value == "" {
		return nil, nil, "", nil
	}
	p, sess, err := s.svc.AuthenticateBrowser(r.Context(), c.Value)
	if restauth.ErrorCode(err) == restauth.EInvalidToken {
		s.clearCookie(w, r)
		return nil, nil, "", nil
	}
	if err != nil {
		return nil, nil, "", err
	}
	return p, sess, c.Value, nil
}

// oauthFail shows an authorization request that cannot be answered to the
// client on an error page: no redirect, so that restauth never sends a
// browser to an address it has not verified.
func (s *server) oauthFail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *restauth.OAuthError
	if !errors.As(err, &oe) {
		if restauth.ErrorCode(err) == restauth.ENotFound {
			v := s.newView(r, "title_error")
			v.Text = msg("err_oauth_expired")
			s.render(w, r, http.StatusBadRequest, "error", v)
			return
		}
		s.fail(w, r, err)
		return
	}
	v := s.newView(r, "title_error")
	// The descriptions of refusals made before the redirect URI is
	// verified are the domain's fixed sentences, never request text.
	v.Text = msg("err_oauth_request", oe.Description)
	s.render(w, r, http.StatusBadRequest, "error", v)
}

// getAuthorize is the authorization endpoint. A new request is checked and
// stored, so that it survives the sign-in (as return_to
// /oauth/authorize?request_id=…, short whatever the request's size) and
// may be continued on any instance.
func (s *server) getAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ar *restauth.AuthorizationRequest
	var err error
	if id := q.Get("request_id"); id != "" && len(q) == 1 {
		if ar, err = s.svc.Authorization(r.Context(), id); err != nil {
			s.oauthFail(w, r, err)
			return
		}
	} else {
		ar, err = s.svc.ParseAuthorization(r.Context(), q)
		var oe *restauth.OAuthError
		if errors.As(err, &oe) && oe.Redirect {
			http.Redirect(w, r, s.svc.AuthorizationError(ar, oe), http.StatusSeeOther)
			return
		}
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		if err := s.svc.SaveAuthorization(r.Context(), ar, s.meta(r)); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.continueAuthorization(w, r, ar)
}

// continueAuthorization takes a stored request to its next step.
func (s *server) continueAuthorization(w http.ResponseWriter, r *http.Request, ar *restauth.AuthorizationRequest) {
	p, sess, cookie, err := s.currentSession(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	step, err := s.svc.NextStep(r.Context(), ar, sess)
	var oe *restauth.OAuthError
	if errors.As(err, &oe) && oe.Redirect {
		// prompt=none could not be answered without the person.
		s.svc.DenyAuthorization(r.Context(), ar) // Forget the request; the answer is the error either way.
		http.Redirect(w, r, s.svc.AuthorizationError(ar, oe), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch step {
	case restauth.StepSignIn:
		back := pathAuthorize + "?" + url.Values{"request_id": {ar.ID}}.Encode()
		q := url.Values{"return_to": {back}}
		if p != nil {
			// prompt=login or max_age asks for a fresh sign-in. This is a
			// GET any site can send, so the browser session is not ended
			// here: the sign-in form is shown although someone is signed
			// in, and the sign-in it posts replaces the session.
			q.Set("reauth", "1")
		}
		redirect(w, r, pathSignin+"?"+q.Encode())
	case restauth.StepConsent:
		s.showConsent(w, r, p, ar, cookie)
	default:
		loc, err := s.svc.IssueCode(r.Context(), ar, sess)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
	}
}

// consentToken binds a consent form to the browser session that was shown
// it and to the request: a form posted by another browser, or for another
// request, is refused. The cookie is secret to the browser, so nobody else
// can compute it.
func consentToken(cookie, requestID string) string {
	h := sha256.Sum256([]byte("restauth consent\x00" + cookie + "\x00" + requestID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (s *server) showConsent(w http.ResponseWriter, r *http.Request, p *restauth.Principal, ar *restauth.AuthorizationRequest, cookie string) {
	client, err := s.svc.OAuthClient(r.Context(), ar.ClientID)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	v := s.newView(r, "title_consent")
	v.User = p.Username
	v.Consent = consentView{Client: client.Name, Scopes: scopeViews(ar.Scopes), RequestID: ar.ID, Token: consentToken(cookie, ar.ID)}
	v.FormAction = formSource(ar.RedirectURI)
	s.render(w, r, http.StatusOK, "consent", v)
}

// postConsent takes the person's answer. Only a POST from this site (the
// pages' cross-origin protection), from the browser session that was shown
// the page (the consent token), approves; a GET never does.
func (s *server) postConsent(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	p, sess, cookie, err := s.currentSession(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id := r.PostForm.Get("request_id")
	if p == nil || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("consent_token")), []byte(consentToken(cookie, id))) != 1 {
		v := s.newView(r, "title_error")
		v.Text = msg("err_consent_session")
		s.render(w, r, http.StatusForbidden, "error", v)
		return
	}
	ar, err := s.svc.Authorization(r.Context(), id)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	if r.PostForm.Get("decision") != "allow" {
		loc, err := s.svc.DenyAuthorization(r.Context(), ar)
		if err != nil {
			s.oauthFail(w, r, err)
			return
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return
	}
	if err := s.svc.Consent(r.Context(), p, ar); err != nil {
		s.fail(w, r, err)
		return
	}
	loc, err := s.svc.IssueCode(r.Context(), ar, sess)
	if err != nil {
		s.oauthFail(w, r, err)
		return
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// formSource is the CSP source of a redirect URI's origin. Chromium applies
// form-action to the redirects that follow a form's POST, so the pages that
// end an authorization (the consent page, and the sign-in pages on the way
// to it) must allow the client's origin; only characters an origin may
// hold pass, so nothing can be injected into the header.
func formSource(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	src := u.Scheme + ":"
	if u.Scheme == "http" || u.Scheme == "https" {
		src = u.Scheme + "://" + u.Host
	}
	for _, c := range src {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(".-+:/[]", c)) {
			return ""
		}
	}
	return src
}

// authorizeFormSource is formSource for a page whose return_to continues an
// authorization request: the sign-in and second-factor pages.
func (s *server) authorizeFormSource(ctx context.Context, returnTo string) string {
	if !s.svc.OIDCEnabled() || !strings.HasPrefix(returnTo, pathAuthorize+"?") {
		return ""
	}
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != pathAuthorize {
		return ""
	}
	ar, err := s.svc.Authorization(ctx, u.Query().Get("request_id"))
	if err != nil {
		return ""
	}
	return formSource(ar.RedirectURI)
}

// endSession is RP-initiated logout. The id_token_hint, an ID token
// restauth signed (RS256 only), proves which app asks and for whom: that
// app's session ends and, when this browser is signed in as the same
// person, so does the browser session. The person is then sent to the
// post_logout_redirect_uri when it is one the app registered, byte for
// byte, with the state; otherwise to the sign-in page.
func (s *server) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	hint := q.Get("id_token_hint")
	if hint == "" {
		v := s.newView(r, "title_error")
		v.Text = msg("err_logout_hint")
		s.render(w, r, http.StatusBadRequest, "error", v)
		return
	}
	to := q.Get("post_logout_redirect_uri")
	claims, _, err := s.svc.EndSession(r.Context(), hint, q.Get("client_id"), to)
	if err != nil {
		v := s.newView(r, "title_error")
		v.Text = msg("err_logout_hint")
		if errors.Is(err, restauth.ErrLogoutURI) {
			v.Text = msg("err_logout_uri")
		}
		s.render(w, r, http.StatusBadRequest, "error", v)
		return
	}
	p, err := s.current(w, r)
	if err == nil && p != nil && restauth.FormatUserID(p.UserID) == claims.Subject {
		if err := s.svc.Logout(r.Context(), p); err != nil && !errors.Is(err, restauth.ErrNotFound) {
			s.log.WarnContext(r.Context(), "browser session not ended at logout", "err", err)
		}
		s.clearCookie(w, r)
	}
	if to != "" {
		// EndSession checked it is one of the client's logout URIs.
		u, _ := url.Parse(to)
		if st := q.Get("state"); st != "" {
			uq := u.Query()
			uq.Set("state", st)
			u.RawQuery = uq.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	redirect(w, r, pathSignin+"?done=signed-out")
}

// appsView fills the account page's connected apps.
func (s *server) appsView(r *http.Request, v *view, p *restauth.Principal) error {
	if !s.svc.OIDCEnabled() {
		return nil
	}
	apps, err := s.svc.ConnectedApps(r.Context(), p)
	if err != nil {
		return err
	}
	v.OAuth = true
	for _, a := range apps {
		v.Apps = append(v.Apps, appView{ID: a.Client.ID, Name: a.Client.Name, Scopes: scopeViews(a.Scopes), Since: newTime(a.Since)})
	}
	return nil
}

// postRemoveApp forgets the consent for an app and revokes, at once and on
// every instance, every token the app holds for the person.
func (s *server) postRemoveApp(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	err := s.svc.DisconnectApp(r.Context(), p, r.PostForm.Get("client_id"))
	switch {
	case errors.Is(err, restauth.ErrNotFound):
		redirect(w, r, pathAccount+"?done=app-gone")
	case err != nil:
		s.fail(w, r, err)
	default:
		redirect(w, r, pathAccount+"?done=app-removed")
	}
}
