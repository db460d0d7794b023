package token

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restauth/restauth"
)

// claimsCache remembers verified tokens until they expire. It is split into
// shards, each with its own lock, so that concurrent requests rarely contend.
// A full shard drops its expired entries and, if that frees too little, an
// arbitrary eighth of the rest (Go's map iteration order is randomised), so
// an insertion costs O(1) amortised.
type claimsCache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
}

type cacheShard struct {
	mu  sync.RWMutex
	max int
	m   map[string]*restauth.Claims
	// Lookups, for CacheStats: counted per shard, next to the lock the
	// lookup takes anyway, so that counting adds no shared cache line.
	hits, misses atomic.Uint64
	_            [64]byte // Keeps neighbouring shards' locks off one cache line.
}

func newClaimsCache(size int) *claimsCache {
	// Use up to 32 shards, fewer when the cache is small, so that each shard
	// holds at least a handful of tokens and the total stays near size.
	n := 32
	for n > 1 && size/n < 8 {
		n /= 2
	}
	c := &claimsCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	per := (size + n - 1) / n
	for i := range c.shards {
		c.shards[i].max = per
		c.shards[i].m = make(map[string]*restauth.Claims)
	}
	return c
}

func (c *claimsCache) shard(tok string) *cacheShard {
	return &c.shards[maphash.String(c.seed, tok)&c.mask]
}

// get returns the cached claims of tok if they have not expired at now.
func (c *claimsCache) get(tok string, now time.Time) *restauth.Claims {
	s := c.shard(tok)
	s.mu.RLock()
	cl := s.m[tok]
	s.mu.RUnlock()
	if cl == nil {
		s.misses.Add(1)
		return nil
	}
	if !now.Before(cl.ExpiresAt) {
		s.misses.Add(1)
		// Past exp the token is verified afresh, which applies the leeway
		// and refuses it once that has passed too.
		s.mu.Lock()
		delete(s.m, tok)
		s.mu.Unlock()
		return nil
	}
	s.hits.Add(1)
	return cl
}

func (c *claimsCache) put(tok string, cl *restauth.Claims, now time.Time) {
	s := c.shard(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[tok]; !ok && len(s.m) >= s.max {
		s.evict(now)
	}
	s.m[tok] = cl
}

// evict removes expired entries, then arbitrary ones until at least an
// eighth of the shard is free.
func (s *cacheShard) evict(now time.Time) {
	for k, cl := range s.m {
		if !now.Before(cl.ExpiresAt) {
			delete(s.m, k)
		}
	}
	target := s.max - max(1, s.max/8)
	for k := range s.m {
		if len(s.m) <= target {
			break
		}
		delete(s.m, k)
	}
}

func (c *claimsCache) remove(tok string) {
	s := c.shard(tok)
	s.mu.Lock()
	delete(s.m, tok)
	s.mu.Unlock()
}

// len returns the number of cached tokens.
func (c *claimsCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
