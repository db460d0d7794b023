package pages

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/restauth/restauth"
)

// Passkeys on the pages: the account page lists, adds and removes them, the
// sign-in page signs in with one alone, and the sign-in's second step
// (/signin/mfa) accepts one of the account's passkeys in place of a code. The WebAuthn calls run in the
// browser, in the one script file the pages serve (static/passkeys.js),
// which posts JSON to the endpoints below; they sit behind the same
// cross-origin protection as every form. Only the pages that offer
// passkeys load the script, and only their CSP allows it.

// Paths of the passkey endpoints.
const (
	pathPasskeyScript        = "/pages/passkeys.js"
	pathSigninPasskeyOptions = "/signin/passkey/options"
	pathSigninPasskey        = "/signin/passkey"
	pathMFAPasskeyOptions    = "/signin/mfa/passkey/options"
	pathMFAPasskey           = "/signin/mfa/passkey"
	pathPasskeyOptions       = "/account/passkeys/options"
	pathPasskeyAdd           = "/account/passkeys"
	pathPasskeyRemove        = "/account/passkeys/remove"
)

// cspScript is csp with the pages' own script, and its requests to the
// pages' endpoints (fetch is governed by connect-src), allowed.
const cspScript = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxPasskeyJSON bounds a passkey endpoint's body: the authenticator's
// response and a little more for the other fields.
const maxPasskeyJSON = restauth.MaxPasskeyResponseBytes + 4<<10

func (s *server) passkeyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+pathPasskeyScript, s.static(s.script, "text/javascript; charset=utf-8"))
	mux.HandleFunc("POST "+pathSigninPasskeyOptions, s.postSigninPasskeyOptions)
	mux.HandleFunc("POST "+pathSigninPasskey, s.postSigninPasskey)
	mux.HandleFunc("POST "+pathMFAPasskeyOptions, s.postMFAPasskeyOptions)
	mux.HandleFunc("POST "+pathMFAPasskey, s.postMFAPasskey)
	mux.HandleFunc("POST "+pathPasskeyOptions, s.postPasskeyOptions)
	mux.HandleFunc("POST "+pathPasskeyAdd, s.postPasskeyAdd)
	mux.HandleFunc("POST "+pathPasskeyRemove, s.postPasskeyRemove)
}

// passkeyView is one row of the account page's passkey list.
type passkeyView struct {
	ID, Name string
	Created  timeView
	LastUsed timeView // Zero Text when never used.
}

// HintPasskeyName carries the limit on a passkey's name.
func (v *view) HintPasskeyName() string { return msg("hint_passkey_name", restauth.MaxPasskeyNameLen) }

// passkeysView puts the passkey section on an account page.
func (s *server) passkeysView(r *http.Request, v *view, p *restauth.Principal) error {
	if !v.Passkeys {
		return nil
	}
	list, err := s.svc.ListPasskeys(r.Context(), p)
	if err != nil {
		return err
	}
	for _, pk := range list {
		pv := passkeyView{ID: pk.ID, Name: pk.Name, Created: newTime(pk.CreatedAt)}
		if !pk.LastUsedAt.IsZero() {
			pv.LastUsed = newTime(pk.LastUsedAt)
		}
		v.PasskeyList = append(v.PasskeyList, pv)
	}
	return nil
}

// jsonError is the body of a passkey endpoint's refusal: the domain's code
// and a sentence from the catalog, which the script shows.
type jsonError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeJSON answers a passkey endpoint.
func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// passkeyFail answers a passkey endpoint with the refusal err maps to.
func (s *server) passkeyFail(w http.ResponseWriter, r *http.Request, err error) {
	code := restauth.ErrorCode(err)
	var status int
	var text string
	switch code {
	case restauth.EPasskeyRefused:
		status, text = http.StatusBadRequest, msg("err_passkey_refused")
	case restauth.EPasskeyLimit:
		status, text = http.StatusConflict, msg("err_passkey_limit", restauth.MaxPasskeysPerUser)
	case restauth.EInvalid:
		status, text = http.StatusBadRequest, msg("err_passkey_name", restauth.MaxPasskeyNameLen)
	case restauth.EInvalidJSON:
		status, text = http.StatusBadRequest, msg("err_bad_request")
	case restauth.EUnsupportedMedia:
		status, text = http.StatusUnsupportedMediaType, msg("err_bad_request")
	case restauth.EBodyTooLarge:
		status, text = http.StatusRequestEntityTooLarge, msg("err_bad_request")
	case restauth.EInvalidToken:
		status, text = http.StatusUnauthorized, msg("done_session_expired")
	case restauth.EInvalidMFAToken:
		status, text = http.StatusBadRequest, msg("done_mfa_expired")
	case restauth.ENotFound:
		status, text = http.StatusNotFound, msg("notfound_text")
	default:
		// Limits, an overloaded or unreachable store, and internal errors
		// are shown as the forms show them.
		rf := s.refuse(err, fieldNames{})
		if rf.status == http.StatusInternalServerError {
			s.log.ErrorContext(r.Context(), "passkey request failed", "path", r.URL.Path, "err", err)
		}
		if rf.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(restauth.RetrySeconds(rf.retry)))
		}
		status, text = rf.status, rf.text
	}
	writeJSON(w, status, jsonError{Error: code, Message: text})
}

