package restauth

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Normalizer applies Unicode normalisation. The domain declares it so that
// it can state its username and password rules while importing only the
// standard library; cmd/restauth wires golang.org/x/text in.
type Normalizer interface {
	NFC(s string) string
	NFKC(s string) string
}

// Deps are the Service's collaborators.
type Deps struct {
	Users    UserStore
	Sessions SessionStore
	// Browsers keeps the browser sessions of the pages; nil when the
	// pages are not served (their calls then fail).
	Browsers    BrowserStore
	Counters    CounterStore
	Hasher      PasswordHasher
	Issuer      TokenIssuer
	Verifier    TokenVerifier
	Refresh     RefreshTokens
	Revocations *RevocationSet
	// APIKeys keeps personal API keys; nil turns them off.
	APIKeys    APIKeyStore
	Normalizer Normalizer
	// IsCommon reports whether a password is on the common-password list.
	IsCommon func(password string) bool
	Logger   *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// NewID returns a random session id.
	NewID func() (string, error)
	// MFA keeps second factors; nil means no user has one.
	MFA MFAStore
	// Passkeys and PasskeyCeremonies, both set, turn passkeys on; either
	// nil leaves them off.
	Passkeys          PasskeyStore
	PasskeyCeremonies PasskeyCeremonies
	// OIDC turns the OpenID Connect provider on (oauth.go); the zero
	// value leaves it off.
	OIDC OIDC
}

// Service holds restauth's rules: registration, authentication, token
// issue, refresh, and revocation. It is safe for concurrent use.
type Service struct {
	cfg  Config
	deps Deps // Private, so that every caller goes through the rules.

	inflight *inflight        // Password checks being evaluated, per limit key.
	creds    *credentialCache // Nil when the credential cache is off.
	renewals *keyedMutex      // One password renewal at a time per client.
	keys     apiKeys          // Verified personal API keys and their last uses.

	dummyMu   sync.Mutex
	dummyHash string
}

// NewService returns a Service with cfg and deps.
func NewService(cfg Config, deps Deps) *Service {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Revocations == nil {
		deps.Revocations = NewRevocationSet(cfg.RevocationKeep())
	}
	if len(deps.OIDC.DeviceSecret) == 0 {
		// crypto/rand.Read never fails: it crashes the program instead.
		deps.OIDC.DeviceSecret = make([]byte, 32)
		rand.Read(deps.OIDC.DeviceSecret)
	}
	s := &Service{cfg: cfg, deps: deps, inflight: newInflight(), renewals: newKeyedMutex(),
		creds: newCredentialCache(cfg.CredentialCacheTTL, cfg.CredentialCacheSize)}
	if s.creds != nil {
		// A user-level revocation made here or, through the revocation
		// feed, on any other instance drops the user's cached
		// verifications at once.
		deps.Revocations.OnUserRevoked(s.creds.dropUser)
	}
	// Every key deletion records a user-level revocation, so the same
	// feed ends a key's cached verification everywhere.
	deps.Revocations.OnUserRevoked(s.keys.cache.dropUser)
	return s
}

// Config returns the Service's configuration.
func (s *Service) Config() Config { return s.cfg }

var (
	errBadCredentials = &Error{Code: EUnauthorized, Message: "invalid username or password"}
	errBadToken       = &Error{Code: EInvalidToken, Message: "token is invalid or expired"}
	errBadRefresh     = &Error{Code: EInvalidGrant, Message: "refresh token is invalid or expired"}
	errOverloaded     = &Error{Code: EOverloaded, Message: "the server is busy; retry shortly", RetryAfter: time.Second}
)

// NormalizeUsername returns the NFC form of name after checking the
// username rules: 1 to MaxUsernameLen characters, valid UTF-8, no control
// characters, no ':' (it could never log in over HTTP Basic) and no
// surrounding white space.
func (s *Service) NormalizeUsername(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EInvalidUsername, "username must be valid UTF-8")
	}
	name = s.deps.Normalizer.NFC(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", Errorf(EInvalidUsername, "username must not be empty")
	case n > s.cfg.MaxUsernameLen:
		return "", Errorf(EInvalidUsername, "username must be at most %d characters", s.cfg.MaxUsernameLen)
	case strings.TrimSpace(name) != name:
		return "", Errorf(EInvalidUsername, "username must not start or end with white space")
	}
	for _, r := range name {
		if r == ':' || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", Errorf(EInvalidUsername, "username must not contain control, format or line-separator characters or ':'")
		}
	}
	return name, nil
}

