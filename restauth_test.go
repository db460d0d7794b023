package restauth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func TestSigningKeyNeverPrintsSeed(t *testing.T) {
	k := &restauth.SigningKey{ID: "kid1", Algorithm: "EdDSA", PrivateKey: []byte("SEEDSEEDSEED")}
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, v := range []any{k, *k} {
			if got := fmt.Sprintf(f, v); strings.Contains(got, "SEED") || strings.Contains(got, "83 69 69 68") {
				t.Errorf("Sprintf(%q) = %q, want the private key redacted", f, got)
			}
		}
	}
}

func TestRetrySeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{0, 0}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + time.Millisecond, 2}, {90 * time.Second, 90}} {
		if got := restauth.RetrySeconds(tc.d); got != tc.want {
			t.Errorf("RetrySeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
