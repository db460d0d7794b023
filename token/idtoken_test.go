package token

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/restauth/restauth"
)

// memIDKeyStore keeps ID-token keys in memory, as the stores' conformance
// suite checks they keep them.
type memIDKeyStore struct {
	mu   sync.Mutex
	keys []*restauth.SigningKey
}

func (m *memIDKeyStore) IDTokenKeys(_ context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*restauth.SigningKey
	for _, k := range m.keys {
		if k.ExpiresAt.IsZero() || k.ExpiresAt.After(now) {
			c := *k
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memIDKeyStore) AddIDTokenKey(_ context.Context, k *restauth.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *k
	m.keys = append(m.keys, &c)
	return nil
}

func (m *memIDKeyStore) AddFirstIDTokenKey(_ context.Context, k *restauth.SigningKey, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.keys {
		if o.ExpiresAt.IsZero() || o.ExpiresAt.After(now) {
			return false, nil
		}
	}
	c := *k
	m.keys = append(m.keys, &c)
	return true, nil
}

func (m *memIDKeyStore) RetireIDTokenKeys(_ context.Context, keep string, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.ID != keep && k.ExpiresAt.IsZero() {
			k.ExpiresAt = expiresAt
		}
	}
	return nil
}

func idJWKSKids(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func signedKid(t *testing.T, idt *IDTokens) string {
	t.Helper()
	now := idt.now()
	s, err := idt.SignIDToken(context.Background(), &restauth.IDTokenClaims{Issuer: "https://a.example", Subject: "1",
		Audience: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(s, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idt.ParseIDTokenHint(context.Background(), s); err != nil {
		t.Errorf("the ID token signed does not parse back as a hint: %v", err)
	}
	return tok.Header["kid"].(string)
}

// TestIDTokenKeyRotation checks the staged rotation of the RSA keys: the
// new key is published at once, signs only after the publish delay, and the
// old one stays published until every ID token it signed has expired.
func TestIDTokenKeyRotation(t *testing.T) {
	ctx := context.Background()
	st := &memIDKeyStore{}
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := LoadIDTokens(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	first.now = func() time.Time { return clock }
	old := first.KeyID()
	if old == "" || signedKid(t, first) != old {
		t.Fatalf("the first key %q does not sign", old)
	}
	// A second instance on the same store loads the same key.
	second, err := LoadIDTokens(ctx, st, nil)
	if err != nil || second.KeyID() != old {
		t.Fatalf("second instance key %q (%v), want %q", second.KeyID(), err, old)
	}
	second.now = first.now

	kid, err := first.Rotate(ctx, DefaultPublishDelay, restauth.IDTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	second.Reload(ctx)
	for name, idt := range map[string]*IDTokens{"rotating instance": first, "other instance": second} {
		if kids := idJWKSKids(t, idt.JWKS([]byte(`{"keys":[]}`))); !slices.Contains(kids, kid) || !slices.Contains(kids, old) {
			t.Errorf("%s: JWKS kids %v, want both %s and %s", name, kids, old, kid)
		}
		if got := signedKid(t, idt); got != old {
			t.Errorf("%s signs with %s before the publish delay, want %s", name, got, old)
		}
	}
	clock = clock.Add(DefaultPublishDelay)
	if got := signedKid(t, first); got != kid {
		t.Errorf("after the publish delay the key is %s, want %s", got, kid)
	}
	clock = clock.Add(restauth.IDTokenTTL)
	first.Reload(ctx)
	if kids := idJWKSKids(t, first.JWKS([]byte(`{"keys":[]}`))); slices.Contains(kids, old) {
		t.Errorf("JWKS kids %v still hold %s after its ID tokens expired", kids, old)
	}
}

// TestIDTokenHintRefusesAccessTokens checks that an access token (typ
// at+jwt, signed by the ring's Ed25519 keys, which also sign EdDSA ID
// tokens) is not taken as an id_token_hint, while an EdDSA ID token is.
func TestIDTokenHintRefusesAccessTokens(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRing(t)
	idt, err := LoadIDTokens(ctx, &memIDKeyStore{}, r)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	at, err := NewSigner(r).Issue(ctx, &restauth.Claims{Issuer: "https://a.example", Audience: []string{"c"}, UserID: 1,
		SessionID: "s1", IssuedAt: now, ExpiresAt: now.Add(time.Hour), ClientID: "c", Scope: "openid"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := idt.ParseIDTokenHint(ctx, at); err == nil {
		t.Errorf("ParseIDTokenHint(access token) = %+v, want refused", c)
	}
	id, err := idt.SignIDToken(ctx, &restauth.IDTokenClaims{Issuer: "https://a.example", Subject: "1", Audience: "c",
		IssuedAt: now, ExpiresAt: now.Add(time.Hour), Algorithm: restauth.IDTokenEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idt.ParseIDTokenHint(ctx, id); err != nil {
		t.Errorf("ParseIDTokenHint(EdDSA ID token): %v, want accepted", err)
	}
}
