package restauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// A personal API key is a long-lived credential a user makes for a script:
// "ra_" followed by 256 random bits in unpadded base64url. The store keeps
// only its SHA-256 (a key has 256 bits of entropy, so a fast hash is as
// safe as a slow one and costs nothing per request). A key authenticates
// wherever an access token does, within its scopes, until it expires or is
// revoked; a password change leaves it alone, the account's deletion and
// the revocation of all sessions with keys=true end it.

// Personal API key limits. docs/security.md and the README state them.
const (
	// APIKeyPrefix starts every key, so that a key is recognised in an
	// Authorization header and by secret scanners.
	APIKeyPrefix = "ra_"
	// APIKeyBytes is the number of random bytes in a key.
	APIKeyBytes = 32
	// MaxAPIKeyNameLen bounds a key's name, in characters.
	MaxAPIKeyNameLen = 64
	// MaxAPIKeysPerUser bounds how many keys one user holds at a time.
	MaxAPIKeysPerUser = 20
	// MaxAPIKeyLifetime bounds how far ahead an expiry may be set. A key
	// made without an expiry does not expire.
	MaxAPIKeyLifetime = 366 * 24 * time.Hour
	// MaxAPIKeyCache bounds the verified keys one process keeps in memory.
	MaxAPIKeyCache = 10000
)

// apiKeyLen is the length of a key as presented.
var apiKeyLen = len(APIKeyPrefix) + base64.RawURLEncoding.EncodedLen(APIKeyBytes)

// apiKeyTouchEvery bounds how often a key's LastUsedAt is written: once a
// minute per key is precise enough for "last used" and spares a write per
// request.
const apiKeyTouchEvery = time.Minute

// Key scopes. A key with ScopeRead may make GET and HEAD requests; one with
// ScopeWrite may make every other request (revoking sessions, changing the
// password, deleting the account, which still ask for the password). A key
// made without scopes has both.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// APIScopes lists every scope, in the order they are shown.
var APIScopes = []string{ScopeRead, ScopeWrite}

// APIKey is one personal API key as stored: never the key itself.
type APIKey struct {
	ID         string
	UserID     int64
	Username   string // The owner's name; filled by APIKeyByHash.
	Name       string
	Hash       []byte // SHA-256 of the key as presented.
	Scopes     []string
	CreatedAt  time.Time
	LastUsedAt time.Time // Zero until the key is first used.
	ExpiresAt  time.Time // Zero when the key does not expire.
}

