package restauth

import (
	"context"
	"errors"
	"log/slog"
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
	Users       UserStore
	Sessions    SessionStore
	Counters    CounterStore
	Hasher      PasswordHasher
	Issuer      TokenIssuer
	Verifier    TokenVerifier
	Refresh     RefreshTokens
	Revocations *RevocationSet
	Normalizer  Normalizer
	// IsCommon reports whether a password is on the common-password list.
	IsCommon func(password string) bool
	Logger   *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// NewID returns a random session id.
	NewID func() (string, error)
}

// Service holds restauth's rules: registration, authentication, token
// issue, refresh, and revocation. It is safe for concurrent use.
type Service struct {
	cfg Config
	Deps

	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
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
	return &Service{cfg: cfg, Deps: deps}
}

// Config returns the Service's configuration.
func (s *Service) Config() Config { return s.cfg }

var (
	errBadCredentials = &Error{Code: EUnauthorized, Message: "invalid username or password"}
	errBadToken       = &Error{Code: EInvalidToken, Message: "token is invalid or expired"}
	errBadRefresh     = &Error{Code: EInvalidGrant, Message: "refresh token is invalid or expired"}
)

// NormalizeUsername returns the NFC form of name after checking the
// username rules: 1 to MaxUsernameLen characters, valid UTF-8, no control
// characters, no ':' (it could never log in over HTTP Basic) and no
// surrounding white space.
func (s *Service) NormalizeUsername(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EInvalidUsername, "username must be valid UTF-8")
	}
	name = s.Normalizer.NFC(name)
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
		if unicode.IsControl(r) || r == ':' || unicode.Is(unicode.Cf, r) {
			return "", Errorf(EInvalidUsername, "username must not contain control characters or ':'")
		}
	}
	return name, nil
}

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
	nfkc := s.Normalizer.NFKC(password)
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
	case s.IsCommon != nil && s.IsCommon(password):
		return Errorf(EPasswordCommon, "password is too common; choose a less predictable one")
	}
	return nil
}

// Register creates an account. The per-IP registration limit is counted
// before any hashing.
func (s *Service) Register(ctx context.Context, username, password string, meta ClientMeta) (*User, error) {
	name, err := s.NormalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := s.CheckPassword(password); err != nil {
		return nil, err
	}
	if err := s.limitIP(ctx, "register", meta.IP, s.cfg.RegisterIPLimit, s.cfg.RegisterIPWindow, true); err != nil {
		return nil, err
	}
	hash, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		return nil, s.hashErr(err)
	}
	u := &User{Username: name, PasswordHash: hash}
	if err := s.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// User returns the user with the given id.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	return s.Users.UserByID(ctx, id)
}

