package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	"github.com/GehirnInc/crypt/sha256_crypt"
	"github.com/GehirnInc/crypt/sha512_crypt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// limits bound the cost a stored hash may ask for. Verification refuses a
// hash above them before doing any work, so that a tampered row cannot make
// the server allocate or compute without bound.
type limits struct {
	argon2Memory     uint32 // KiB.
	argon2Time       uint32
	argon2Threads    uint64
	shaCryptRounds   uint64
	pbkdf2Iterations uint64
	scryptMemory     uint64 // Bytes, as 128·N·r·p.
	bcryptCost       int
}

// defaultLimits are the limits documented in the package comment.
var defaultLimits = limits{
	argon2Memory:     256 << 10,
	argon2Time:       16,
	argon2Threads:    16,
	shaCryptRounds:   5_000_000,
	pbkdf2Iterations: 10_000_000,
	scryptMemory:     256 << 20,
	bcryptCost:       16,
}

// Bounds that do not depend on cost.
const (
	maxEncodedLen    = 1024
	minArgon2Salt    = 8
	maxArgon2Salt    = 64
	minArgon2Key     = 16
	maxArgon2Key     = 64
	minSHARounds     = 1000 // Drepper's minimum; smaller values are raised to it.
	shaDefaultRounds = 5000 // Used when the hash has no "rounds=".
	maxSHASalt       = 16   // Drepper's maximum; longer salts are truncated to it.
	maxWerkzeugSalt  = 128
	scryptKeyLen     = 64 // hashlib.scrypt's default dklen, which Werkzeug uses.
	minBcryptCost    = 4
)

// verifier is a parsed stored hash whose parameters are within limits.
type verifier interface {
	// verify reports whether password matches, comparing in constant time.
	verify(password string) (bool, error)
	// current reports whether the hash is argon2id with exactly p.
	current(p Params) bool
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupportedHash, fmt.Sprintf(format, args...))
}

// parse recognises encoded's format and checks its syntax and parameters
// without computing anything expensive.
func parse(encoded string, lim *limits) (verifier, error) {
	if encoded == "" {
		return nil, malformed("empty")
	}
	if len(encoded) > maxEncodedLen {
		return nil, malformed("longer than %d bytes", maxEncodedLen)
	}
	for i := 0; i < len(encoded); i++ {
		if c := encoded[i]; c < '!' || c > '~' {
			return nil, malformed("not printable ASCII")
		}
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		return parseArgon2(encoded, lim)
	case strings.HasPrefix(encoded, "$5$"), strings.HasPrefix(encoded, "$6$"):
		return parseSHACrypt(encoded, lim)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return parseBcrypt(encoded, lim)
	case strings.HasPrefix(encoded, "pbkdf2:"):
		return parsePBKDF2(encoded, lim)
	case strings.HasPrefix(encoded, "scrypt:"), strings.HasPrefix(encoded, "scrypt$"):
		return parseScrypt(encoded, lim)
	}
	return nil, unsupported("unknown format")
}

// parseUint parses a decimal number written canonically: digits only, no
// sign and no leading zero.
func parseUint(s string, bitSize int) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, bitSize)
	if err != nil {
		return 0, false
	}
	return n, true
}

