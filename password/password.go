package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os/exec"
	"strconv"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is the longest password, in bytes as received, that is
// hashed or verified. The 256 characters that registration allows take at
// most 1024 bytes of UTF-8, and the bound keeps SHA-crypt, whose cost grows
// with the password's length, in check.
const MaxPasswordBytes = 1024

// Errors returned for passwords and stored hashes. Errors for hashes never
// include the hash itself.
var (
	// ErrMalformedHash means the stored hash is not valid in its format.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash means the hash uses a format, version or
	// parameters outside what this package verifies, including parameters
	// above the cost limits.
	ErrUnsupportedHash = errors.New("password: unsupported hash")
	// ErrPasswordTooLong is returned by Hash for passwords over
	// MaxPasswordBytes.
	ErrPasswordTooLong = errors.New("password: password is too long")
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // In KiB.
	Time    uint32 // Number of passes over the memory.
	Threads uint8  // Degree of parallelism (lanes).
	SaltLen uint32 // In bytes.
	KeyLen  uint32 // In bytes.
}

// DefaultParams are OWASP's recommended argon2id parameters: 19 MiB, two
// passes, one lane, a 16-byte salt and a 32-byte key.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p lies within the limits that verification
// accepts, so that every hash made with p can later be verified.
func (p Params) Validate() error {
	problem, _ := argon2Problem(p.Memory, p.Time, uint64(p.Threads), uint64(p.SaltLen), uint64(p.KeyLen), &defaultLimits)
	if problem != "" {
		return errors.New("password: invalid argon2 parameters: " + problem)
	}
	return nil
}

// withDefaults returns p with each zero field replaced by its default.
func (p Params) withDefaults() Params {
	if p.Memory == 0 {
		p.Memory = DefaultParams.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultParams.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultParams.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultParams.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultParams.KeyLen
	}
	return p
}

// Options configure a Hasher. Zero values select the defaults.
type Options struct {
	Params        Params // Zero fields take DefaultParams' values.
	MaxConcurrent int    // Hash computations at once; default runtime.NumCPU().
	MaxQueue      int    // Callers waiting for a slot; default 1024.
	// QueueTimeout is the longest a caller waits for a slot; default 2s.
	QueueTimeout time.Duration
	// Worker, when set, returns the command of a hashing worker process
	// (one that runs ServeWorker on its standard input and output), and
	// argon2 keys are computed in such processes: one per computation
	// that runs at once, up to runtime.GOMAXPROCS(0), each started on its
	// first computation with GOMAXPROCS added to the command's
	// environment. Nil computes keys on the caller's goroutine.
	Worker func() *exec.Cmd
	// WorkerError, when set, is told when a worker cannot start or
	// exits; the Hasher then computes that worker's keys itself until a
	// new one starts, at most once a second.
	WorkerError func(error)
}

// Hasher hashes new passwords with argon2id and verifies every supported
// format, admitting computations through a Gate. It is safe for concurrent
// use.
type Hasher struct {
	params Params
	gate   *Gate
	worker *workerPool // Nil when keys are computed in this process.
}

// New returns a Hasher configured by opts. It panics if the resulting
// parameters are invalid; call Params.Validate first when they come from
// configuration. A Hasher with a Worker starts each worker process on the
// first hash sent to it; Close stops them.
func New(opts Options) *Hasher {
	p := opts.Params.withDefaults()
	if err := p.Validate(); err != nil {
		panic(err)
	}
	h := &Hasher{
		params: p,
		gate:   NewGate(opts.MaxConcurrent, opts.MaxQueue, opts.QueueTimeout),
	}
	if opts.Worker != nil {
		h.worker = newWorkerPool(cap(h.gate.slots), p.Threads, opts.Worker, opts.WorkerError)
	}
	return h
}

// Close stops the hashing workers, if any, once they have answered the
// computations in flight, and waits for them to exit. Hashing after Close
// computes in this process.
func (h *Hasher) Close() {
	if h.worker != nil {
		h.worker.close()
	}
}

