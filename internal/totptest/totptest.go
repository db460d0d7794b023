// Package totptest is an implementation of RFC 6238 TOTP for the tests,
// written from the RFC and independent of restauth's own, so that the codes
// the tests send are right by the RFC and not merely by restauth. Its
// correctness is checked against the RFC's appendix B vectors.
package totptest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Code returns the digits-long TOTP code of key at the Unix time unix:
// HMAC-SHA1 over the big-endian step count T = floor(unix / 30), dynamic
// truncation (RFC 4226 section 5.3), and the last digits of the result.
func Code(key []byte, unix int64, digits int) string {
	msg := make([]byte, 8)
	binary.BigEndian.PutUint64(msg, uint64(unix/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg)
	h := mac.Sum(nil)
	o := int(h[19] & 0xf)
	bin := (int(h[o])&0x7f)<<24 | int(h[o+1])<<16 | int(h[o+2])<<8 | int(h[o+3])
	mod := 1
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// Now returns the six-digit code of key at the current time plus drift
// 30-second steps.
func Now(key []byte, drift int) string {
	return Code(key, time.Now().Unix()+int64(drift)*30, 6)
}

// Wrong returns a six-digit code that is none of key's codes from two
// steps before now to two steps after, so that a test sending it as a
// wrong code is never right by chance.
func Wrong(key []byte) string {
	for d := 0; ; d++ {
		c := fmt.Sprintf("%06d", d*111111%1000000)
		ok := true
		for drift := -2; drift <= 2; drift++ {
			ok = ok && Now(key, drift) != c
		}
		if ok {
			return c
		}
	}
}

// Secret decodes a base32 secret as authenticator apps read it: upper or
// lower case, with or without padding.
func Secret(b32 string) ([]byte, error) {
	b32 = strings.ToUpper(strings.TrimRight(b32, "="))
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(b32)
}

// Secret32 is the base32 form of key, as the enrolment shows it.
func Secret32(key []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
}

// SecretOf returns the secret an otpauth://totp/ URI carries, after
// checking that the URI asks for what Code computes (SHA1, 6 digits, 30
// seconds).
func SecretOf(uri string) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || q.Get("algorithm") != "SHA1" || q.Get("digits") != "6" || q.Get("period") != "30" {
		return nil, fmt.Errorf("%q is not an otpauth://totp/ URI for SHA1, 6 digits, 30 seconds", uri)
	}
	return Secret(q.Get("secret"))
}
