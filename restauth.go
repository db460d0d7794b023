// Package restauth is the domain of the restauth authentication server: its
// vocabulary (User, Session, Claims), its one error type, and the rules for
// registering, authenticating, issuing, refreshing and revoking, gathered in
// Service. It imports only the standard library; the interfaces it needs from
// storage, hashing and signing are declared here, where they are consumed.
package restauth

import (
	"context"
	"time"
)

// User is a registered account. PasswordHash is a self-describing hash string
// (PHC argon2id for new hashes, or a legacy format awaiting upgrade); it never
// leaves the server.
type User struct {
	ID           int64
	Username     string // As registered, after NFC normalisation.
	PasswordHash string
	CreatedAt    time.Time
}

// Session is one password login and every token issued from it. It ends at
// ExpiresAt (absolute), when it has not been refreshed for the idle timeout,
// or when it is revoked.
type Session struct {
	ID         string
	UserID     int64
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	ClientIP   string
	UserAgent  string
	RevokedAt  time.Time // Zero while the session is live.
	// Reusable marks a session opened by a password-authenticated
	// GET /api/token (the REST-auth flow, which hands out no refresh token):
	// the next such request from the same client reuses it instead of
	// opening another.
	Reusable bool
}

// Live reports whether the session may still be used at now, given the idle
// timeout.
func (s *Session) Live(now time.Time, idle time.Duration) bool {
	if !s.RevokedAt.IsZero() || !now.Before(s.ExpiresAt) {
		return false
	}
	return idle <= 0 || now.Before(s.LastUsedAt.Add(idle))
}

// Claims are the verified contents of an access token.
type Claims struct {
	Issuer    string
	Audience  []string
	UserID    int64 // The "sub" claim, as a decimal string on the wire.
	Username  string
	SessionID string // The "sid" claim.
	ID        string // The "jti" claim.
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	// ClientID and Scope are set on tokens issued to an OAuth client: the
	// "client_id" and "scope" claims of RFC 9068 (scope space-separated).
	ClientID string
	Scope    string
}

// Principal is the authenticated caller of a request. SessionID and Claims
// are empty when the caller authenticated with a password or an API key.
type Principal struct {
	UserID    int64
	Username  string
	SessionID string
	Claims    *Claims
	APIKey    *APIKey // Set when the caller authenticated with a personal API key.
}

// ClientMeta describes where a request came from; it is recorded on sessions
// and keys the per-IP limits.
type ClientMeta struct {
	IP        string
	UserAgent string
}

// TokenPair is what a login or a refresh returns. RefreshToken is empty for
// the REST-auth GET /api/token flow, which renews with the access token.
type TokenPair struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string
	SessionID    string
}

// Revocation records that a session ended at a given time or, when
// SessionID is empty and UserID is set, a user-level revocation: the user's
// password changed, the user was deleted, or all its sessions were revoked,
// so every credential verified for the user before then must be forgotten
// (the verified-credential cache of every instance drops the user's
// entries).
type Revocation struct {
	SessionID string
	UserID    int64
	RevokedAt time.Time
}

// Counter is a fixed-window counter kept in the store so that restarts do not
// reset it and instances sharing a database share it.
type Counter struct {
	Count       int
	WindowStart time.Time
	Last        time.Time // Time of the most recent increment.
}

// RefreshRecord is the stored form of one refresh token: only its hash.
type RefreshRecord struct {
	Hash      []byte
	SessionID string
	CreatedAt time.Time
}

// Rotation asks a store to consume the refresh token whose hash is OldHash and
// store its successor, atomically.
type Rotation struct {
	OldHash []byte
	NewHash []byte
	// NewSealed is the successor token encrypted for the grace window, so that
	// a client retrying the same parent receives the same child.
	NewSealed []byte
	Now       time.Time
	// Live, when set, judges the session, as it was before this rotation,
	// before anything is written: when it refuses, the parent stays
	// unused, no child is stored and the session is not touched, and the
	// result has Ended set.
	Live func(*Session) bool
}

// RotationResult tells the Service what the store found: one of three
// outcomes. Ended: Live refused the session and nothing was written.
// Consumed: the parent was consumed and its child stored. Neither: the
// parent had been used before, at UsedAt, and ChildSealed holds the child
// stored then. Session is the session in every case.
type RotationResult struct {
	Session     *Session
	Ended       bool
	Consumed    bool
	UsedAt      time.Time
	ChildSealed []byte
}

// UserStore persists users. Usernames are unique under a case-insensitive key
// enforced by a unique index.
type UserStore interface {
	// CreateUser inserts u, sets u.ID and u.CreatedAt, and returns
	// ErrUsernameTaken when the folded name exists.
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context) ([]*User, error)
	// SetPasswordHash replaces the hash only while it still equals oldHash,
	// so a concurrent password change is never overwritten by a rehash. In
	// the same transaction it records a user-level revocation at the time
	// of the change (see UserRevocationsSince).
	SetPasswordHash(ctx context.Context, id int64, oldHash, newHash string) error
	// DeleteUser removes the user and revokes its sessions at now, returning
	// the revoked session ids, and records a user-level revocation at now,
	// in one transaction.
	DeleteUser(ctx context.Context, id int64, now time.Time) ([]string, error)
}