// Allows reports whether the key holds scope.
func (k *APIKey) Allows(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Expired reports whether the key has expired at now.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// APIKeyStore persists personal API keys.
type APIKeyStore interface {
	// CreateAPIKey stores k unless its user already holds max keys, in
	// which case it returns ErrTooManyAPIKeys; ErrNotFound when k.UserID
	// names no user. The count and the insert are one transaction.
	CreateAPIKey(ctx context.Context, k *APIKey, max int) error
	// APIKeyByHash returns the key whose hash is hash, with its owner's
	// name, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListAPIKeys returns the user's keys, oldest first, without hashes.
	ListAPIKeys(ctx context.Context, userID int64) ([]*APIKey, error)
	// DeleteAPIKey deletes one key of userID and, in the same transaction,
	// records a user-level revocation at now (see
	// SessionStore.UserRevocationsSince), which tells every instance to
	// forget the user's cached keys; ErrNotFound when the user has no such
	// key.
	DeleteAPIKey(ctx context.Context, userID int64, id string, now time.Time) error
	// DeleteUserAPIKeys deletes every key of userID and records a
	// user-level revocation at now, in one transaction, even when there
	// was none. It returns the number of keys deleted.
	DeleteUserAPIKeys(ctx context.Context, userID int64, now time.Time) (int, error)
	// TouchAPIKeys moves the LastUsedAt of each key named to its time,
	// never back. Unknown ids are ignored.
	TouchAPIKeys(ctx context.Context, uses map[string]time.Time) error
}

// ErrTooManyAPIKeys is returned by CreateAPIKey when the user holds the
// maximum number of keys.
var ErrTooManyAPIKeys = &Error{Code: EInvalid, Message: "you hold the maximum number of API keys; revoke one first"}

var (
	errBadAPIKey         = &Error{Code: EInvalidToken, Message: "API key is invalid, expired or revoked"}
	errKeyManagesKeys    = &Error{Code: EForbidden, Message: "API keys are managed with a password or an access token, not with an API key"}
	errKeyRenews         = &Error{Code: EForbidden, Message: "an API key cannot be exchanged for an access token"}
	errNoAPIKeyStore     = errors.New("no API key store is configured")
	errAPIKeyNameInvalid = Errorf(EInvalid, "name must be 1 to %d characters, without control characters or surrounding white space", MaxAPIKeyNameLen)
)

// LooksLikeAPIKey reports whether s has the shape of a personal API key:
// the prefix, then the key's length in base64url characters. It is how the
// HTTP layer routes a credential to AuthenticateAPIKey; a Basic username of
// that shape is always taken as a key, never tried as a username, so that a
// key sent with a password never reaches the password path (whose counters
// would store it).
func LooksLikeAPIKey(s string) bool {
	if len(s) != apiKeyLen || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	for i := len(APIKeyPrefix); i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validAPIKey reports whether s has the exact shape of a key restauth
// makes: the prefix and the canonical base64url of APIKeyBytes bytes.
func validAPIKey(s string) bool {
	if len(s) != apiKeyLen || !strings.HasPrefix(s, APIKeyPrefix) {
		return false
	}
	// Decoded on the stack: this runs on every key-authenticated request.
	var src [apiKeyMaxLen]byte
	n := copy(src[:], s[len(APIKeyPrefix):])
	var dst [APIKeyBytes + 3]byte
	m, err := base64.RawURLEncoding.Strict().Decode(dst[:], src[:n])
	return err == nil && m == APIKeyBytes
}

// apiKeyMaxLen bounds a key's length, for the buffers that hold one on the
// stack.
const apiKeyMaxLen = 64

// apiKeyHash returns the SHA-256 of a key of at most apiKeyMaxLen bytes
// without allocating.
func apiKeyHash(key string) [sha256.Size]byte {
	var buf [apiKeyMaxLen]byte
	n := copy(buf[:], key)
	return sha256.Sum256(buf[:n])
}

// HashAPIKey returns the stored form of a key.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// NewAPIKeyRequest is what a user asks for when making a key.
type NewAPIKeyRequest struct {
	Name      string
	ExpiresAt time.Time // Zero for a key that does not expire.
	Scopes    []string  // Empty for every scope.
}

// apiKeys is the Service's state for personal API keys: the verified-key
// cache and the last-use times waiting to be written.
type apiKeys struct {
	cache keyCache

	usesMu sync.Mutex
	uses   map[string]time.Time // Key id → last use not yet written.
}

// keyCache maps the hash of a key to its record, so that a key is checked
// without a database round trip after its first use. An entry is honoured
// only while no user-level revocation of its user has reached the process
// since it was filled: every key deletion records one, and the revocation
// feed delivers it to every instance within the revocation sync interval
// (at once through LISTEN/NOTIFY on PostgreSQL).
type keyCache struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]*keyEntry
	byUser  map[int64]map[[sha256.Size]byte]struct{}
	// gen counts user-level drops; a fill that started before one may have
	// read a key that is now gone, and is not cached (see put).
	gen uint64
}

type keyEntry struct {
	key APIKey
	// marked is when a use was last queued for writing (Unix nanoseconds),
	// or the stored LastUsedAt when the entry was filled.
	marked atomic.Int64
}

func (c *keyCache) get(h [sha256.Size]byte) *keyEntry {
	c.mu.RLock()
	e := c.entries[h]
	c.mu.RUnlock()
	return e
}

func (c *keyCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches k under h unless a user-level drop happened since gen was
// read. When the cache is full, one entry chosen by map order (in effect at
// random) makes room.
func (c *keyCache) put(h [sha256.Size]byte, k *APIKey, gen uint64) *keyEntry {
	e := &keyEntry{key: *k}
	if !k.LastUsedAt.IsZero() {
		e.marked.Store(k.LastUsedAt.UnixNano())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return e
	}
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]*keyEntry)
		c.byUser = make(map[int64]map[[sha256.Size]byte]struct{})
	}
	if _, ok := c.entries[h]; !ok && len(c.entries) >= MaxAPIKeyCache {
		for victim, v := range c.entries {
			c.remove(victim, v.key.UserID)
			break
		}
	}
	c.entries[h] = e
	ids := c.byUser[k.UserID]
	if ids == nil {
		ids = make(map[[sha256.Size]byte]struct{})
		c.byUser[k.UserID] = ids
	}
	ids[h] = struct{}{}
	return e
}

