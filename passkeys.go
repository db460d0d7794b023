package restauth

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Passkeys are WebAuthn credentials: a key pair kept by the person's
// authenticator (a phone, a security key, the operating system), of which
// the server stores only the public key. A passkey signs a fresh challenge
// to sign in, with no username typed (the authenticator returns the user
// handle), or to prove a second factor for a known user. The ceremonies
// themselves (parsing and checking attestations and assertions, origins,
// signature counters) are the PasskeyCeremonies collaborator's; the rules
// (who may register, how many, which challenge is still good, what a sign-in
// opens) are here.

// Passkey limits. They are documented in docs/security.md.
const (
	// PasskeyChallengeTTL is how long a ceremony's challenge may be
	// answered. Each challenge is also single-use.
	PasskeyChallengeTTL = 5 * time.Minute
	// MaxPasskeysPerUser bounds the passkeys one account may register.
	MaxPasskeysPerUser = 20
	// MaxPasskeyNameLen bounds a passkey's name, in characters.
	MaxPasskeyNameLen = 64
	// MaxPasskeyResponseBytes bounds the authenticator's response a
	// ceremony accepts; real ones are a few kilobytes.
	MaxPasskeyResponseBytes = 32 << 10
	// PasskeySignInIPLimit bounds the passkey sign-ins one client address
	// may start per PasskeyChallengeTTL, so that strangers cannot fill the
	// challenge table.
	PasskeySignInIPLimit = 30
)

// Passkey is one WebAuthn credential registered to a user.
type Passkey struct {
	ID           string // restauth's id for it, shaped as a session id.
	UserID       int64
	CredentialID []byte // The authenticator's credential id; unique.
	Name         string
	// Credential is the credential record in the ceremonies' stored form:
	// the public key, the signature counter, flags and transports. It
	// holds no secret.
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt time.Time // Zero until the passkey is first used.
}

// PasskeyChallenge is the server's half of a ceremony in progress, kept in
// the store so that the ceremony may finish on any instance.
type PasskeyChallenge struct {
	ID     string // Shaped as a session id.
	UserID int64  // The user the ceremony is for; 0 for a sign-in with no username.
	Kind   string // PasskeyRegister, PasskeySignIn or PasskeyVerify.
	// State is the ceremonies' state: the challenge and what it allows.
	// For PasskeyVerify it is preceded by the SHA-256 of the mfa_token of
	// the login it completes.
	State     []byte
	ExpiresAt time.Time
}

// Kinds of passkey ceremonies, so that a challenge begun for one cannot
// finish another.
const (
	PasskeyRegister = "register"
	PasskeySignIn   = "signin"
	PasskeyVerify   = "verify" // The second step of a password login (BeginMFAPasskey).
)

// PasskeyStore persists passkeys and the challenges of ceremonies.
type PasskeyStore interface {
	// AddPasskey stores p while the user has fewer than limit passkeys,
	// atomically. It returns ErrNotFound when p.UserID names no user,
	// ErrPasskeyLimit when the user has limit already, and ErrPasskeyExists
	// when the credential id is stored already.
	AddPasskey(ctx context.Context, p *Passkey, limit int) error
	// Passkeys returns the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID int64) ([]*Passkey, error)
	// PasskeyByCredentialID returns the passkey with that credential id,
	// or ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a use of the passkey: its credential record
	// (with the new signature counter) and LastUsedAt. ErrNotFound when
	// it is gone.
	UsePasskey(ctx context.Context, id string, credential []byte, now time.Time) error
	// DeletePasskey removes one passkey of userID, or returns ErrNotFound.
	DeletePasskey(ctx context.Context, userID int64, id string) error
	// AddPasskeyChallenge stores c, and deletes the challenges that
	// expired before now.
	AddPasskeyChallenge(ctx context.Context, c *PasskeyChallenge, now time.Time) error
	// TakePasskeyChallenge deletes the challenge and returns it as it was,
	// in one statement, so that two instances can never both take it. It
	// returns ErrNotFound when there is none or it expired at or before
	// now.
	TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (*PasskeyChallenge, error)
}

