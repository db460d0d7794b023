package restauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// A second factor is something a user proves after the password. Two-step
// sign-in is turned on by confirming a TOTP authenticator; from then on the
// second step can be completed with a TOTP code, one of the recovery codes,
// or, with passkeys on, one of the user's passkeys. Whether a user has a
// second step is answered in one place, HasSecondFactor, and the second step
// of a login is independent of the factor: a password login of such a user
// opens no session but stores an MFA challenge (which user, from which
// client, until when) and hands its token to the client, and the call that
// completes the login names the factor it proves.
//
// A passkey alone does not turn two-step sign-in on. Registering one is a
// way to sign in without the password; it is done by a session the password
// opened, gives no recovery codes, and stops working when the server's
// public URL changes, so making it required after the password would lock
// out whoever loses the device or the server its passkey configuration.

// MFAStore persists second factors and the challenges of logins waiting for
// one.
type MFAStore interface {
	// PutPendingTOTP stores secret as the user's TOTP enrolment awaiting
	// confirmation, replacing an earlier pending one. It returns
	// ErrTOTPActive when the user has a confirmed one, and ErrNotFound when
	// the user does not exist.
	PutPendingTOTP(ctx context.Context, userID int64, secret []byte, now time.Time) error
	// TOTP returns the user's TOTP enrolment, pending or confirmed, or
	// ErrNotFound.
	TOTP(ctx context.Context, userID int64) (*TOTPRecord, error)
	// ConfirmTOTP marks the pending enrolment confirmed at now, records step
	// as its last used step, and replaces the user's recovery codes with
	// recoveryHashes, in one transaction; ErrNotFound when no enrolment is
	// pending.
	ConfirmTOTP(ctx context.Context, userID int64, step int64, recoveryHashes [][]byte, now time.Time) error
	// UseTOTPStep records step as used for the user's confirmed enrolment
	// with a single conditional update, and reports false when a step at or
	// after it was used already (a replayed code) or nothing is confirmed.
	UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error)
	// UseRecoveryCode deletes the user's recovery code with the given hash
	// and reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error)
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
	// DeleteMFA removes the user's TOTP enrolment and recovery codes and
	// reports whether a confirmed enrolment was removed.
	DeleteMFA(ctx context.Context, userID int64) (bool, error)
	// CreateMFAChallenge stores c, deleting challenges expired at
	// c.CreatedAt on the way so that the table stays bounded.
	CreateMFAChallenge(ctx context.Context, c *MFAChallenge) error
	// MFAChallenge returns the challenge whose token hashes to hash if it
	// expires after now, or ErrNotFound.
	MFAChallenge(ctx context.Context, hash []byte, now time.Time) (*MFAChallenge, error)
	// ConsumeMFAChallenge deletes the challenge if it expires after now and
	// returns it; ErrNotFound when it is unknown, expired or was consumed
	// already, so that only one of concurrent completions wins.
	ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*MFAChallenge, error)
}

// TOTPRecord is a user's TOTP enrolment as stored. ConfirmedAt is zero
// while it awaits its first correct code. LastStep is the most recent time
// step whose code was accepted; no code of that step or an earlier one is
// accepted again.
type TOTPRecord struct {
	UserID      int64
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt time.Time
	LastStep    int64
}

