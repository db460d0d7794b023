package restauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"
)

// The device authorization grant (RFC 8628) signs in a device with no
// browser or keyboard worth the name (a TV, a command-line tool): the
// device shows a short user code, the person enters it at /device on a
// phone or computer where they are signed in, and approves; meanwhile the
// device polls the token endpoint with its device code.

// GrantDeviceCode is the grant type of the device authorization grant.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Device grant limits and defaults; docs/oidc.md states each.
const (
	// DeviceCodeTTL is how long a device code and its user code live.
	DeviceCodeTTL = 10 * time.Minute
	// DeviceCodeKeep is how long an expired device code is kept, so that
	// a device polling late is told expired_token rather than
	// invalid_grant (RFC 8628 3.5).
	DeviceCodeKeep = 10 * time.Minute
	// DeviceInterval is the least time between two polls of one device
	// code; a poll sooner gets slow_down and adds DeviceSlowDown to it.
	DeviceInterval = 5 * time.Second
	DeviceSlowDown = 5 * time.Second
	// DeviceUserCodeAttempts bounds the user codes one person may try per
	// DeviceCodeTTL, so that the 34 bits of a user code cannot be guessed.
	// Looking a code up and deciding on it count alike.
	DeviceUserCodeAttempts = 20
	// DeviceUserCodeIPMisses bounds the unknown user codes tried from one
	// client address per DeviceCodeTTL, whichever accounts try them, so
	// that many accounts do not multiply the budget.
	DeviceUserCodeIPMisses = 60
	// DeviceCodesPerAddress bounds the device codes one client may start
	// from one client address per DeviceCodeTTL.
	DeviceCodesPerAddress = 30
	// userCodeAlphabet has no vowels (no words) and no look-alike
	// characters (RFC 8628 6.1); eight of them are about 34.6 bits.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
)

// Device code states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceUsed     = "used"
)

// DeviceCode is one device authorization in progress, stored by the hash
// of its device code.
type DeviceCode struct {
	Hash         []byte
	UserCode     string // Normalised: eight letters of userCodeAlphabet.
	ClientID     string
	Scopes       []string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	Interval     time.Duration
	LastPolledAt time.Time
	Status       string
	UserID       int64     // Set when decided.
	AuthTime     time.Time // The deciding browser session's sign-in.
	SessionID    string    // Set when redeemed.
}

// DeviceAuthorization is the device authorization endpoint's answer.
type DeviceAuthorization struct {
	DeviceCode string
	UserCode   string // Formatted for people: XXXX-XXXX.
	ExpiresIn  time.Duration
	Interval   time.Duration
}

var errDeviceCode = &Error{Code: ENotFound, Message: "that code is unknown, expired or already used"}