// Authenticate checks a username and password under the brute-force rules:
// the per-account tarpit and the per-IP failure limit apply before the hash
// is computed, an unknown user costs one dummy hash so that timing does not
// reveal which accounts exist, and a hash in an old format or with old
// parameters is upgraded after a success.
func (s *Service) Authenticate(ctx context.Context, username, password string, meta ClientMeta) (*User, error) {
	name := username
	if utf8.ValidString(name) {
		name = s.Normalizer.NFC(name)
	}
	acctKey := "acct:" + strings.ToLower(name)
	prior, err := s.checkTarpit(ctx, acctKey)
	if err != nil {
		return nil, err
	}
	if err := s.limitIP(ctx, "login", meta.IP, s.cfg.LoginIPLimit, s.cfg.LoginIPWindow, false); err != nil {
		return nil, err
	}

	var u *User
	if name != "" && password != "" && len(password) <= MaxPasswordBytes {
		u, err = s.Users.UserByUsername(ctx, name)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	if u == nil {
		// Unknown user, empty credentials, or an over-long password: spend
		// the same hash an existing account would, then fail the same way.
		if err := s.dummyVerify(ctx, password); err != nil {
			return nil, err
		}
		return nil, s.failed(ctx, acctKey, meta)
	}
	ok, rehash, err := s.Hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		if ra := retryAfter(err); ra > 0 {
			return nil, s.hashErr(err)
		}
		// A hash the verifier cannot read (a tampered or foreign row) never
		// authenticates; the operator sees why in the log.
		s.Logger.WarnContext(ctx, "stored password hash refused", "user_id", u.ID, "err", err)
		ok = false
	}
	if !ok {
		return nil, s.failed(ctx, acctKey, meta)
	}
	if rehash {
		s.rehash(ctx, u, password)
	}
	// A success clears the account's failures; the common case has none,
	// and then no write is needed.
	if prior.Count > 0 {
		if err := s.Counters.Reset(ctx, acctKey); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (s *Service) rehash(ctx context.Context, u *User, password string) {
	h, err := s.Hasher.Hash(ctx, password)
	if err != nil {
		// The login still succeeds; the upgrade is retried next time.
		s.Logger.WarnContext(ctx, "password rehash skipped", "user_id", u.ID, "err", err)
		return
	}
	if err := s.Users.SetPasswordHash(ctx, u.ID, u.PasswordHash, h); err != nil && !errors.Is(err, ErrNotFound) {
		s.Logger.WarnContext(ctx, "password rehash not stored", "user_id", u.ID, "err", err)
		return
	}
	u.PasswordHash = h
}

func (s *Service) dummyVerify(ctx context.Context, password string) error {
	s.dummyOnce.Do(func() {
		s.dummyHash, s.dummyErr = s.Hasher.Hash(context.WithoutCancel(ctx), "restauth dummy password for unknown users")
	})
	if s.dummyErr != nil {
		// Try again on the next call rather than caching a busy gate.
		err := s.dummyErr
		s.dummyOnce = sync.Once{}
		return s.hashErr(err)
	}
	if len(password) > MaxPasswordBytes {
		password = password[:MaxPasswordBytes]
	}
	if _, _, err := s.Hasher.Verify(ctx, password, s.dummyHash); err != nil {
		return s.hashErr(err)
	}
	return nil
}

// failed records a failed login against the account and the client IP and
// returns the error the caller sees, identical for every cause.
func (s *Service) failed(ctx context.Context, acctKey string, meta ClientMeta) error {
	if s.cfg.AccountMaxFailures > 0 {
		if _, err := s.Counters.Incr(ctx, acctKey, s.Now(), s.cfg.AccountWindow); err != nil {
			return err
		}
	}
	if s.cfg.LoginIPLimit > 0 && meta.IP != "" {
		if _, err := s.Counters.Incr(ctx, "ip-login:"+meta.IP, s.Now(), s.cfg.LoginIPWindow); err != nil {
			return err
		}
	}
	return errBadCredentials
}

// tarpitDelay returns how long after the last failure the next attempt must
// wait, given the failures counted in the window.
func (s *Service) tarpitDelay(failures int) time.Duration {
	if failures < s.cfg.AccountFreeFailures {
		return 0
	}
	d := s.cfg.AccountDelayBase
	for i := s.cfg.AccountFreeFailures; i < failures && d < s.cfg.AccountDelayMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.AccountDelayMax)
}

// checkTarpit refuses an attempt that comes before the account's tarpit
// delay has passed, and returns the account's failure counter.
func (s *Service) checkTarpit(ctx context.Context, key string) (Counter, error) {
	if s.cfg.AccountMaxFailures <= 0 {
		return Counter{}, nil
	}
	now := s.Now()
	c, err := s.Counters.Get(ctx, key, now, s.cfg.AccountWindow)
	if err != nil {
		return c, err
	}
	var until time.Time
	if c.Count >= s.cfg.AccountMaxFailures {
		until = c.WindowStart.Add(s.cfg.AccountWindow)
	} else if d := s.tarpitDelay(c.Count); d > 0 {
		until = c.Last.Add(d)
	}
	if now.Before(until) {
		return c, tooMany(until.Sub(now))
	}
	return c, nil
}

// limitIP enforces a fixed-window limit per client IP. When count is true
// the attempt itself is counted (registrations); otherwise only failures are
// counted elsewhere and this only checks.
func (s *Service) limitIP(ctx context.Context, kind, ip string, limit int, window time.Duration, count bool) error {
	if limit <= 0 || ip == "" {
		return nil
	}
	key := "ip-" + kind + ":" + ip
	now := s.Now()
	var c Counter
	var err error
	if count {
		c, err = s.Counters.Incr(ctx, key, now, window)
	} else {
		c, err = s.Counters.Get(ctx, key, now, window)
	}
	if err != nil {
		return err
	}
	if (count && c.Count > limit) || (!count && c.Count >= limit) {
		return tooMany(c.WindowStart.Add(window).Sub(now))
	}
	return nil
}

func tooMany(wait time.Duration) error {
	return &Error{Code: ETooManyRequests, Message: "too many attempts; retry later", RetryAfter: max(wait, time.Second)}
}

func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return max(ra.RetryAfter(), time.Second)
	}
	return 0
}

