package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func newPasskey(id string, userID int64, created time.Time) *restauth.Passkey {
	return &restauth.Passkey{
		ID: id, UserID: userID, CredentialID: []byte("cred:" + id), Name: "key " + id,
		Credential: []byte(`{"record":"` + id + `"}`), CreatedAt: created,
	}
}

func equalPasskey(a, b *restauth.Passkey) bool {
	return a.ID == b.ID && a.UserID == b.UserID && bytes.Equal(a.CredentialID, b.CredentialID) &&
		a.Name == b.Name && bytes.Equal(a.Credential, b.Credential) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt)
}

func fmtPasskey(p *restauth.Passkey) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s user %d cred %q name %q record %q created %s used %s}",
		p.ID, p.UserID, p.CredentialID, p.Name, p.Credential, p.CreatedAt, p.LastUsedAt)
}

// testPasskeys checks passkeys: stored per user with a unique credential id
// and a limit per user, found by credential id, their use recorded, removed
// by their owner only, and deleted with their user.
func testPasskeys(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")

	a1, a2 := newPasskey("a1", alice.ID, at(0)), newPasskey("a2", alice.ID, at(time.Second))
	b1 := newPasskey("b1", bob.ID, at(0))
	for _, p := range []*restauth.Passkey{a2, a1, b1} {
		if err := s.AddPasskey(ctx, p, 3); err != nil {
			t.Fatalf("AddPasskey(%s): %v", p.ID, err)
		}
	}

	for _, tt := range []struct {
		name string
		p    *restauth.Passkey
		want error
	}{
		{"same credential id", &restauth.Passkey{ID: "a3", UserID: alice.ID, CredentialID: a1.CredentialID, Name: "x", Credential: []byte("x"), CreatedAt: at(0)}, restauth.ErrPasskeyExists},
		{"same id", &restauth.Passkey{ID: "a1", UserID: alice.ID, CredentialID: []byte("other"), Name: "x", Credential: []byte("x"), CreatedAt: at(0)}, restauth.ErrPasskeyExists},
		{"unknown user", newPasskey("nobody", bob.ID+1000, at(0)), restauth.ErrNotFound},
	} {
		wantErr(t, "AddPasskey with "+tt.name, s.AddPasskey(ctx, tt.p, 3), tt.want)
	}

	got, err := s.Passkeys(ctx, alice.ID)
	if err != nil || len(got) != 2 || !equalPasskey(got[0], a1) || !equalPasskey(got[1], a2) {
		t.Fatalf("Passkeys(alice) = %d passkeys, %v; want a1, a2 oldest first", len(got), err)
	}

	// The limit counts the user's passkeys only.
	wantErr(t, "AddPasskey over the limit", s.AddPasskey(ctx, newPasskey("a3", alice.ID, at(2*time.Second)), 2), restauth.ErrPasskeyLimit)
	wantErr(t, "AddPasskey under the limit", s.AddPasskey(ctx, newPasskey("b2", bob.ID, at(2*time.Second)), 2), nil)
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred:a3")); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(a3) after a refused add: got %v, want ErrNotFound", err)
	}

	p, err := s.PasskeyByCredentialID(ctx, []byte("cred:a2"))
	if err != nil || !equalPasskey(p, a2) {
		t.Fatalf("PasskeyByCredentialID(a2) = %s, %v; want %s", fmtPasskey(p), err, fmtPasskey(a2))
	}
	_, err = s.PasskeyByCredentialID(ctx, []byte("cred:unknown"))
	wantErr(t, "PasskeyByCredentialID of an unknown credential", err, restauth.ErrNotFound)

	// A use stores the new record and the time.
	if err := s.UsePasskey(ctx, "a2", []byte("record 2"), at(time.Hour)); err != nil {
		t.Fatalf("UsePasskey: %v", err)
	}
	a2.Credential, a2.LastUsedAt = []byte("record 2"), at(time.Hour)
	p, err = s.PasskeyByCredentialID(ctx, []byte("cred:a2"))
	if err != nil || !equalPasskey(p, a2) {
		t.Fatalf("PasskeyByCredentialID(a2) after use = %s, %v; want %s", fmtPasskey(p), err, fmtPasskey(a2))
	}
	wantErr(t, "UsePasskey of an unknown passkey", s.UsePasskey(ctx, "gone", []byte("x"), at(0)), restauth.ErrNotFound)

	// Only the owner removes a passkey.
	wantErr(t, "DeletePasskey of another user's passkey", s.DeletePasskey(ctx, bob.ID, "a1"), restauth.ErrNotFound)
	wantErr(t, "DeletePasskey", s.DeletePasskey(ctx, alice.ID, "a1"), nil)
	wantErr(t, "DeletePasskey again", s.DeletePasskey(ctx, alice.ID, "a1"), restauth.ErrNotFound)
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred:a1")); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(a1) after delete: got %v, want ErrNotFound", err)
	}

	// Concurrent registrations cannot pass the limit together.
	carol := mustCreateUser(t, s, "carol")
	const limit = 3
	added := 0
	for i, err := range concurrently(8, func(i int) error {
		return s.AddPasskey(ctx, newPasskey(fmt.Sprintf("c%d", i), carol.ID, at(0)), limit)
	}) {
		switch {
		case err == nil:
			added++
		case !errors.Is(err, restauth.ErrPasskeyLimit):
			t.Errorf("concurrent AddPasskey %d: %v", i, err)
		}
	}
	if list, err := s.Passkeys(ctx, carol.ID); added != limit || err != nil || len(list) != limit {
		t.Errorf("concurrent AddPasskey: %d succeeded, %d stored (%v); want %d", added, len(list), err, limit)
	}

	// Deleting the user deletes its passkeys.
	if _, err := s.DeleteUser(ctx, bob.ID, at(time.Hour)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if list, err := s.Passkeys(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Errorf("Passkeys(bob) after DeleteUser = %d, %v; want none", len(list), err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred:b1")); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(b1) after DeleteUser: got %v, want ErrNotFound", err)
	}
}

