package pages

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/restauth/restauth"
)

// keyView is one row of the account page's API key list.
type keyView struct {
	ID        string
	Name      string
	Scopes    string
	Created   timeView
	LastUsed  *timeView // Nil until first used.
	ExpiresAt *timeView // Nil when the key does not expire.
}

// keyExpiries are the expiry choices of the account page's form, by the
// value the form sends; "" is a key that does not expire.
var keyExpiries = map[string]time.Duration{
	"":    0,
	"30":  30 * 24 * time.Hour,
	"90":  90 * 24 * time.Hour,
	"365": 365 * 24 * time.Hour,
}

// newKeyCookie carries a key just made from the POST that made it to the
// page the browser is sent to, which shows it once and clears the cookie:
// the key is never stored on the server, and a reload of that page does not
// make another. The cookie lives for the browser session at most, is
// HttpOnly, and under TLS has the __Host- prefix.
func (s *server) newKeyCookie(r *http.Request) string {
	if s.secure(r) {
		return "__Host-restauth-new-key"
	}
	return "restauth-new-key"
}

// addKeys puts the user's API keys on the account page.
func (s *server) addKeys(r *http.Request, p *restauth.Principal, v *view) error {
	keys, err := s.svc.ListAPIKeys(r.Context(), p)
	if err != nil {
		return err
	}
	for _, k := range keys {
		kv := keyView{ID: k.ID, Name: k.Name, Scopes: strings.Join(k.Scopes, ", "), Created: newTime(k.CreatedAt)}
		if !k.LastUsedAt.IsZero() {
			t := newTime(k.LastUsedAt)
			kv.LastUsed = &t
		}
		if !k.ExpiresAt.IsZero() {
			t := newTime(k.ExpiresAt)
			kv.ExpiresAt = &t
		}
		v.Keys = append(v.Keys, kv)
	}
	v.MaxKeyName = restauth.MaxAPIKeyNameLen
	return nil
}

// showNewKey puts a key just made on the page, once: the cookie that
// carried it is cleared in the same answer.
func (s *server) showNewKey(w http.ResponseWriter, r *http.Request, v *view) {
	c, err := r.Cookie(s.newKeyCookie(r))
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	// Only a value of a key's shape is shown: the cookie is the browser's
	// to change.
	if strings.HasPrefix(c.Value, restauth.APIKeyPrefix) && len(c.Value) <= 64 {
		v.NewKey = c.Value
	}
}

var errNoScopes = errors.New("no scope chosen")

func (s *server) postCreateKey(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("key_name")
	expiry, ok := keyExpiries[r.PostForm.Get("key_expiry")]
	req := restauth.NewAPIKeyRequest{Name: name, Scopes: r.PostForm["key_scope"]}
	if !ok {
		// Only a form not sent by this page has another expiry.
		http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	if expiry > 0 {
		req.ExpiresAt = time.Now().Add(expiry)
	}
	var key string
	var err error
	if len(req.Scopes) == 0 {
		// The Service would read none as every scope; on the page, none
		// ticked is a choice to make.
		err = errNoScopes
	} else {
		_, key, err = s.svc.CreateAPIKey(r.Context(), p, req)
	}
	if err != nil {
		v, lerr := s.accountView(r, p)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		v.Values["key_name"] = name
		switch {
		case errors.Is(err, errNoScopes):
			v.Alert = msg("err_key_scopes")
		case errors.Is(err, restauth.ErrTooManyAPIKeys):
			v.Alert = msg("err_key_limit", restauth.MaxAPIKeysPerUser)
		case restauth.ErrorCode(err) == restauth.EInvalid:
			v.Errors["key_name"] = msg("err_key_name", restauth.MaxAPIKeyNameLen)
		default:
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusBadRequest, "account", v)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.newKeyCookie(r), Value: key, Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	redirect(w, r, pathAccount+"?done=key-created#h-keys")
}

func (s *server) postRevokeKey(w http.ResponseWriter, r *http.Request) {
	p := s.requireUser(w, r)
	if p == nil || !parseForm(w, r) {
		return
	}
	switch err := s.svc.RevokeAPIKey(r.Context(), p, r.PostForm.Get("key")); {
	case errors.Is(err, restauth.ErrNotFound):
		redirect(w, r, pathAccount+"?done=key-gone")
	case err != nil:
		s.fail(w, r, err)
	default:
		redirect(w, r, pathAccount+"?done=key-revoked")
	}
}
