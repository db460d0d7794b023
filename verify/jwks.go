package verify

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/restauth/restauth/internal/gate"
	"github.com/restauth/restauth/token"
)

// Defaults and limits for the JWKS client.
const (
	// DefaultRefetchInterval is the least time between two fetches of the
	// JWKS, however many unknown kids arrive.
	DefaultRefetchInterval = 10 * time.Second
	// DefaultMaxAge is how long a fetched JWKS is used without revalidation
	// when the response has no Cache-Control max-age.
	DefaultMaxAge = 5 * time.Minute
	// MaxJWKSSize bounds the JWKS response body.
	MaxJWKSSize = 1 << 20

	// maxMaxAge caps a Cache-Control max-age, so a misconfigured server
	// cannot make clients miss a rotation for days.
	maxMaxAge = 24 * time.Hour
	// fetchTimeout bounds one fetch; it runs detached from the request that
	// triggered it so that all requests waiting on it share its outcome.
	fetchTimeout = 10 * time.Second
)

// JWKSOptions tune a JWKS client. The zero value is ready to use.
type JWKSOptions struct {
	// RefetchInterval is the least time between fetches;
	// DefaultRefetchInterval when zero.
	RefetchInterval time.Duration
	// MaxAge is how long a fetched key set is fresh when the response carries
	// no Cache-Control max-age; DefaultMaxAge when zero.
	MaxAge time.Duration
}

// JWKS is a token.KeySource backed by a remote JSON Web Key Set. It is safe
// for concurrent use.
//
// A known kid is answered from memory; once the set is older than its
// max-age the key is still returned while a refetch runs in the background.
// An unknown kid triggers a fetch that the caller waits for. Fetches are
// shared by concurrent callers and start at most once per RefetchInterval.
// When a fetch fails the previous keys stay in use.
type JWKS struct {
	url    string
	client *http.Client
	maxAge time.Duration
	now    func() time.Time

	state atomic.Pointer[jwksState]
	gate  *gate.Gate // Shares one fetch among callers and rate limits fetches.
}

type jwksState struct {
	keys    map[string]ed25519.PublicKey
	expires time.Time
}

// NewJWKS returns a key source that fetches url with client
// (http.DefaultClient when nil). Nothing is fetched until a key is needed or
// Refresh is called.
func NewJWKS(url string, client *http.Client, opts JWKSOptions) *JWKS {
	if client == nil {
		client = http.DefaultClient
	}
	if opts.RefetchInterval <= 0 {
		opts.RefetchInterval = DefaultRefetchInterval
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	return &JWKS{url: url, client: client, maxAge: opts.MaxAge, now: time.Now,
		gate: gate.New(opts.RefetchInterval, fetchTimeout)}
}

// PublicKey returns the key with the given kid, fetching the set when the
// kid is unknown. It returns an error wrapping token.ErrUnknownKey when no
// such key can be found.
func (j *JWKS) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	now := j.now()
	if st := j.state.Load(); st != nil {
		if pub, ok := st.keys[kid]; ok {
			if !now.Before(st.expires) {
				j.fetch(ctx, now, false, false) // Revalidate in the background.
			}
			return pub, nil
		}
	}
	err := j.fetch(ctx, now, false, true)
	if st := j.state.Load(); st != nil {
		if pub, ok := st.keys[kid]; ok {
			return pub, nil
		}
	}
	if err != nil && !errors.Is(err, gate.ErrThrottled) {
		return nil, fmt.Errorf("%w: %w", token.ErrUnknownKey, err)
	}
	return nil, token.ErrUnknownKey
}

// Refresh fetches the key set now, or waits for the fetch in flight,
// regardless of RefetchInterval. Calling it at start-up surfaces a wrong URL
// early; it is not required.
func (j *JWKS) Refresh(ctx context.Context) error {
	return j.fetch(ctx, j.now(), true, true)
}

// fetch starts a fetch unless one is in flight (which it joins) or, unless
// force is set, the last one started less than RefetchInterval ago. When wait
// is false it returns at once.
func (j *JWKS) fetch(ctx context.Context, now time.Time, force, wait bool) error {
	return j.gate.Do(ctx, now, force, wait, j.load)
}

// load fetches and parses the set and replaces the keys in memory.
func (j *JWKS) load(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return fmt.Errorf("verify: jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("verify: fetch jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // Lets the connection be reused.
		return fmt.Errorf("verify: fetch jwks: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSSize+1))
	if err != nil {
		return fmt.Errorf("verify: read jwks: %w", err)
	}
	if len(body) > MaxJWKSSize {
		return fmt.Errorf("verify: jwks is larger than %d bytes", MaxJWKSSize)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return err
	}
	lifetime := cacheLifetime(resp.Header.Values("Cache-Control"), j.maxAge)
	j.state.Store(&jwksState{keys: keys, expires: j.now().Add(lifetime)})
	return nil
}

// parseJWKS returns the usable keys of a JWKS document. Keys that are not
// Ed25519 signature keys with a well-formed kid are skipped, so a set that
// also carries other key types still works; a kid that appears twice is
// dropped, since it is ambiguous. Only a document that is not a key set at
// all is an error.
func parseJWKS(doc []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil || set.Keys == nil {
		return nil, errors.New("verify: jwks is not a JSON key set")
	}
	keys := make(map[string]ed25519.PublicKey, len(set.Keys))
	dup := make(map[string]bool)
	for _, raw := range set.Keys {
		var k struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			Kid string `json:"kid"`
			X   string `json:"x"`
			D   string `json:"d"`
		}
		if json.Unmarshal(raw, &k) != nil {
			continue
		}
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.D != "" ||
			(k.Alg != "" && k.Alg != token.Algorithm) || (k.Use != "" && k.Use != "sig") ||
			!token.ValidKeyID(k.Kid) {
			continue
		}
		x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		if _, seen := keys[k.Kid]; seen || dup[k.Kid] {
			delete(keys, k.Kid)
			dup[k.Kid] = true
			continue
		}
		keys[k.Kid] = ed25519.PublicKey(x)
	}
	return keys, nil
}

// cacheLifetime reads max-age from Cache-Control header values: no-store and
// no-cache mean 0 (revalidate on every use, still limited by the refetch
// interval); no max-age means def.
func cacheLifetime(values []string, def time.Duration) time.Duration {
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32)
				if err != nil {
					return def
				}
				return min(time.Duration(n)*time.Second, maxMaxAge)
			}
		}
	}
	return def
}