func (c *keyCache) remove(h [sha256.Size]byte, userID int64) {
	delete(c.entries, h)
	if ids := c.byUser[userID]; ids != nil {
		delete(ids, h)
		if len(ids) == 0 {
			delete(c.byUser, userID)
		}
	}
}

// dropUser forgets every cached key of the user.
func (c *keyCache) dropUser(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h := range c.byUser[userID] {
		delete(c.entries, h)
	}
	delete(c.byUser, userID)
}

// CreateAPIKey makes a personal API key for the caller and returns its
// record and the key, which is shown once and never stored. Only a caller
// authenticated otherwise than with a key may make one: a leaked key must
// not be able to mint keys that outlive its own revocation or escape its
// scopes and expiry.
func (s *Service) CreateAPIKey(ctx context.Context, p *Principal, req NewAPIKeyRequest) (*APIKey, string, error) {
	if p.APIKey != nil {
		return nil, "", errKeyManagesKeys
	}
	if s.deps.APIKeys == nil {
		return nil, "", errNoAPIKeyStore
	}
	name, err := s.apiKeyName(req.Name)
	if err != nil {
		return nil, "", err
	}
	now := s.deps.Now()
	if !req.ExpiresAt.IsZero() {
		if !req.ExpiresAt.After(now) {
			return nil, "", Errorf(EInvalid, "expires_at must be in the future")
		}
		if req.ExpiresAt.Sub(now) > MaxAPIKeyLifetime {
			return nil, "", Errorf(EInvalid, "expires_at must be at most %d days ahead", MaxAPIKeyLifetime/(24*time.Hour))
		}
	}
	scopes, err := normalizeScopes(req.Scopes)
	if err != nil {
		return nil, "", err
	}
	id, err := s.deps.NewID()
	if err != nil {
		return nil, "", err
	}
	raw := make([]byte, APIKeyBytes)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(raw)
	key := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	k := &APIKey{
		ID: id, UserID: p.UserID, Username: p.Username, Name: name, Hash: HashAPIKey(key),
		Scopes: scopes, CreatedAt: now, ExpiresAt: req.ExpiresAt,
	}
	if err := s.deps.APIKeys.CreateAPIKey(ctx, k, MaxAPIKeysPerUser); err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// apiKeyName checks a key's name: 1 to MaxAPIKeyNameLen characters of
// valid UTF-8 after NFC, no control or format characters, no surrounding
// white space.
func (s *Service) apiKeyName(name string) (string, error) {
	if !utf8.ValidString(name) || len(name) > 4*MaxAPIKeyNameLen {
		return "", errAPIKeyNameInvalid
	}
	name = s.deps.Normalizer.NFC(name)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > MaxAPIKeyNameLen || strings.TrimSpace(name) != name {
		return "", errAPIKeyNameInvalid
	}
	for _, r := range name {
		if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", errAPIKeyNameInvalid
		}
	}
	return name, nil
}

// normalizeScopes checks requested scopes and returns them without
// duplicates, in the order of APIScopes; none means every scope.
func normalizeScopes(req []string) ([]string, error) {
	if len(req) == 0 {
		return slices.Clone(APIScopes), nil
	}
	var out []string
	for _, sc := range APIScopes {
		if slices.Contains(req, sc) {
			out = append(out, sc)
		}
	}
	for _, sc := range req {
		if !slices.Contains(APIScopes, sc) {
			return nil, Errorf(EInvalid, "unknown scope; the scopes are %s", strings.Join(APIScopes, ", "))
		}
	}
	return out, nil
}

// ParseScopes splits a space-separated scope list (the form OAuth uses).
func ParseScopes(s string) []string { return strings.Fields(s) }

