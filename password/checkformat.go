package password

// CheckFormat reports whether encoded is a hash that Verify can read:
// argon2id or argon2i, sha256_crypt or sha512_crypt, bcrypt, or a Werkzeug
// pbkdf2 or scrypt hash, with costs within Verify's limits. It computes
// nothing expensive, so an import can check every user's hash up front and
// name the users who could never sign in. The error wraps ErrMalformedHash
// or ErrUnsupportedHash and never contains the hash.
func CheckFormat(encoded string) error {
	_, err := parse(encoded, &defaultLimits)
	return err
}
