package passkey

import (
	"testing"

	"github.com/restauth/restauth"
)

// FuzzResponses sends arbitrary bytes as an authenticator's response to
// both ceremonies: each is refused with EPasskeyRefused, and nothing
// panics.
func FuzzResponses(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"id":"AA","rawId":"AA","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AA","userHandle":"AAAAAAAAAAE"}}`,
	} {
		f.Add([]byte(s))
	}
	c, err := New("https://auth.example.com", "restauth")
	if err != nil {
		f.Fatal(err)
	}
	u := &restauth.PasskeyUser{Handle: restauth.PasskeyHandle(1), Name: "alice"}
	_, regState, err := c.BeginRegistration(u)
	if err != nil {
		f.Fatal(err)
	}
	_, loginState, err := c.BeginLogin(nil)
	if err != nil {
		f.Fatal(err)
	}
	find := func(credentialID, handle []byte) (*restauth.PasskeyUser, error) { return u, nil }
	f.Fuzz(func(t *testing.T, response []byte) {
		if _, _, err := c.FinishRegistration(u, regState, response); restauth.ErrorCode(err) != restauth.EPasskeyRefused {
			t.Errorf("FinishRegistration(%q): %v, want %s", response, err, restauth.EPasskeyRefused)
		}
		if _, _, err := c.FinishLogin(loginState, response, find); restauth.ErrorCode(err) != restauth.EPasskeyRefused {
			t.Errorf("FinishLogin(%q): %v, want %s", response, err, restauth.EPasskeyRefused)
		}
	})
}
