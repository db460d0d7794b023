package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/restauth/restauth"
)

// statusByCode maps every domain error code to its HTTP status. It is the
// only place where that mapping lives.
var statusByCode = map[string]int{
	restauth.EInvalid:          http.StatusBadRequest,
	restauth.EInvalidJSON:      http.StatusBadRequest,
	restauth.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	restauth.EBodyTooLarge:     http.StatusRequestEntityTooLarge,
	restauth.EInvalidUsername:  http.StatusBadRequest,
	restauth.EUsernameTaken:    http.StatusBadRequest,
	restauth.EPasswordShort:    http.StatusBadRequest,
	restauth.EPasswordLong:     http.StatusBadRequest,
	restauth.EPasswordCommon:   http.StatusBadRequest,
	restauth.EUnauthorized:     http.StatusUnauthorized,
	restauth.EInvalidToken:     http.StatusUnauthorized,
	restauth.EInvalidGrant:     http.StatusBadRequest,
	restauth.EForbidden:        http.StatusForbidden,
	restauth.EWrongPassword:    http.StatusForbidden,
	restauth.ENotFound:         http.StatusNotFound,
	restauth.EMethodNotAllowed: http.StatusMethodNotAllowed,
	restauth.ETooManyRequests:  http.StatusTooManyRequests,
	restauth.EOverloaded:       http.StatusServiceUnavailable,
	restauth.EUnavailable:      http.StatusServiceUnavailable,
	restauth.EInternal:         http.StatusInternalServerError,
	restauth.EMFARequired:      http.StatusUnauthorized,
	restauth.EInvalidMFAToken:  http.StatusBadRequest,
	restauth.EInvalidCode:      http.StatusBadRequest,
	restauth.ETOTPActive:       http.StatusConflict,
	restauth.EPasskeyRefused:   http.StatusBadRequest,
	restauth.EPasskeyLimit:     http.StatusConflict,
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// contentTypeJSON is shared by every response; see securityHeaders for why
// a shared value slice is safe.
var contentTypeJSON = []string{"application/json"}

// contentLengths holds a shared Content-Length value for every small body
// size, so that setting the header costs no allocation.
var contentLengths = func() [][]string {
	t := make([][]string, 1024)
	for i := range t {
		t[i] = []string{strconv.Itoa(i)}
	}
	return t
}()

// setContentLength sets the Content-Length header of a body of n bytes.
func setContentLength(h http.Header, n int) {
	if n < len(contentLengths) {
		h["Content-Length"] = contentLengths[n]
		return
	}
	h["Content-Length"] = []string{strconv.Itoa(n)}
}

// jsonBuffer is a pooled buffer with an encoder writing into it.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBuffers = sync.Pool{New: func() any {
	b := &jsonBuffer{}
	b.enc = json.NewEncoder(&b.buf)
	return b
}}

// encode writes v as JSON with the given status, with its length, in one
// write.
func encode(w http.ResponseWriter, status int, v any) {
	b := jsonBuffers.Get().(*jsonBuffer)
	defer putJSONBuffer(b)
	b.buf.Reset()
	if err := b.enc.Encode(v); err != nil {
		// Only a programming error (an unencodable type) gets here.
		w.Header()["Content-Type"] = contentTypeJSON
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"` + restauth.EInternal + `","message":"an internal error occurred"}` + "\n"))
		return
	}
	writeJSON(w, status, b.buf.Bytes())
}

func putJSONBuffer(b *jsonBuffer) {
	// A rare large answer is not kept for ever.
	if b.buf.Cap() <= 64<<10 {
		jsonBuffers.Put(b)
	}
}

// writeJSON writes body, a whole JSON document, with the given status.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	setContentLength(h, len(body))
	w.WriteHeader(status)
	// A write error here means the client went away; nothing to do.
	_, _ = w.Write(body)
}

// writeData answers 200 with {"data": the concatenation of parts}, the
// shape of GET /api/resource. It is on the path every token benchmark
// measures: a plain string is appended into a pooled buffer as is, and
// only one that needs escaping goes through encoding/json, which keeps the
// bytes exactly what encoding/json would write.
func writeData(w http.ResponseWriter, parts ...string) {
	plain := true
	for _, p := range parts {
		plain = plain && jsonPlain(p)
	}
	if !plain {
		encode(w, http.StatusOK, struct {
			Data string `json:"data"`
		}{strings.Join(parts, "")})
		return
	}
	b := jsonBuffers.Get().(*jsonBuffer)
	defer putJSONBuffer(b)
	b.buf.Reset()
	b.buf.WriteString(`{"data":"`)
	for _, p := range parts {
		b.buf.WriteString(p)
	}
	b.buf.WriteString("\"}\n")
	writeJSON(w, http.StatusOK, b.buf.Bytes())
}

// jsonPlain reports whether s is written in a JSON string as is by
// encoding/json: printable ASCII without quotes, backslashes or the
// characters it escapes for HTML.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < ' ' || c >= utf8.RuneSelf, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// writeError answers with the error's status, code and client-safe message.
// Internal errors are logged with their cause and shown generically.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code := restauth.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code = http.StatusInternalServerError, restauth.EInternal
	}
	noteErrorCode(w, code)
	var e *restauth.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(restauth.RetrySeconds(e.RetryAfter)))
	}
	switch status {
	case http.StatusUnauthorized:
		challenge(w, r, code)
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		if logger != nil && code != restauth.EOverloaded {
			logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
		}
	}
	msg := restauth.ErrorMessage(err)
	if code == restauth.EInternal {
		msg = "an internal error occurred"
	}
	encode(w, status, errorBody{Error: code, Message: msg})
}

