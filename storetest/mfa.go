package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// testMFA covers the second-factor store: a pending enrolment that may be
// replaced until it is confirmed, the monotonic last step that refuses a
// replayed code, single-use recovery codes, single-use challenges that
// expire, and removal, including by deleting the user.
func testMFA(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	bob := mustCreateUser(t, s, "bob")

	_, err := s.TOTP(ctx, alice.ID)
	wantErr(t, "TOTP before any enrolment", err, restauth.ErrNotFound)
	wantErr(t, "PutPendingTOTP for an unknown user", s.PutPendingTOTP(ctx, alice.ID+1000, []byte("x"), at(0)), restauth.ErrNotFound)
	wantErr(t, "ConfirmTOTP with nothing pending", s.ConfirmTOTP(ctx, alice.ID, 1, nil, at(0)), restauth.ErrNotFound)

	// A pending enrolment is replaced by the next one.
	wantErr(t, "PutPendingTOTP", s.PutPendingTOTP(ctx, alice.ID, []byte("secret-1"), at(0)), nil)
	wantErr(t, "PutPendingTOTP again", s.PutPendingTOTP(ctx, alice.ID, []byte("secret-2"), at(time.Second)), nil)
	rec, err := s.TOTP(ctx, alice.ID)
	if err != nil || !bytes.Equal(rec.Secret, []byte("secret-2")) || !rec.CreatedAt.Equal(at(time.Second)) || !rec.ConfirmedAt.IsZero() {
		t.Fatalf("TOTP = %s, %v; want pending secret-2 created at +1s", fmtTOTP(rec), err)
	}
	if ok, err := s.UseTOTPStep(ctx, alice.ID, 5); ok || err != nil {
		t.Errorf("UseTOTPStep while pending = %v, %v; want false, nil", ok, err)
	}

	codes := [][]byte{hash("rc1"), hash("rc2"), hash("rc3")}
	wantErr(t, "ConfirmTOTP", s.ConfirmTOTP(ctx, alice.ID, 100, codes, at(2*time.Second)), nil)
	rec, err = s.TOTP(ctx, alice.ID)
	if err != nil || !rec.ConfirmedAt.Equal(at(2*time.Second)) || rec.LastStep != 100 {
		t.Fatalf("TOTP after confirming = %s, %v; want confirmed at +2s, last step 100", fmtTOTP(rec), err)
	}
	wantErr(t, "ConfirmTOTP twice", s.ConfirmTOTP(ctx, alice.ID, 101, codes, at(3*time.Second)), restauth.ErrNotFound)
	wantErr(t, "PutPendingTOTP over a confirmed one", s.PutPendingTOTP(ctx, alice.ID, []byte("secret-3"), at(0)), restauth.ErrTOTPActive)
	if rec, _ := s.TOTP(ctx, alice.ID); rec == nil || !bytes.Equal(rec.Secret, []byte("secret-2")) {
		t.Errorf("the confirmed secret was replaced: %s", fmtTOTP(rec))
	}

	// Steps only move forward: the confirmed step, an earlier one and a
	// repeated one are refused.
	for _, tc := range []struct {
		step int64
		want bool
	}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
		if ok, err := s.UseTOTPStep(ctx, alice.ID, tc.step); ok != tc.want || err != nil {
			t.Errorf("UseTOTPStep(%d) = %v, %v; want %v, nil", tc.step, ok, err, tc.want)
		}
	}
	// Concurrent uses of one step: exactly one wins.
	wins := 0
	results := make([]bool, 8)
	errs := concurrently(8, func(i int) (err error) {
		results[i], err = s.UseTOTPStep(ctx, alice.ID, 200)
		return err
	})
	for i, ok := range results {
		if errs[i] != nil {
			t.Errorf("concurrent UseTOTPStep: %v", errs[i])
		}
		if ok {
			wins++
		}
	}
	if wins != 1 {
		t.Errorf("concurrent UseTOTPStep(200): %d won, want 1", wins)
	}

	// Recovery codes are single-use and belong to their user.
	if n, err := s.RecoveryCodesLeft(ctx, alice.ID); n != 3 || err != nil {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 3, nil", n, err)
	}
	if ok, err := s.UseRecoveryCode(ctx, bob.ID, hash("rc1")); ok || err != nil {
		t.Errorf("UseRecoveryCode of another user's code = %v, %v; want false, nil", ok, err)
	}
	for _, tc := range []struct {
		code string
		want bool
	}{{"rc1", true}, {"rc1", false}, {"nope", false}, {"rc3", true}} {
		if ok, err := s.UseRecoveryCode(ctx, alice.ID, hash(tc.code)); ok != tc.want || err != nil {
			t.Errorf("UseRecoveryCode(%s) = %v, %v; want %v, nil", tc.code, ok, err, tc.want)
		}
	}
	if n, err := s.RecoveryCodesLeft(ctx, alice.ID); n != 1 || err != nil {
		t.Errorf("RecoveryCodesLeft after two uses = %d, %v; want 1, nil", n, err)
	}

	// Challenges: found until they expire, consumed once.
	ch := &restauth.MFAChallenge{Hash: hash("ch1"), UserID: alice.ID, ClientIP: "192.0.2.7", UserAgent: "storetest/1.0",
		CreatedAt: at(0), ExpiresAt: at(5 * time.Minute)}
	wantErr(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx, ch), nil)
	wantErr(t, "CreateMFAChallenge for an unknown user", s.CreateMFAChallenge(ctx, &restauth.MFAChallenge{
		Hash: hash("orphan"), UserID: alice.ID + 1000, CreatedAt: at(0), ExpiresAt: at(time.Minute)}), restauth.ErrNotFound)
	got, err := s.MFAChallenge(ctx, hash("ch1"), at(time.Minute))
	if err != nil || !equalChallenge(got, ch) {
		t.Fatalf("MFAChallenge = %s, %v; want %s", fmtChallenge(got), err, fmtChallenge(ch))
	}
	_, err = s.MFAChallenge(ctx, hash("ch1"), at(5*time.Minute))
	wantErr(t, "MFAChallenge at its expiry", err, restauth.ErrNotFound)
	_, err = s.ConsumeMFAChallenge(ctx, hash("ch1"), at(5*time.Minute))
	wantErr(t, "ConsumeMFAChallenge at its expiry", err, restauth.ErrNotFound)
	got, err = s.ConsumeMFAChallenge(ctx, hash("ch1"), at(time.Minute))
	if err != nil || !equalChallenge(got, ch) {
		t.Fatalf("ConsumeMFAChallenge = %s, %v; want %s", fmtChallenge(got), err, fmtChallenge(ch))
	}
	_, err = s.ConsumeMFAChallenge(ctx, hash("ch1"), at(time.Minute))
	wantErr(t, "ConsumeMFAChallenge twice", err, restauth.ErrNotFound)
	_, err = s.MFAChallenge(ctx, hash("unknown"), at(0))
	wantErr(t, "MFAChallenge of an unknown token", err, restauth.ErrNotFound)

	// Concurrent consumption: one wins.
	wantErr(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx, &restauth.MFAChallenge{
		Hash: hash("ch2"), UserID: alice.ID, CreatedAt: at(0), ExpiresAt: at(time.Hour)}), nil)
	errs = concurrently(8, func(int) error {
		_, err := s.ConsumeMFAChallenge(ctx, hash("ch2"), at(time.Minute))
		return err
	})
	wins = 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, restauth.ErrNotFound):
			t.Errorf("concurrent ConsumeMFAChallenge: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("concurrent ConsumeMFAChallenge: %d won, want 1", wins)
	}

	// Creating a challenge deletes the expired ones.
	wantErr(t, "CreateMFAChallenge", s.CreateMFAChallenge(ctx, &restauth.MFAChallenge{
		Hash: hash("old"), UserID: bob.ID, CreatedAt: at(0), ExpiresAt: at(time.Minute)}), nil)
	wantErr(t, "CreateMFAChallenge later", s.CreateMFAChallenge(ctx, &restauth.MFAChallenge{
		Hash: hash("new"), UserID: bob.ID, CreatedAt: at(2 * time.Minute), ExpiresAt: at(3 * time.Minute)}), nil)
	_, err = s.MFAChallenge(ctx, hash("old"), at(0))
	wantErr(t, "an expired challenge after a later one was created", err, restauth.ErrNotFound)

	// DeleteMFA removes a confirmed enrolment and its codes; a pending one
	// is removed without counting as a second factor.
	if removed, err := s.DeleteMFA(ctx, alice.ID); !removed || err != nil {
		t.Errorf("DeleteMFA = %v, %v; want true, nil", removed, err)
	}
	_, err = s.TOTP(ctx, alice.ID)
	wantErr(t, "TOTP after DeleteMFA", err, restauth.ErrNotFound)
	if n, err := s.RecoveryCodesLeft(ctx, alice.ID); n != 0 || err != nil {
		t.Errorf("RecoveryCodesLeft after DeleteMFA = %d, %v; want 0, nil", n, err)
	}
	wantErr(t, "PutPendingTOTP for bob", s.PutPendingTOTP(ctx, bob.ID, []byte("bob"), at(0)), nil)
	if removed, err := s.DeleteMFA(ctx, bob.ID); removed || err != nil {
		t.Errorf("DeleteMFA of a pending enrolment = %v, %v; want false, nil", removed, err)
	}
	if _, err := s.TOTP(ctx, bob.ID); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("TOTP after DeleteMFA of a pending enrolment: %v, want not found", err)
	}

	// Deleting the user deletes its enrolment, codes and challenges.
	wantErr(t, "PutPendingTOTP", s.PutPendingTOTP(ctx, bob.ID, []byte("bob"), at(0)), nil)
	wantErr(t, "ConfirmTOTP", s.ConfirmTOTP(ctx, bob.ID, 1, [][]byte{hash("b1")}, at(0)), nil)
	if _, err := s.DeleteUser(ctx, bob.ID, at(time.Minute)); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = s.TOTP(ctx, bob.ID)
	wantErr(t, "TOTP of a deleted user", err, restauth.ErrNotFound)
	if n, err := s.RecoveryCodesLeft(ctx, bob.ID); n != 0 || err != nil {
		t.Errorf("RecoveryCodesLeft of a deleted user = %d, %v; want 0, nil", n, err)
	}
	_, err = s.MFAChallenge(ctx, hash("new"), at(2*time.Minute))
	wantErr(t, "a deleted user's challenge", err, restauth.ErrNotFound)
}

func equalChallenge(a, b *restauth.MFAChallenge) bool {
	return a != nil && b != nil && bytes.Equal(a.Hash, b.Hash) && a.UserID == b.UserID &&
		a.ClientIP == b.ClientIP && a.UserAgent == b.UserAgent &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

func fmtChallenge(c *restauth.MFAChallenge) string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{user %d, %s %q, %s–%s}", c.UserID, c.ClientIP, c.UserAgent, c.CreatedAt, c.ExpiresAt)
}

func fmtTOTP(r *restauth.TOTPRecord) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{user %d, %d-byte secret, created %s, confirmed %s, last step %d}",
		r.UserID, len(r.Secret), r.CreatedAt, r.ConfirmedAt, r.LastStep)
}
