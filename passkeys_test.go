package restauth_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/sqlite"
)

// fakeCeremonies stands in for the WebAuthn library so that the Service's
// own rules (challenges, users, limits) are tested alone. A response is
// JSON naming the credential id and the user id whose handle the
// authenticator returns.
type fakeCeremonies struct {
	finishes int // FinishRegistration and FinishLogin calls.
}

type fakeResponse struct {
	Cred string `json:"cred"`
	User int64  `json:"user"`
}

func (f *fakeCeremonies) BeginRegistration(u *restauth.PasskeyUser) ([]byte, []byte, error) {
	return []byte(`{"publicKey":{}}`), []byte("register"), nil
}

func (f *fakeCeremonies) FinishRegistration(u *restauth.PasskeyUser, state, response []byte) ([]byte, []byte, error) {
	f.finishes++
	var r fakeResponse
	if string(state) != "register" || json.Unmarshal(response, &r) != nil {
		return nil, nil, &restauth.Error{Code: restauth.EPasskeyRefused, Message: "refused"}
	}
	return []byte(r.Cred), []byte("record"), nil
}

func (f *fakeCeremonies) BeginLogin(u *restauth.PasskeyUser) ([]byte, []byte, error) {
	return []byte(`{"publicKey":{}}`), []byte("login"), nil
}

func (f *fakeCeremonies) FinishLogin(state, response []byte, find func(credentialID, userHandle []byte) (*restauth.PasskeyUser, error)) ([]byte, []byte, error) {
	f.finishes++
	var r fakeResponse
	if string(state) != "login" || json.Unmarshal(response, &r) != nil {
		return nil, nil, &restauth.Error{Code: restauth.EPasskeyRefused, Message: "refused"}
	}
	if _, err := find([]byte(r.Cred), restauth.PasskeyHandle(r.User)); err != nil {
		return nil, nil, err
	}
	return []byte(r.Cred), []byte("record used"), nil
}

func response(cred string, user int64) []byte {
	b, _ := json.Marshal(fakeResponse{Cred: cred, User: user})
	return b
}

func newPasskeyService(t *testing.T) (*restauth.Service, *sqlite.DB, *fakeCeremonies) {
	t.Helper()
	f := &fakeCeremonies{}
	svc, st := newService(t, restauth.DefaultConfig(), func(o *instance.Options) { o.Passkeys = f })
	return svc, st, f
}

// TestPasskeyChallenges checks the Service's rules on ceremonies: a
// challenge answers one ceremony of its kind, for its user, once, within
// PasskeyChallengeTTL; an assertion's user handle must name the passkey's
// owner.
func TestPasskeyChallenges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, f := newPasskeyService(t)
		ctx := context.Background()
		alice, err := svc.AddUser(ctx, "alice", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := svc.AddUser(ctx, "bob", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		pa := &restauth.Principal{UserID: alice.ID, Username: "alice"}
		pb := &restauth.Principal{UserID: bob.ID, Username: "bob"}

		// Register: a challenge of alice's cannot be finished by bob.
		id, _, err := svc.BeginPasskeyRegistration(ctx, pa)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.FinishPasskeyRegistration(ctx, pb, id, "key", response("a1", alice.ID)); code(err) != restauth.EPasskeyRefused {
			t.Fatalf("bob finishing alice's registration: %q, want %q", code(err), restauth.EPasskeyRefused)
		}
		id, _, _ = svc.BeginPasskeyRegistration(ctx, pa)
		pk, err := svc.FinishPasskeyRegistration(ctx, pa, id, "  Laptop  ", response("a1", alice.ID))
		if err != nil || pk.Name != "Laptop" {
			t.Fatalf("FinishPasskeyRegistration = %+v, %v; want Laptop stored", pk, err)
		}
		// The same challenge again is refused without reaching the library.
		before := f.finishes
		if _, err := svc.FinishPasskeyRegistration(ctx, pa, id, "again", response("a2", alice.ID)); code(err) != restauth.EPasskeyRefused || f.finishes != before {
			t.Fatalf("a used challenge: %q after %d library calls; want %q after none", code(err), f.finishes-before, restauth.EPasskeyRefused)
		}

		// Sign in: the challenge expires after PasskeyChallengeTTL.
		id, _, _ = svc.BeginPasskeySignIn(ctx, restauth.ClientMeta{IP: "192.0.2.1"})
		time.Sleep(restauth.PasskeyChallengeTTL)
		before = f.finishes
		if _, _, _, err := svc.FinishPasskeySignIn(ctx, id, response("a1", alice.ID), restauth.ClientMeta{}); code(err) != restauth.EPasskeyRefused || f.finishes != before {
			t.Fatalf("an expired challenge: %q after %d library calls; want %q after none", code(err), f.finishes-before, restauth.EPasskeyRefused)
		}
		// A registration challenge cannot sign in.
		id, _, _ = svc.BeginPasskeyRegistration(ctx, pa)
		if _, _, _, err := svc.FinishPasskeySignIn(ctx, id, response("a1", alice.ID), restauth.ClientMeta{}); code(err) != restauth.EPasskeyRefused {
			t.Fatalf("a registration challenge used to sign in: %q, want %q", code(err), restauth.EPasskeyRefused)
		}
		// A user handle that is not the passkey owner's is refused.
		id, _, _ = svc.BeginPasskeySignIn(ctx, restauth.ClientMeta{})
		if _, _, _, err := svc.FinishPasskeySignIn(ctx, id, response("a1", bob.ID), restauth.ClientMeta{}); code(err) != restauth.EPasskeyRefused {
			t.Fatalf("bob's handle with alice's passkey: %q, want %q", code(err), restauth.EPasskeyRefused)
		}
		// The right one opens a browser session and records the use.
		id, _, _ = svc.BeginPasskeySignIn(ctx, restauth.ClientMeta{})
		u, sess, cookie, err := svc.FinishPasskeySignIn(ctx, id, response("a1", alice.ID), restauth.ClientMeta{IP: "192.0.2.1"})
		if err != nil || u.ID != alice.ID || sess.UserID != alice.ID || cookie == "" {
			t.Fatalf("FinishPasskeySignIn = %v, %v; want alice's new session", u, err)
		}
		if p, _, err := svc.AuthenticateBrowser(ctx, cookie); err != nil || p.UserID != alice.ID {
			t.Fatalf("AuthenticateBrowser with the passkey's cookie = %v, %v; want alice", p, err)
		}
		list, _ := svc.ListPasskeys(ctx, pa)
		if len(list) != 1 || !list[0].LastUsedAt.Equal(time.Now()) || string(list[0].Credential) != "record used" {
			t.Fatalf("passkey after sign-in = %+v; want its use and record stored", list)
		}

		// Removal: by the owner only; afterwards the passkey signs nothing.
		if err := svc.DeletePasskey(ctx, pb, pk.ID); code(err) != restauth.ENotFound {
			t.Fatalf("bob removing alice's passkey: %q, want %q", code(err), restauth.ENotFound)
		}
		if err := svc.DeletePasskey(ctx, pa, pk.ID); err != nil {
			t.Fatal(err)
		}
		id, _, _ = svc.BeginPasskeySignIn(ctx, restauth.ClientMeta{})
		if _, _, _, err := svc.FinishPasskeySignIn(ctx, id, response("a1", alice.ID), restauth.ClientMeta{}); code(err) != restauth.EPasskeyRefused {
			t.Fatalf("a removed passkey: %q, want %q", code(err), restauth.EPasskeyRefused)
		}
	})
}

