package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// RefreshPrefix starts every refresh token. It makes refresh tokens easy to
// recognise in secret scanners and keeps them from ever looking like a JWT.
const RefreshPrefix = "rt_"

// RefreshSecretSize is the length of the secret NewRefreshCodec requires.
const RefreshSecretSize = 32

// ErrSealed is returned by Open when the sealed token is corrupt, was sealed
// under another secret, or belongs to another parent.
var ErrSealed = errors.New("token: sealed refresh token cannot be opened")

// RefreshCodec makes refresh tokens and seals rotated ones. It implements
// restauth.RefreshTokens and is safe for concurrent use.
type RefreshCodec struct {
	aead cipher.AEAD
}

// NewRefreshCodec returns a codec sealing with AES-256-GCM under secret,
// which must be RefreshSecretSize bytes.
func NewRefreshCodec(secret []byte) (*RefreshCodec, error) {
	if len(secret) != RefreshSecretSize {
		return nil, fmt.Errorf("token: refresh secret is %d bytes, want %d", len(secret), RefreshSecretSize)
	}
	block, err := aes.NewCipher(secret) // Copies the key schedule; secret is not retained.
	if err != nil {
		return nil, fmt.Errorf("token: refresh cipher: %w", err)
	}
	// A random 96-bit nonce per seal is safe far beyond the number of
	// rotations one secret will ever see.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("token: refresh cipher: %w", err)
	}
	return &RefreshCodec{aead: aead}, nil
}

// New returns a fresh token, "rt_" followed by 32 random bytes in unpadded
// base64url, and its hash.
func (r *RefreshCodec) New() (string, []byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("token: refresh token: %w", err)
	}
	tok := RefreshPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, r.Hash(tok), nil
}

// Hash returns the SHA-256 of the token string, which is all the store keeps.
// The token carries 256 random bits, so an unsalted fast hash suffices.
func (r *RefreshCodec) Hash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// Seal encrypts tok, binding it to parentHash so that it opens only for the
// parent it was rotated from.
func (r *RefreshCodec) Seal(tok string, parentHash []byte) ([]byte, error) {
	return r.aead.Seal(nil, nil, []byte(tok), parentHash), nil
}

// Open decrypts a token sealed for parentHash; it returns ErrSealed when the
// sealed bytes or the parent do not match.
func (r *RefreshCodec) Open(sealed, parentHash []byte) (string, error) {
	pt, err := r.aead.Open(nil, nil, sealed, parentHash)
	if err != nil {
		return "", ErrSealed
	}
	return string(pt), nil
}
