package pages

import (
	"net/http"
	"net/url"

	"github.com/restauth/restauth"
)

// The device page (RFC 8628): a person signed in here enters the user code
// a device shows, sees which app asks for what, and approves or denies.

const pathDevice = "/device"

// deviceView is what the device page shows: a form for the code, the
// confirmation (the client's registered name and its scopes), or the end.
type deviceView struct {
	Step     string // "enter", "confirm" or "done".
	UserCode string
	Client   string
	Scopes   []scopeView
	Token    string
	Approved bool
}

func (s *server) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+pathDevice, s.getDevice)
	mux.HandleFunc("POST "+pathDevice, s.postDevice)
	mux.HandleFunc("POST "+pathDevice+"/decide", s.postDeviceDecide)
}

// requireUserReturning is requireUser coming back to returnTo.
func (s *server) requireUserReturning(w http.ResponseWriter, r *http.Request, returnTo string) (*restauth.Principal, *restauth.Session, string) {
	p, sess, cookie, err := s.currentSession(w, r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, ""
	}
	if p == nil {
		redirect(w, r, pathSignin+"?"+url.Values{"return_to": {returnTo}}.Encode())
		return nil, nil, ""
	}
	return p, sess, cookie
}

func (s *server) getDevice(w http.ResponseWriter, r *http.Request) {
	code := restauth.NormalizeUserCode(r.URL.Query().Get("user_code"))
	back := pathDevice
	if code != "" {
		back += "?" + url.Values{"user_code": {restauth.FormatUserCode(code)}}.Encode()
	}
	p, _, _ := s.requireUserReturning(w, r, back)
	if p == nil {
		return
	}
	v := s.newView(r, "title_device")
	v.User = p.Username
	// A code from the link is only filled in: the person still confirms
	// it is the one the device shows.
	v.Device = deviceView{Step: "enter", UserCode: restauth.FormatUserCode(code)}
	s.render(w, r, http.StatusOK, "device", v)
}

func (s *server) postDevice(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	p, sess, _ := s.requireUserReturning(w, r, pathDevice)
	if p == nil {
		return
	}
	v := s.newView(r, "title_device")
	v.User = p.Username
	d, client, err := s.svc.DeviceRequest(r.Context(), p, r.PostForm.Get("user_code"), s.meta(r))
	if err != nil {
		s.deviceRefused(w, r, v, err)
		return
	}
	v.Device = deviceView{Step: "confirm", UserCode: restauth.FormatUserCode(d.UserCode), Client: client.Name,
		Scopes: scopeViews(d.Scopes), Token: s.svc.DeviceToken(sess, d.UserCode)}
	s.render(w, r, http.StatusOK, "device", v)
}

// postDeviceDecide takes the answer: only from this site, from the browser
// session that was shown the confirmation.
func (s *server) postDeviceDecide(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) {
		return
	}
	p, sess, _ := s.requireUserReturning(w, r, pathDevice)
	if p == nil {
		return
	}
	approve := r.PostForm.Get("decision") == "allow"
	v := s.newView(r, "title_device")
	v.User = p.Username
	err := s.svc.DecideDevice(r.Context(), p, sess, r.PostForm.Get("user_code"), r.PostForm.Get("device_token"), approve, s.meta(r))
	if restauth.ErrorCode(err) == restauth.EForbidden {
		// The confirmation was not shown to this browser session.
		v := s.newView(r, "title_error")
		v.Text = msg("err_consent_session")
		s.render(w, r, http.StatusForbidden, "error", v)
		return
	}
	if err != nil {
		s.deviceRefused(w, r, v, err)
		return
	}
	v.Device = deviceView{Step: "done", Approved: approve}
	s.render(w, r, http.StatusOK, "device", v)
}

// deviceRefused shows the code form again with why a user code was refused:
// unknown or expired (400), or too many tries (429). Any other error is the
// pages' usual failure.
func (s *server) deviceRefused(w http.ResponseWriter, r *http.Request, v *view, err error) {
	status := http.StatusBadRequest
	switch restauth.ErrorCode(err) {
	case restauth.ENotFound:
		v.Alert = msg("err_device_code")
	case restauth.ETooManyRequests:
		status = http.StatusTooManyRequests
		v.Alert = msg("err_device_too_many")
	default:
		s.fail(w, r, err)
		return
	}
	v.Device = deviceView{Step: "enter"}
	s.render(w, r, status, "device", v)
}