// SessionStore persists sessions and their refresh tokens. Where a method
// selects live sessions (ListSessions, ReuseSession) its conditions are
// Session.Live written as a query, so that the database does the
// selecting; the Service still judges every session it acts on with Live,
// the one statement of the rule.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session, refresh *RefreshRecord) error
	Session(ctx context.Context, id string) (*Session, error)
	// ListSessions returns the user's sessions that are not revoked and not
	// past their absolute expiry at now.
	ListSessions(ctx context.Context, userID int64, now time.Time) ([]*Session, error)
	// RotateRefresh consumes r.OldHash with a single conditional update.
	RotateRefresh(ctx context.Context, r Rotation) (*RotationResult, error)
	// RevokeSession revokes one live session of userID; ErrNotFound otherwise.
	RevokeSession(ctx context.Context, userID int64, id string, now time.Time) error
	// RevokeUserSessions revokes every live session of userID except the one
	// named (which may be empty) and returns the revoked ids. In the same
	// transaction it records a user-level revocation at now, even when no
	// session was live.
	RevokeUserSessions(ctx context.Context, userID int64, except string, now time.Time) ([]string, error)
	// RevokedSince returns sessions revoked at or after since.
	RevokedSince(ctx context.Context, since time.Time) ([]Revocation, error)
	// UserRevocationsSince returns the user-level revocations (UserID and
	// RevokedAt set, SessionID empty) recorded at or after since, including
	// those of deleted users.
	UserRevocationsSince(ctx context.Context, since time.Time) ([]Revocation, error)
	// ReuseSession finds the user's reusable session opened from clientIP
	// with userAgent that is not revoked, expires after now and was last used
	// after idleAfter (the zero time when there is no idle timeout), moves
	// its LastUsedAt to now, and returns it as it is after the update; the
	// most recently used one when there are several. It returns ErrNotFound
	// when there is none.
	ReuseSession(ctx context.Context, userID int64, clientIP, userAgent string, now, idleAfter time.Time) (*Session, error)
}

// CounterStore keeps rate-limit counters.
type CounterStore interface {
	// Incr adds one to key in a single statement, starting a new window when
	// the current one is older than window.
	Incr(ctx context.Context, key string, now time.Time, window time.Duration) (Counter, error)
	// Get returns the counter for key, or a zero Counter when the window has
	// passed or none exists.
	Get(ctx context.Context, key string, now time.Time, window time.Duration) (Counter, error)
	Reset(ctx context.Context, key string) error
	// Decr subtracts one from key, never below zero, leaving its window
	// alone; it refunds an attempt that was counted but not evaluated.
	Decr(ctx context.Context, key string) error
}

// PasswordHasher hashes and verifies passwords.
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches hash, and whether hash should
	// be replaced because it uses an old format or old parameters.
	Verify(ctx context.Context, password, hash string) (ok, rehash bool, err error)
	// Saturated reports whether a hash requested now would be refused at
	// once, so that a flood is shed before it costs a store round trip. A
	// hasher without an admission limit returns false.
	Saturated() bool
	// Busy reports whether err, returned by Hash or Verify, means the
	// hashing capacity is exhausted, and how long the client should wait
	// before retrying.
	Busy(err error) (retryAfter time.Duration, busy bool)
}

// TokenIssuer signs access tokens.
type TokenIssuer interface {
	Issue(ctx context.Context, c *Claims) (string, error)
}

// TokenVerifier verifies access tokens; it returns an *Error with code
// EInvalidToken for every refused token.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Claims, error)
}

// RefreshTokens makes opaque refresh tokens and seals a child token for the
// rotation grace window.
type RefreshTokens interface {
	// New returns a fresh token and its hash.
	New() (token string, hash []byte, err error)
	// Hash returns the stored hash of a presented token.
	Hash(token string) []byte
	Seal(token string, parentHash []byte) ([]byte, error)
	Open(sealed, parentHash []byte) (string, error)
}

// SigningKey is one access-token signing key as stored. A key is published in
// the JWKS from CreatedAt, signs from ActivatesAt (so that verifiers learn it
// first), and is dropped once ExpiresAt has passed (after every token it
// signed has expired). A zero ExpiresAt means the key has not been retired.
type SigningKey struct {
	ID          string // The "kid".
	Algorithm   string // "EdDSA".
	PrivateKey  []byte // The Ed25519 seed; never logged or served.
	PublicKey   []byte
	CreatedAt   time.Time
	ActivatesAt time.Time
	ExpiresAt   time.Time
}

// KeyStore persists signing keys and server secrets.
type KeyStore interface {
	// SigningKeys returns every key whose ExpiresAt is zero or after now.
	SigningKeys(ctx context.Context, now time.Time) ([]*SigningKey, error)
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// RetireSigningKeys sets ExpiresAt on every unretired key other than
	// keep.
	RetireSigningKeys(ctx context.Context, keep string, expiresAt time.Time) error
	// Secret returns the secret stored under name, storing gen() first when
	// there is none; concurrent callers all receive the one stored value.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}

// Sweeper deletes rows that no rule can need any more, so that tables stay
// bounded by live data rather than by history.
type Sweeper interface {
	// Sweep deletes sessions (with their refresh tokens) that expired or
	// were revoked before sessionsBefore, and counters last incremented
	// before countersBefore. It returns the number of rows deleted.
	Sweep(ctx context.Context, sessionsBefore, countersBefore time.Time) (int64, error)
}

// String describes the key without its private part, so that a key printed
// by mistake (with %v or %s) never reveals the seed.
func (k SigningKey) String() string {
	return "SigningKey{ID: " + k.ID + ", Algorithm: " + k.Algorithm + ", PrivateKey: <redacted>}"
}

// GoString redacts the private key from %#v as well.
func (k SigningKey) GoString() string { return k.String() }
