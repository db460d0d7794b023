package restauth

import "time"

// MaxPasswordBytes bounds a password's UTF-8 length, before and after NFKC
// normalisation, whatever MaxPasswordLen says: the cost of the legacy
// SHA-crypt formats grows with the password's length.
const MaxPasswordBytes = 1024

// Config holds the rules' tunable numbers. DefaultConfig documents every
// default; docs/security.md and the README repeat them for operators.
type Config struct {
	Issuer   string // The "iss" claim.
	Audience string // The "aud" claim.

	AccessTTL    time.Duration // Access-token lifetime.
	SessionTTL   time.Duration // Absolute session lifetime.
	SessionIdle  time.Duration // A session not refreshed for this long ends.
	RefreshGrace time.Duration // Window in which a rotated refresh token returns the same child.
	Leeway       time.Duration // Clock-skew allowance for exp, nbf and iat.

	// SignupClosed refuses registrations from the API and the pages, for
	// invite-only deployments; operators still add users.
	SignupClosed bool

	MinPasswordLen int // In characters, after NFKC normalisation.
	MaxPasswordLen int
	MaxUsernameLen int

	// Per-account tarpit: after AccountFreeFailures failures in
	// AccountWindow, each further attempt must wait AccountDelayBase doubled
	// per failure, capped at AccountDelayMax; AccountMaxFailures failures in
	// the window block the account's logins until the window ends. A success
	// clears the counter. AccountMaxFailures 0 disables the tarpit.
	AccountFreeFailures int
	AccountMaxFailures  int
	AccountWindow       time.Duration
	AccountDelayBase    time.Duration
	AccountDelayMax     time.Duration

	// Per client IP: failed logins and registrations per window; 0 disables.
	LoginIPLimit     int
	LoginIPWindow    time.Duration
	RegisterIPLimit  int
	RegisterIPWindow time.Duration

	// Verified-credential cache (the HTTP Basic password fast path): after a
	// successful verification, the same username and password are accepted
	// without hashing for at most CredentialCacheTTL, from a cache of at most
	// CredentialCacheSize entries per process. CredentialCacheTTL 0 turns it
	// off.
	CredentialCacheTTL  time.Duration
	CredentialCacheSize int
}

// DefaultConfig returns the defaults restauth ships with.
func DefaultConfig() Config {
	return Config{
		Issuer:              "restauth",
		Audience:            "restauth",
		AccessTTL:           600 * time.Second,
		SessionTTL:          30 * 24 * time.Hour,
		SessionIdle:         7 * 24 * time.Hour,
		RefreshGrace:        10 * time.Second,
		Leeway:              30 * time.Second,
		MinPasswordLen:      8,
		MaxPasswordLen:      256,
		MaxUsernameLen:      64,
		AccountFreeFailures: 5,
		AccountMaxFailures:  100,
		AccountWindow:       time.Hour,
		AccountDelayBase:    time.Second,
		AccountDelayMax:     30 * time.Second,
		LoginIPLimit:        100,
		LoginIPWindow:       15 * time.Minute,
		RegisterIPLimit:     50,
		RegisterIPWindow:    time.Hour,
		CredentialCacheTTL:  60 * time.Second,
		CredentialCacheSize: 10000,
	}
}

// RevocationKeep is how long a revocation must be remembered in memory: as
// long as any access token of the session could still verify.
func (c Config) RevocationKeep() time.Duration {
	return c.AccessTTL + 2*c.Leeway + time.Minute
}