// FoldUsername returns the key under which usernames are unique: the
// lower-case form of the NFC name that NormalizeUsername returns. Stores
// index it; this is the one place the rule is written.
func FoldUsername(name string) string { return strings.ToLower(name) }

// CheckPassword applies the password policy (NIST SP 800-63B): a length in
// characters after NFKC normalisation between MinPasswordLen and
// MaxPasswordLen, and not on the common-password list. There are no
// composition rules.
func (s *Service) CheckPassword(password string) error {
	if !utf8.ValidString(password) {
		return Errorf(EInvalid, "password must be valid UTF-8")
	}
	tooLong := Errorf(EPasswordLong, "password must be at most %d characters", s.cfg.MaxPasswordLen)
	if len(password) > MaxPasswordBytes {
		// Refuse absurd input before normalising it.
		return tooLong
	}
	nfkc := s.deps.Normalizer.NFKC(password)
	n := utf8.RuneCountInString(nfkc)
	switch {
	case len(nfkc) > MaxPasswordBytes:
		return tooLong
	case strings.ContainsFunc(password, unicode.IsControl):
		return Errorf(EInvalid, "password must not contain control characters")
	case n < s.cfg.MinPasswordLen:
		return Errorf(EPasswordShort, "password must be at least %d characters", s.cfg.MinPasswordLen)
	case n > s.cfg.MaxPasswordLen:
		return Errorf(EPasswordLong, "password must be at most %d characters", s.cfg.MaxPasswordLen)
	case s.deps.IsCommon != nil && s.deps.IsCommon(password):
		return Errorf(EPasswordCommon, "password is too common; choose a less predictable one")
	}
	return nil
}

// Register creates an account. The per-IP registration limit is counted
// before any hashing.
func (s *Service) Register(ctx context.Context, username, password string, meta ClientMeta) (*User, error) {
	if s.cfg.SignupClosed {
		return nil, errSignupClosed
	}
	return s.addUser(ctx, username, password, meta.IP)
}

// AddUser creates an account for an operator (restauth user add): the
// username and password rules apply, but neither the per-IP registration
// limit nor a closed sign-up, which govern strangers, not operators.
func (s *Service) AddUser(ctx context.Context, username, password string) (*User, error) {
	return s.addUser(ctx, username, password, "")
}

var errSignupClosed = &Error{Code: EForbidden, Message: "sign-up is closed on this server; an operator adds accounts"}

func (s *Service) addUser(ctx context.Context, username, password, ip string) (*User, error) {
	name, err := s.NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := s.CheckPassword(password); err != nil {
		return nil, err
	}
	if err := s.limitRegistrations(ctx, ip); err != nil {
		return nil, err
	}
	hash, err := s.deps.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, s.hashErr(err)
	}
	u := &User{Username: name, PasswordHash: hash}
	if err := s.deps.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// User returns the user with the given id.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	return s.deps.Users.UserByID(ctx, id)
}

// UserByName returns the user registered under name, compared as the
// username rules fold it.
func (s *Service) UserByName(ctx context.Context, name string) (*User, error) {
	if !utf8.ValidString(name) {
		return nil, ErrNotFound
	}
	return s.deps.Users.UserByUsername(ctx, s.deps.Normalizer.NFC(name))
}

// Authenticate checks a username and password under the brute-force rules:
// the per-account tarpit and the per-IP failure limit apply before the hash
// is computed, an unknown user costs one dummy hash so that timing does not
// reveal which accounts exist, and a hash in an old format or with old
// parameters is upgraded after a success.
//
// The stored counters hold failures only, recorded once they are known. What
// keeps a burst of concurrent guesses inside the limits is the in-flight
// bound: a check may be evaluated only while the checks of the same account
// (and address) already running, counted as if each were to fail, still fit
// in what the stored failures allow. The checks beyond it wait for a slot
// rather than being refused, so many correct passwords sent at once for one
// account all succeed, and a burst of guesses is still hashed at most as
// often as the free failures allow.
//
// A username and password verified within CredentialCacheTTL are accepted
// from the credential cache without hashing, without a store round trip and
// without counting against the limits: a cache hit is only possible with the
// exact password that succeeded, so it is never a guess.
//
// A user with a second factor is refused with EMFARequired: a password
// alone, as HTTP Basic sends it, is not enough for such a user, and the
// credential cache never holds one (see authenticate).
func (s *Service) Authenticate(ctx context.Context, username, password string, meta ClientMeta) (*User, error) {
	u, mfa, err := s.authenticate(ctx, username, password, meta, true)
	if err != nil {
		return nil, err
	}
	if mfa {
		return nil, errMFAPassword
	}
	return u, nil
}

