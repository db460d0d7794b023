package verify_test

import (
	"context"
	"sync"
	"time"

	"github.com/restauth/restauth"
)

// memKeyStore is a minimal in-memory restauth.KeyStore; restauth itself keeps
// keys in its database.
type memKeyStore struct {
	mu   sync.Mutex
	keys []restauth.SigningKey
}

func (s *memKeyStore) SigningKeys(_ context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*restauth.SigningKey
	for _, k := range s.keys {
		if k.ExpiresAt.IsZero() || k.ExpiresAt.After(now) {
			out = append(out, &k)
		}
	}
	return out, nil
}

func (s *memKeyStore) AddSigningKey(_ context.Context, k *restauth.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, *k)
	return nil
}

func (s *memKeyStore) RetireSigningKeys(_ context.Context, keep string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.keys {
		if s.keys[i].ID != keep && s.keys[i].ExpiresAt.IsZero() {
			s.keys[i].ExpiresAt = expiresAt
		}
	}
	return nil
}

func (s *memKeyStore) Secret(context.Context, string, func() ([]byte, error)) ([]byte, error) {
	panic("not used")
}