// argon2Hash is a parsed argon2id or argon2i PHC string.
type argon2Hash struct {
	variant string // "argon2id" or "argon2i".
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// argon2Encoding is the reference implementation's base64: standard
// alphabet, no padding, and no stray bits in the last character.
var argon2Encoding = base64.RawStdEncoding.Strict()

func parseArgon2(encoded string, lim *limits) (*argon2Hash, error) {
	// "", variant, "v=19", "m=..,t=..,p=..", salt, key.
	f := strings.Split(encoded, "$")
	if len(f) == 5 && strings.HasPrefix(f[2], "m=") {
		return nil, unsupported("argon2 version 16 (no v= field)")
	}
	if len(f) != 6 {
		return nil, malformed("argon2 needs 6 $-separated fields, got %d", len(f))
	}
	v, ok := strings.CutPrefix(f[2], "v=")
	if !ok {
		return nil, malformed("argon2 version field")
	}
	if version, ok := parseUint(v, 32); !ok {
		return nil, malformed("argon2 version")
	} else if version != argon2.Version {
		return nil, unsupported("argon2 version %d", version)
	}
	mtp := strings.Split(f[3], ",")
	if len(mtp) != 3 {
		return nil, malformed("argon2 parameters must be m=,t=,p=")
	}
	var nums [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(mtp[i], name)
		if !ok {
			return nil, malformed("argon2 parameters must be m=,t=,p=")
		}
		if nums[i], ok = parseUint(s, 32); !ok {
			return nil, malformed("argon2 parameter %s", name)
		}
	}
	salt, err := argon2Encoding.DecodeString(f[4])
	if err != nil {
		return nil, malformed("argon2 salt is not unpadded base64")
	}
	key, err := argon2Encoding.DecodeString(f[5])
	if err != nil {
		return nil, malformed("argon2 hash is not unpadded base64")
	}
	memory, time, threads := uint32(nums[0]), uint32(nums[1]), nums[2]
	if problem, costly := argon2Problem(memory, time, threads, uint64(len(salt)), uint64(len(key)), lim); costly {
		return nil, unsupported("%s", problem)
	} else if problem != "" {
		return nil, malformed("%s", problem)
	}
	return &argon2Hash{
		variant: f[1],
		memory:  memory,
		time:    time,
		threads: uint8(threads),
		salt:    salt,
		key:     key,
	}, nil
}

// argon2Problem returns what is wrong with argon2 parameters, or "" when
// nothing is. costly is true when a parameter exceeds a limit rather than
// breaking the algorithm's rules.
func argon2Problem(memory, time uint32, threads, saltLen, keyLen uint64, lim *limits) (problem string, costly bool) {
	switch {
	case threads == 0:
		return "argon2 needs at least one lane", false
	case threads > lim.argon2Threads:
		return fmt.Sprintf("argon2 lanes %d above the limit of %d", threads, lim.argon2Threads), true
	case time == 0:
		return "argon2 needs at least one pass", false
	case time > lim.argon2Time:
		return fmt.Sprintf("argon2 time %d above the limit of %d", time, lim.argon2Time), true
	case memory > lim.argon2Memory:
		return fmt.Sprintf("argon2 memory %d KiB above the limit of %d KiB", memory, lim.argon2Memory), true
	case uint64(memory) < 8*threads:
		return "argon2 memory below 8 KiB per lane", false
	case saltLen < minArgon2Salt || saltLen > maxArgon2Salt:
		return fmt.Sprintf("argon2 salt of %d bytes, want %d to %d", saltLen, minArgon2Salt, maxArgon2Salt), true
	case keyLen < minArgon2Key || keyLen > maxArgon2Key:
		return fmt.Sprintf("argon2 key of %d bytes, want %d to %d", keyLen, minArgon2Key, maxArgon2Key), true
	}
	return "", false
}

func (h *argon2Hash) verify(password string) (bool, error) {
	return h.verifyWith(password, (*keyRequest).key)
}

// verifyWith is verify with the key computed by derive, which a Hasher
// points at its hashing worker.
func (h *argon2Hash) verifyWith(password string, derive func(*keyRequest) []byte) (bool, error) {
	key := derive(&keyRequest{
		argon2id: h.variant == "argon2id", time: h.time, memory: h.memory, threads: h.threads,
		keyLen: uint32(len(h.key)), salt: h.salt, password: []byte(norm.NFKC.String(password)),
	})
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

func (h *argon2Hash) current(p Params) bool {
	return h.variant == "argon2id" &&
		h.memory == p.Memory && h.time == p.Time && h.threads == p.Threads &&
		uint64(len(h.salt)) == uint64(p.SaltLen) && uint64(len(h.key)) == uint64(p.KeyLen)
}

// shaCryptHash is a parsed sha256_crypt or sha512_crypt string.
type shaCryptHash struct {
	crypter crypt.Crypter
	setting string // The hash up to its salt: "$5$rounds=N$salt".
	encoded string
}

// The crypters keep only configuration, so they are safe to share.
var (
	sha256Crypter = sha256_crypt.New()
	sha512Crypter = sha512_crypt.New()
)

func parseSHACrypt(encoded string, lim *limits) (*shaCryptHash, error) {
	h := &shaCryptHash{crypter: sha256Crypter, encoded: encoded}
	sumLen := 43
	if encoded[1] == '6' {
		h.crypter, sumLen = sha512Crypter, 86
	}
	rest := encoded[3:]
	rounds := uint64(shaDefaultRounds)
	if after, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, ok := strings.Cut(after, "$")
		if !ok {
			return nil, malformed("sha-crypt has no salt")
		}
		if rounds, ok = parseUint(num, 64); !ok {
			return nil, malformed("sha-crypt rounds")
		}
		if rounds < minSHARounds {
			// Implementations raise smaller values to 1000 and write that.
			return nil, malformed("sha-crypt rounds below %d", minSHARounds)
		}
		rest = after
	}
	if rounds > lim.shaCryptRounds {
		return nil, unsupported("sha-crypt rounds %d above the limit of %d", rounds, lim.shaCryptRounds)
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok || salt == "" || len(salt) > maxSHASalt || !isHash64(salt) {
		return nil, malformed("sha-crypt salt")
	}
	if len(sum) != sumLen || !isHash64(sum) {
		return nil, malformed("sha-crypt checksum")
	}
	h.setting = encoded[:len(encoded)-len(sum)-1]
	return h, nil
}

// isHash64 reports whether s uses only the crypt(3) base64 alphabet.
func isHash64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

func (h *shaCryptHash) verify(password string) (bool, error) {
	// The library's own Verify passes the whole hash as the salt, which it
	// misreads when "rounds=" is followed by a salt shorter than 16
	// characters, so the setting alone is passed to Generate here.
	out, err := h.crypter.Generate([]byte(password), []byte(h.setting))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare([]byte(out), []byte(h.encoded)) == 1, nil
}

func (h *shaCryptHash) current(Params) bool { return false }

// pbkdf2Hash is a parsed Werkzeug "pbkdf2:<hash>:<iterations>" hash.
type pbkdf2Hash struct {
	newHash    func() hash.Hash
	iterations int
	salt       []byte
	sum        []byte
}

// pbkdf2Hashes are the hashlib names Werkzeug users are known to pick, with
// their digest sizes.
var pbkdf2Hashes = map[string]struct {
	new  func() hash.Hash
	size int
}{
	"sha1":   {sha1.New, sha1.Size},
	"sha224": {sha256.New224, sha256.Size224},
	"sha256": {sha256.New, sha256.Size},
	"sha384": {sha512.New384, sha512.Size384},
	"sha512": {sha512.New, sha512.Size},
}

// splitWerkzeug splits "method$salt$hexdigest" as Werkzeug does and checks
// the salt.
func splitWerkzeug(encoded string) (method, salt string, sum []byte, err error) {
	method, rest, _ := strings.Cut(encoded, "$")
	salt, hexSum, ok := strings.Cut(rest, "$")
	if !ok {
		return "", "", nil, malformed("werkzeug hash needs 3 $-separated fields")
	}
	if salt == "" || len(salt) > maxWerkzeugSalt {
		return "", "", nil, malformed("werkzeug salt of %d bytes, want 1 to %d", len(salt), maxWerkzeugSalt)
	}
	sum, err = hex.DecodeString(hexSum)
	if err != nil {
		return "", "", nil, malformed("werkzeug digest is not hexadecimal")
	}
	return method, salt, sum, nil
}

func parsePBKDF2(encoded string, lim *limits) (*pbkdf2Hash, error) {
	method, salt, sum, err := splitWerkzeug(encoded)
	if err != nil {
		return nil, err
	}
	args := strings.Split(method, ":")
	switch {
	case len(args) < 3:
		return nil, unsupported("werkzeug pbkdf2 without iterations")
	case len(args) > 3:
		return nil, malformed("werkzeug pbkdf2 takes 2 arguments")
	}
	alg, ok := pbkdf2Hashes[args[1]]
	if !ok {
		return nil, unsupported("werkzeug pbkdf2 hash %q", args[1])
	}
	iterations, ok := parseUint(args[2], 64)
	switch {
	case !ok || iterations == 0:
		return nil, malformed("werkzeug pbkdf2 iterations")
	case iterations > lim.pbkdf2Iterations:
		return nil, unsupported("pbkdf2 iterations %d above the limit of %d", iterations, lim.pbkdf2Iterations)
	}
	if len(sum) != alg.size {
		return nil, malformed("werkzeug pbkdf2 digest of %d bytes, want %d", len(sum), alg.size)
	}
	return &pbkdf2Hash{newHash: alg.new, iterations: int(iterations), salt: []byte(salt), sum: sum}, nil
}

func (h *pbkdf2Hash) verify(password string) (bool, error) {
	key, err := pbkdf2.Key(h.newHash, password, h.salt, h.iterations, len(h.sum))
	if err != nil {
		// Only reachable in FIPS 140-only mode, which refuses weak inputs.
		return false, fmt.Errorf("password: pbkdf2: %w", err)
	}
	return subtle.ConstantTimeCompare(key, h.sum) == 1, nil
}

func (h *pbkdf2Hash) current(Params) bool { return false }

// scryptHash is a parsed Werkzeug "scrypt:<N>:<r>:<p>" hash.
type scryptHash struct {
	n, r, p int
	salt    []byte
	sum     []byte
}

func parseScrypt(encoded string, lim *limits) (*scryptHash, error) {
	method, salt, sum, err := splitWerkzeug(encoded)
	if err != nil {
		return nil, err
	}
	// Werkzeug has always read a bare "scrypt" as N=2^15, r=8, p=1.
	nrp := [3]uint64{1 << 15, 8, 1}
	if method != "scrypt" {
		args := strings.Split(method, ":")
		if len(args) != 4 {
			return nil, malformed("werkzeug scrypt takes 3 arguments")
		}
		for i, a := range args[1:] {
			var ok bool
			if nrp[i], ok = parseUint(a, 32); !ok || nrp[i] == 0 {
				return nil, malformed("werkzeug scrypt arguments")
			}
		}
	}
	n, r, p := nrp[0], nrp[1], nrp[2]
	if n < 2 || n&(n-1) != 0 {
		return nil, malformed("scrypt N must be a power of two above 1")
	}
	// Each factor is below 2^32, so checking before each multiplication
	// keeps the product from overflowing.
	mem := uint64(128)
	for _, f := range []uint64{n, r, p} {
		if f > lim.scryptMemory/mem {
			return nil, unsupported("scrypt memory 128·N·r·p above the limit of %d bytes", lim.scryptMemory)
		}
		mem *= f
	}
	if len(sum) != scryptKeyLen {
		return nil, malformed("werkzeug scrypt digest of %d bytes, want %d", len(sum), scryptKeyLen)
	}
	return &scryptHash{n: int(n), r: int(r), p: int(p), salt: []byte(salt), sum: sum}, nil
}

func (h *scryptHash) verify(password string) (bool, error) {
	key, err := scrypt.Key([]byte(password), h.salt, h.n, h.r, h.p, len(h.sum))
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return subtle.ConstantTimeCompare(key, h.sum) == 1, nil
}

func (h *scryptHash) current(Params) bool { return false }

// bcryptHash is a parsed "$2a$", "$2b$" or "$2y$" bcrypt string. The three
// differ only in which historical bugs their writers had, none of which
// affects a password under 256 bytes, so they verify alike.
type bcryptHash struct {
	encoded string
}

func parseBcrypt(encoded string, lim *limits) (*bcryptHash, error) {
	// "$2b$" + two-digit cost + "$" + 22 characters of salt and 31 of hash.
	if len(encoded) != 60 || encoded[6] != '$' || !isHash64(encoded[7:]) {
		return nil, malformed("bcrypt")
	}
	cost, ok := parseUint(strings.TrimPrefix(encoded[4:6], "0"), 8)
	switch {
	case !ok || cost < minBcryptCost:
		return nil, malformed("bcrypt cost")
	case cost > uint64(lim.bcryptCost):
		return nil, unsupported("bcrypt cost %d above the limit of %d", cost, lim.bcryptCost)
	}
	return &bcryptHash{encoded: encoded}, nil
}

func (h *bcryptHash) verify(password string) (bool, error) {
	// CompareHashAndPassword compares in constant time.
	err := bcrypt.CompareHashAndPassword([]byte(h.encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
}

func (h *bcryptHash) current(Params) bool { return false }