// decodeJSON reads one JSON object of bounded size with only the fields
// dst names. The caller answers its error with passkeyFail.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return restauth.Errorf(restauth.EUnsupportedMedia, "the body must be JSON")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPasskeyJSON)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return restauth.Errorf(restauth.EBodyTooLarge, "the body is too large")
	case err != nil:
		return &restauth.Error{Code: restauth.EInvalidJSON, Message: "the body is not the JSON expected", Err: err}
	}
	return nil
}

// optionsBody answers a ceremony's start: the challenge's id, to send back
// with the response, and the options for navigator.credentials.
type optionsBody struct {
	Challenge string          `json:"challenge"`
	Options   json.RawMessage `json:"options"`
}

// doneBody answers a ceremony's end: where the script sends the browser.
type doneBody struct {
	Redirect string `json:"redirect"`
}

// jsonUser returns the signed-in principal of a passkey endpoint, or
// answers 401 and returns nil.
func (s *server) jsonUser(w http.ResponseWriter, r *http.Request) *restauth.Principal {
	p, err := s.current(w, r)
	if err == nil && p == nil {
		err = &restauth.Error{Code: restauth.EInvalidToken, Message: "not signed in"}
	}
	if err != nil {
		s.passkeyFail(w, r, err)
		return nil
	}
	return p
}

func (s *server) postSigninPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	id, options, err := s.svc.BeginPasskeySignIn(r.Context(), s.meta(r))
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, optionsBody{Challenge: id, Options: options})
}

func (s *server) postSigninPasskey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Challenge  string          `json:"challenge"`
		Credential json.RawMessage `json:"credential"`
		ReturnTo   string          `json:"return_to"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	ctx := r.Context()
	// As with a password: the browser's previous session, if any, ends
	// once the new one is open.
	previous, _ := s.current(w, r)
	_, sess, cookie, err := s.svc.FinishPasskeySignIn(ctx, in.Challenge, in.Credential, s.meta(r))
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	s.switchSession(w, r, previous, sess, cookie)
	writeJSON(w, http.StatusOK, doneBody{Redirect: safeReturn(in.ReturnTo, pathAccount)})
}

// postMFAPasskeyOptions starts the passkey ceremony of a sign-in's second
// step: the options list the account's passkeys only, and the challenge is
// bound to the step's mfa_token.
func (s *server) postMFAPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken string `json:"mfa_token"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	id, options, err := s.svc.BeginMFAPasskey(r.Context(), in.MFAToken)
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, optionsBody{Challenge: id, Options: options})
}

// postMFAPasskey completes a sign-in's second step with the passkey's
// assertion, and sends the browser where the sign-in was going.
func (s *server) postMFAPasskey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		MFAToken   string          `json:"mfa_token"`
		Challenge  string          `json:"challenge"`
		Credential json.RawMessage `json:"credential"`
		ReturnTo   string          `json:"return_to"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	ctx := r.Context()
	previous, _ := s.current(w, r)
	_, sess, cookie, err := s.svc.CompleteSignInPasskey(ctx, in.MFAToken, in.Challenge, in.Credential, s.meta(r))
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	s.switchSession(w, r, previous, sess, cookie)
	writeJSON(w, http.StatusOK, doneBody{Redirect: safeReturn(in.ReturnTo, pathAccount)})
}

func (s *server) postPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	p := s.jsonUser(w, r)
	if p == nil {
		return
	}
	id, options, err := s.svc.BeginPasskeyRegistration(r.Context(), p)
	if err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, optionsBody{Challenge: id, Options: options})
}

func (s *server) postPasskeyAdd(w http.ResponseWriter, r *http.Request) {
	p := s.jsonUser(w, r)
	if p == nil {
		return
	}
	var in struct {
		Challenge  string          `json:"challenge"`
		Name       string          `json:"name"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	if _, err := s.svc.FinishPasskeyRegistration(r.Context(), p, in.Challenge, in.Name, in.Credential); err != nil {
		s.passkeyFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doneBody{Redirect: pathAccount + "?done=passkey-added"})
}

// postPasskeyRemove is a plain form, which works without the script.
func (s *server) postPasskeyRemove(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	err := s.svc.DeletePasskey(r.Context(), p, r.PostForm.Get("passkey"))
	switch {
	case errors.Is(err, restauth.ErrNotFound):
		redirect(w, r, pathAccount+"?done=passkey-gone")
	case err != nil:
		s.fail(w, r, err)
	default:
		redirect(w, r, pathAccount+"?done=passkey-removed")
	}
}