// hashErr maps a hasher failure: a full admission gate becomes EOverloaded.
func (s *Service) hashErr(err error) error {
	if ra := retryAfter(err); ra > 0 {
		return &Error{Code: EOverloaded, Message: "the server is busy; retry shortly", RetryAfter: ra, Err: err}
	}
	return err
}

// Login authenticates with a password and opens a session, returning an
// access token and a refresh token.
func (s *Service) Login(ctx context.Context, username, password string, meta ClientMeta) (*User, *TokenPair, error) {
	u, err := s.Authenticate(ctx, username, password, meta)
	if err != nil {
		return nil, nil, err
	}
	pair, err := s.OpenSession(ctx, u, meta)
	if err != nil {
		return nil, nil, err
	}
	return u, pair, nil
}

// OpenSession starts a session for an authenticated user.
func (s *Service) OpenSession(ctx context.Context, u *User, meta ClientMeta) (*TokenPair, error) {
	id, err := s.NewID()
	if err != nil {
		return nil, err
	}
	now := s.Now()
	sess := &Session{
		ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
		ClientIP:  meta.IP, UserAgent: truncate(meta.UserAgent, 256),
	}
	rt, rh, err := s.Refresh.New()
	if err != nil {
		return nil, err
	}
	if err := s.Sessions.CreateSession(ctx, sess, &RefreshRecord{Hash: rh, SessionID: id, CreatedAt: now}); err != nil {
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
	tok, err := s.Issuer.Issue(ctx, c)
	if err != nil {
		return "", 0, err
	}
	return tok, exp.Sub(now), nil
}

// AuthenticateToken verifies an access token and checks its session
// against the in-memory revocation view: no database round trip.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, errBadToken
	}
	c, err := s.Verifier.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.Revocations.Revoked(c.SessionID) {
		return nil, &Error{Code: EInvalidToken, Message: "token has been revoked"}
	}
	return &Principal{UserID: c.UserID, Username: c.Username, SessionID: c.SessionID, Claims: c}, nil
}