// ListAPIKeys returns the caller's keys, oldest first, with the last uses
// this process has not written yet.
func (s *Service) ListAPIKeys(ctx context.Context, p *Principal) ([]*APIKey, error) {
	if p.APIKey != nil {
		return nil, errKeyManagesKeys
	}
	if s.deps.APIKeys == nil {
		return nil, errNoAPIKeyStore
	}
	keys, err := s.deps.APIKeys.ListAPIKeys(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	s.keys.usesMu.Lock()
	for _, k := range keys {
		if t, ok := s.keys.uses[k.ID]; ok && t.After(k.LastUsedAt) {
			k.LastUsedAt = t
		}
	}
	s.keys.usesMu.Unlock()
	return keys, nil
}

// RevokeAPIKey deletes one of the caller's keys. It is refused on this
// instance at once and on every other within the revocation sync interval.
func (s *Service) RevokeAPIKey(ctx context.Context, p *Principal, id string) error {
	if p.APIKey != nil {
		return errKeyManagesKeys
	}
	if s.deps.APIKeys == nil {
		return errNoAPIKeyStore
	}
	if !ValidSessionID(id) {
		return ErrNotFound
	}
	now := s.deps.Now()
	if err := s.deps.APIKeys.DeleteAPIKey(ctx, p.UserID, id, now); err != nil {
		return err
	}
	s.remember(nil, p.UserID, now)
	return nil
}

// RevokeAllSessionsAndKeys ends every session of the caller, this one too,
// and, when keys is set, every personal API key.
func (s *Service) RevokeAllSessionsAndKeys(ctx context.Context, p *Principal, keys bool) error {
	if keys {
		if s.deps.APIKeys == nil {
			return errNoAPIKeyStore
		}
		now := s.deps.Now()
		if _, err := s.deps.APIKeys.DeleteUserAPIKeys(ctx, p.UserID, now); err != nil {
			return err
		}
		s.remember(nil, p.UserID, now)
	}
	return s.RevokeAllSessions(ctx, p)
}

// AuthenticateAPIKey resolves a personal API key to its principal. A key
// seen before is checked in memory (its hash, its expiry, and that no
// revocation of its user has arrived since); only the first use on an
// instance, and the first after a revocation of the user, reads the store.
// A key of the wrong shape is refused before any lookup.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (*Principal, error) {
	if !validAPIKey(key) || s.deps.APIKeys == nil {
		return nil, errBadAPIKey
	}
	h := apiKeyHash(key)
	now := s.deps.Now()
	e := s.keys.cache.get(h)
	if e == nil {
		gen := s.keys.cache.generation()
		k, err := s.deps.APIKeys.APIKeyByHash(ctx, h[:])
		if errors.Is(err, ErrNotFound) {
			return nil, errBadAPIKey
		}
		if err != nil {
			return nil, err
		}
		e = s.keys.cache.put(h, k, gen)
	}
	if e.key.Expired(now) {
		return nil, errBadAPIKey
	}
	if n := now.UnixNano(); n-e.marked.Load() >= int64(apiKeyTouchEvery) {
		if old := e.marked.Load(); n-old >= int64(apiKeyTouchEvery) && e.marked.CompareAndSwap(old, n) {
			s.keys.usesMu.Lock()
			if s.keys.uses == nil {
				s.keys.uses = make(map[string]time.Time)
			}
			s.keys.uses[e.key.ID] = now
			s.keys.usesMu.Unlock()
		}
	}
	return &Principal{UserID: e.key.UserID, Username: e.key.Username, APIKey: &e.key}, nil
}

// FlushAPIKeyUses writes the last uses of keys queued since the previous
// flush, in one store call. Uses that fail to be written are queued again,
// unless a newer use has been queued meanwhile.
func (s *Service) FlushAPIKeyUses(ctx context.Context) error {
	s.keys.usesMu.Lock()
	uses := s.keys.uses
	s.keys.uses = nil
	s.keys.usesMu.Unlock()
	if len(uses) == 0 || s.deps.APIKeys == nil {
		return nil
	}
	err := s.deps.APIKeys.TouchAPIKeys(ctx, uses)
	if err != nil {
		s.keys.usesMu.Lock()
		if s.keys.uses == nil {
			s.keys.uses = make(map[string]time.Time, len(uses))
		}
		for id, t := range uses {
			if cur, ok := s.keys.uses[id]; !ok || t.After(cur) {
				s.keys.uses[id] = t
			}
		}
		s.keys.usesMu.Unlock()
	}
	return err
}

// RunAPIKeyUses writes the queued last uses of keys every interval until
// ctx ends, and once more then, so that a clean shutdown loses none. Its
// caller owns it and waits for it to return.
func (s *Service) RunAPIKeyUses(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.FlushAPIKeyUses(fctx); err != nil {
				s.deps.Logger.Warn("API key last uses not written at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.FlushAPIKeyUses(ctx); err != nil && ctx.Err() == nil {
				s.deps.Logger.Warn("API key last uses not written; retried later", "err", err)
			}
		}
	}
}
