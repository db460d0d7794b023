package restauth

import (
	"strings"
	"testing"
	"time"
)

// TestTOTPCodeVectors checks restauth's TOTP against RFC 6238 appendix B:
// the SHA-1 rows, whose six-digit codes are the last six digits of the
// eight the RFC lists. The expected values are the RFC's, typed in.
func TestTOTPCodeVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string // The RFC's eight digits.
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		if got := totpCode(key, totpStep(time.Unix(v.unix, 0))); got != v.want[2:] {
			t.Errorf("T=%d: got %s, want %s", v.unix, got, v.want[2:])
		}
	}
}

// FuzzCodeNormalizers checks the parsers of the codes people type: no
// input panics, and what they accept has exactly the shape the checks
// expect (six ASCII digits; sixteen lower-case base32 characters).
func FuzzCodeNormalizers(f *testing.F) {
	for _, s := range []string{"123456", "123 456", " 12345 6 ", "１２３４５６", "12345x", "", "abcd-efgh-ijkm-nopq",
		"ABCD EFGH IJKM NOPQ", "abcdefghijkmnopq1", "\x00\xff", strings.Repeat("1", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, ok := normalizeTOTPCode(s); ok {
			if len(c) != TOTPDigits || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("normalizeTOTPCode(%q) accepted %q", s, c)
			}
		}
		if c, ok := normalizeRecoveryCode(s); ok {
			if len(c) != recoveryCodeChars || strings.Trim(c, "abcdefghijklmnopqrstuvwxyz234567") != "" {
				t.Fatalf("normalizeRecoveryCode(%q) accepted %q", s, c)
			}
		}
		_ = FactorOf(s)
	})
}