// challenge adds the WWW-Authenticate challenges to a 401. A refused Bearer
// token gets the RFC 6750 challenge. The Basic challenge, which REST-auth
// clients expect, is left out for a page's script, so that the browser
// does not put up its own login dialog; such a 401 names the Bearer scheme
// instead, as every 401 must name one (RFC 9110).
func challenge(w http.ResponseWriter, r *http.Request, code string) {
	h := w.Header()
	script := fromScript(w, r)
	if !script {
		h.Add("WWW-Authenticate", `Basic realm="Authentication Required"`)
	}
	switch {
	case code == restauth.EInvalidToken && authFrom(r).bearer:
		h.Add("WWW-Authenticate", `Bearer error="invalid_token"`)
	case script:
		h.Add("WWW-Authenticate", `Bearer realm="Authentication Required"`)
	}
}

var (
	errMediaType = restauth.Errorf(restauth.EUnsupportedMedia, "the body must be application/json")
	errTooLarge  = restauth.Errorf(restauth.EBodyTooLarge, "the body must be at most %d bytes", MaxBodyBytes)
)

// tooLarge refuses an oversized body and closes the connection after the
// answer. Otherwise net/http would first try to read and discard up to
// 256 KiB more of the body, waiting up to the read timeout for a client that
// never sends it: http.MaxBytesReader cannot tell the server that its limit
// was hit through the middleware's wrapped ResponseWriter.
func tooLarge(w http.ResponseWriter) error {
	w.Header().Set("Connection", "close")
	return errTooLarge
}

// readBody reads a JSON request body of at most MaxBodyBytes. It refuses a
// non-JSON content type and invalid UTF-8 (which encoding/json would
// otherwise replace silently).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errMediaType
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, tooLarge(w)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(w)
		}
		return nil, restauth.Errorf(restauth.EInvalid, "the body could not be read")
	}
	if !utf8.Valid(body) {
		return nil, restauth.Errorf(restauth.EInvalidJSON, "the body must be valid UTF-8")
	}
	return body, nil
}

