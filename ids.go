package restauth

import "encoding/base64"

// SessionIDBytes is how many random bytes a session id carries; the
// command's NewID encodes them in unpadded base64url.
const SessionIDBytes = 16

// ValidSessionID reports whether id has the shape of a session id that
// restauth generates: SessionIDBytes random bytes in unpadded, canonical
// base64url (22 characters of A–Z, a–z, 0–9, '-' and '_'). Every door that
// takes a session id from a request checks it with this before any store
// call: an id of another shape cannot name a session, and answering it as
// an unknown one keeps bytes a database refuses (invalid UTF-8, NUL) away
// from the store. The check implies valid UTF-8 without NUL or any control
// character.
func ValidSessionID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(SessionIDBytes) {
		return false
	}
	// Strict refuses nonzero padding bits, so that each id has one
	// spelling.
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == SessionIDBytes
}