// TestPasskeyLimits checks the name rules, the per-user count and the
// per-address limit on starting sign-ins.
func TestPasskeyLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc, _, _ := newPasskeyService(t)
		ctx := context.Background()
		alice, _ := svc.AddUser(ctx, "alice", "correct horse battery")
		pa := &restauth.Principal{UserID: alice.ID}
		for _, name := range []string{"", "   ", string(make([]byte, 3)), "bad\xff", "a\u202eb", string(make([]rune, restauth.MaxPasskeyNameLen+1))} {
			id, _, _ := svc.BeginPasskeyRegistration(ctx, pa)
			if _, err := svc.FinishPasskeyRegistration(ctx, pa, id, name, response("x", alice.ID)); code(err) != restauth.EInvalid {
				t.Errorf("name %q: %q, want %q", name, code(err), restauth.EInvalid)
			}
		}
		for i := range restauth.MaxPasskeysPerUser {
			id, _, err := svc.BeginPasskeyRegistration(ctx, pa)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.FinishPasskeyRegistration(ctx, pa, id, "key", response(string(rune('a'+i)), alice.ID)); err != nil {
				t.Fatalf("passkey %d: %v", i, err)
			}
		}
		if _, _, err := svc.BeginPasskeyRegistration(ctx, pa); code(err) != restauth.EPasskeyLimit {
			t.Fatalf("registering over the limit: %q, want %q", code(err), restauth.EPasskeyLimit)
		}

		meta := restauth.ClientMeta{IP: "198.51.100.7"}
		for i := range restauth.PasskeySignInIPLimit {
			if _, _, err := svc.BeginPasskeySignIn(ctx, meta); err != nil {
				t.Fatalf("sign-in %d: %v", i, err)
			}
		}
		if _, _, err := svc.BeginPasskeySignIn(ctx, meta); code(err) != restauth.ETooManyRequests {
			t.Fatalf("over the per-address limit: %q, want %q", code(err), restauth.ETooManyRequests)
		}
		if _, _, err := svc.BeginPasskeySignIn(ctx, restauth.ClientMeta{IP: "198.51.100.8"}); err != nil {
			t.Fatalf("another address: %v", err)
		}
		time.Sleep(restauth.PasskeyChallengeTTL)
		if _, _, err := svc.BeginPasskeySignIn(ctx, meta); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// TestPasskeysOff checks that without a relying party nothing runs.
func TestPasskeysOff(t *testing.T) {
	svc, _ := newService(t, restauth.DefaultConfig())
	if svc.PasskeysEnabled() {
		t.Fatal("PasskeysEnabled with no ceremonies")
	}
	if _, _, err := svc.BeginPasskeySignIn(context.Background(), restauth.ClientMeta{}); code(err) != restauth.ENotFound {
		t.Fatalf("BeginPasskeySignIn with passkeys off: %q, want %q", code(err), restauth.ENotFound)
	}
}
