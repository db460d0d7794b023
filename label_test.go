package restauth_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/restauth/restauth"
)

func TestClientLabel(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes.
	tests := []struct{ in, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) ünïcødé", "Mozilla/5.0 (X11; Linux x86_64) ünïcødé"},
		{"", ""},
		{"\xff\xfe", "\ufffd"},
		{"a\xc3\x28b", "a\ufffd(b"},
		{"a\x00b\tc\x7fd\u0085e", "abcde"},
		{"keeps \ufffd as it is", "keeps \ufffd as it is"},
		{long, strings.Repeat("é", 128)},
		{"a" + long, "a" + strings.Repeat("é", 127)},
	}
	for _, tt := range tests {
		if got := restauth.ClientLabel(tt.in); got != tt.want {
			t.Errorf("ClientLabel(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzClientLabel checks that a label is always valid UTF-8, without
// control characters, and at most 256 bytes.
func FuzzClientLabel(f *testing.F) {
	for _, s := range []string{"", "\xff", "a\x00b", "\xc3\x28", "a\u0085b", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := restauth.ClientLabel(s)
		if !utf8.ValidString(l) || len(l) > 256 || strings.ContainsFunc(l, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }) {
			t.Fatalf("ClientLabel(%q) = %q: invalid UTF-8, a control character, or over 256 bytes", s, l)
		}
	})
}