// argon2Key computes req's key in the worker process when the Hasher has
// one that runs, and here otherwise.
func (h *Hasher) argon2Key(req *keyRequest) []byte {
	if h.worker != nil {
		if key, err := h.worker.key(*req); err == nil && key != nil {
			return key
		}
	}
	return req.key()
}

// Saturated reports whether a hash requested now would be refused with a
// *BusyError without waiting.
func (h *Hasher) Saturated() bool { return h.gate.Saturated() }

// Busy reports whether err, returned by Hash or Verify, is a *BusyError
// (hashing capacity exhausted), and when the client should retry.
func (h *Hasher) Busy(err error) (time.Duration, bool) {
	var be *BusyError
	if errors.As(err, &be) {
		return be.RetryAfter(), true
	}
	return 0, false
}

// Params returns the argon2id parameters of new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the argon2id PHC string of the NFKC form of password. It
// returns a *BusyError when hashing capacity is exhausted, ctx's error when
// ctx ends while waiting, and ErrPasswordTooLong for a password over
// MaxPasswordBytes.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt) // Never returns an error; it crashes the program instead.
	if err := h.gate.Acquire(ctx); err != nil {
		return "", err
	}
	defer h.gate.Release()
	return hashArgon2id(password, salt, h.params, h.argon2Key), nil
}

// Verify reports whether password matches encoded, and, when it does,
// whether encoded should be replaced by a new hash because it is a legacy
// format or argon2id with other parameters than the Hasher's.
//
// A wrong password gives (false, false, nil), as does a password over
// MaxPasswordBytes, which is refused without computing anything. A
// malformed, unsupported or too costly hash gives ErrMalformedHash or
// ErrUnsupportedHash; exhausted capacity gives a *BusyError.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	parsed, err := parse(encoded, &defaultLimits)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	if err := h.gate.Acquire(ctx); err != nil {
		return false, false, err
	}
	if a, isArgon2 := parsed.(*argon2Hash); isArgon2 {
		ok, err = a.verifyWith(password, h.argon2Key)
	} else {
		ok, err = parsed.verify(password)
	}
	h.gate.Release()
	if err != nil || !ok {
		return false, false, err
	}
	return true, !parsed.current(h.params), nil
}

// Check reports whether password matches encoded, like Hasher.Verify but
// without admission control. It is meant for tests and tools.
func Check(password, encoded string) (bool, error) {
	return check(password, encoded, &defaultLimits)
}

// check is Check under the given limits; the fuzz target uses small ones.
func check(password, encoded string, lim *limits) (bool, error) {
	parsed, err := parse(encoded, lim)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	return parsed.verify(password)
}

// NeedsRehash reports whether encoded is anything other than a well-formed
// argon2id hash with exactly the parameters p.
func NeedsRehash(encoded string, p Params) bool {
	parsed, err := parse(encoded, &defaultLimits)
	return err != nil || !parsed.current(p)
}

// hashArgon2id hashes the NFKC form of password with salt and p, the key
// computed by derive, and returns the PHC string.
func hashArgon2id(password string, salt []byte, p Params, derive func(*keyRequest) []byte) string {
	key := derive(&keyRequest{
		argon2id: true, time: p.Time, memory: p.Memory, threads: p.Threads, keyLen: p.KeyLen,
		salt: salt, password: []byte(norm.NFKC.String(password)),
	})
	b := make([]byte, 0, 64+base64.RawStdEncoding.EncodedLen(len(salt)+len(key)))
	b = append(b, "$argon2id$v="...)
	b = strconv.AppendInt(b, argon2.Version, 10)
	b = append(b, "$m="...)
	b = strconv.AppendUint(b, uint64(p.Memory), 10)
	b = append(b, ",t="...)
	b = strconv.AppendUint(b, uint64(p.Time), 10)
	b = append(b, ",p="...)
	b = strconv.AppendUint(b, uint64(p.Threads), 10)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, salt)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, key)
	return string(b)
}