// PasskeyUser is a user as the ceremonies see it.
type PasskeyUser struct {
	// Handle is the WebAuthn user handle: the user id, 8 bytes big-endian.
	// It names the account; it is no secret.
	Handle   []byte
	Name     string
	Passkeys []*Passkey
}

// PasskeyCeremonies runs the WebAuthn ceremonies for one relying party (the
// public URL's host and origin). Options are the JSON the browser passes to
// navigator.credentials; state is what the server keeps until the response
// comes; a response is the browser's PublicKeyCredential as JSON. Every
// response that does not verify (malformed, another origin or relying
// party, a wrong signature, a counter that went back) is an *Error with code
// EPasskeyRefused.
type PasskeyCeremonies interface {
	// BeginRegistration asks for a discoverable credential, with user
	// verification preferred, excluding u's passkeys.
	BeginRegistration(u *PasskeyUser) (options, state []byte, err error)
	// FinishRegistration checks the attestation and returns the new
	// credential's id and record.
	FinishRegistration(u *PasskeyUser, state, response []byte) (credentialID, credential []byte, err error)
	// BeginLogin asks for an assertion: from u's passkeys, or, when u is
	// nil, from any discoverable credential (an empty allowCredentials).
	BeginLogin(u *PasskeyUser) (options, state []byte, err error)
	// FinishLogin checks the assertion against the user find returns for
	// the credential id and user handle the response carries, and returns
	// the credential's id and its updated record.
	FinishLogin(state, response []byte, find func(credentialID, userHandle []byte) (*PasskeyUser, error)) (credentialID, credential []byte, err error)
}

var (
	// ErrPasskeyLimit is returned by AddPasskey when the user has
	// MaxPasskeysPerUser passkeys.
	ErrPasskeyLimit = &Error{Code: EPasskeyLimit, Message: "this account has the most passkeys it may have; remove one first"}
	// ErrPasskeyExists is returned by AddPasskey when the credential is
	// registered already.
	ErrPasskeyExists = &Error{Code: EPasskeyRefused, Message: "this passkey is registered already"}

	errPasskeysOff    = &Error{Code: ENotFound, Message: "passkeys are not enabled on this server"}
	errPasskeyRefused = &Error{Code: EPasskeyRefused, Message: "the passkey was refused"}
	errPasskeyExpired = &Error{Code: EPasskeyRefused, Message: "the passkey request expired or was used already; start again"}
)

// PasskeysEnabled reports whether the server has a relying party configured
// (a public URL), without which no passkey ceremony runs.
func (s *Service) PasskeysEnabled() bool {
	return s.deps.Passkeys != nil && s.deps.PasskeyCeremonies != nil
}

// PasskeyHandle returns the user handle of user id.
func PasskeyHandle(id int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(id))
}

func (s *Service) passkeyUser(ctx context.Context, id int64) (*PasskeyUser, error) {
	u, err := s.deps.Users.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	list, err := s.deps.Passkeys.Passkeys(ctx, id)
	if err != nil {
		return nil, err
	}
	return &PasskeyUser{Handle: PasskeyHandle(id), Name: u.Username, Passkeys: list}, nil
}

// NormalizePasskeyName checks a passkey's name: valid UTF-8, 1 to
// MaxPasskeyNameLen characters after trimming white space, no control
// characters. It returns the trimmed NFC form.
func (s *Service) NormalizePasskeyName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EInvalid, "the passkey's name must be valid UTF-8")
	}
	name = strings.TrimSpace(s.deps.Normalizer.NFC(name))
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxPasskeyNameLen {
		return "", Errorf(EInvalid, "the passkey's name must be 1 to %d characters", MaxPasskeyNameLen)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) }) {
		return "", Errorf(EInvalid, "the passkey's name must not contain control characters")
	}
	return name, nil
}

