package token

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
)

// jwksKids returns the kids in a JWKS document, checking each key's shape.
func jwksKids(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS %s: %v", doc, err)
	}
	kids := []string{}
	for _, k := range set.Keys {
		want := map[string]string{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": k["kid"], "x": k["x"]}
		if fmt.Sprint(k) != fmt.Sprint(want) {
			t.Errorf("JWKS key %v, want exactly %v", k, want)
		}
		if x, err := base64.RawURLEncoding.DecodeString(k["x"]); err != nil || len(x) != ed25519.PublicKeySize {
			t.Errorf("JWKS key %s: x is not a 32-byte base64url key", k["kid"])
		}
		kids = append(kids, k["kid"])
	}
	slices.Sort(kids)
	return kids
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestLoadGeneratesFirstKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &memKeyStore{}
		r := NewRing(st, RingOptions{})
		if k := r.SigningKey(); k != nil {
			t.Fatalf("SigningKey before Load = %s, want nil", k.ID)
		}
		if err := r.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		k := r.SigningKey()
		if k == nil || len(st.keys) != 1 || st.keys[0].ID != k.ID {
			t.Fatalf("after Load: signing key %v, stored %d keys; want the one stored key", k, len(st.keys))
		}
		if !k.ActivatesAt.Equal(time.Now()) || !k.CreatedAt.Equal(time.Now()) || !ValidKeyID(k.ID) || len(k.ID) != 22 {
			t.Errorf("first key = id %q created %v activates %v; want a 22-char id active now", k.ID, k.CreatedAt, k.ActivatesAt)
		}

		// A second instance finds the key and adds none.
		r2 := NewRing(st, RingOptions{})
		if err := r2.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(st.keys) != 1 || r2.SigningKey().ID != k.ID {
			t.Errorf("second Load: %d keys stored, signs with %s; want 1, %s", len(st.keys), r2.SigningKey().ID, k.ID)
		}
	})
}

func TestLoadStoreFailure(t *testing.T) {
	st := &memKeyStore{fail: errors.New("database is down")}
	if err := NewRing(st, RingOptions{}).Load(context.Background()); err == nil {
		t.Error("Load succeeded with a failing store, want an error")
	}
}

func TestSigningKeyChoiceIsDeterministic(t *testing.T) {
	{
		now := time.Now()
		mk := func(id string, activates time.Duration, expires time.Duration) *restauth.SigningKey {
			k, err := generateKey(now, now.Add(activates))
			if err != nil {
				t.Fatal(err)
			}
			k.ID = id
			if expires != 0 {
				k.ExpiresAt = now.Add(expires)
			}
			return k
		}
		tests := []struct {
			name string
			keys []*restauth.SigningKey
			want string
		}{
			{"racing first keys: greater id", []*restauth.SigningKey{mk("aaa", 0, 0), mk("bbb", 0, 0)}, "bbb"},
			{"newest active", []*restauth.SigningKey{mk("zzz", -time.Hour, 0), mk("aaa", -time.Minute, 0)}, "aaa"},
			{"future key does not sign", []*restauth.SigningKey{mk("old", -time.Hour, time.Hour), mk("new", time.Minute, 0)}, "old"},
			{"only future keys: earliest", []*restauth.SigningKey{mk("later", 2*time.Minute, 0), mk("sooner", time.Minute, 0)}, "sooner"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// Both insertion orders must give the same answer.
				rev := slices.Clone(tc.keys)
				slices.Reverse(rev)
				for _, keys := range [][]*restauth.SigningKey{tc.keys, rev} {
					r := NewRing(&memKeyStore{keys: keys}, RingOptions{})
					r.now = func() time.Time { return now }
					if err := r.Load(context.Background()); err != nil {
						t.Fatal(err)
					}
					if got := r.SigningKey().ID; got != tc.want {
						t.Errorf("SigningKey = %s, want %s", got, tc.want)
					}
				}
			})
		}
	}
}

func TestUnusableStoredKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		good, _ := generateKey(time.Now(), time.Now())
		badID, _ := generateKey(time.Now(), time.Now())
		badID.ID = "../x"
		badAlg, _ := generateKey(time.Now(), time.Now())
		badAlg.Algorithm = "RS256"
		mismatch, _ := generateKey(time.Now(), time.Now())
		other, _ := generateKey(time.Now(), time.Now())
		mismatch.PublicKey = other.PublicKey
		shortSeed, _ := generateKey(time.Now(), time.Now())
		shortSeed.PrivateKey = shortSeed.PrivateKey[:31]

		st := &memKeyStore{keys: []*restauth.SigningKey{good, badID, badAlg, mismatch, shortSeed}}
		var logs strings.Builder
		r := NewRing(st, RingOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

		// Load refuses: the keys were in use and their tokens would stop
		// verifying without a word.
		err := r.Load(ctx)
		if !errors.Is(err, ErrUnusableKey) {
			t.Fatalf("Load with unusable unretired keys: %v, want ErrUnusableKey", err)
		}
		for _, want := range []string{"key (invalid)", "algorithm is not EdDSA", "public key does not match", "not a 32-byte Ed25519 seed"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Load error %q does not say %q", err, want)
			}
		}
		if len(st.keys) != 5 || r.Generated() != "" {
			t.Errorf("Load stored %d keys, generated %q; want the 5 keys untouched and none generated", len(st.keys), r.Generated())
		}

		// A reload (a running server) skips them and logs each.
		if err := r.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := jwksKids(t, r.JWKS()), []string{good.ID}; !slices.Equal(got, want) {
			t.Errorf("JWKS kids = %v, want %v", got, want)
		}
		if got := strings.Count(logs.String(), "skipping unusable signing key"); got != 8 {
			t.Errorf("logged %d skipped keys over two loads, want 8:\n%s", got, logs.String())
		}
		if strings.Contains(logs.String(), "../x") {
			t.Errorf("log repeats an invalid kid:\n%s", logs.String())
		}

		// Rotating retires them, and then Load starts.
		if _, err := r.Rotate(ctx, time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		r2 := NewRing(st, RingOptions{})
		if err := r2.Load(ctx); err != nil {
			t.Errorf("Load after a rotation: %v, want nil", err)
		}
	})
}

func TestLoadReportsGeneratedKey(t *testing.T) {
	ctx := context.Background()
	st := &memKeyStore{}
	r := NewRing(st, RingOptions{})
	if err := r.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := r.Generated(), st.keys[0].ID; got != want {
		t.Errorf("first Load: Generated = %q, want %q", got, want)
	}
	r2 := NewRing(st, RingOptions{})
	if err := r2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r2.Generated(); got != "" {
		t.Errorf("second Load: Generated = %q, want \"\"", got)
	}
}

func TestRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, st := newTestRing(t)
		other := NewRing(st, RingOptions{}) // Another instance sharing the store.
		if err := other.Load(ctx); err != nil {
			t.Fatal(err)
		}
		s := NewSigner(r)
		v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
		vOther := NewVerifier(other, VerifierOptions{Issuer: testIssuer, Audience: testAudience, CacheSize: -1})
		old := r.SigningKey()
		_, oldPriv := ringPrivate(t, r)
		issue := func() (string, string) {
			t.Helper()
			c := testClaims(time.Now())
			tok, err := s.Issue(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			var h struct{ Kid string }
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			json.Unmarshal(b, &h)
			return tok, h.Kid
		}
		tokOld, _ := issue()

		const retireAfter = 10*time.Minute + 30*time.Second
		nk, err := r.Rotate(ctx, 0, retireAfter)
		if err != nil {
			t.Fatal(err)
		}
		if nk.PrivateKey != nil {
			t.Error("Rotate returned the private key")
		}
		if want := time.Now().Add(DefaultPublishDelay); !nk.ActivatesAt.Equal(want) {
			t.Errorf("new key activates at %v, want %v", nk.ActivatesAt, want)
		}

		// Published at once, but not signing yet.
		if got, want := jwksKids(t, r.JWKS()), sorted(old.ID, nk.ID); !slices.Equal(got, want) {
			t.Errorf("JWKS after Rotate = %v, want %v", got, want)
		}
		if _, kid := issue(); kid != old.ID {
			t.Errorf("token issued right after Rotate has kid %s, want the old %s", kid, old.ID)
		}

		time.Sleep(DefaultPublishDelay)
		tokNew, kid := issue()
		if kid != nk.ID {
			t.Errorf("token issued after the publish delay has kid %s, want the new %s", kid, nk.ID)
		}
		// The other instance has not reloaded; it finds the new key on a miss.
		if _, err := vOther.Verify(ctx, tokNew); err != nil {
			t.Errorf("other instance Verify(new token): %v", err)
		}
		// The old key still verifies its tokens.
		if _, err := v.Verify(ctx, tokOld); err != nil {
			t.Errorf("Verify(old token) after rotation: %v", err)
		}

		// Once retired, the old key is gone, even for a token that has not
		// expired (which only a thief of the old key could make).
		time.Sleep(retireAfter)
		forged := rawToken(t, validHeader(old.ID), validClaims(time.Now()), edSign(oldPriv))
		for name, ring := range map[string]*Ring{"rotating": r, "other": other} {
			if _, err := ring.PublicKey(ctx, old.ID); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("%s ring: PublicKey(old) error = %v, want ErrUnknownKey", name, err)
			}
			if err := ring.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := jwksKids(t, ring.JWKS()), []string{nk.ID}; !slices.Equal(got, want) {
				t.Errorf("%s ring: JWKS after retirement = %v, want %v", name, got, want)
			}
		}
		if _, err := v.Verify(ctx, forged); restauth.ErrorMessage(err) != "token signing key is unknown" {
			t.Errorf("Verify(token by retired key) = %v, want unknown key", err)
		}
	})
}