// testPasskeyChallenges checks that a challenge is taken once, never after
// it expired, and that storing one deletes the expired ones.
func testPasskeyChallenges(t *testing.T, s Store) {
	ctx := t.Context()
	c1 := &restauth.PasskeyChallenge{ID: "c1", UserID: 7, Kind: restauth.PasskeyRegister, State: []byte("state 1"), ExpiresAt: at(time.Minute)}
	c2 := &restauth.PasskeyChallenge{ID: "c2", Kind: restauth.PasskeySignIn, State: []byte("state 2"), ExpiresAt: at(time.Minute)}
	c3 := &restauth.PasskeyChallenge{ID: "c3", Kind: restauth.PasskeySignIn, State: []byte("state 3"), ExpiresAt: at(3 * time.Minute)}
	for _, c := range []*restauth.PasskeyChallenge{c1, c2} {
		if err := s.AddPasskeyChallenge(ctx, c, at(0)); err != nil {
			t.Fatalf("AddPasskeyChallenge(%s): %v", c.ID, err)
		}
	}
	if err := s.AddPasskeyChallenge(ctx, c1, at(0)); err == nil {
		t.Errorf("AddPasskeyChallenge with an id stored already succeeded")
	}

	got, err := s.TakePasskeyChallenge(ctx, "c1", at(time.Second))
	if err != nil || got.ID != c1.ID || got.UserID != c1.UserID || got.Kind != c1.Kind ||
		!bytes.Equal(got.State, c1.State) || !got.ExpiresAt.Equal(c1.ExpiresAt) {
		t.Fatalf("TakePasskeyChallenge(c1) = %+v, %v; want %+v", got, err, c1)
	}
	_, err = s.TakePasskeyChallenge(ctx, "c1", at(time.Second))
	wantErr(t, "TakePasskeyChallenge a second time", err, restauth.ErrNotFound)
	_, err = s.TakePasskeyChallenge(ctx, "unknown", at(time.Second))
	wantErr(t, "TakePasskeyChallenge of an unknown id", err, restauth.ErrNotFound)

	// Storing c3 after c2 expired deletes c2, which is not taken even
	// before its expiry.
	if err := s.AddPasskeyChallenge(ctx, c3, at(time.Minute)); err != nil {
		t.Fatalf("AddPasskeyChallenge(c3): %v", err)
	}
	_, err = s.TakePasskeyChallenge(ctx, "c2", at(0))
	wantErr(t, "TakePasskeyChallenge of a swept challenge", err, restauth.ErrNotFound)

	// An expired challenge is not returned, and is gone.
	_, err = s.TakePasskeyChallenge(ctx, "c3", at(3*time.Minute))
	wantErr(t, "TakePasskeyChallenge at its expiry", err, restauth.ErrNotFound)
	_, err = s.TakePasskeyChallenge(ctx, "c3", at(0))
	wantErr(t, "TakePasskeyChallenge after an expired take", err, restauth.ErrNotFound)

	// Concurrent takes: exactly one wins.
	c4 := &restauth.PasskeyChallenge{ID: "c4", Kind: restauth.PasskeySignIn, State: []byte("s"), ExpiresAt: at(time.Hour)}
	if err := s.AddPasskeyChallenge(ctx, c4, at(0)); err != nil {
		t.Fatalf("AddPasskeyChallenge(c4): %v", err)
	}
	wins := 0
	for i, err := range concurrently(8, func(int) error { _, err := s.TakePasskeyChallenge(ctx, "c4", at(0)); return err }) {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, restauth.ErrNotFound):
			t.Errorf("take %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("concurrent takes of one challenge: %d succeeded, want 1", wins)
	}
}