// StartDeviceAuthorization begins a device authorization for client.
// Device codes stored for one client from one client address are limited
// to DeviceCodesPerAddress per DeviceCodeTTL.
func (s *Service) StartDeviceAuthorization(ctx context.Context, client *OAuthClient, scope string, meta ClientMeta) (*DeviceAuthorization, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if !client.HasGrant(GrantDeviceCode) {
		return nil, oauthErr(EOAuthUnauthorized, "the client may not use the device authorization grant")
	}
	// scope is optional (RFC 8628 3.1): without it the device asks for
	// every scope the client registered.
	scopes, ok := slices.Clone(client.Scopes), len(client.Scopes) > 0
	if scope != "" {
		scopes, ok = parseOAuthScopes(scope)
	}
	if !ok || !subset(scopes, client.Scopes) {
		return nil, oauthErr(EOAuthInvalidScope, "scope is malformed, or not registered for the client")
	}
	if err := s.rowBudget(ctx, "device-code:", client.ID, meta, DeviceCodesPerAddress, DeviceCodeTTL); err != nil {
		return nil, err
	}
	device, err := randomToken(32)
	if err != nil {
		return nil, err
	}
	now := s.deps.Now()
	d := &DeviceCode{Hash: HashOAuthSecret(device), ClientID: client.ID, Scopes: scopes, CreatedAt: now,
		ExpiresAt: now.Add(DeviceCodeTTL), Interval: DeviceInterval, Status: DevicePending}
	// A user code taken by a live device code is drawn again; two
	// collisions in a row mean something else is wrong.
	for range 3 {
		if d.UserCode, err = newUserCode(); err != nil {
			return nil, err
		}
		if err = st.AddDeviceCode(ctx, d, now); !errors.Is(err, ErrDeviceCodeExists) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &DeviceAuthorization{DeviceCode: device, UserCode: FormatUserCode(d.UserCode), ExpiresIn: DeviceCodeTTL, Interval: DeviceInterval}, nil
}

// ErrDeviceCodeExists is returned by AddDeviceCode when the user code is
// taken.
var ErrDeviceCodeExists = &Error{Code: EInvalid, Message: "the user code is taken"}

func newUserCode() (string, error) {
	b := make([]byte, userCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, userCodeLen)
	for i, c := range b {
		// 256 is not a multiple of 20: redraw the few values that would
		// bias the first letters.
		for c >= 240 {
			var one [1]byte
			if _, err := rand.Read(one[:]); err != nil {
				return "", err
			}
			c = one[0]
		}
		out[i] = userCodeAlphabet[int(c)%len(userCodeAlphabet)]
	}
	return string(out), nil
}

// FormatUserCode writes a normalised user code as people read it.
func FormatUserCode(c string) string {
	if len(c) != userCodeLen {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// NormalizeUserCode reads a user code as a person may type it: any case,
// with dashes or spaces. It returns "" for anything that cannot be one.
func NormalizeUserCode(in string) string {
	if len(in) > 32 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != userCodeLen {
		return ""
	}
	return b.String()
}

// DeviceRequest finds the pending device authorization a signed-in person
// entered the user code of, with its client, for the confirmation page.
// Attempts are limited per person and unknown codes per client address, so
// that user codes cannot be guessed.
func (s *Service) DeviceRequest(ctx context.Context, p *Principal, userCode string, meta ClientMeta) (*DeviceCode, *OAuthClient, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, nil, err
	}
	now := s.deps.Now()
	if err := s.deviceAttempt(ctx, p, meta, now); err != nil {
		return nil, nil, err
	}
	d, err := s.deviceCode(ctx, st, userCode, meta, now)
	if err != nil {
		return nil, nil, err
	}
	client, err := st.OAuthClient(ctx, d.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errDeviceCode
	}
	if err != nil {
		return nil, nil, err
	}
	return d, client, nil
}

// DeviceToken is what the confirmation page's form carries for userCode
// (normalised) in browser session sess: an HMAC under the server's
// DeviceSecret, so that only a browser session shown the confirmation by
// DeviceRequest can present it, and a person guessing codes cannot compute
// one.
func (s *Service) DeviceToken(sess *Session, userCode string) string {
	m := hmac.New(sha256.New, s.deps.OIDC.DeviceSecret)
	m.Write([]byte("device\x00"))
	m.Write([]byte(sess.ID))
	m.Write([]byte{0})
	m.Write([]byte(userCode))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errDeviceToken = &Error{Code: EForbidden, Message: "the confirmation was not shown to this browser session"}

// DecideDevice records the signed-in person's answer for a pending device
// authorization, once, when token is the DeviceToken the confirmation page
// gave this browser session. Each decision counts as an attempt, as a look
// up does, so that deciding cannot be used to guess codes. Approving also
// remembers the consent.
func (s *Service) DecideDevice(ctx context.Context, p *Principal, sess *Session, userCode, token string, approve bool, meta ClientMeta) error {
	st, err := s.oauth()
	if err != nil {
		return err
	}
	now := s.deps.Now()
	if err := s.deviceAttempt(ctx, p, meta, now); err != nil {
		return err
	}
	code := NormalizeUserCode(userCode)
	if code == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.DeviceToken(sess, code))) != 1 {
		if err := s.deviceMiss(ctx, meta, now); err != nil {
			return err
		}
		return errDeviceToken
	}
	d, err := s.deviceCode(ctx, st, code, meta, now)
	if err != nil {
		return err
	}
	if err := st.DecideDeviceCode(ctx, code, p.UserID, sess.CreatedAt, approve, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errDeviceCode
		}
		return err
	}
	if approve {
		return s.Consent(ctx, p, &AuthorizationRequest{ClientID: d.ClientID, Scopes: d.Scopes})
	}
	return nil
}

// deviceAttempt counts one user-code attempt of the person, and refuses it
// when the person, or the client address through misses, is over budget.
func (s *Service) deviceAttempt(ctx context.Context, p *Principal, meta ClientMeta, now time.Time) error {
	if meta.IP != "" {
		c, err := s.deps.Counters.Get(ctx, deviceMissKey(meta), now, DeviceCodeTTL)
		if err != nil {
			return err
		}
		if c.Count >= DeviceUserCodeIPMisses {
			return tooMany(c.WindowStart.Add(DeviceCodeTTL).Sub(now))
		}
	}
	c, err := s.deps.Counters.Incr(ctx, "device:"+FormatUserID(p.UserID), now, DeviceCodeTTL)
	if err != nil {
		return err
	}
	if c.Count > DeviceUserCodeAttempts {
		return tooMany(c.WindowStart.Add(DeviceCodeTTL).Sub(now))
	}
	return nil
}