func TestRotateRequiresRetireAfter(t *testing.T) {
	r, _ := newTestRing(t)
	if _, err := r.Rotate(context.Background(), time.Minute, 0); err == nil {
		t.Error("Rotate with retireAfter 0 succeeded, want an error")
	}
}

func TestPublicKeyMissReloadIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r, st := newTestRing(t)
		base := st.loadCount()

		// Many concurrent misses cost one reload.
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				if _, err := r.PublicKey(ctx, fmt.Sprintf("missing-%d", i)); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("PublicKey(missing) error = %v, want ErrUnknownKey", err)
				}
			})
		}
		wg.Wait()
		if got := st.loadCount() - base; got != 1 {
			t.Errorf("50 concurrent misses caused %d reloads, want 1", got)
		}

		// A key added by another instance within the second is not looked
		// for again until the interval has passed.
		k, _ := generateKey(time.Now(), time.Now())
		st.AddSigningKey(ctx, k)
		if _, err := r.PublicKey(ctx, k.ID); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("PublicKey(new) within the interval: %v, want ErrUnknownKey", err)
		}
		time.Sleep(DefaultMissReloadInterval)
		pub, err := r.PublicKey(ctx, k.ID)
		if err != nil || !pub.Equal(ed25519.PublicKey(k.PublicKey)) {
			t.Errorf("PublicKey(new) after the interval = %x, %v; want the key", pub, err)
		}
		if got := st.loadCount() - base; got != 2 {
			t.Errorf("reloads = %d, want 2", got)
		}
	})
}

func TestPublicKeyStoreFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, st := newTestRing(t)
		st.mu.Lock()
		st.fail = errors.New("database is down")
		st.mu.Unlock()
		_, err := r.PublicKey(context.Background(), "missing")
		if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "database is down") {
			t.Errorf("PublicKey with failing store: %v, want ErrUnknownKey wrapping the cause", err)
		}
	})
}

func TestNoPrivateKeyLeaks(t *testing.T) {
	r, st := newTestRing(t)
	if _, err := r.Rotate(context.Background(), time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"JWKS":        string(r.JWKS()),
		"String":      r.String(),
		"Sprintf %v":  fmt.Sprintf("%v", r),
		"Sprintf %+v": fmt.Sprintf("%+v", r),
	}
	for _, k := range st.keys {
		full := ed25519.NewKeyFromSeed(k.PrivateKey)
		secrets := []string{
			base64.RawURLEncoding.EncodeToString(k.PrivateKey),
			base64.StdEncoding.EncodeToString(k.PrivateKey),
			fmt.Sprintf("%x", k.PrivateKey),
			fmt.Sprint(k.PrivateKey),
			base64.RawURLEncoding.EncodeToString(full),
		}
		for name, out := range outputs {
			if !strings.Contains(out, k.ID) && name != "JWKS" {
				t.Errorf("%s = %q does not name kid %s", name, out, k.ID)
			}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%s contains private key material", name)
				}
			}
		}
	}
}

func TestVerifyUnknownKidOnOtherKey(t *testing.T) {
	// A token signed by a key the ring has never seen, claiming a kid the
	// ring does know, fails on the signature.
	synctest.Test(t, func(t *testing.T) {
		r, _ := newTestRing(t)
		kid, _ := ringPrivate(t, r)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		tok := rawToken(t, validHeader(kid), validClaims(time.Now()), edSign(priv))
		v := NewVerifier(r, VerifierOptions{Issuer: testIssuer, Audience: testAudience})
		if _, err := v.Verify(context.Background(), tok); restauth.ErrorMessage(err) != "token signature is invalid" {
			t.Errorf("Verify = %v, want signature invalid", err)
		}
	})
}
