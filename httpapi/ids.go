package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/restauth/restauth"
)

// Identifiers that arrive in a path, a query string or a form are checked
// here, at the edge, before anything reaches a store. Each kind has one
// checker that accepts exactly the shape restauth itself produces: an
// identifier of any other shape cannot name anything that exists, so it is
// answered as an unknown one is (404 for a path, 400 for a parameter)
// without asking the store. This is what keeps bytes that a database
// refuses (invalid UTF-8, NUL, numbers out of a column's range) from
// turning into a store error on one database and a 404 on another.
//
// A route that takes a new kind of identifier (a key id, a client id, an
// authorization code, a device or user code, a redirect URI) adds its
// checker here (isBase64URLOf fits every random identifier), calls it
// before its first store call, and adds its hostile values to the
// both-stores tables in hostile_test.go.

// maxUserIDDigits is the length of the largest int64, 9223372036854775807.
const maxUserIDDigits = 19

// parseUserID returns the user id that s spells, when s is the canonical
// decimal form of a positive int64: digits only, no sign, no leading zero,
// no spaces. "01", "+1", "1e3" and "0x1" each spell no id, so that one user
// has one URL.
func parseUserID(s string) (int64, bool) {
	if len(s) == 0 || len(s) > maxUserIDDigits || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, false // Nineteen digits beyond the int64 range.
	}
	return id, true
}

// validSessionID reports whether s has the shape of a session id that
// restauth generates; restauth.ValidSessionID is the one definition, which
// the pages share.
func validSessionID(s string) bool {
	return restauth.ValidSessionID(s)
}

// isBase64URLOf reports whether s is the canonical unpadded base64url
// encoding of exactly n bytes: the exact length, the exact alphabet, and
// zero bits where the last character pads. A value with the right length
// and alphabet but other padding bits decodes to the same bytes as a
// canonical one; refusing it keeps one spelling per identifier.
func isBase64URLOf(s string, n int) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(n) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == n
}

// basicNameOK reports whether a username offered with a password (in Basic
// credentials or a login body) can name anything: valid UTF-8 without NUL.
// No account, token or client has any other name (a registration refuses
// invalid UTF-8 and control characters, and PostgreSQL can store neither),
// so a name that fails is refused as an unknown one is, before it reaches
// a lookup or becomes a counter key.
func basicNameOK(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// errUnknownName is the answer to a login whose username basicNameOK
// refuses: the code and message of any unknown username.
var errUnknownName = restauth.Errorf(restauth.EUnauthorized, "invalid username or password")
