package restauth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TOTP parameters (RFC 6238): HMAC-SHA1, six digits, 30-second steps, the
// defaults every authenticator app reads from an otpauth:// URI, and a
// 160-bit secret, the length RFC 4226 recommends for HMAC-SHA1.
const (
	TOTPDigits      = 6
	TOTPPeriod      = 30 * time.Second
	TOTPSecretBytes = 20
	// TOTPDrift is the number of steps either side of the current one a code
	// may come from, for clocks that disagree.
	TOTPDrift = 1
)

// totpEncoding is the secret's text form: base32 without padding, as the
// otpauth:// URI and authenticator apps expect.
var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// totpStep returns the RFC 6238 time step that t falls in.
func totpStep(t time.Time) int64 {
	return t.Unix() / int64(TOTPPeriod/time.Second)
}

// totpCode returns the code of secret at step (RFC 4226 HOTP with the step
// as its counter), as TOTPDigits decimal digits.
func totpCode(secret []byte, step int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range TOTPDigits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(bin%mod), 10)
	return strings.Repeat("0", TOTPDigits-len(s)) + s
}

// totpMatch returns the step, within TOTPDrift of now's, whose code equals
// code, and ok false when none does. Every candidate is compared in
// constant time, so that timing does not tell which step came close.
func totpMatch(secret []byte, code string, now time.Time) (step int64, ok bool) {
	cur := totpStep(now)
	for d := int64(-TOTPDrift); d <= TOTPDrift; d++ {
		if subtle.ConstantTimeCompare([]byte(totpCode(secret, cur+d)), []byte(code)) == 1 && !ok {
			step, ok = cur+d, true
		}
	}
	return step, ok
}

// normalizeTOTPCode strips the spaces people type or paste inside a code
// and reports whether what is left is TOTPDigits ASCII digits.
func normalizeTOTPCode(code string) (string, bool) {
	if len(code) > 32 {
		return "", false
	}
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != TOTPDigits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// totpURI returns the otpauth:// URI (the Key Uri Format of Google
// Authenticator, read by every authenticator app) for a secret of the
// account named account at issuer.
func totpURI(issuer, account string, secret []byte) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{
		"secret":    {totpEncoding.EncodeToString(secret)},
		"issuer":    {issuer},
		"algorithm": {"SHA1"},
		"digits":    {strconv.Itoa(TOTPDigits)},
		"period":    {strconv.Itoa(int(TOTPPeriod / time.Second))},
	}
	return (&url.URL{Scheme: "otpauth", Host: "totp", Opaque: "//totp/" + label, RawQuery: q.Encode()}).String()
}
