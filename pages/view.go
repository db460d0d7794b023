package pages

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth"
)

// msg returns the catalog's sentence for key, formatted with args. A key
// missing from the catalog is a bug: it panics in tests and shows the key.
func msg(key string, args ...any) string {
	s, ok := messages[key]
	if !ok {
		panic("pages: no message " + strconv.Quote(key))
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// pageNames are the templates, each rendered inside layout.html.
var pageNames = []string{"signup", "signin", "account", "error", "mfa", "consent", "device"}

func mustParse() map[string]*template.Template {
	funcs := template.FuncMap{"t": msg}
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t := template.New("layout.html").Funcs(funcs)
		out[name] = template.Must(t.ParseFS(files, "templates/layout.html", "templates/fields.html", "templates/passkeys.html", "templates/"+name+".html"))
	}
	return out
}

// view is what every template receives.
type view struct {
	Lang      string
	Product   string
	Logo      bool
	CustomCSS bool
	Title     string // A catalog key.
	User      string // The signed-in username, or "".
	Notice    string // A sentence shown once after a redirect.
	Alert     string // A refusal that belongs to the whole form.
	// AlertFields are the fields the Alert is about, which point to it with
	// aria-describedby (a wrong username or password is about both).
	AlertFields []string
	ReturnTo    string
	Signup      bool // Sign-up is open.
	Values      map[string]string
	Errors      map[string]string // Refusals by field name.
	Text        string            // The error page's message.

	MinPassword int
	MaxUsername int

	Sessions []sessionView

	Keys       []keyView // The user's API keys (handlers_keys.go).
	NewKey     string    // A key just made, shown this once.
	MaxKeyName int
	MFA        mfaView
	// Passkeys shows the passkey parts of the sign-in and account pages,
	// which then load the script.
	Passkeys    bool
	PasskeyList []passkeyView

	// The OpenID Connect provider's parts (oauth.go): the consent page,
	// and the account page's connected apps when OAuth is on.
	Consent consentView
	Device  deviceView
	OAuth   bool
	Apps    []appView
	// FormAction is one more origin the page's forms may end at (through
	// the redirects that follow them): an OAuth client's.
	FormAction string
}

// sessionView is one row of the account page's session list.
type sessionView struct {
	ID        string
	This      bool
	Created   timeView
	LastUsed  timeView
	IP        string
	UserAgent string
}

type timeView struct {
	ISO, Text string
}

func newTime(t time.Time) timeView {
	t = t.UTC()
	return timeView{ISO: t.Format(time.RFC3339), Text: msg("time_utc", t.Format("2 Jan 2006, 15:04"))}
}

// fieldView is what the field template receives.
type fieldView struct {
	ID, Name, Type, Autocomplete, Label, Value, Hint, Error string
	DescribedBy                                             string
	Invalid                                                 bool
}

// Field describes one input: its label, the value kept after a refusal
// (never a password's), and the ids of the texts that describe it.
func (v *view) Field(name, typ, autocomplete, label, hint string) fieldView {
	f := fieldView{
		ID: "f-" + name, Name: name, Type: typ, Autocomplete: autocomplete,
		Label: msg(label), Hint: hint, Error: v.Errors[name],
	}
	if typ != "password" {
		f.Value = v.Values[name]
	}
	var ids []byte
	add := func(id string) {
		if len(ids) > 0 {
			ids = append(ids, ' ')
		}
		ids = append(ids, id...)
	}
	if f.Error != "" {
		add(f.ID + "-error")
		f.Invalid = true
	}
	for _, n := range v.AlertFields {
		if n == name {
			add("form-alert")
			f.Invalid = true
		}
	}
	if f.Hint != "" {
		add(f.ID + "-hint")
	}
	f.DescribedBy = string(ids)
	return f
}

// HintUsername and HintNewPassword carry the configured limits.
func (v *view) HintUsername() string    { return msg("hint_username", v.MaxUsername) }
func (v *view) HintNewPassword() string { return msg("hint_new_password", v.MinPassword) }
func (v *view) HintKeyName() string     { return msg("hint_key_name", v.MaxKeyName) }

// newView fills what every page shows.
func (s *server) newView(r *http.Request, title string) *view {
	cfg := s.svc.Config()
	v := &view{
		Lang: lang, Product: s.cfg.ProductName, Title: title,
		Logo: len(s.cfg.Logo) > 0, CustomCSS: len(s.cfg.CustomCSS) > 0,
		Signup:      !s.cfg.NoSignup,
		Values:      map[string]string{},
		Errors:      map[string]string{},
		MinPassword: cfg.MinPasswordLen, MaxUsername: cfg.MaxUsernameLen,
	}
	// Only the sign-in and account pages use passkeys, so only they load
	// the script and relax the CSP for it.
	v.Passkeys = s.svc.PasskeysEnabled() && (title == "title_signin" || title == "title_account")
	if key, ok := notices[r.URL.Query().Get("done")]; ok {
		v.Notice = msg(key)
	}
	return v
}

// notices are the values of ?done= and the sentences they show; anything
// else shows nothing, so a link cannot put words on the page.
var notices = map[string]string{
	"signup":          "done_signup",
	"signed-out":      "done_signed_out",
	"password":        "done_password",
	"session-ended":   "done_session_ended",
	"others-ended":    "done_others_ended",
	"deleted":         "done_deleted",
	"session-gone":    "done_session_gone",
	"session-expired": "done_session_expired",
	"key-created":     "done_key_created",
	"key-revoked":     "done_key_revoked",
	"key-gone":        "done_key_gone",
	"mfa-expired":     "done_mfa_expired",
	"totp-off":        "done_totp_off",
	"passkey-added":   "done_passkey_added",
	"passkey-removed": "done_passkey_removed",
	"passkey-gone":    "done_passkey_gone",
	"app-removed":     "done_app_removed",
	"app-gone":        "done_app_gone",
}

// render writes the page with status. It renders into a buffer first, so
// that a template error becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := s.pages[page].Execute(&buf, v); err != nil {
		s.log.ErrorContext(r.Context(), "page template failed", "page", page, "err", err)
		http.Error(w, msg("err_internal"), http.StatusInternalServerError)
		return
	}
	if v.Passkeys {
		w.Header().Set("Content-Security-Policy", cspScript)
	}
	if v.FormAction == "" && v.ReturnTo != "" {
		v.FormAction = s.authorizeFormSource(r.Context(), v.ReturnTo)
	}
	if v.FormAction != "" {
		h := w.Header()
		h.Set("Content-Security-Policy", strings.Replace(h.Get("Content-Security-Policy"),
			"form-action 'self'", "form-action 'self' "+v.FormAction, 1))
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// waitText says how long "Wait %s" is, in whole seconds or minutes,
// rounded up so that a person who waits that long is let in: the same
// seconds a Retry-After header would state.
func waitText(d time.Duration) string {
	secs := restauth.RetrySeconds(d)
	switch {
	case secs <= 1:
		return msg("seconds_one")
	case secs < 120:
		return msg("seconds_other", secs)
	}
	mins := (secs + 59) / 60
	return msg("minutes_other", mins)
}
