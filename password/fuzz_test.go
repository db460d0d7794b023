package password

import (
	"errors"
	"strings"
	"testing"
)

// fuzzLimits keep every hash the fuzzer can build cheap to verify, so that
// FuzzVerify exercises the real verification paths at thousands of
// executions a second. SHA-crypt hashes without "rounds=" imply 5000
// rounds and are refused, so only their parsing is fuzzed.
var fuzzLimits = limits{
	argon2Memory:     256,
	argon2Time:       2,
	argon2Threads:    4,
	shaCryptRounds:   1000,
	pbkdf2Iterations: 2000,
	scryptMemory:     256 << 10,
	bcryptCost:       4,
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		if _, err := parse(v.encoded, &fuzzLimits); err == nil {
			f.Add(v.password, v.encoded)
		}
	}
	for _, tt := range parseErrorTests {
		f.Add("password", tt.encoded)
	}
	f.Add("password", "scrypt:16:1:1$s$"+hex64)
	f.Add("password", "$argon2i$v=19$m=32,t=1,p=4$"+b64Salt+"$"+b64Key)
	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, err := check(password, encoded, &fuzzLimits)
		if ok && err != nil {
			t.Errorf("check = true, %v", err)
		}
		if err != nil && !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) {
			t.Errorf("check error %v is neither ErrMalformedHash nor ErrUnsupportedHash", err)
		}
		if err != nil && len(encoded) > 8 && strings.Contains(err.Error(), encoded) {
			t.Errorf("error %q contains the hash", err)
		}
		// NeedsRehash only parses, so the default limits are safe here.
		if parsed, err := parse(encoded, &fuzzLimits); err == nil && !NeedsRehash(encoded, DefaultParams) {
			if a, ok := parsed.(*argon2Hash); !ok || a.variant != "argon2id" {
				t.Errorf("NeedsRehash = false for a %T", parsed)
			}
		}
		IsCommon(password)
	})
}