// Renew issues a fresh access token within the caller's session (the
// REST-auth GET /api/token with a token), never past the session's absolute
// expiry. A password-authenticated caller gets a new session instead.
func (s *Service) Renew(ctx context.Context, p *Principal, meta ClientMeta) (*TokenPair, error) {
	if p.SessionID == "" {
		u, err := s.Users.UserByID(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		pair, err := s.OpenSession(ctx, u, meta)
		if err != nil {
			return nil, err
		}
		pair.RefreshToken = ""
		return pair, nil
	}
	sess, err := s.liveSession(ctx, p.SessionID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	at, ttl, err := s.issue(ctx, p.UserID, p.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, SessionID: sess.ID}, nil
}

func (s *Service) liveSession(ctx context.Context, id string) (*Session, error) {
	sess, err := s.Sessions.Session(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	// Renewal through an access token does not extend the idle window: only
	// a password login or a refresh proves the client still holds a secret.
	if !sess.Live(s.Now(), s.cfg.SessionIdle) {
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
	now := s.Now()
	parent := s.Refresh.Hash(refreshToken)
	child, childHash, err := s.Refresh.New()
	if err != nil {
		return nil, err
	}
	sealed, err := s.Refresh.Seal(child, parent)
	if err != nil {
		return nil, err
	}
	res, err := s.Sessions.RotateRefresh(ctx, Rotation{OldHash: parent, NewHash: childHash, NewSealed: sealed, Now: now})
	if errors.Is(err, ErrNotFound) {
		return nil, errBadRefresh
	}
	if err != nil {
		return nil, err
	}
	sess := res.Session
	// The session's state is judged as it was before this rotation touched it.
	if !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt) {
		return nil, errBadRefresh
	}
	if !res.Consumed {
		if now.Sub(res.UsedAt) > s.cfg.RefreshGrace || len(res.ChildSealed) == 0 {
			s.Logger.WarnContext(ctx, "refresh token reuse; session revoked", "session_id", sess.ID, "user_id", sess.UserID)
			if err := s.revokeOne(ctx, sess.UserID, sess.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			return nil, errBadRefresh
		}
		if child, err = s.Refresh.Open(res.ChildSealed, parent); err != nil {
			return nil, errBadRefresh
		}
	} else if s.cfg.SessionIdle > 0 && !now.Before(sess.LastUsedAt.Add(s.cfg.SessionIdle)) {
		return nil, errBadRefresh
	}
	u, err := s.Users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadRefresh
	}
	if err != nil {
		return nil, err
	}
	at, ttl, err := s.issue(ctx, u.ID, u.Username, sess, now)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, ExpiresIn: ttl, RefreshToken: child, SessionID: sess.ID}, nil
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
	all, err := s.Sessions.ListSessions(ctx, p.UserID, s.Now())
	if err != nil {
		return nil, err
	}
	live := all[:0]
	for _, sess := range all {
		if sess.Live(s.Now(), s.cfg.SessionIdle) {
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
	u, err := s.Authenticate(ctx, p.Username, current, meta)
	if err != nil {
		return err
	}
	if u.ID != p.UserID {
		return errBadCredentials
	}
	h, err := s.Hasher.Hash(ctx, next)
	if err != nil {
		return s.hashErr(err)
	}
	if err := s.Users.SetPasswordHash(ctx, u.ID, u.PasswordHash, h); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Errorf(EInvalid, "the password changed concurrently; retry")
		}
		return err
	}
	return s.revokeAll(ctx, u.ID, p.SessionID)
}

// DeleteAccount deletes the caller's account, after checking its password,
// and every session with it.
func (s *Service) DeleteAccount(ctx context.Context, p *Principal, password string, meta ClientMeta) error {
	u, err := s.Authenticate(ctx, p.Username, password, meta)
	if err != nil {
		return err
	}
	if u.ID != p.UserID {
		return errBadCredentials
	}
	return s.DeleteUser(ctx, u.ID)
}

// DeleteUser deletes a user and revokes its sessions (the operator's
// `restauth user delete`, and account deletion).
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	now := s.Now()
	ids, err := s.Users.DeleteUser(ctx, id, now)
	if err != nil {
		return err
	}
	s.remember(ids, now)
	return nil
}

// Introspect reports whether an access token is active (RFC 7662): it
// verifies and its session is neither revoked nor expired in the store.
func (s *Service) Introspect(ctx context.Context, token string) (*Claims, bool, error) {
	p, err := s.AuthenticateToken(ctx, token)
	if err != nil {
		if ErrorCode(err) == EInvalidToken {
			return nil, false, nil
		}
		return nil, false, err
	}
	if _, err := s.liveSession(ctx, p.SessionID); err != nil {
		if ErrorCode(err) == EInvalidToken {
			return nil, false, nil
		}
		return nil, false, err
	}
	return p.Claims, true, nil
}

func (s *Service) revokeOne(ctx context.Context, userID int64, id string) error {
	now := s.Now()
	if err := s.Sessions.RevokeSession(ctx, userID, id, now); err != nil {
		return err
	}
	s.remember([]string{id}, now)
	return nil
}

func (s *Service) revokeAll(ctx context.Context, userID int64, except string) error {
	now := s.Now()
	ids, err := s.Sessions.RevokeUserSessions(ctx, userID, except, now)
	if err != nil {
		return err
	}
	s.remember(ids, now)
	return nil
}

func (s *Service) remember(ids []string, now time.Time) {
	revs := make([]Revocation, len(ids))
	for i, id := range ids {
		revs[i] = Revocation{SessionID: id, RevokedAt: now}
	}
	s.Revocations.Add(revs...)
}

// FormatUserID renders a user id as it appears in the "sub" claim.
func FormatUserID(id int64) string { return strconv.FormatInt(id, 10) }

func truncate(s string, n int) string {
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
