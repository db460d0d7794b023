package verify

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/restauth/restauth"
)

// Defaults for introspection.
const (
	// DefaultIntrospectionCacheTTL is how long an active answer is reused.
	DefaultIntrospectionCacheTTL = 5 * time.Second
	// introspectionCacheSize bounds the remembered answers.
	introspectionCacheSize = 10000
	// maxIntrospectionSize bounds the introspection response body.
	maxIntrospectionSize = 64 << 10
)

// Introspection configures token introspection (RFC 7662).
type Introspection struct {
	URL          string // restauth's introspection endpoint.
	ClientID     string // Sent with ClientSecret as HTTP Basic credentials.
	ClientSecret string
	// CacheTTL is how long an active answer is reused, capped by the token's
	// expiry; DefaultIntrospectionCacheTTL when zero, no caching when
	// negative. Revocations take up to this long to be seen.
	CacheTTL time.Duration
}

// introspector asks the introspection endpoint whether tokens are active.
type introspector struct {
	url, id, secret string
	ttl             time.Duration
	client          *http.Client
	now             func() time.Time

	mu     sync.Mutex
	active map[[sha256.Size]byte]time.Time // Token hash to the end of its reuse.
}

func newIntrospector(cfg Introspection, client *http.Client) (*introspector, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("verify: Introspection.URL: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("verify: Introspection.ClientID is required")
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultIntrospectionCacheTTL
	}
	return &introspector{
		url: cfg.URL, id: cfg.ClientID, secret: cfg.ClientSecret, ttl: cfg.CacheTTL,
		client: client, now: time.Now, active: make(map[[sha256.Size]byte]time.Time),
	}, nil
}

var errUnavailable = &restauth.Error{Code: restauth.EUnavailable, Message: "token introspection is unavailable"}

// check returns nil when tok is active, an EInvalidToken error when restauth
// says it is not, and an EUnavailable error when restauth cannot be asked.
func (in *introspector) check(ctx context.Context, tok string, exp time.Time) error {
	// Keyed by hash so the cache neither keeps tokens nor grows with their size.
	key := sha256.Sum256([]byte(tok))
	now := in.now()
	if in.ttl > 0 {
		in.mu.Lock()
		until, ok := in.active[key]
		in.mu.Unlock()
		if ok && now.Before(until) {
			return nil
		}
	}
	active, err := in.ask(ctx, tok)
	if err != nil {
		return &restauth.Error{Code: errUnavailable.Code, Message: errUnavailable.Message, Err: err}
	}
	if !active {
		return &restauth.Error{Code: restauth.EInvalidToken, Message: "token is not active"}
	}
	if until := now.Add(in.ttl); in.ttl > 0 {
		if exp.Before(until) {
			until = exp
		}
		in.remember(key, until, now)
	}
	return nil
}

func (in *introspector) remember(key [sha256.Size]byte, until, now time.Time) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.active) >= introspectionCacheSize {
		for k, t := range in.active {
			if !now.Before(t) {
				delete(in.active, k)
			}
		}
		// Entries live seconds, so when expiry alone frees nothing the
		// cheapest correct answer is to start over.
		if len(in.active) >= introspectionCacheSize {
			clear(in.active)
		}
	}
	in.active[key] = until
}

// ask posts the token and reads {"active": bool}.
func (in *introspector) ask(ctx context.Context, tok string) (bool, error) {
	form := url.Values{"token": {tok}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("introspection request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 section 2.3.1: client credentials are form-encoded before
	// they are put into the Basic header.
	req.SetBasicAuth(url.QueryEscape(in.id), url.QueryEscape(in.secret))
	resp, err := in.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("introspection: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return false, fmt.Errorf("introspection: status %d", resp.StatusCode)
	}
	var body struct {
		Active *bool `json:"active"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIntrospectionSize)).Decode(&body); err != nil || body.Active == nil {
		return false, errors.New("introspection: response has no boolean active member")
	}
	return *body.Active, nil
}