// authenticate is Authenticate; useCache false always verifies the hash, for
// the operations that replace or delete the credential. mfa reports that
// the password was right but the user has a second factor. Such a user is
// never put in the credential cache, so a cache hit is always a user
// without one: enabling a factor records a user-level revocation, which
// drops the user's entries, and one verified before that is refused by the
// cache's generation check.
func (s *Service) authenticate(ctx context.Context, username, password string, meta ClientMeta, useCache bool) (u *User, mfa bool, err error) {
	name := username
	impossible := !utf8.ValidString(name) || strings.ContainsRune(name, 0)
	if !impossible {
		name = s.deps.Normalizer.NFC(name)
	} else {
		// No account can have such a name (NormalizeUsername refuses it),
		// but the attempt is still throttled and hashed like any other: its
		// counter key is made storable, whichever door it came through.
		name = strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", "\uFFFD"), "\uFFFD")
	}
	var mac [32]byte
	var gen uint64
	cached := s.creds != nil && !impossible && name != "" && password != "" && len(password) <= MaxPasswordBytes
	if cached {
		mac = s.creds.mac(FoldUsername(name), password)
		if useCache {
			if u, ok := s.creds.get(&mac, s.deps.Now()); ok {
				return u, false, nil
			}
		}
		// Read before the user's hash is: a user-level revocation after
		// this point keeps the result out of the cache.
		gen = s.creds.generation()
	}
	// Under a flood, refuse what could not be hashed before it costs a
	// counter read and a user lookup.
	if s.deps.Hasher.Saturated() {
		return nil, false, errOverloaded
	}
	att := &attempt{s: s}
	defer att.settle(context.WithoutCancel(ctx))
	if lim, ok := s.accountLimit("acct:" + FoldUsername(name)); ok {
		if err := att.hold(ctx, lim); err != nil {
			return nil, false, err
		}
	}
	if lim, ok := s.ipLimit(meta.IP); ok {
		if err := att.hold(ctx, lim); err != nil {
			return nil, false, err
		}
	}

	if !impossible && name != "" && password != "" && len(password) <= MaxPasswordBytes {
		u, err = s.deps.Users.UserByUsername(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, false, err
		}
	}
	if u == nil {
		// Unknown user, empty credentials, or an over-long password: spend
		// the same hash an existing account would, then fail the same way.
		if err := s.dummyVerify(ctx, password); err != nil {
			return nil, false, err
		}
		att.failed = true
		return nil, false, errBadCredentials
	}
	ok, rehash, err := s.deps.Hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		if _, busy := s.deps.Hasher.Busy(err); busy {
			return nil, false, s.hashErr(err)
		}
		// A hash the verifier cannot read (a tampered or foreign row) never
		// authenticates; the operator sees why in the log.
		s.deps.Logger.WarnContext(ctx, "stored password hash refused", "user_id", u.ID, "err", err)
		ok = false
	}
	if !ok {
		att.failed = true
		return nil, false, errBadCredentials
	}
	att.succeeded = true
	if rehash {
		s.rehash(ctx, u, password)
	}
	if mfa, err = s.HasSecondFactor(ctx, u.ID); err != nil {
		return nil, false, err
	}
	if cached && !mfa {
		s.creds.put(&mac, u, s.deps.Now(), gen)
	}
	return u, mfa, nil
}

// accountLimit is the per-account tarpit. The k-th failure of a window
// (k > AccountFreeFailures) may be attempted no earlier than the window's
// start plus the delays of the failures before it, each AccountDelayBase
// doubled per failure and capped at AccountDelayMax: an attacker going as
// fast as allowed waits that delay between guesses, and a user who failed a
// few times spread over the window is not slowed at all. While free failures
// remain, as many checks may run at once as there are free failures left;
// after that, one at a time, each when the schedule allows.
func (s *Service) accountLimit(key string) (limit, bool) {
	cfg := s.cfg
	if cfg.AccountMaxFailures <= 0 {
		return limit{}, false
	}
	return limit{key: key, window: cfg.AccountWindow, clearOnSuccess: true, allow: func(c Counter, now time.Time) (int, time.Duration) {
		prior := c.Count
		if prior >= cfg.AccountMaxFailures {
			return 0, c.WindowStart.Add(cfg.AccountWindow).Sub(now)
		}
		if prior < cfg.AccountFreeFailures {
			return cfg.AccountFreeFailures - prior, 0
		}
		if until := c.WindowStart.Add(s.tarpitSchedule(prior)); now.Before(until) {
			return 0, until.Sub(now)
		}
		return 1, 0
	}}, true
}

