package restauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// credentialCache remembers, for a short time, that a username and password
// verified, so that a client sending HTTP Basic with its password on every
// request (the REST-auth style) costs one argon2id hash per CredentialCacheTTL
// instead of one per request.
//
// An entry is keyed by HMAC-SHA256, under a random key made when the process
// starts, of the folded username and the exact password; neither the password
// nor its stored hash is kept. Only successes are cached. An entry lives at
// most ttl from the verification that made it (a hit does not extend it), the
// cache holds at most size entries, and every entry of a user is dropped when
// a user-level revocation (password change, deletion, revocation of all
// sessions) reaches this process, locally or through the revocation feed.
type credentialCache struct {
	ttl  time.Duration
	size int
	pool sync.Pool // Of *macState: HMAC-SHA256 under the process key.

	mu      sync.RWMutex
	entries map[uint64]*credEntry // By the first 8 bytes of the MAC.
	byUser  map[int64]map[uint64]struct{}
	// gen counts user-level drops. A verification that started before a
	// drop may have read the hash the drop was about, so its result is not
	// cached (see put).
	gen uint64
}

type credEntry struct {
	mac     [sha256.Size]byte
	user    User // Without PasswordHash.
	expires time.Time
}

// newCredentialCache returns a cache, or nil when ttl or size turns it off.
func newCredentialCache(ttl time.Duration, size int) *credentialCache {
	if ttl <= 0 || size <= 0 {
		return nil
	}
	key := make([]byte, 32)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(key)
	c := &credentialCache{
		ttl: ttl, size: size,
		entries: make(map[uint64]*credEntry),
		byUser:  make(map[int64]map[uint64]struct{}),
	}
	c.pool.New = func() any { return &macState{h: hmac.New(sha256.New, key)} }
	return c
}

// macState is a pooled HMAC and the buffer its input is assembled in.
type macState struct {
	h   hash.Hash
	buf []byte
}

// mac returns the cache key of a folded username and a password. The
// username's length comes first, so that no two pairs share an input.
func (c *credentialCache) mac(folded, password string) [sha256.Size]byte {
	m := c.pool.Get().(*macState)
	m.buf = binary.BigEndian.AppendUint64(m.buf[:0], uint64(len(folded)))
	m.buf = append(m.buf, folded...)
	m.buf = append(m.buf, password...)
	m.h.Reset()
	m.h.Write(m.buf)
	var out [sha256.Size]byte
	m.h.Sum(out[:0])
	clear(m.buf) // The password does not linger in the pool.
	c.pool.Put(m)
	return out
}

func slotOf(mac *[sha256.Size]byte) uint64 { return binary.BigEndian.Uint64(mac[:8]) }

// get returns the user cached under mac at now. The full MAC is compared in
// constant time.
func (c *credentialCache) get(mac *[sha256.Size]byte, now time.Time) (*User, bool) {
	c.mu.RLock()
	e := c.entries[slotOf(mac)]
	var u User
	ok := e != nil && subtle.ConstantTimeCompare(e.mac[:], mac[:]) == 1 && now.Before(e.expires)
	if ok {
		u = e.user
	}
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return &u, true
}

// generation returns the drop count, to be read before the user's hash is
// read from the store.
func (c *credentialCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put caches a successful verification of u made at now, unless a user-level
// drop happened since gen was read: the verification may then have used a
// hash that no longer holds.
func (c *credentialCache) put(mac *[sha256.Size]byte, u *User, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	k := slotOf(mac)
	if old := c.entries[k]; old != nil {
		c.unindex(k, old)
	} else if len(c.entries) >= c.size {
		c.evict(now)
	}
	e := &credEntry{mac: *mac, user: *u, expires: now.Add(c.ttl)}
	e.user.PasswordHash = ""
	c.entries[k] = e
	ids := c.byUser[u.ID]
	if ids == nil {
		ids = make(map[uint64]struct{})
		c.byUser[u.ID] = ids
	}
	ids[k] = struct{}{}
}

// evict makes room for one entry: it drops every expired entry, or, when
// none has expired, one entry chosen by map order (effectively at random).
func (c *credentialCache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			c.remove(k, e)
		}
	}
	if len(c.entries) < c.size {
		return
	}
	for k, e := range c.entries {
		c.remove(k, e)
		return
	}
}

func (c *credentialCache) remove(k uint64, e *credEntry) {
	delete(c.entries, k)
	c.unindex(k, e)
}

func (c *credentialCache) unindex(k uint64, e *credEntry) {
	if ids := c.byUser[e.user.ID]; ids != nil {
		delete(ids, k)
		if len(ids) == 0 {
			delete(c.byUser, e.user.ID)
		}
	}
}

// dropUser removes every entry of the user at once.
func (c *credentialCache) dropUser(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k := range c.byUser[id] {
		delete(c.entries, k)
	}
	delete(c.byUser, id)
}

// count returns the number of entries, expired ones included.
func (c *credentialCache) count() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