// deviceMiss counts a user code that found nothing against the client
// address.
func (s *Service) deviceMiss(ctx context.Context, meta ClientMeta, now time.Time) error {
	if meta.IP == "" {
		return nil
	}
	_, err := s.deps.Counters.Incr(ctx, deviceMissKey(meta), now, DeviceCodeTTL)
	return err
}

func deviceMissKey(meta ClientMeta) string { return limitKey("device-miss-ip:", meta.IP) }

// deviceCode looks up the pending device code a person typed, counting a
// miss against the client address.
func (s *Service) deviceCode(ctx context.Context, st OAuthStore, userCode string, meta ClientMeta, now time.Time) (*DeviceCode, error) {
	code := NormalizeUserCode(userCode)
	var d *DeviceCode
	var err error = ErrNotFound
	if code != "" {
		d, err = st.DeviceCodeByUserCode(ctx, code, now)
	}
	if errors.Is(err, ErrNotFound) {
		if err := s.deviceMiss(ctx, meta, now); err != nil {
			return nil, err
		}
		return nil, errDeviceCode
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// PollDevice answers a device's poll at the token endpoint (RFC 8628 3.4,
// 3.5): authorization_pending until the person decides, slow_down when it
// polls sooner than its interval, access_denied, expired_token, or, once,
// the tokens.
func (s *Service) PollDevice(ctx context.Context, client *OAuthClient, deviceCode string, meta ClientMeta) (*OAuthTokens, error) {
	st, err := s.oauth()
	if err != nil {
		return nil, err
	}
	if !client.HasGrant(GrantDeviceCode) {
		return nil, oauthErr(EOAuthUnauthorized, "the client may not use the device authorization grant")
	}
	if deviceCode == "" || len(deviceCode) > 128 {
		return nil, errOAuthGrant
	}
	now := s.deps.Now()
	hash := HashOAuthSecret(deviceCode)
	d, err := st.PollDeviceCode(ctx, hash, client.ID, now)
	if errors.Is(err, ErrNotFound) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	switch {
	case !now.Before(d.ExpiresAt):
		return nil, oauthErr("expired_token", "the device code has expired")
	case d.Status == DeviceDenied:
		return nil, oauthErr(EOAuthAccessDenied, "the person refused")
	case d.Status == DeviceUsed:
		return nil, errOAuthGrant
	case d.Status == DevicePending && !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < d.Interval:
		return nil, oauthErr("slow_down", "poll less often")
	case d.Status == DevicePending:
		return nil, oauthErr("authorization_pending", "the person has not answered yet")
	}
	sid, err := s.deps.NewID()
	if err != nil {
		return nil, err
	}
	d, err = st.RedeemDeviceCode(ctx, hash, client.ID, sid, now)
	if errors.Is(err, ErrNotFound) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	u, err := s.deps.Users.UserByID(ctx, d.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errOAuthGrant
	}
	if err != nil {
		return nil, err
	}
	g := &OAuthGrant{SessionID: sid, ClientID: client.ID, UserID: u.ID, Scopes: slices.Clone(d.Scopes), AuthTime: d.AuthTime}
	return s.openOAuthSession(ctx, nil, client, u, g, "", meta)
}

// DeviceStore persists device authorizations; a store serving OAuth
// implements it beside OAuthStore.
type DeviceStore interface {
	// AddDeviceCode stores d and deletes the device codes expired for
	// longer than DeviceCodeKeep; it returns ErrDeviceCodeExists when the
	// user code is taken (by any stored code, an expired one too).
	AddDeviceCode(ctx context.Context, d *DeviceCode, now time.Time) error
	// DeviceCodeByUserCode returns the pending, unexpired device code with
	// that user code, or ErrNotFound.
	DeviceCodeByUserCode(ctx context.Context, userCode string, now time.Time) (*DeviceCode, error)
	// DecideDeviceCode approves or denies a pending, unexpired device code
	// for userID with one conditional update; ErrNotFound otherwise.
	DecideDeviceCode(ctx context.Context, userCode string, userID int64, authTime time.Time, approve bool, now time.Time) error
	// PollDeviceCode returns the client's device code as it was before
	// this poll and records now as its last poll; a poll sooner than the
	// interval also adds DeviceSlowDown to the interval (RFC 8628 3.5).
	PollDeviceCode(ctx context.Context, hash []byte, clientID string, now time.Time) (*DeviceCode, error)
	// RedeemDeviceCode marks an approved, unexpired device code of the
	// client used by sessionID with one conditional update and returns it;
	// ErrNotFound otherwise.
	RedeemDeviceCode(ctx context.Context, hash []byte, clientID, sessionID string, now time.Time) (*DeviceCode, error)
}