// ipLimit is the per-address failure limit: LoginIPLimit failures per
// window, with at most as many checks in flight as failures remain.
func (s *Service) ipLimit(ip string) (limit, bool) {
	cfg := s.cfg
	if cfg.LoginIPLimit <= 0 || ip == "" {
		return limit{}, false
	}
	return limit{key: limitKey("ip-login:", ip), window: cfg.LoginIPWindow, allow: func(c Counter, now time.Time) (int, time.Duration) {
		if c.Count >= cfg.LoginIPLimit {
			return 0, c.WindowStart.Add(cfg.LoginIPWindow).Sub(now)
		}
		return cfg.LoginIPLimit - c.Count, 0
	}}, true
}

// attempt is one password check's claim on the brute-force limits: the
// in-flight slots it holds, and how it ended.
type attempt struct {
	s                 *Service
	slots             []*slot
	failed, succeeded bool
}

// hold waits for a slot under lim and keeps it until settle.
func (a *attempt) hold(ctx context.Context, lim limit) error {
	sl, err := a.s.acquire(ctx, lim)
	if err != nil {
		return err
	}
	a.slots = append(a.slots, sl)
	return nil
}

// settle records a failure under every limit, clears the account's failures
// after a success, and records nothing for an attempt refused or not
// evaluated (throttled, overloaded, a store error), which is not a failure.
// The counters are written before the slots are released, so that the
// checks waiting for a slot read a count that includes this one.
func (a *attempt) settle(ctx context.Context) {
	var errs []error
	for _, sl := range a.slots {
		switch {
		case a.failed:
			_, err := a.s.deps.Counters.Incr(ctx, sl.lim.key, a.s.deps.Now(), sl.lim.window)
			errs = append(errs, err)
		case a.succeeded && sl.lim.clearOnSuccess && sl.count.Count > 0:
			errs = append(errs, a.s.deps.Counters.Reset(ctx, sl.lim.key))
		}
	}
	for _, sl := range a.slots {
		a.s.inflight.release(sl.lim.key, sl.st, a.failed)
	}
	if err := errors.Join(errs...); err != nil {
		a.s.deps.Logger.WarnContext(ctx, "rate-limit counter not settled", "err", err)
	}
}

func (s *Service) rehash(ctx context.Context, u *User, password string) {
	h, err := s.deps.Hasher.Hash(ctx, password)
	if err != nil {
		// The login still succeeds; the upgrade is retried next time.
		s.deps.Logger.WarnContext(ctx, "password rehash skipped", "user_id", u.ID, "err", err)
		return
	}
	if err := s.deps.Users.SetPasswordHash(ctx, u.ID, u.PasswordHash, h); err != nil && !errors.Is(err, ErrNotFound) {
		s.deps.Logger.WarnContext(ctx, "password rehash not stored", "user_id", u.ID, "err", err)
		return
	}
	u.PasswordHash = h
}

// dummyHashFor returns a hash at the current parameters to verify against
// when the account does not exist, computing it on first use.
func (s *Service) dummyHashFor(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummyHash != "" {
		return s.dummyHash, nil
	}
	h, err := s.deps.Hasher.Hash(ctx, "restauth dummy password for unknown users")
	if err != nil {
		// Not cached: a busy gate now must not disable the dummy hash.
		return "", err
	}
	s.dummyHash = h
	return h, nil
}

func (s *Service) dummyVerify(ctx context.Context, password string) error {
	dummy, err := s.dummyHashFor(ctx)
	if err != nil {
		return s.hashErr(err)
	}
	if len(password) > MaxPasswordBytes {
		password = password[:MaxPasswordBytes]
	}
	if _, _, err := s.deps.Hasher.Verify(ctx, password, dummy); err != nil {
		return s.hashErr(err)
	}
	return nil
}

// tarpitSchedule returns how long after the window's start the attempt
// that follows prior attempts may come.
func (s *Service) tarpitSchedule(prior int) time.Duration {
	var total time.Duration
	d := s.cfg.AccountDelayBase
	for i := s.cfg.AccountFreeFailures; i < prior; i++ {
		total += min(d, s.cfg.AccountDelayMax)
		if d < s.cfg.AccountDelayMax {
			d *= 2
		}
	}
	if prior >= s.cfg.AccountFreeFailures {
		total += min(d, s.cfg.AccountDelayMax)
	}
	return total
}