// decodeStrings parses body as one JSON object whose values are all strings
// and whose keys are exactly among allowed. It refuses what a permissive
// decoder would let through: unknown fields (mass assignment such as "id"
// or "is_admin"), keys duplicated in any letter case, keys in another
// letter case, non-string values, escaped unpaired surrogates, and
// trailing data.
func decodeStrings(body []byte, allowed ...string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	bad := func(format string, args ...any) error {
		return restauth.Errorf(restauth.EInvalidJSON, format, args...)
	}
	if loneSurrogate(body) {
		return nil, bad("the body must not escape half of a surrogate pair")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, bad("the body must be a JSON object")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, bad("the body must be a JSON object")
	}
	out := make(map[string]string, len(allowed))
	seen := make(map[string]bool, len(allowed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("the body is not valid JSON")
		}
		key, _ := tok.(string)
		folded := strings.ToLower(key)
		if seen[folded] {
			return nil, bad("duplicate field %q", truncateField(key))
		}
		seen[folded] = true
		known := false
		for _, a := range allowed {
			known = known || a == key
		}
		if !known {
			return nil, bad("unknown field %q", truncateField(key))
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, bad("the body is not valid JSON")
		}
		v, ok := tok.(string)
		if !ok {
			// Skip the rest of an array or object so the message is about
			// the type, not the syntax.
			return nil, bad("field %q must be a string", key)
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad("the body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("unexpected data after the JSON object")
	}
	return out, nil
}

// loneSurrogate reports whether a JSON text escapes half of a UTF-16
// surrogate pair on its own (such as "\ud800"). encoding/json would
// silently replace it with U+FFFD, so that different inputs would name the
// same account or password, just as invalid UTF-8 would.
func loneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			inString = !inString
		case b[i] == '\\' && inString && i+1 < len(b):
			i++ // The escaped character, which may be a quote.
			r, ok := escapedRune(b[i:])
			if !ok || !utf16.IsSurrogate(r) {
				continue
			}
			i += 4
			// A high half must be followed at once by an escaped low half.
			if r < 0xdc00 && i+2 < len(b) && b[i+1] == '\\' {
				if r2, ok := escapedRune(b[i+2:]); ok && r2 >= 0xdc00 && r2 <= 0xdfff {
					i += 6
					continue
				}
			}
			return true
		}
	}
	return false
}

// escapedRune parses the "uXXXX" of a \u escape at the start of b.
func escapedRune(b []byte) (rune, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[1:5]), 16, 16)
	return rune(v), err == nil
}

func truncateField(s string) string {
	if len(s) > 32 {
		s = s[:32]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "…"
	}
	return s
}

// decode reads the request's JSON body into a T: a struct whose fields are
// all strings, each named by a json tag, and "required" in the tag when the
// field must be present and not empty. The body goes through readBody and
// decodeStrings, so it is held to their strictness; a missing required
// field is 400 invalid_request, checked here and nowhere else.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	body, err := readBody(w, r)
	if err != nil {
		var zero T
		return zero, err
	}
	return decodeBody[T](body)
}

// decodeBody is decode for a body already read.
func decodeBody[T any](body []byte) (T, error) {
	var v T
	rv := reflect.ValueOf(&v).Elem()
	spec := specOf(rv.Type())
	m, err := decodeStrings(body, spec.names...)
	if err != nil {
		return v, err
	}
	for _, f := range spec.fields {
		s := m[f.name]
		if f.required && s == "" {
			return v, restauth.Errorf(restauth.EInvalid, "%s is required", f.name)
		}
		rv.Field(f.index).SetString(s)
	}
	return v, nil
}

// bodySpec describes a request body type for decode.
type bodySpec struct {
	names  []string
	fields []bodyField
}

type bodyField struct {
	name     string
	index    int
	required bool
}

var bodySpecs sync.Map // reflect.Type → *bodySpec

// specOf reads a request body type's fields once. A field that is not a
// named string is a programming error, found by the first test to send
// that body.
func specOf(t reflect.Type) *bodySpec {
	if s, ok := bodySpecs.Load(t); ok {
		return s.(*bodySpec)
	}
	s := &bodySpec{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || f.Type.Kind() != reflect.String {
			panic("httpapi: request body field " + t.Name() + "." + f.Name + " must be a string with a json name")
		}
		s.names = append(s.names, name)
		s.fields = append(s.fields, bodyField{name: name, index: i, required: opts == "required"})
	}
	got, _ := bodySpecs.LoadOrStore(t, s)
	return got.(*bodySpec)
}

// The request bodies.
type (
	credentialsRequest struct {
		Username string `json:"username,required"`
		Password string `json:"password,required"`
	}
	refreshRequest struct {
		RefreshToken string `json:"refresh_token,required"`
	}
	changePasswordRequest struct {
		CurrentPassword string `json:"current_password,required"`
		NewPassword     string `json:"new_password,required"`
	}
	deleteAccountRequest struct {
		Password string `json:"password,required"`
	}
	// introspectRequest leaves the token optional: RFC 7662 answers a missing
	// or unknown token alike, {"active": false}.
	introspectRequest struct {
		Token         string `json:"token"`
		TokenTypeHint string `json:"token_type_hint"`
	}
)
