package restauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"
)

// A browser session is a Session like any other (listed with the API's,
// ended by logout, a password change or the account's deletion, revoked on
// every instance through the same feed); it is reached through a cookie
// instead of tokens. The cookie holds an opaque random value of which the
// store keeps only the SHA-256, so that a copy of the database opens no
// browser session.

// BrowserStore persists the cookies of browser sessions. A session store
// that implements it serves browser sessions; the Service finds it there.
type BrowserStore interface {
	// CreateBrowserSession stores s, as CreateSession does but with no
	// refresh token, and the hash of its cookie, in one transaction. It
	// returns ErrNotFound when s.UserID names no user.
	CreateBrowserSession(ctx context.Context, s *Session, cookieHash []byte) error
	// BrowserSession returns the session whose cookie hashes to
	// cookieHash, revoked or not, or ErrNotFound.
	BrowserSession(ctx context.Context, cookieHash []byte) (*Session, error)
	// TouchSession moves the session's LastUsedAt forward to now (never
	// back), so that a browser in use is not ended by the idle timeout.
	TouchSession(ctx context.Context, id string, now time.Time) error
}

// BrowserCookieBytes is the number of random bytes in a browser session's
// cookie; the cookie is their unpadded base64url form.
const BrowserCookieBytes = 32

// touchEvery bounds how often a browser session's LastUsedAt is written:
// once a minute is precise enough for the idle timeout and for "last used",
// and spares a write on every page.
const touchEvery = time.Minute

var (
	errNoBrowserStore = errors.New("the Service was given no browser-session store")
	errBadCookie      = &Error{Code: EInvalidToken, Message: "the browser session has ended"}
)

func (s *Service) browserStore() (BrowserStore, error) {
	if s.deps.Browsers == nil {
		return nil, errNoBrowserStore
	}
	return s.deps.Browsers, nil
}

// HashBrowserCookie returns the stored form of a browser session cookie.
func HashBrowserCookie(cookie string) []byte {
	h := sha256.Sum256([]byte(cookie))
	return h[:]
}

// OpenBrowserSession starts a browser session for a user who has just
// proved the password (by signing in, or by registering) and returns the
// session and the cookie value that reaches it. Every call makes a new
// cookie, so a sign-in never reuses an identifier the browser held before.
func (s *Service) OpenBrowserSession(ctx context.Context, u *User, meta ClientMeta) (*Session, string, error) {
	b, err := s.browserStore()
	if err != nil {
		return nil, "", err
	}
	id, err := s.deps.NewID()
	if err != nil {
		return nil, "", err
	}
	raw := make([]byte, BrowserCookieBytes)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", err
	}
	cookie := base64.RawURLEncoding.EncodeToString(raw)
	now := s.deps.Now()
	sess := &Session{
		ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
		ClientIP:  meta.IP, UserAgent: ClientLabel(meta.UserAgent),
	}
	if err := b.CreateBrowserSession(ctx, sess, HashBrowserCookie(cookie)); err != nil {
		return nil, "", err
	}
	return sess, cookie, nil
}

// SignIn checks a password, with every rule Authenticate applies (the
// tarpit, the per-address limit, the hashing gate, one answer for an
// unknown user and a wrong password), and opens a browser session.
//
// For a user with a second factor it opens no session and returns an
// *MFARequiredError, as Login does; CompleteSignIn takes it from there.
func (s *Service) SignIn(ctx context.Context, username, password string, meta ClientMeta) (*User, *Session, string, error) {
	u, mfa, err := s.authenticate(ctx, username, password, meta, true)
	if err != nil {
		return nil, nil, "", err
	}
	if mfa {
		return nil, nil, "", s.challenge(ctx, u, meta)
	}
	sess, cookie, err := s.OpenBrowserSession(ctx, u, meta)
	if err != nil {
		return nil, nil, "", err
	}
	return u, sess, cookie, nil
}

// AuthenticateBrowser resolves a browser session cookie to its principal
// and session. A cookie that names no session, or a session revoked (in the
// in-memory revocation view or in the store), expired, idle for too long,
// or whose user is gone, is refused with EInvalidToken.
func (s *Service) AuthenticateBrowser(ctx context.Context, cookie string) (*Principal, *Session, error) {
	if cookie == "" || len(cookie) > 128 {
		return nil, nil, errBadCookie
	}
	b, err := s.browserStore()
	if err != nil {
		return nil, nil, err
	}
	sess, err := b.BrowserSession(ctx, HashBrowserCookie(cookie))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBadCookie
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.deps.Now()
	if s.deps.Revocations.Revoked(sess.ID) || !sess.Live(now, s.cfg.SessionIdle) || sess.UserID == 0 {
		return nil, nil, errBadCookie
	}
	u, err := s.deps.Users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errBadCookie
	}
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastUsedAt) >= touchEvery {
		if err := b.TouchSession(ctx, sess.ID, now); err != nil {
			// The page still loads; the session is touched on a later one.
			s.deps.Logger.WarnContext(ctx, "browser session not touched", "session_id", sess.ID, "err", err)
		} else {
			sess.LastUsedAt = now
		}
	}
	return &Principal{UserID: u.ID, Username: u.Username, SessionID: sess.ID}, sess, nil
}

// RevokeOtherSessions ends every session of the caller except the current
// one ("sign out everywhere else").
func (s *Service) RevokeOtherSessions(ctx context.Context, p *Principal) error {
	if p.SessionID == "" {
		return Errorf(EInvalid, "signing out elsewhere needs a session")
	}
	return s.revokeAll(ctx, p.UserID, p.SessionID)
}