// begin stores a new challenge for a ceremony and returns its id.
func (s *Service) beginPasskey(ctx context.Context, userID int64, kind string, state []byte) (string, error) {
	id, err := s.deps.NewID()
	if err != nil {
		return "", err
	}
	now := s.deps.Now()
	c := &PasskeyChallenge{ID: id, UserID: userID, Kind: kind, State: state, ExpiresAt: now.Add(PasskeyChallengeTTL)}
	if err := s.deps.Passkeys.AddPasskeyChallenge(ctx, c, now); err != nil {
		return "", err
	}
	return id, nil
}

// takePasskey consumes the challenge id of the given kind and user. A
// challenge of another shape, unknown, expired, used, of another kind or
// for another user is refused alike; a challenge taken by mistake is gone
// all the same, which costs an honest browser one more click at most.
func (s *Service) takePasskey(ctx context.Context, id, kind string, userID int64) (*PasskeyChallenge, error) {
	if !ValidSessionID(id) {
		return nil, errPasskeyExpired
	}
	c, err := s.deps.Passkeys.TakePasskeyChallenge(ctx, id, s.deps.Now())
	if errors.Is(err, ErrNotFound) {
		return nil, errPasskeyExpired
	}
	if err != nil {
		return nil, err
	}
	if c.Kind != kind || c.UserID != userID {
		return nil, errPasskeyExpired
	}
	return c, nil
}

// checkResponse refuses a response too large to be an authenticator's.
func checkResponse(response []byte) error {
	if len(response) == 0 || len(response) > MaxPasskeyResponseBytes {
		return errPasskeyRefused
	}
	return nil
}

// BeginPasskeyRegistration starts registering a passkey for the signed-in
// user and returns the challenge's id and the creation options.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p *Principal) (string, []byte, error) {
	if !s.PasskeysEnabled() {
		return "", nil, errPasskeysOff
	}
	u, err := s.passkeyUser(ctx, p.UserID)
	if err != nil {
		return "", nil, err
	}
	if len(u.Passkeys) >= MaxPasskeysPerUser {
		return "", nil, ErrPasskeyLimit
	}
	options, state, err := s.deps.PasskeyCeremonies.BeginRegistration(u)
	if err != nil {
		return "", nil, err
	}
	id, err := s.beginPasskey(ctx, p.UserID, PasskeyRegister, state)
	return id, options, err
}

// FinishPasskeyRegistration checks the authenticator's response to the
// challenge and stores the passkey under name.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, challengeID, name string, response []byte) (*Passkey, error) {
	if !s.PasskeysEnabled() {
		return nil, errPasskeysOff
	}
	name, err := s.NormalizePasskeyName(name)
	if err != nil {
		return nil, err
	}
	if err := checkResponse(response); err != nil {
		return nil, err
	}
	c, err := s.takePasskey(ctx, challengeID, PasskeyRegister, p.UserID)
	if err != nil {
		return nil, err
	}
	u, err := s.passkeyUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	credID, cred, err := s.deps.PasskeyCeremonies.FinishRegistration(u, c.State, response)
	if err != nil {
		return nil, err
	}
	id, err := s.deps.NewID()
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	pk := &Passkey{ID: id, UserID: p.UserID, CredentialID: credID, Name: name, Credential: cred, CreatedAt: now}
	if err := s.deps.Passkeys.AddPasskey(ctx, pk, MaxPasskeysPerUser); err != nil {
		return nil, err
	}
	return pk, nil
}

// ListPasskeys returns the caller's passkeys, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, p *Principal) ([]*Passkey, error) {
	if !s.PasskeysEnabled() {
		return nil, errPasskeysOff
	}
	return s.deps.Passkeys.Passkeys(ctx, p.UserID)
}