// MFAChallenge is a login that proved the password and waits for a second
// factor. Only the SHA-256 of its token is stored.
type MFAChallenge struct {
	Hash      []byte
	UserID    int64
	ClientIP  string // Where the password was presented.
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Second-factor limits.
const (
	// MFAChallengeTTL is how long an mfa_token may complete its login.
	MFAChallengeTTL = 5 * time.Minute
	// RecoveryCodeCount is how many recovery codes a confirmed enrolment
	// gets; each may be used once.
	RecoveryCodeCount = 10
	// MFAPasskeyBeginLimit bounds the passkey ceremonies the pending
	// logins of one account may start per PasskeyChallengeTTL, so that
	// someone who knows the password cannot fill the challenge table.
	MFAPasskeyBeginLimit = 30
	// maxMFATokenLen bounds a presented mfa_token before it is hashed.
	maxMFATokenLen = 128
)

// Factor names, as the call completing a login names them.
const (
	FactorTOTP         = "totp"
	FactorRecoveryCode = "recovery_code"
	// FactorPasskey is one of the user's passkeys, answering a challenge
	// from BeginMFAPasskey.
	FactorPasskey = "passkey"
)

var (
	// ErrTOTPActive is returned when an enrolment is started for a user
	// whose TOTP is already confirmed.
	ErrTOTPActive = &Error{Code: ETOTPActive, Message: "a TOTP authenticator is already active; disable it first"}

	errMFARequired = &Error{Code: EMFARequired, Message: "a second factor is required; complete the login with POST /api/tokens/mfa"}
	// errMFAPassword refuses a password alone, sent where no second step
	// can follow (HTTP Basic, GET /api/token).
	errMFAPassword = &Error{Code: EMFARequired, Message: "this account has a second factor, which HTTP Basic with a password cannot carry; " +
		"log in with POST /api/tokens and use the access token, or use an API key"}
	errBadMFAToken   = &Error{Code: EInvalidMFAToken, Message: "the mfa_token is invalid, expired or already used"}
	errBadCode       = &Error{Code: EInvalidCode, Message: "the code is wrong or was already used"}
	errNoPending     = &Error{Code: ENotFound, Message: "no TOTP enrolment is waiting for confirmation"}
	errNoFactor      = &Error{Code: ENotFound, Message: "no TOTP authenticator is active"}
	errUnknownFactor = &Error{Code: EInvalid, Message: `factor must be "totp", "recovery_code" or "passkey"`}
	errNoPasskey     = &Error{Code: EPasskeyRefused, Message: "this account has no passkey"}
	errNoMFAStore    = errors.New("no MFA store is configured")
)

// MFARequiredError is returned by a password login of a user with a second
// factor. It carries the mfa_token that completes the login; its Error text
// never includes the token, so that logging it reveals nothing.
type MFARequiredError struct {
	Token     string
	ExpiresIn time.Duration
	// Factors names what can complete the login: FactorTOTP and
	// FactorRecoveryCode, and FactorPasskey when passkeys are on and the
	// user has one.
	Factors []string
}

func (e *MFARequiredError) Error() string { return errMFARequired.Error() }

// Unwrap makes the error an *Error with code EMFARequired for ErrorCode and
// ErrorMessage.
func (e *MFARequiredError) Unwrap() error { return errMFARequired }

// TOTPEnrolment is what starting an enrolment returns: the secret in base32
// and the otpauth:// URI that carries it to an authenticator app.
type TOTPEnrolment struct {
	Secret string
	URI    string
}

// MFAStatus describes a user's second factors.
type MFAStatus struct {
	TOTP              bool // A confirmed TOTP authenticator.
	TOTPPending       bool // An enrolment awaits its first code.
	RecoveryCodesLeft int
}

func (s *Service) mfaStore() (MFAStore, error) {
	if s.deps.MFA == nil {
		return nil, errNoMFAStore
	}
	return s.deps.MFA, nil
}

// HasSecondFactor reports whether a password alone is not enough for the
// user: this is the one place that says so. It is so when the user has a
// confirmed TOTP authenticator; passkeys are then one more way to complete
// the second step (secondFactors), not a reason for one.
func (s *Service) HasSecondFactor(ctx context.Context, userID int64) (bool, error) {
	if s.deps.MFA == nil {
		return false, nil
	}
	rec, err := s.deps.MFA.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !rec.ConfirmedAt.IsZero(), nil
}

// MFAStatus returns the caller's second factors.
func (s *Service) MFAStatus(ctx context.Context, p *Principal) (*MFAStatus, error) {
	st := &MFAStatus{}
	if s.deps.MFA == nil {
		return st, nil
	}
	rec, err := s.deps.MFA.TOTP(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	st.TOTP, st.TOTPPending = !rec.ConfirmedAt.IsZero(), rec.ConfirmedAt.IsZero()
	if st.TOTP {
		if st.RecoveryCodesLeft, err = s.deps.MFA.RecoveryCodesLeft(ctx, p.UserID); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// EnrollTOTP starts a TOTP enrolment for the caller: a fresh secret,
// stored as pending (replacing an earlier pending one) until ConfirmTOTP
// sees a correct code from it.
func (s *Service) EnrollTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	if err := keyCannotManageFactors(p); err != nil {
		return nil, err
	}
	st, err := s.mfaStore()
	if err != nil {
		return nil, err
	}
	secret := make([]byte, TOTPSecretBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails.
	if err := st.PutPendingTOTP(ctx, p.UserID, secret, s.deps.Now()); err != nil {
		return nil, err
	}
	return &TOTPEnrolment{
		Secret: totpEncoding.EncodeToString(secret),
		URI:    totpURI(s.cfg.Issuer, p.Username, secret),
	}, nil
}

// PendingTOTP returns the caller's enrolment awaiting confirmation, so that
// a page can show its secret again until it is confirmed; ErrNotFound
// (with its own message) when none is pending. A confirmed secret is never
// returned.
func (s *Service) PendingTOTP(ctx context.Context, p *Principal) (*TOTPEnrolment, error) {
	st, err := s.mfaStore()
	if err != nil {
		return nil, err
	}
	rec, err := st.TOTP(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) || err == nil && !rec.ConfirmedAt.IsZero() {
		return nil, errNoPending
	}
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{Secret: totpEncoding.EncodeToString(rec.Secret), URI: totpURI(s.cfg.Issuer, p.Username, rec.Secret)}, nil
}

// FactorOf names the factor a code typed into one field is for: six digits
// (spaces aside) are a TOTP code, anything else is taken as a recovery
// code.
func FactorOf(code string) string {
	if _, ok := normalizeTOTPCode(code); ok {
		return FactorTOTP
	}
	return FactorRecoveryCode
}

// ConfirmTOTP activates the caller's pending enrolment when code is its
// current code (within the drift), and returns the recovery codes, shown
// this once. Every other session of the caller ends: they were opened with
// the password alone, and the user-level revocation this records also
// drops the caller's verified passwords from the credential cache of every
// instance.
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, code string, meta ClientMeta) ([]string, error) {
	if err := keyCannotManageFactors(p); err != nil {
		return nil, err
	}
	st, err := s.mfaStore()
	if err != nil {
		return nil, err
	}
	rec, err := st.TOTP(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoPending
	}
	if err != nil {
		return nil, err
	}
	if !rec.ConfirmedAt.IsZero() {
		return nil, ErrTOTPActive
	}
	code, ok := normalizeTOTPCode(code)
	if !ok {
		return nil, errBadCode
	}
	att, err := s.holdMFA(ctx, p.UserID, meta)
	if err != nil {
		return nil, err
	}
	defer att.settle(context.WithoutCancel(ctx))
	step, ok := totpMatch(rec.Secret, code, s.deps.Now())
	if !ok {
		att.failed = true
		return nil, errBadCode
	}
	codes, hashes := newRecoveryCodes()
	if err := st.ConfirmTOTP(ctx, p.UserID, step, hashes, s.deps.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, errNoPending
		}
		return nil, err
	}
	att.succeeded = true
	if err := s.revokeAll(ctx, p.UserID, p.SessionID); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP removes the caller's TOTP authenticator and recovery codes
// after checking the password or a current code (or a recovery code): one
// of the two is enough, so that a user who lost the authenticator can still
// turn it off, and one who forgot the password too can use a recovery code.
func (s *Service) DisableTOTP(ctx context.Context, p *Principal, password, code string, meta ClientMeta) error {
	if err := keyCannotManageFactors(p); err != nil {
		return err
	}
	st, err := s.mfaStore()
	if err != nil {
		return err
	}
	has, err := s.HasSecondFactor(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !has {
		return errNoFactor
	}
	switch {
	case password != "":
		u, _, err := s.authenticate(ctx, p.Username, password, meta, false)
		if err != nil {
			return wrongPassword(err)
		}
		if u.ID != p.UserID {
			return errWrongPassword
		}
	case code != "":
		if err := s.checkFactor(ctx, p.UserID, FactorOf(code), code, meta); err != nil {
			return err
		}
	default:
		return Errorf(EInvalid, "send the password or a code")
	}
	if _, err := st.DeleteMFA(ctx, p.UserID); err != nil {
		return err
	}
	return nil
}

// ResetMFA removes a user's second factors and ends every session of the
// user, for an operator helping someone who lost them (restauth user
// mfa-reset). It returns ErrNotFound when the user has no second factor.
func (s *Service) ResetMFA(ctx context.Context, userID int64) error {
	st, err := s.mfaStore()
	if err != nil {
		return err
	}
	removed, err := st.DeleteMFA(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.revokeAll(ctx, userID, ""); err != nil {
		return err
	}
	if !removed {
		return errNoFactor
	}
	return nil
}

// challenge stores an MFA challenge for u, which has just proved the
// password from meta, and returns the *MFARequiredError that hands its
// token to the client.
func (s *Service) challenge(ctx context.Context, u *User, meta ClientMeta) error {
	st, err := s.mfaStore()
	if err != nil {
		return err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	now := s.deps.Now()
	c := &MFAChallenge{
		Hash: hashMFAToken(tok), UserID: u.ID,
		ClientIP: meta.IP, UserAgent: ClientLabel(meta.UserAgent),
		CreatedAt: now, ExpiresAt: now.Add(MFAChallengeTTL),
	}
	factors, err := s.secondFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if err := st.CreateMFAChallenge(ctx, c); err != nil {
		return err
	}
	return &MFARequiredError{Token: tok, ExpiresIn: MFAChallengeTTL, Factors: factors}
}

// secondFactors names the factors that can complete a second step of the
// user: codes always, a passkey when passkeys are on and the user has one.
func (s *Service) secondFactors(ctx context.Context, userID int64) ([]string, error) {
	factors := []string{FactorTOTP, FactorRecoveryCode}
	if !s.PasskeysEnabled() {
		return factors, nil
	}
	list, err := s.deps.Passkeys.Passkeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		factors = append(factors, FactorPasskey)
	}
	return factors, nil
}

// SecondStepFactors names the factors that can complete the pending login
// of mfaToken, for a page showing its second step again; an error with
// code EInvalidMFAToken when the token is unknown, expired or used.
func (s *Service) SecondStepFactors(ctx context.Context, mfaToken string) ([]string, error) {
	ch, _, err := s.pendingChallenge(ctx, mfaToken)
	if err != nil {
		return nil, err
	}
	return s.secondFactors(ctx, ch.UserID)
}

// pendingChallenge returns the MFA challenge of mfaToken, which it does not
// consume, and the token's hash.
func (s *Service) pendingChallenge(ctx context.Context, mfaToken string) (*MFAChallenge, []byte, error) {
	st, err := s.mfaStore()
	if err != nil {
		return nil, nil, err
	}
	if mfaToken == "" || len(mfaToken) > maxMFATokenLen {
		return nil, nil, errBadMFAToken
	}
	h := hashMFAToken(mfaToken)
	ch, err := st.MFAChallenge(ctx, h, s.deps.Now())
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBadMFAToken
	}
	if err != nil {
		return nil, nil, err
	}
	return ch, h, nil
}

// BeginMFAPasskey starts proving the second factor of the pending login of
// mfaToken with a passkey: it returns the challenge's id and the request
// options, which list the user's passkeys only (allowCredentials). The
// challenge is bound to the login: it completes only the login of that
// mfa_token, is single-use and expires after PasskeyChallengeTTL. The
// logins of one account may start MFAPasskeyBeginLimit of them per
// PasskeyChallengeTTL.
func (s *Service) BeginMFAPasskey(ctx context.Context, mfaToken string) (string, []byte, error) {
	if !s.PasskeysEnabled() {
		return "", nil, errPasskeysOff
	}
	ch, h, err := s.pendingChallenge(ctx, mfaToken)
	if err != nil {
		return "", nil, err
	}
	now := s.deps.Now()
	c, err := s.deps.Counters.Incr(ctx, "mfa-passkey:"+FormatUserID(ch.UserID), now, PasskeyChallengeTTL)
	if err != nil {
		return "", nil, err
	}
	if c.Count > MFAPasskeyBeginLimit {
		return "", nil, tooMany(c.WindowStart.Add(PasskeyChallengeTTL).Sub(now))
	}
	u, err := s.passkeyUser(ctx, ch.UserID)
	if errors.Is(err, ErrNotFound) {
		// The account was deleted since the password was checked.
		return "", nil, errBadMFAToken
	}
	if err != nil {
		return "", nil, err
	}
	if len(u.Passkeys) == 0 {
		return "", nil, errNoPasskey
	}
	options, state, err := s.deps.PasskeyCeremonies.BeginLogin(u)
	if err != nil {
		return "", nil, err
	}
	// The state starts with the mfa_token's hash, which binds the
	// challenge to this login (see checkPasskeyFactor).
	id, err := s.beginPasskey(ctx, ch.UserID, PasskeyVerify, append(h[:len(h):len(h)], state...))
	return id, options, err
}

func hashMFAToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// CompleteLogin finishes a login that answered EMFARequired: mfaToken is
// the token it handed out, factor names what code proves. It opens a
// session and returns its tokens.
func (s *Service) CompleteLogin(ctx context.Context, mfaToken, factor, code string, meta ClientMeta) (*User, *TokenPair, error) {
	return s.completeLogin(ctx, mfaToken, codeProof(factor, code), meta)
}

// CompleteLoginPasskey is CompleteLogin with a passkey: response is the
// assertion (the browser's PublicKeyCredential as JSON) answering the
// challenge challengeID that BeginMFAPasskey started for mfaToken.
func (s *Service) CompleteLoginPasskey(ctx context.Context, mfaToken, challengeID string, response []byte, meta ClientMeta) (*User, *TokenPair, error) {
	return s.completeLogin(ctx, mfaToken, passkeyProof(challengeID, response), meta)
}

func (s *Service) completeLogin(ctx context.Context, mfaToken string, proof factorProof, meta ClientMeta) (*User, *TokenPair, error) {
	u, m, err := s.secondStep(ctx, mfaToken, proof, meta)
	if err != nil {
		return nil, nil, err
	}
	pair, err := s.OpenSession(ctx, u, m)
	if err != nil {
		return nil, nil, err
	}
	return u, pair, nil
}

// CompleteSignIn is CompleteLogin for the pages: it opens a browser session.
func (s *Service) CompleteSignIn(ctx context.Context, mfaToken, factor, code string, meta ClientMeta) (*User, *Session, string, error) {
	return s.completeSignIn(ctx, mfaToken, codeProof(factor, code), meta)
}

// CompleteSignInPasskey is CompleteLoginPasskey for the pages: it opens a
// browser session.
func (s *Service) CompleteSignInPasskey(ctx context.Context, mfaToken, challengeID string, response []byte, meta ClientMeta) (*User, *Session, string, error) {
	return s.completeSignIn(ctx, mfaToken, passkeyProof(challengeID, response), meta)
}

func (s *Service) completeSignIn(ctx context.Context, mfaToken string, proof factorProof, meta ClientMeta) (*User, *Session, string, error) {
	u, m, err := s.secondStep(ctx, mfaToken, proof, meta)
	if err != nil {
		return nil, nil, "", err
	}
	sess, cookie, err := s.OpenBrowserSession(ctx, u, m)
	if err != nil {
		return nil, nil, "", err
	}
	return u, sess, cookie, nil
}

// factorProof is what completes a second step: a code of a named factor,
// or a passkey's assertion.
type factorProof struct {
	factor    string
	code      string // FactorTOTP, FactorRecoveryCode.
	challenge string // FactorPasskey: the id from BeginMFAPasskey.
	response  []byte // FactorPasskey: the assertion.
}

func codeProof(factor, code string) factorProof {
	if factor == "" {
		factor = FactorTOTP
	}
	return factorProof{factor: factor, code: code}
}

func passkeyProof(challengeID string, response []byte) factorProof {
	return factorProof{factor: FactorPasskey, challenge: challengeID, response: response}
}

// secondStep checks the second factor of a pending login and consumes its
// challenge. The session opened next records the client the password came
// from, as the challenge stored it.
func (s *Service) secondStep(ctx context.Context, mfaToken string, proof factorProof, meta ClientMeta) (*User, ClientMeta, error) {
	st, err := s.mfaStore()
	if err != nil {
		return nil, meta, err
	}
	ch, h, err := s.pendingChallenge(ctx, mfaToken)
	if err != nil {
		return nil, meta, err
	}
	if proof.factor == FactorPasskey {
		err = s.checkPasskeyFactor(ctx, ch, h, proof.challenge, proof.response, meta)
	} else {
		err = s.checkFactor(ctx, ch.UserID, proof.factor, proof.code, meta)
	}
	if err != nil {
		return nil, meta, err
	}
	if _, err := st.ConsumeMFAChallenge(ctx, h, s.deps.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, meta, errBadMFAToken
		}
		return nil, meta, err
	}
	u, err := s.deps.Users.UserByID(ctx, ch.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, meta, errBadMFAToken
	}
	if err != nil {
		return nil, meta, err
	}
	return u, ClientMeta{IP: ch.ClientIP, UserAgent: ch.UserAgent}, nil
}

// checkPasskeyFactor checks a passkey's assertion for the pending login ch
// (whose mfa_token hashes to h) under the same guessing limits as a code:
// a refused assertion counts as a wrong code. The passkey challenge must be
// one BeginMFAPasskey started for this very login, and the passkey one of
// the login's user. A response that cannot be an authenticator's, or a
// challenge id of another shape, is refused before it is counted.
func (s *Service) checkPasskeyFactor(ctx context.Context, ch *MFAChallenge, h []byte, challengeID string, response []byte, meta ClientMeta) error {
	if !s.PasskeysEnabled() {
		return errPasskeysOff
	}
	if err := checkResponse(response); err != nil {
		return err
	}
	if !ValidSessionID(challengeID) {
		return errPasskeyExpired
	}
	return s.guardFactor(ctx, ch.UserID, meta, func() error {
		c, err := s.takePasskey(ctx, challengeID, PasskeyVerify, ch.UserID)
		if err != nil {
			return err
		}
		if len(c.State) < len(h) || subtle.ConstantTimeCompare(c.State[:len(h)], h) != 1 {
			// Started for another login of the same user.
			return errPasskeyExpired
		}
		c.State = c.State[len(h):]
		_, err = s.assertPasskey(ctx, c, response, ch.UserID)
		return err
	})
}

// checkFactor checks a code of the named factor for the user under the
// per-account and per-address guessing limits, and uses it up: a TOTP
// code's step is recorded (no code of it or an earlier step is accepted
// again), a recovery code is deleted. A code that cannot be one is refused
// before it is counted, since it cannot be a guess.
func (s *Service) checkFactor(ctx context.Context, userID int64, factor, code string, meta ClientMeta) error {
	st, err := s.mfaStore()
	if err != nil {
		return err
	}
	var check func() (bool, error)
	switch factor {
	case FactorTOTP:
		c, ok := normalizeTOTPCode(code)
		if !ok {
			return errBadCode
		}
		check = func() (bool, error) {
			rec, err := st.TOTP(ctx, userID)
			if errors.Is(err, ErrNotFound) {
				return false, nil
			}
			if err != nil || rec.ConfirmedAt.IsZero() {
				return false, err
			}
			step, ok := totpMatch(rec.Secret, c, s.deps.Now())
			if !ok {
				return false, nil
			}
			return st.UseTOTPStep(ctx, userID, step)
		}
	case FactorRecoveryCode:
		c, ok := normalizeRecoveryCode(code)
		if !ok {
			return errBadCode
		}
		check = func() (bool, error) { return st.UseRecoveryCode(ctx, userID, hashRecoveryCode(c)) }
	default:
		return errUnknownFactor
	}
	return s.guardFactor(ctx, userID, meta, func() error {
		ok, err := check()
		if err == nil && !ok {
			err = errBadCode
		}
		return err
	})
}

// guardFactor runs check, a second-factor check of the user, under the
// guessing limits (holdMFA). A refusal (invalid_code, passkey_refused)
// counts as a failure; a success clears the account's failures; any other
// error (a store failure) counts as neither.
func (s *Service) guardFactor(ctx context.Context, userID int64, meta ClientMeta, check func() error) error {
	att, err := s.holdMFA(ctx, userID, meta)
	if err != nil {
		return err
	}
	defer att.settle(context.WithoutCancel(ctx))
	err = check()
	switch ErrorCode(err) {
	case "":
		att.succeeded = true
	case EInvalidCode, EPasskeyRefused:
		att.failed = true
	}
	return err
}

// holdMFA takes the guessing limits for a code check: the per-account
// tarpit under a counter of its own (code failures do not slow the
// password, nor the reverse) and the per-address login limit, which code
// and password failures share.
func (s *Service) holdMFA(ctx context.Context, userID int64, meta ClientMeta) (*attempt, error) {
	att := &attempt{s: s}
	if lim, ok := s.accountLimit("mfa:" + FormatUserID(userID)); ok {
		if err := att.hold(ctx, lim); err != nil {
			att.settle(ctx)
			return nil, err
		}
	}
	if lim, ok := s.ipLimit(meta.IP); ok {
		if err := att.hold(ctx, lim); err != nil {
			att.settle(ctx)
			return nil, err
		}
	}
	return att, nil
}

// Recovery codes are 80 random bits written as 16 base32 characters in
// four groups ("abcd-efgh-ijkm-nopq"). With that much entropy a fast hash
// is as safe as a slow one (no list of likely codes exists to try), so the
// store keeps their SHA-256, which also lets a code be found by its hash.
const recoveryCodeChars = 16

const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var recoveryEncoding = base32.NewEncoding(recoveryAlphabet).WithPadding(base32.NoPadding)

func newRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		raw := make([]byte, recoveryCodeChars*5/8)
		_, _ = rand.Read(raw)
		c := recoveryEncoding.EncodeToString(raw)
		codes = append(codes, c[0:4]+"-"+c[4:8]+"-"+c[8:12]+"-"+c[12:16])
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes
}

// normalizeRecoveryCode lowers case and drops the dashes and spaces people
// type, and reports whether the rest can be a recovery code.
func normalizeRecoveryCode(code string) (string, bool) {
	if len(code) > 64 {
		return "", false
	}
	code = strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(code))
	// Each character is checked by hand: base32 decoding skips line
	// breaks, which no code holds.
	if len(code) != recoveryCodeChars || strings.Trim(code, recoveryAlphabet) != "" {
		return "", false
	}
	return code, true
}

func hashRecoveryCode(normalized string) []byte {
	h := sha256.Sum256([]byte("restauth recovery code\x00" + normalized))
	return h[:]
}

// errKeyManagesFactors refuses second-factor changes made with an API key: a
// leaked key must not be able to put a factor the owner does not hold in
// front of the owner's own password, nor take one away.
var errKeyManagesFactors = &Error{Code: EForbidden, Message: "second factors are managed with a password or an access token, not with an API key"}

func keyCannotManageFactors(p *Principal) error {
	if p.APIKey != nil {
		return errKeyManagesFactors
	}
	return nil
}