// limitKey names the counter for a client address. IPv6 clients are
// counted per /64, the block one subscriber usually holds, so that rotating
// addresses within it buys no extra attempts.
func limitKey(prefix, ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return prefix + p.String()
	}
	return prefix + ip
}

// limitRegistrations counts a registration against the client address.
func (s *Service) limitRegistrations(ctx context.Context, ip string) error {
	if s.cfg.RegisterIPLimit <= 0 || ip == "" {
		return nil
	}
	now := s.deps.Now()
	c, err := s.deps.Counters.Incr(ctx, limitKey("ip-register:", ip), now, s.cfg.RegisterIPWindow)
	if err != nil {
		return err
	}
	if c.Count > s.cfg.RegisterIPLimit {
		return tooMany(c.WindowStart.Add(s.cfg.RegisterIPWindow).Sub(now))
	}
	return nil
}

func tooMany(wait time.Duration) error {
	return &Error{Code: ETooManyRequests, Message: "too many attempts; retry later", RetryAfter: max(wait, time.Second)}
}

// hashErr maps a hasher failure: a full admission gate becomes EOverloaded.
func (s *Service) hashErr(err error) error {
	if ra, busy := s.deps.Hasher.Busy(err); busy {
		return &Error{Code: EOverloaded, Message: "the server is busy; retry shortly", RetryAfter: max(ra, time.Second), Err: err}
	}
	return err
}

// Login authenticates with a password and opens a session, returning an
// access token and a refresh token.
//
// For a user with a second factor it opens no session: it returns an
// *MFARequiredError whose token CompleteLogin takes with the factor's code.
func (s *Service) Login(ctx context.Context, username, password string, meta ClientMeta) (*User, *TokenPair, error) {
	u, mfa, err := s.authenticate(ctx, username, password, meta, true)
	if err != nil {
		return nil, nil, err
	}
	if mfa {
		return nil, nil, s.challenge(ctx, u, meta)
	}
	pair, err := s.OpenSession(ctx, u, meta)
	if err != nil {
		return nil, nil, err
	}
	return u, pair, nil
}

// OpenSession starts a session for an authenticated user.
func (s *Service) OpenSession(ctx context.Context, u *User, meta ClientMeta) (*TokenPair, error) {
	return s.openSession(ctx, u, meta, false)
}

// openSession starts a session. A reusable one (the REST-auth flow) has no
// refresh token.
func (s *Service) openSession(ctx context.Context, u *User, meta ClientMeta, reusable bool) (*TokenPair, error) {
	id, err := s.deps.NewID()
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	sess := &Session{
		ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
		ClientIP:  meta.IP, UserAgent: ClientLabel(meta.UserAgent),
		Reusable: reusable,
	}
	var rt string
	var rec *RefreshRecord
	if !reusable {
		var rh []byte
		if rt, rh, err = s.deps.Refresh.New(); err != nil {
			return nil, err
		}
		rec = &RefreshRecord{Hash: rh, SessionID: id, CreatedAt: now}
	}
	if err := s.deps.Sessions.CreateSession(ctx, sess, rec); err != nil {
		return nil, err
	}
	at, ttl, err := s.issue(ctx, u.ID, u.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, RefreshToken: rt, SessionID: id}, nil
}

// issue signs an access token for the session, never past its absolute
// expiry.
func (s *Service) issue(ctx context.Context, userID int64, username string, sess *Session, now time.Time) (string, time.Duration, error) {
	// JWT times have whole seconds; compute in whole seconds so that
	// expires_in is exactly the configured lifetime.
	now = now.Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTTL)
	if sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt.Truncate(time.Second)
	}
	c := &Claims{
		Issuer: s.cfg.Issuer, Audience: []string{s.cfg.Audience},
		UserID: userID, Username: username, SessionID: sess.ID,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp,
	}
	tok, err := s.deps.Issuer.Issue(ctx, c)
	if err != nil {
		return "", 0, err
	}
	return tok, exp.Sub(now), nil
}

// AuthenticateToken verifies an access token and checks its session
// against the in-memory revocation view: no database round trip.
//
// Access tokens issued to OAuth clients are refused: they are for the
// clients' resource servers and the userinfo endpoint, not for restauth's
// own account API, which their scopes never granted.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	p, err := s.authenticateToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Claims.ClientID != "" {
		return nil, errOAuthClientTok
	}
	return p, nil
}