// DeletePasskey removes one of the caller's passkeys; it cannot sign in
// any more. An id of another shape names no passkey.
func (s *Service) DeletePasskey(ctx context.Context, p *Principal, id string) error {
	if !s.PasskeysEnabled() {
		return errPasskeysOff
	}
	if !ValidSessionID(id) {
		return ErrNotFound
	}
	return s.deps.Passkeys.DeletePasskey(ctx, p.UserID, id)
}

// BeginPasskeySignIn starts a sign-in with a passkey alone: the options
// list no credential, so that the authenticator offers its discoverable
// ones and returns the user handle. Each client address may start
// PasskeySignInIPLimit of them per PasskeyChallengeTTL.
func (s *Service) BeginPasskeySignIn(ctx context.Context, meta ClientMeta) (string, []byte, error) {
	if !s.PasskeysEnabled() {
		return "", nil, errPasskeysOff
	}
	if meta.IP != "" {
		now := s.deps.Now()
		c, err := s.deps.Counters.Incr(ctx, limitKey("ip-passkey:", meta.IP), now, PasskeyChallengeTTL)
		if err != nil {
			return "", nil, err
		}
		if c.Count > PasskeySignInIPLimit {
			return "", nil, tooMany(c.WindowStart.Add(PasskeyChallengeTTL).Sub(now))
		}
	}
	options, state, err := s.deps.PasskeyCeremonies.BeginLogin(nil)
	if err != nil {
		return "", nil, err
	}
	id, err := s.beginPasskey(ctx, 0, PasskeySignIn, state)
	return id, options, err
}

// FinishPasskeySignIn checks the assertion answering the challenge, finds
// the user from the passkey it names, and opens a browser session exactly
// as a password sign-in does.
func (s *Service) FinishPasskeySignIn(ctx context.Context, challengeID string, response []byte, meta ClientMeta) (*User, *Session, string, error) {
	if !s.PasskeysEnabled() {
		return nil, nil, "", errPasskeysOff
	}
	if err := checkResponse(response); err != nil {
		return nil, nil, "", err
	}
	c, err := s.takePasskey(ctx, challengeID, PasskeySignIn, 0)
	if err != nil {
		return nil, nil, "", err
	}
	u, err := s.assertPasskey(ctx, c, response, 0)
	if err != nil {
		return nil, nil, "", err
	}
	sess, cookie, err := s.OpenBrowserSession(ctx, u, meta)
	return u, sess, cookie, err
}

// assertPasskey verifies an assertion for challenge c and records the use.
// When userID is not 0 the passkey must be that user's.
func (s *Service) assertPasskey(ctx context.Context, c *PasskeyChallenge, response []byte, userID int64) (*User, error) {
	var found *Passkey
	var user *User
	find := func(credentialID, handle []byte) (*PasskeyUser, error) {
		pk, err := s.deps.Passkeys.PasskeyByCredentialID(ctx, credentialID)
		if errors.Is(err, ErrNotFound) {
			// Removed, or never registered here.
			return nil, errPasskeyRefused
		}
		if err != nil {
			return nil, err
		}
		// The handle must name the passkey's owner, and the owner must be
		// the user the ceremony is for, if any.
		if len(handle) != 8 || int64(binary.BigEndian.Uint64(handle)) != pk.UserID || (userID != 0 && pk.UserID != userID) {
			return nil, errPasskeyRefused
		}
		u, err := s.deps.Users.UserByID(ctx, pk.UserID)
		if errors.Is(err, ErrNotFound) {
			return nil, errPasskeyRefused
		}
		if err != nil {
			return nil, err
		}
		found, user = pk, u
		return &PasskeyUser{Handle: PasskeyHandle(u.ID), Name: u.Username, Passkeys: []*Passkey{pk}}, nil
	}
	_, cred, err := s.deps.PasskeyCeremonies.FinishLogin(c.State, response, find)
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, errPasskeyRefused
	}
	if err := s.deps.Passkeys.UsePasskey(ctx, found.ID, cred, s.deps.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			// Removed while it was signing.
			return nil, errPasskeyRefused
		}
		return nil, err
	}
	return user, nil
}
