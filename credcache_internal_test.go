package restauth

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestCredentialCacheBounds checks the cache's own rules: it never holds
// more than its size, keys differ per process and never contain the
// password, a verification that raced a drop is not cached, and a username
// and password cannot be shifted into one another.
func TestCredentialCacheBounds(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCredentialCache(time.Minute, 3)
	for i := range 10 {
		u := &User{ID: int64(i + 1), Username: fmt.Sprint("user", i)}
		mac := c.mac(u.Username, "password")
		c.put(&mac, u, now, c.generation())
		if n := c.count(); n > 3 {
			t.Fatalf("after %d puts: %d entries, want at most 3", i+1, n)
		}
		if got, ok := c.get(&mac, now); !ok || got.ID != u.ID {
			t.Fatalf("the entry just put for user %d: %v, %v; want it", u.ID, got, ok)
		}
	}
	// Expired entries make room first.
	later := now.Add(time.Minute)
	fresh := c.mac("fresh", "password")
	c.put(&fresh, &User{ID: 100}, later, c.generation())
	if n := c.count(); n != 1 {
		t.Errorf("put after every entry expired: %d entries, want 1", n)
	}

	// A drop between reading the generation and the put keeps the stale
	// result out.
	gen := c.generation()
	c.dropUser(42)
	stale := c.mac("bob", "old password")
	c.put(&stale, &User{ID: 42}, later, gen)
	if _, ok := c.get(&stale, later); ok {
		t.Errorf("a verification that started before a drop was cached")
	}

	other := newCredentialCache(time.Minute, 3)
	a, b := c.mac("alice", "correct horse"), other.mac("alice", "correct horse")
	if a == b {
		t.Errorf("two processes computed the same key; want a random key per process")
	}
	if bytes.Contains(a[:], []byte("correct horse")) {
		t.Errorf("the key contains the password")
	}
	if c.mac("ab", "c") == c.mac("a", "bc") {
		t.Errorf("(ab, c) and (a, bc) share a key")
	}
	if newCredentialCache(0, 10) != nil || newCredentialCache(time.Minute, 0) != nil {
		t.Errorf("a zero TTL or size made a cache; want it off")
	}
}