// authenticateToken verifies any access token, a client's too.
func (s *Service) authenticateToken(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, errBadToken
	}
	c, err := s.deps.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.deps.Revocations.Revoked(c.SessionID) {
		return nil, &Error{Code: EInvalidToken, Message: "token has been revoked"}
	}
	return &Principal{UserID: c.UserID, Username: c.Username, SessionID: c.SessionID, Claims: c}, nil
}

// Renew issues a fresh access token within the caller's session (the
// REST-auth GET /api/token with a token), never past the session's absolute
// expiry. A password-authenticated caller gets a token in the live session
// that the same client opened the same way, which is used again (its idle
// window starts anew, as after a login), or in a new session when there is
// none; see renewWithPassword.
func (s *Service) Renew(ctx context.Context, p *Principal, meta ClientMeta) (*TokenPair, error) {
	if p.APIKey != nil {
		// A token would outlive the key's revocation.
		return nil, errKeyRenews
	}
	if p.SessionID == "" {
		return s.renewWithPassword(ctx, p, meta)
	}
	sess, err := s.liveSession(ctx, p.SessionID)
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	at, ttl, err := s.issue(ctx, p.UserID, p.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, SessionID: sess.ID}, nil
}

// renewWithPassword serves a password-authenticated GET /api/token. A
// REST-auth client fetches a token this way every few minutes; opening a
// session each time would leave thousands per user and month. A client is
// the user, the client address and the user agent, which is what a session
// records and what GET /api/sessions shows: requests that share all three
// cannot be told apart, while another device or network gets a session of
// its own, which can be revoked alone. Only sessions opened this way are
// reused, never one a login opened, whose refresh token another client
// may hold. Renewals of one client are serialised within the process, so
// that many sent at once open one session between them, not one each.
//
// The principal was authenticated by this request, so the user is not read
// again: a user deleted meanwhile has no session to reuse (its sessions lost
// their user), and opening one fails on the store's foreign key.
func (s *Service) renewWithPassword(ctx context.Context, p *Principal, meta ClientMeta) (*TokenPair, error) {
	u := &User{ID: p.UserID, Username: p.Username}
	ua := ClientLabel(meta.UserAgent)
	unlock, err := s.renewals.lock(ctx, FormatUserID(u.ID)+"\x00"+meta.IP+"\x00"+ua)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := s.deps.Now()
	var idleAfter time.Time
	if s.cfg.SessionIdle > 0 {
		idleAfter = now.Add(-s.cfg.SessionIdle)
	}
	sess, err := s.deps.Sessions.ReuseSession(ctx, u.ID, meta.IP, ua, now, idleAfter)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.openSession(ctx, u, meta, true)
	case err != nil:
		return nil, err
	}
	at, ttl, err := s.issue(ctx, u.ID, u.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, SessionID: sess.ID}, nil
}

func (s *Service) liveSession(ctx context.Context, id string) (*Session, error) {
	sess, err := s.deps.Sessions.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	// Renewal through an access token does not extend the idle window: only
	// a password login or a refresh proves the client still holds a secret.
	if !sess.Live(s.deps.Now(), s.cfg.SessionIdle) {
		return nil, errBadToken
	}
	return sess, nil
}

