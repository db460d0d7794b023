package pages

import (
	"errors"
	"net/http"
	"slices"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/httpapi"
)

// Paths of the second-factor forms.
const (
	pathSigninMFA   = "/signin/mfa"
	pathTOTP        = "/account/totp"
	pathTOTPQR      = "/account/totp/qr.png"
	pathTOTPConfirm = "/account/totp/confirm"
	pathTOTPDisable = "/account/totp/disable"
)

// mfaView is the second-factor part of a page: the sign-in's second step,
// or the account page's authenticator section.
type mfaView struct {
	Token string // The mfa_token of the sign-in's second step.
	// Passkey offers "Use a passkey" at the second step: passkeys are on
	// and the account has one.
	Passkey bool

	Enabled       bool
	Pending       bool
	Secret        string   // The pending secret, for typing in by hand.
	CodesLeft     int      // Unused recovery codes.
	RecoveryCodes []string // Shown once, right after confirming.
}

// mfaRoutes adds the second-factor forms.
func (s *server) mfaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+pathSigninMFA, s.postSigninMFA)
	mux.HandleFunc("POST "+pathTOTP, s.postTOTP)
	mux.HandleFunc("GET "+pathTOTPQR, s.getTOTPQR)
	mux.HandleFunc("POST "+pathTOTPConfirm, s.postTOTPConfirm)
	mux.HandleFunc("POST "+pathTOTPDisable, s.postTOTPDisable)
}

// mfaStep shows the sign-in's second step for the login that err (an
// *restauth.MFARequiredError) started, and reports whether err was one.
// The token travels in the form, never in a URL.
func (s *server) mfaStep(w http.ResponseWriter, r *http.Request, err error, returnTo string) bool {
	var mfa *restauth.MFARequiredError
	if !errors.As(err, &mfa) {
		return false
	}
	v := s.newView(r, "title_signin_mfa")
	v.ReturnTo, v.MFA.Token = returnTo, mfa.Token
	offerPasskey(v, mfa.Factors)
	s.render(w, r, http.StatusOK, "mfa", v)
	return true
}

// offerPasskey shows "Use a passkey" at the second step when factors,
// those that can complete it, include a passkey; only then does the page
// load the script and allow it in its CSP.
func offerPasskey(v *view, factors []string) {
	v.MFA.Passkey = slices.Contains(factors, restauth.FactorPasskey)
	v.Passkeys = v.MFA.Passkey
}

// postSigninMFA completes a sign-in with a code from the authenticator app
// or a recovery code, typed in one field.
func (s *server) postSigninMFA(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	tok, code := r.PostForm.Get("mfa_token"), r.PostForm.Get("code")
	returnTo := safeReturn(r.PostForm.Get("return_to"), "")
	v := s.newView(r, "title_signin_mfa")
	v.ReturnTo, v.MFA.Token = returnTo, tok
	// The step is shown again after a refusal, with the passkey still on
	// offer; an unknown token offers none, and the code it is sent with
	// is refused below.
	if factors, err := s.svc.SecondStepFactors(r.Context(), tok); err == nil {
		offerPasskey(v, factors)
	}
	if code == "" {
		v.Errors["code"] = msg("err_code_empty")
		s.render(w, r, http.StatusBadRequest, "mfa", v)
		return
	}
	previous, _ := s.current(w, r)
	_, sess, cookie, err := s.svc.CompleteSignIn(r.Context(), tok, restauth.FactorOf(code), code, s.meta(r))
	switch restauth.ErrorCode(err) {
	case "":
	case restauth.EInvalidMFAToken:
		// The step took too long or was completed elsewhere: start over.
		redirect(w, r, pathSignin+"?done=mfa-expired")
		return
	case restauth.EInvalidCode, restauth.EInvalid:
		v.Errors["code"] = msg("err_code_wrong")
		s.render(w, r, http.StatusBadRequest, "mfa", v)
		return
	default:
		status := s.show(w, r, v, err, fieldNames{})
		s.render(w, r, status, "mfa", v)
		return
	}
	s.signedIn(w, r, previous, sess, cookie, returnTo)
}

// fillMFA puts the account's second-factor state on the account page.
func (s *server) fillMFA(r *http.Request, p *restauth.Principal, v *view) error {
	st, err := s.svc.MFAStatus(r.Context(), p)
	if err != nil {
		return err
	}
	v.MFA.Enabled, v.MFA.Pending, v.MFA.CodesLeft = st.TOTP, st.TOTPPending, st.RecoveryCodesLeft
	if st.TOTPPending {
		enr, err := s.svc.PendingTOTP(r.Context(), p)
		if err != nil && restauth.ErrorCode(err) != restauth.ENotFound {
			return err
		}
		if enr != nil {
			v.MFA.Secret = enr.Secret
		} else {
			v.MFA.Pending = false
		}
	}
	return nil
}

// postTOTP starts an enrolment; the account page then shows its QR code
// and asks for the first code.
func (s *server) postTOTP(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil {
		return
	}
	_, err := s.svc.EnrollTOTP(r.Context(), p)
	if err != nil && restauth.ErrorCode(err) != restauth.ETOTPActive {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, pathAccount+"#h-totp")
}

// getTOTPQR serves the pending secret's QR code, a same-origin image, so
// that the pages' CSP can stay at img-src 'self'.
func (s *server) getTOTPQR(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil {
		return
	}
	enr, err := s.svc.PendingTOTP(r.Context(), p)
	if restauth.ErrorCode(err) == restauth.ENotFound {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	png, err := httpapi.QRCodePNG(enr.URI)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

// postTOTPConfirm activates the pending secret with its first code and
// shows the recovery codes, this once: they are in this answer only, never
// in a URL or a later page.
func (s *server) postTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		s.accountFieldError(w, r, p, "code", "err_code_empty")
		return
	}
	codes, err := s.svc.ConfirmTOTP(r.Context(), p, code, s.meta(r))
	switch restauth.ErrorCode(err) {
	case "":
	case restauth.EInvalidCode:
		s.accountFieldError(w, r, p, "code", "err_code_wrong")
		return
	case restauth.ENotFound, restauth.ETOTPActive:
		redirect(w, r, pathAccount+"#h-totp")
		return
	default:
		s.accountRefusal(w, r, p, err, fieldNames{})
		return
	}
	v, err := s.accountView(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Notice, v.MFA.RecoveryCodes = msg("done_totp_on"), codes
	s.render(w, r, http.StatusOK, "account", v)
}

// postTOTPDisable turns TOTP off with the password (one form) or a code
// (the other).
func (s *server) postTOTPDisable(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	pw, code := r.PostForm.Get("totp_password"), r.PostForm.Get("totp_code")
	field := "totp_password"
	if pw == "" {
		field = "totp_code"
	}
	if pw == "" && code == "" {
		s.accountFieldError(w, r, p, field, "err_code_empty")
		return
	}
	err := s.svc.DisableTOTP(r.Context(), p, pw, code, s.meta(r))
	switch restauth.ErrorCode(err) {
	case "", restauth.ENotFound:
		redirect(w, r, pathAccount+"?done=totp-off")
	case restauth.EInvalidCode, restauth.EInvalid:
		s.accountFieldError(w, r, p, field, "err_code_wrong")
	default:
		s.accountRefusal(w, r, p, err, fieldNames{checked: field})
	}
}

// accountFieldError shows the account page again with the message key on
// one field, as a 400.
func (s *server) accountFieldError(w http.ResponseWriter, r *http.Request, p *restauth.Principal, field, key string) {
	v, err := s.accountView(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Errors[field] = msg(key)
	s.render(w, r, http.StatusBadRequest, "account", v)
}
