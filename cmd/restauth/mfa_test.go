package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/teststore"
	"github.com/restauth/restauth/internal/totptest"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
)

// TestUserMFAReset enrols a user in TOTP through the Service on the
// command's database, then runs `restauth user mfa-reset` through run: the
// second factor is gone and every session of the user has ended.
func TestUserMFAReset(t *testing.T) {
	dir := t.TempDir()
	if r := cli(t, dir, nil, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	if r := cli(t, dir, nil, "a fine passphrase\n", "user", "add", "grace"); r.code != 0 {
		t.Fatalf("user add: %+v", r)
	}
	if r := cli(t, dir, nil, "a fine passphrase\n", "user", "add", "ada"); r.code != 0 {
		t.Fatalf("user add: %+v", r)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "restauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, _ := teststore.NewService(t, st, restauth.DefaultConfig(), password.New(password.Options{Params: teststore.FastParams}), nil)
	_, pair, err := svc.Login(ctx, "grace", "a fine passphrase", restauth.ClientMeta{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.AuthenticateToken(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := svc.EnrollTOTP(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := totptest.Secret(enr.Secret)
	if _, err := svc.ConfirmTOTP(ctx, p, totptest.Now(key, 0), restauth.ClientMeta{}); err != nil {
		t.Fatal(err)
	}
	if has, err := svc.HasSecondFactor(ctx, p.UserID); !has || err != nil {
		t.Fatalf("HasSecondFactor = %v, %v; want true", has, err)
	}

	steps := []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"user", "mfa-reset", "GRACE"}, 0, "removed the second factor of user 1 grace and ended its sessions\n", ""},
		{[]string{"user", "mfa-reset", "1"}, 0, "user 1 grace has no second factor; its sessions are ended\n", ""},
		{[]string{"user", "mfa-reset", "nobody"}, 1, "", "restauth: no user \"nobody\"\n"},
		{[]string{"user", "mfa-reset"}, 2, "", ""},
	}
	for _, s := range steps {
		r := cli(t, dir, nil, "", s.args...)
		if r.code != s.code || r.stdout != s.out || (s.err != "" && r.stderr != s.err) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, %q, %q", s.args, r.code, r.stdout, r.stderr, s.code, s.out, s.err)
		}
	}
	if has, err := svc.HasSecondFactor(ctx, p.UserID); has || err != nil {
		t.Errorf("HasSecondFactor after mfa-reset = %v, %v; want false", has, err)
	}
	sess, err := st.Session(ctx, p.SessionID)
	if err != nil || sess.RevokedAt.IsZero() {
		t.Errorf("the user's session after mfa-reset: revoked at %v, %v; want revoked", sess.RevokedAt, err)
	}
	if _, _, err := svc.Login(ctx, "grace", "a fine passphrase", restauth.ClientMeta{}); err != nil {
		t.Errorf("the password alone after mfa-reset: %v, want success", err)
	}
}

// TestTOTPEndToEnd runs the TOTP flow against the real program: enrolment,
// the refused password over HTTP Basic, the two-step login, and a log that
// holds none of the secrets involved.
func TestTOTPEndToEnd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db})
	const pw = "python is fun"
	if r := do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, ""); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	r := do(t, "GET", base+"/api/token", "", basicAuth("miguel", pw))
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	bearer := "Bearer " + r.body["token"].(string)
	r = do(t, "POST", base+"/api/users/me/totp", "", bearer)
	if r.status != 200 {
		t.Fatalf("enrol: %d %s", r.status, r.raw)
	}
	secret, err := totptest.SecretOf(r.body["otpauth_uri"].(string))
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, "POST", base+"/api/users/me/totp/confirm", `{"code":"`+totptest.Now(secret, 0)+`"}`, bearer)
	if r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.raw)
	}
	recovery := r.body["recovery_codes"].([]any)

	r = do(t, "GET", base+"/api/token", "", basicAuth("miguel", pw))
	if r.status != 401 || r.body["error"] != "mfa_required" {
		t.Fatalf("GET /api/token with the password: %d %s, want 401 mfa_required", r.status, r.raw)
	}
	r = do(t, "POST", base+"/api/tokens", "", basicAuth("miguel", pw))
	tok, _ := r.body["mfa_token"].(string)
	if r.status != 401 || tok == "" {
		t.Fatalf("login: %d %s, want 401 with an mfa_token", r.status, r.raw)
	}
	code := totptest.Now(secret, 1)
	r = do(t, "POST", base+"/api/tokens/mfa", `{"mfa_token":"`+tok+`","code":"`+code+`"}`, "")
	if r.status != 200 {
		t.Fatalf("second step: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", base+"/api/resource", "", "Bearer "+r.body["access_token"].(string)); r.status != 200 {
		t.Fatalf("the completed login's token: %d %s", r.status, r.raw)
	}
	for _, s := range []string{pw, tok, code, totptest.Secret32(secret), recovery[0].(string)} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log contains a secret (%.6s…)", s)
		}
	}
}