// RefreshTokens rotates a refresh token: the presented token is consumed
// atomically and a new pair returned. A token that was already rotated
// returns the same child when presented again within the grace window
// (a client retrying a request whose answer it lost); after the window it
// is treated as stolen and the whole session is revoked.
func (s *Service) RefreshTokens(ctx context.Context, refreshToken string, meta ClientMeta) (*TokenPair, error) {
	if refreshToken == "" || len(refreshToken) > 256 {
		return nil, errBadRefresh
	}
	if s.deps.OIDC.Store != nil {
		// A refresh token issued to an OAuth client is bound to it: here
		// it would buy a token without the client's scopes.
		_, err := s.deps.OIDC.Store.OAuthGrantByRefresh(ctx, s.deps.Refresh.Hash(refreshToken))
		if err == nil {
			return nil, errBadRefresh
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	sess, u, child, now, err := s.rotate(ctx, refreshToken)
	if err != nil {
		return nil, err
	}
	at, ttl, err := s.issue(ctx, u.ID, u.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, RefreshToken: child, SessionID: sess.ID}, nil
}

// rotate consumes a refresh token and returns its session, its user and
// the child token; RefreshTokens and RefreshOAuth share it, so that the
// grace window and reuse detection are written once.
func (s *Service) rotate(ctx context.Context, refreshToken string) (*Session, *User, string, time.Time, error) {
	now := s.deps.Now()
	parent := s.deps.Refresh.Hash(refreshToken)
	child, childHash, err := s.deps.Refresh.New()
	if err != nil {
		return nil, nil, "", now, err
	}
	sealed, err := s.deps.Refresh.Seal(child, parent)
	if err != nil {
		return nil, nil, "", now, err
	}
	live := func(sess *Session) bool { return sess.Live(now, s.cfg.SessionIdle) }
	res, err := s.deps.Sessions.RotateRefresh(ctx, Rotation{OldHash: parent, NewHash: childHash, NewSealed: sealed, Now: now, Live: live})
	if errors.Is(err, ErrNotFound) {
		return nil, nil, "", now, errBadRefresh
	}
	if err != nil {
		return nil, nil, "", now, err
	}
	sess := res.Session
	// The session is judged by the one liveness rule, Session.Live, as it
	// was before this rotation touched it: revoked, past its absolute
	// expiry, or idle for too long all end it. The store has judged it
	// before writing anything (Ended: nothing was stored); the session of a
	// used parent, which the store returns as it is now, is judged here, so
	// that a retry on an ended session is refused rather than taken for
	// reuse.
	if res.Ended || !live(sess) {
		return nil, nil, "", now, errBadRefresh
	}
	if !res.Consumed {
		if now.Sub(res.UsedAt) > s.cfg.RefreshGrace || len(res.ChildSealed) == 0 {
			s.deps.Logger.WarnContext(ctx, "refresh token reuse; session revoked", "session_id", sess.ID, "user_id", sess.UserID)
			if err := s.revokeOne(ctx, sess.UserID, sess.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, nil, "", now, err
			}
			return nil, nil, "", now, errBadRefresh
		}
		if child, err = s.deps.Refresh.Open(res.ChildSealed, parent); err != nil {
			return nil, nil, "", now, errBadRefresh
		}
	}
	u, err := s.deps.Users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, "", now, errBadRefresh
	}
	if err != nil {
		return nil, nil, "", now, err
	}
	return sess, u, child, now, nil
}

// Logout ends the caller's session.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.SessionID == "" {
		return Errorf(EInvalid, "logout needs a token-authenticated session")
	}
	return s.revokeOne(ctx, p.UserID, p.SessionID)
}

// Sessions lists the caller's live sessions.
func (s *Service) ListSessions(ctx context.Context, p *Principal) ([]*Session, error) {
	all, err := s.deps.Sessions.ListSessions(ctx, p.UserID, s.deps.Now())
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, sess := range all {
		if sess.Live(s.deps.Now(), s.cfg.SessionIdle) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession ends one of the caller's sessions.
func (s *Service) RevokeSession(ctx context.Context, p *Principal, id string) error {
	if id == "" || len(id) > 128 {
		return ErrNotFound
	}
	return s.revokeOne(ctx, p.UserID, id)
}

// RevokeAllSessions ends every session of the caller, including the
// current one.
func (s *Service) RevokeAllSessions(ctx context.Context, p *Principal) error {
	return s.revokeAll(ctx, p.UserID, "")
}

// ChangePassword replaces the caller's password after checking the current
// one, and ends every other session.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, meta ClientMeta) error {
	if err := s.CheckPassword(next); err != nil {
		return err
	}
	u, _, err := s.authenticate(ctx, p.Username, current, meta, false)
	if err != nil {
		return wrongPassword(err)
	}
	if u.ID != p.UserID {
		return errWrongPassword
	}
	h, err := s.deps.Hasher.Hash(ctx, next)
	if err != nil {
		return s.hashErr(err)
	}
	if err := s.deps.Users.SetPasswordHash(ctx, u.ID, u.PasswordHash, h); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Errorf(EInvalid, "the password changed concurrently; retry")
		}
		return err
	}
	// The store recorded the change for the other instances; this one
	// forgets the old password now.
	s.remember(nil, u.ID, s.deps.Now())
	return s.revokeAll(ctx, u.ID, p.SessionID)
}

// DeleteAccount deletes the caller's account, after checking its password,
// and every session with it.
func (s *Service) DeleteAccount(ctx context.Context, p *Principal, password string, meta ClientMeta) error {
	u, _, err := s.authenticate(ctx, p.Username, password, meta, false)
	if err != nil {
		return wrongPassword(err)
	}
	if u.ID != p.UserID {
		return errWrongPassword
	}
	return s.DeleteUser(ctx, u.ID)
}

// errWrongPassword refuses a sensitive change whose password check failed.
// The caller is still signed in, so it is not the 401 that clients read as
// "signed out".
var errWrongPassword = &Error{Code: EWrongPassword, Message: "the current password is wrong"}

