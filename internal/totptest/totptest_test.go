package totptest

import "testing"

// TestRFC6238Vectors checks Code against the SHA-1 rows of RFC 6238
// appendix B.
func TestRFC6238Vectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := Code(key, v.unix, 8); got != v.want {
			t.Errorf("T=%d: got %s, want %s", v.unix, got, v.want)
		}
	}
	// A six-digit code is the last six digits of the eight-digit one.
	if got := Code(key, 59, 6); got != "287082" {
		t.Errorf("six digits at T=59: got %s, want 287082", got)
	}
}
