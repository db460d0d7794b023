// Package password hashes and verifies restauth passwords, gates the
// expensive hash computations, and knows the common-password list.
//
// # New hashes
//
// Every new hash is argon2id (RFC 9106) in the PHC string format of the
// reference implementation, base64 without padding:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// [DefaultParams] are the OWASP recommendation: 19456 KiB (19 MiB) of memory,
// 2 passes, 1 lane, a 16-byte random salt and a 32-byte key. The password is
// normalised to Unicode NFKC before hashing and before verifying an argon2
// hash, so that the same characters typed on different keyboards (for
// example full-width "ｐａｓｓ" and "pass") give the same hash. Passwords are
// never truncated; [Hasher.Hash] refuses one longer than [MaxPasswordBytes]
// bytes with [ErrPasswordTooLong].
//
// # Verified formats
//
// Verification accepts, besides its own hashes, the formats found in
// databases migrated from REST-auth era services, and compares every result
// in constant time:
//
//   - argon2id and argon2i PHC strings, version 19 only (no argon2d, no
//     keyid or associated data). The password is NFKC-normalised, so an
//     argon2 hash migrated from a system that did not normalise verifies
//     only if its password was already in NFKC form, as ASCII ones are.
//   - sha256_crypt "$5$" and sha512_crypt "$6$" (Drepper's SHA-crypt, as
//     written by passlib, glibc and openssl), with or without "rounds=N$".
//     passlib's defaults are rounds=535000 and rounds=656000.
//   - Werkzeug "pbkdf2:<hash>:<iterations>$<salt>$<hex>", with hash sha1,
//     sha224, sha256, sha384 or sha512 and the digest as long as the hash
//     output. The form without iterations is refused: Werkzeug fills it in
//     with the default of whatever version runs, which is not recorded, and
//     Werkzeug itself always writes the iterations.
//   - Werkzeug "scrypt:<N>:<r>:<p>$<salt>$<hex>" with a 64-byte digest, and
//     the bare "scrypt$<salt>$<hex>", which Werkzeug reads as N=32768, r=8,
//     p=1 in every version.
//   - bcrypt "$2a$", "$2b$" and "$2y$". As in every bcrypt implementation,
//     only the first 72 bytes of the password count.
//
// Legacy (non-argon2) formats verify the password exactly as given, without
// normalisation, because the systems that wrote them hashed the raw UTF-8
// password. For Werkzeug formats the salt is the salt text's bytes.
// [Hasher.Verify] reports that any hash other than argon2id with the
// Hasher's own parameters should be replaced, so a legacy hash is upgraded
// at the user's next successful login.
//
// # Limits
//
// A stored hash chooses its own cost, so a tampered or corrupt row could
// make one verification allocate gigabytes or run for hours. Hashes whose
// parameters exceed these limits are refused with [ErrUnsupportedHash]
// before any work is done:
//
//   - argon2: memory at most 262144 KiB (256 MiB) and at least 8 KiB per
//     lane, time 1 to 16, lanes 1 to 16, salt 8 to 64 bytes, key 16 to 64
//     bytes.
//   - SHA-crypt: rounds 1000 (the algorithm's minimum) to 5,000,000, salt 1
//     to 16 characters.
//   - PBKDF2: 1 to 10,000,000 iterations, salt 1 to 128 bytes.
//   - scrypt: N a power of two above 1, and 128·N·r·p at most 256 MiB;
//     salt 1 to 128 bytes.
//   - bcrypt: cost 4 to 16.
//   - Any encoded hash: at most 1024 bytes of printable ASCII.
//
// Syntax errors and values the algorithm itself forbids (such as zero
// passes or fewer than 1000 SHA-crypt rounds) give [ErrMalformedHash]; the
// error text names the offending parameter but never includes the hash.
// Passwords longer than
// [MaxPasswordBytes] never match and are not hashed, which also bounds
// SHA-crypt, whose cost grows with the password's length.
//
// # Capacity
//
// Each argon2id computation holds its memory parameter (19 MiB by default)
// and one CPU for tens of milliseconds, and the legacy formats are just as
// expensive. A [Gate] therefore admits at most MaxConcurrent computations
// (default: the number of CPUs) and lets at most MaxQueue more callers
// (default 1024) wait, each for at most QueueTimeout (default 2s). A caller
// turned away receives a [*BusyError], whose RetryAfter method suggests when
// to try again; restauth reports it as its "overloaded" error. A caller
// whose context ends while waiting receives the context's error.
//
// # The hashing worker
//
// With [Options.Worker] set, argon2 keys are computed in child processes,
// which [ServeWorker] runs, after [SetProcessNice] when hashing should
// yield the CPU to request handling. A nice value cannot be given to the
// computation inside one Go process, because golang.org/x/crypto/argon2
// computes on goroutines of its own that run on any thread; a process's
// threads all inherit it. There is one worker per computation that runs at
// once, up to runtime.GOMAXPROCS(0), so that a garbage collection in a
// worker (every hash or two) stops that worker alone. A worker checks every
// request against the limits above. When one cannot start or exits, the
// Hasher computes its keys in its own process and starts a new worker on a
// later hash, at most once a second; [Hasher.Close] stops them.
//
// # Common passwords
//
// [IsCommon] reports whether a password, NFKC-normalised and lower-cased,
// is on the embedded list of 49,233 common passwords from the MIT-licensed
// zxcvbn-ts project (npm package @zxcvbn-ts/language-common 4.1.3,
// src/passwords.json); see common-passwords.LICENSE and gen_common.sh.
package password