// wrongPassword turns a refused password check of a signed-in caller into
// errWrongPassword; throttling, overload and store errors pass unchanged.
func wrongPassword(err error) error {
	if ErrorCode(err) == EUnauthorized {
		return errWrongPassword
	}
	return err
}

// DeleteUser deletes a user and revokes its sessions (the operator's
// `restauth user delete`, and account deletion).
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	now := s.deps.Now()
	ids, err := s.deps.Users.DeleteUser(ctx, id, now)
	if err != nil {
		return err
	}
	s.remember(ids, id, now)
	return nil
}

// Introspect reports whether a first-party access token is active (RFC
// 7662): it verifies and its session is neither revoked nor expired in the
// store. A token issued to an OAuth client is reported inactive: it is
// introspected by that client at the provider's introspection endpoint
// (IntrospectOAuth), and a resource server that takes only first-party
// tokens must not be told it is good.
func (s *Service) Introspect(ctx context.Context, token string) (*Claims, bool, error) {
	c, active, _, err := s.introspectFor(ctx, token, "")
	return c, active, err
}

// introspectFor is Introspect for an access token issued to clientID ("":
// restauth's own tokens). A token issued to anyone else is inactive, and
// is found so before any store read. signed reports that token verified as
// an access token, whoever it was issued to, so that IntrospectOAuth does
// not go on to look it up as a refresh token.
func (s *Service) introspectFor(ctx context.Context, token, clientID string) (c *Claims, active, signed bool, err error) {
	p, err := s.authenticateToken(ctx, token)
	if err != nil {
		if ErrorCode(err) == EInvalidToken {
			return nil, false, false, nil
		}
		return nil, false, false, err
	}
	if p.Claims.ClientID != clientID {
		return nil, false, true, nil
	}
	if _, err := s.liveSession(ctx, p.SessionID); err != nil {
		if ErrorCode(err) == EInvalidToken {
			return nil, false, true, nil
		}
		return nil, false, true, err
	}
	return p.Claims, true, true, nil
}

func (s *Service) revokeOne(ctx context.Context, userID int64, id string) error {
	now := s.deps.Now()
	if err := s.deps.Sessions.RevokeSession(ctx, userID, id, now); err != nil {
		return err
	}
	s.remember([]string{id}, 0, now)
	return nil
}

func (s *Service) revokeAll(ctx context.Context, userID int64, except string) error {
	now := s.deps.Now()
	ids, err := s.deps.Sessions.RevokeUserSessions(ctx, userID, except, now)
	if err != nil {
		return err
	}
	s.remember(ids, userID, now)
	return nil
}

// remember adds revocations made here to the in-memory view at once,
// without waiting for the feed: the sessions named and, when userID is not
// zero, a user-level revocation.
func (s *Service) remember(ids []string, userID int64, now time.Time) {
	revs := make([]Revocation, len(ids), len(ids)+1)
	for i, id := range ids {
		revs[i] = Revocation{SessionID: id, RevokedAt: now}
	}
	if userID != 0 {
		revs = append(revs, Revocation{UserID: userID, RevokedAt: now})
	}
	s.deps.Revocations.Add(revs...)
}

// FormatUserID renders a user id as it appears in the "sub" claim.
func FormatUserID(id int64) string { return strconv.FormatInt(id, 10) }

// ClientLabel is how a client's User-Agent is stored and shown with its
// sessions, whichever door the request came through: invalid UTF-8 becomes
// U+FFFD, control characters are dropped, and it is cut to 256 bytes on a
// rune boundary. A label is shown, never compared, so the request goes on
// with the cleaned value rather than being refused.
func ClientLabel(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || isControl(r) {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return -1
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return cutRunes(s, 256)
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0)
}

// truncate cuts client-supplied text quoted in an error message to at most
// n bytes of valid UTF-8 without NUL.
func truncate(s string, n int) string {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	}
	return cutRunes(s, n)
}

// cutRunes cuts valid UTF-8 s to at most n bytes, on a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// SweepCutoffs returns the times before which ended sessions and idle
// counters may be deleted: a revoked session must stay visible to other
// instances for as long as its access tokens could verify, and a counter
// for as long as its longest window.
func (s *Service) SweepCutoffs(now time.Time) (sessionsBefore, countersBefore time.Time) {
	longest := max(s.cfg.AccountWindow, s.cfg.LoginIPWindow, s.cfg.RegisterIPWindow)
	return now.Add(-2 * s.cfg.RevocationKeep()), now.Add(-2 * longest)
}
