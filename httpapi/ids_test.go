package httpapi

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseUserID(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"", 0, false},
		{"0", 0, false},
		{"01", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{"1e3", 0, false},
		{"0x1", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
		{"１", 0, false}, // Fullwidth digit one.
		{"9223372036854775808", 0, false},
		{"99999999999999999999", 0, false},
		{"1\x00", 0, false},
		{"\xff", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseUserID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseUserID(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidSessionID(t *testing.T) {
	id := base64.RawURLEncoding.EncodeToString([]byte("0123456789abcdef"))
	tests := []struct {
		in string
		ok bool
	}{
		{id, true},
		{base64.RawURLEncoding.EncodeToString(make([]byte, 16)), true},
		{"__________________________w", false}, // 27 characters.
		{"_____________________w", true},       // 16 bytes of 0xff.
		{"_____________________x", false},      // Non-zero padding bits.
		{id[:21], false},
		{id + "A", false},
		{id + "==", false},
		{strings.Repeat("+", 22), false},
		{strings.Repeat("/", 22), false},
		{id[:21] + "\xff", false},
		{id[:20] + "\x00A", false},
		{"", false},
		{"unknown", false},
	}
	for _, tt := range tests {
		if got := validSessionID(tt.in); got != tt.ok {
			t.Errorf("validSessionID(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

// FuzzEdgeChecks checks the edge checkers against their definitions: an
// accepted user id is the canonical spelling of a positive int64, an
// accepted session id decodes to 16 bytes and re-encodes to itself.
func FuzzEdgeChecks(f *testing.F) {
	for _, s := range []string{"1", "01", "+1", "1e3", "9223372036854775808", "\xff", "a\x00b", "\xc3\x28",
		base64.RawURLEncoding.EncodeToString(make([]byte, 16)), "_____________________x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := parseUserID(s); ok && (id <= 0 || strconv.FormatInt(id, 10) != s) {
			t.Fatalf("parseUserID(%q) = %d: not the canonical spelling", s, id)
		}
		if validSessionID(s) {
			b, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil || len(b) != 16 || base64.RawURLEncoding.EncodeToString(b) != s {
				t.Fatalf("validSessionID(%q) accepted a value that is not 16 bytes in canonical base64url", s)
			}
		}
		if basicNameOK(s) && (!utf8.ValidString(s) || strings.ContainsRune(s, 0)) {
			t.Fatalf("basicNameOK(%q) accepted invalid UTF-8 or NUL", s)
		}
	})
}
