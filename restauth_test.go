package restauth_test

import (
	"fmt"
	"strings"
	"testing"

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
