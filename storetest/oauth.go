package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func newOAuthClient(id string, secret bool) *restauth.OAuthClient {
	c := &restauth.OAuthClient{
		ID: id, Name: "App " + id, RedirectURIs: []string{"https://app.example/cb", "http://127.0.0.1/cb"},
		LogoutURIs: []string{"https://app.example/bye"},
		Grants:     []string{restauth.GrantAuthorizationCode, restauth.GrantRefreshToken},
		Scopes:     []string{"openid", "profile"}, CreatedAt: at(0),
	}
	if secret {
		c.SecretHash = hash("secret:" + id)
	}
	return c
}

// testOAuthClients checks that clients round-trip, are listed, get a new
// secret only when confidential, and are deleted once.
func testOAuthClients(t *testing.T, s Store) {
	ctx := t.Context()
	conf, pub := newOAuthClient("conf", true), newOAuthClient("pub", false)
	pub.Trusted, pub.CreatedAt, pub.IDTokenAlg = true, at(time.Second), restauth.IDTokenEdDSA
	for _, c := range []*restauth.OAuthClient{conf, pub} {
		if err := s.CreateOAuthClient(ctx, c); err != nil {
			t.Fatalf("CreateOAuthClient(%s): %v", c.ID, err)
		}
	}
	wantErr(t, "CreateOAuthClient with a taken id", s.CreateOAuthClient(ctx, newOAuthClient("conf", true)), restauth.ErrOAuthClientExists)
	got, err := s.OAuthClient(ctx, "pub")
	if err != nil {
		t.Fatalf("OAuthClient(pub): %v", err)
	}
	if got.Name != pub.Name || !got.Public() || !got.Trusted || got.IDTokenAlg != pub.IDTokenAlg || !slices.Equal(got.RedirectURIs, pub.RedirectURIs) ||
		!slices.Equal(got.LogoutURIs, pub.LogoutURIs) || !slices.Equal(got.Grants, pub.Grants) ||
		!slices.Equal(got.Scopes, pub.Scopes) || !got.CreatedAt.Equal(pub.CreatedAt) {
		t.Errorf("OAuthClient(pub) = %+v, want %+v", got, pub)
	}
	got, _ = s.OAuthClient(ctx, "conf")
	if !bytes.Equal(got.SecretHash, conf.SecretHash) || got.Trusted {
		t.Errorf("OAuthClient(conf): secret %q trusted %v, want %q false", got.SecretHash, got.Trusted, conf.SecretHash)
	}
	all, err := s.OAuthClients(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "conf" || all[1].ID != "pub" {
		t.Errorf("OAuthClients = %v, %v; want conf, pub", all, err)
	}
	if _, err := s.SetOAuthClientSecret(ctx, "conf", hash("new"), at(time.Minute)); err != nil {
		t.Errorf("SetOAuthClientSecret(conf): %v", err)
	}
	got, _ = s.OAuthClient(ctx, "conf")
	if !bytes.Equal(got.SecretHash, hash("new")) {
		t.Errorf("secret after SetOAuthClientSecret = %q, want %q", got.SecretHash, hash("new"))
	}
	_, err = s.SetOAuthClientSecret(ctx, "pub", hash("new"), at(time.Minute))
	wantErr(t, "SetOAuthClientSecret(public client)", err, restauth.ErrNotFound)
	if _, err := s.DeleteOAuthClient(ctx, "pub", at(time.Minute)); err != nil {
		t.Errorf("DeleteOAuthClient(pub): %v", err)
	}
	_, err = s.DeleteOAuthClient(ctx, "pub", at(time.Minute))
	wantErr(t, "DeleteOAuthClient twice", err, restauth.ErrNotFound)
	_, err = s.OAuthClient(ctx, "pub")
	wantErr(t, "OAuthClient(deleted)", err, restauth.ErrNotFound)
}

// testAuthorizationRequests checks that requests round-trip until they
// expire and are deleted once.
func testAuthorizationRequests(t *testing.T, s Store) {
	ctx := t.Context()
	r := &restauth.AuthorizationRequest{ID: "req1", ClientID: "c", RedirectURI: "https://app.example/cb",
		Scopes: []string{"openid", "profile"}, State: "st ate", Nonce: "n", CodeChallenge: "ch", Prompt: "login",
		MaxAge: 30, CreatedAt: at(0), ExpiresAt: at(10 * time.Minute)}
	if err := s.AddAuthorizationRequest(ctx, r, at(0)); err != nil {
		t.Fatalf("AddAuthorizationRequest: %v", err)
	}
	got, err := s.AuthorizationRequest(ctx, "req1", at(time.Minute))
	if err != nil {
		t.Fatalf("AuthorizationRequest: %v", err)
	}
	if got.ClientID != r.ClientID || got.RedirectURI != r.RedirectURI || !slices.Equal(got.Scopes, r.Scopes) ||
		got.State != r.State || got.Nonce != r.Nonce || got.CodeChallenge != r.CodeChallenge || got.Prompt != r.Prompt ||
		got.MaxAge != r.MaxAge || !got.CreatedAt.Equal(r.CreatedAt) || !got.ExpiresAt.Equal(r.ExpiresAt) {
		t.Errorf("AuthorizationRequest = %+v, want %+v", got, r)
	}
	_, err = s.AuthorizationRequest(ctx, "req1", at(10*time.Minute))
	wantErr(t, "AuthorizationRequest at expiry", err, restauth.ErrNotFound)
	if err := s.DeleteAuthorizationRequest(ctx, "req1"); err != nil {
		t.Errorf("DeleteAuthorizationRequest: %v", err)
	}
	wantErr(t, "DeleteAuthorizationRequest twice", s.DeleteAuthorizationRequest(ctx, "req1"), restauth.ErrNotFound)
}

func newCode(name string, userID int64) *restauth.OAuthCode {
	return &restauth.OAuthCode{Hash: hash("code:" + name), ClientID: "c1", RedirectURI: "https://app.example/cb",
		CodeChallenge: "challenge", Scopes: []string{"openid"}, Nonce: "nonce", UserID: userID,
		AuthTime: at(-time.Minute), CreatedAt: at(0), ExpiresAt: at(restauth.OAuthCodeTTL)}
}

func redemption(c *restauth.OAuthCode, sid string, now time.Time) restauth.CodeRedemption {
	return restauth.CodeRedemption{Hash: c.Hash, ClientID: c.ClientID, RedirectURI: c.RedirectURI,
		CodeChallenge: c.CodeChallenge, SessionID: sid, Now: now}
}

// testOAuthCodes checks that a code is redeemed only with every binding,
// before it expires, and once, even by concurrent redemptions; that a
// second redemption reports the first one's session; and that a session
// cannot be created for a code replayed meanwhile.
func testOAuthCodes(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	c := newCode("a", alice.ID)
	if err := s.AddOAuthCode(ctx, c, at(0)); err != nil {
		t.Fatalf("AddOAuthCode: %v", err)
	}
	for _, tt := range []struct {
		name string
		edit func(r *restauth.CodeRedemption)
	}{
		{"another client", func(r *restauth.CodeRedemption) { r.ClientID = "c2" }},
		{"another redirect URI", func(r *restauth.CodeRedemption) { r.RedirectURI += "/" }},
		{"another challenge", func(r *restauth.CodeRedemption) { r.CodeChallenge = "other" }},
		{"an unknown code", func(r *restauth.CodeRedemption) { r.Hash = hash("nope") }},
		{"at expiry", func(r *restauth.CodeRedemption) { r.Now = at(restauth.OAuthCodeTTL) }},
	} {
		r := redemption(c, "s1", at(time.Second))
		tt.edit(&r)
		_, err := s.RedeemOAuthCode(ctx, r)
		wantErr(t, "RedeemOAuthCode with "+tt.name, err, restauth.ErrNotFound)
	}
	errs := concurrently(8, func(i int) error {
		_, err := s.RedeemOAuthCode(ctx, redemption(c, "s1", at(time.Second)))
		return err
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, restauth.ErrOAuthCodeUsed):
			t.Errorf("concurrent RedeemOAuthCode: %v, want nil or ErrOAuthCodeUsed", err)
		}
	}
	if won != 1 {
		t.Fatalf("concurrent redemptions succeeded %d times, want 1", won)
	}
	got, err := s.RedeemOAuthCode(ctx, redemption(c, "s2", at(2*time.Second)))
	wantErr(t, "RedeemOAuthCode again", err, restauth.ErrOAuthCodeUsed)
	if got == nil || got.SessionID != "s1" || got.UserID != alice.ID || got.UsedAt.IsZero() {
		t.Errorf("replayed code = %+v, want session s1 of user %d, used", got, alice.ID)
	}
	sess := newSession("s1", alice.ID, at(0))
	g := &restauth.OAuthGrant{SessionID: "s1", ClientID: "c1", UserID: alice.ID, Scopes: []string{"openid"}, AuthTime: at(0)}
	wantErr(t, "CreateOAuthSession after a replay", s.CreateOAuthSession(ctx, c.Hash, sess, nil, g), restauth.ErrOAuthCodeUsed)
	if _, err := s.Session(ctx, "s1"); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("session of a replayed code: %v, want ErrNotFound", err)
	}

	// A code redeemed once opens its session, with its grant.
	c2 := newCode("b", alice.ID)
	if err := s.AddOAuthCode(ctx, c2, at(0)); err != nil {
		t.Fatalf("AddOAuthCode: %v", err)
	}
	if _, err := s.RedeemOAuthCode(ctx, redemption(c2, "s2", at(time.Second))); err != nil {
		t.Fatalf("RedeemOAuthCode: %v", err)
	}
	sess2 := newSession("s2", alice.ID, at(0))
	g2 := &restauth.OAuthGrant{SessionID: "s2", ClientID: "c1", UserID: alice.ID, Scopes: []string{"openid", "profile"}, AuthTime: at(-time.Minute)}
	if err := s.CreateOAuthSession(ctx, c2.Hash, sess2, &restauth.RefreshRecord{Hash: hash("r2"), SessionID: "s2", CreatedAt: at(0)}, g2); err != nil {
		t.Fatalf("CreateOAuthSession: %v", err)
	}
	for name, get := range map[string]func() (*restauth.OAuthGrant, error){
		"OAuthGrant":          func() (*restauth.OAuthGrant, error) { return s.OAuthGrant(ctx, "s2") },
		"OAuthGrantByRefresh": func() (*restauth.OAuthGrant, error) { return s.OAuthGrantByRefresh(ctx, hash("r2")) },
	} {
		gg, err := get()
		if err != nil || gg.ClientID != "c1" || gg.UserID != alice.ID || !slices.Equal(gg.Scopes, g2.Scopes) || !gg.AuthTime.Equal(g2.AuthTime) {
			t.Errorf("%s = %+v, %v; want %+v", name, gg, err, g2)
		}
	}
	if gg, err := s.OAuthGrantByRefresh(ctx, hash("r2")); err != nil || gg.RefreshUsed {
		t.Errorf("OAuthGrantByRefresh of an unused token: RefreshUsed = %v, %v; want false, nil", gg != nil && gg.RefreshUsed, err)
	}
	// A rotated refresh token still finds its grant (so that a replay is
	// recognised), marked used: introspection reports it inactive.
	if _, err := s.RotateRefresh(ctx, restauth.Rotation{OldHash: hash("r2"), NewHash: hash("r3"), NewSealed: []byte("sealed"), Now: at(2 * time.Second)}); err != nil {
		t.Fatalf("RotateRefresh: %v", err)
	}
	for tok, want := range map[string]bool{"r2": true, "r3": false} {
		gg, err := s.OAuthGrantByRefresh(ctx, hash(tok))
		if err != nil || gg.RefreshUsed != want || gg.SessionID != "s2" {
			t.Errorf("OAuthGrantByRefresh(%s) after rotation = %+v, %v; want session s2, RefreshUsed %v", tok, gg, err, want)
		}
	}
	// A first-party session has no grant.
	mustCreateSession(t, s, newSession("own", alice.ID, at(0)))
	_, err = s.OAuthGrantByRefresh(ctx, hash("own"))
	wantErr(t, "OAuthGrantByRefresh of a first-party token", err, restauth.ErrNotFound)
}

// testOAuthConsents checks that consents are remembered per user and
// client, replaced, listed, and that deleting one (or the client) revokes
// the sessions issued to the client for that user (or for everyone).
func testOAuthConsents(t *testing.T, s Store) {
	ctx := t.Context()
	alice, bob := mustCreateUser(t, s, "alice"), mustCreateUser(t, s, "bob")
	for _, c := range []*restauth.OAuthClient{newOAuthClient("c1", true), newOAuthClient("c2", true)} {
		if err := s.CreateOAuthClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	save := func(u int64, client string, scopes ...string) {
		t.Helper()
		if err := s.SaveOAuthConsent(ctx, &restauth.OAuthConsent{UserID: u, ClientID: client, Scopes: scopes, CreatedAt: at(0)}); err != nil {
			t.Fatalf("SaveOAuthConsent: %v", err)
		}
	}
	save(alice.ID, "c1", "openid")
	save(alice.ID, "c1", "openid", "profile")
	save(alice.ID, "c2", "openid")
	save(bob.ID, "c1", "openid")
	got, err := s.OAuthConsent(ctx, alice.ID, "c1")
	if err != nil || !slices.Equal(got.Scopes, []string{"openid", "profile"}) {
		t.Errorf("OAuthConsent = %+v, %v; want openid profile", got, err)
	}
	list, err := s.OAuthConsents(ctx, alice.ID)
	if err != nil || len(list) != 2 {
		t.Errorf("OAuthConsents = %d, %v; want 2", len(list), err)
	}
	open := func(id string, u int64, client string) {
		t.Helper()
		g := &restauth.OAuthGrant{SessionID: id, ClientID: client, UserID: u, Scopes: []string{"openid"}, AuthTime: at(0)}
		if err := s.CreateOAuthSession(ctx, nil, newSession(id, u, at(0)), nil, g); err != nil {
			t.Fatalf("CreateOAuthSession(%s): %v", id, err)
		}
	}
	open("a1", alice.ID, "c1")
	open("a2", alice.ID, "c2")
	open("b1", bob.ID, "c1")
	ids, err := s.DeleteOAuthConsent(ctx, alice.ID, "c1", at(time.Minute))
	if err != nil || !slices.Equal(ids, []string{"a1"}) {
		t.Errorf("DeleteOAuthConsent = %v, %v; want [a1]", ids, err)
	}
	if sess := mustSession(t, s, "a1"); !sess.RevokedAt.Equal(at(time.Minute)) {
		t.Errorf("a1 revoked at %v, want %v", sess.RevokedAt, at(time.Minute))
	}
	if sess := mustSession(t, s, "b1"); !sess.RevokedAt.IsZero() {
		t.Errorf("b1 revoked at %v, want live", sess.RevokedAt)
	}
	_, err = s.DeleteOAuthConsent(ctx, alice.ID, "c1", at(time.Minute))
	wantErr(t, "DeleteOAuthConsent twice", err, restauth.ErrNotFound)
	revs, err := s.RevokedSince(ctx, at(time.Minute))
	if err != nil || len(revs) != 1 || revs[0].SessionID != "a1" {
		t.Errorf("RevokedSince = %v, %v; want a1 (the revocation feed carries it)", revs, err)
	}
	ids, err = s.SetOAuthClientSecret(ctx, "c2", hash("x"), at(2*time.Minute))
	if err != nil || !slices.Equal(ids, []string{"a2"}) {
		t.Errorf("SetOAuthClientSecret revoked %v, %v; want [a2]", ids, err)
	}
	ids, err = s.DeleteOAuthClient(ctx, "c1", at(3*time.Minute))
	if err != nil || !slices.Equal(ids, []string{"b1"}) {
		t.Errorf("DeleteOAuthClient revoked %v, %v; want [b1]", ids, err)
	}
	_, err = s.OAuthConsent(ctx, bob.ID, "c1")
	wantErr(t, "consent of a deleted client", err, restauth.ErrNotFound)
}

// testDeviceCodes checks the device authorization's life: unique user
// codes, found only while pending, decided once, polls recorded (with the
// interval raised for a poll too soon), and redeemed once, when approved,
// by its client.
func testDeviceCodes(t *testing.T, s Store) {
	ctx := t.Context()
	alice := mustCreateUser(t, s, "alice")
	d := &restauth.DeviceCode{Hash: hash("dev1"), UserCode: "BCDFGHJK", ClientID: "c1", Scopes: []string{"openid"},
		CreatedAt: at(0), ExpiresAt: at(restauth.DeviceCodeTTL), Interval: restauth.DeviceInterval, Status: restauth.DevicePending}
	if err := s.AddDeviceCode(ctx, d, at(0)); err != nil {
		t.Fatalf("AddDeviceCode: %v", err)
	}
	dup := *d
	dup.Hash = hash("dev2")
	wantErr(t, "AddDeviceCode with a taken user code", s.AddDeviceCode(ctx, &dup, at(0)), restauth.ErrDeviceCodeExists)
	got, err := s.DeviceCodeByUserCode(ctx, "BCDFGHJK", at(time.Second))
	if err != nil || got.ClientID != "c1" || got.Status != restauth.DevicePending || got.Interval != restauth.DeviceInterval ||
		!slices.Equal(got.Scopes, d.Scopes) || !got.ExpiresAt.Equal(d.ExpiresAt) {
		t.Fatalf("DeviceCodeByUserCode = %+v, %v; want %+v", got, err, d)
	}
	_, err = s.DeviceCodeByUserCode(ctx, "BCDFGHJK", at(restauth.DeviceCodeTTL))
	wantErr(t, "DeviceCodeByUserCode at expiry", err, restauth.ErrNotFound)

	got, err = s.PollDeviceCode(ctx, d.Hash, "c1", at(time.Second))
	if err != nil || !got.LastPolledAt.IsZero() {
		t.Fatalf("first PollDeviceCode = %+v, %v; want the code as it was, never polled", got, err)
	}
	got, _ = s.PollDeviceCode(ctx, d.Hash, "c1", at(2*time.Second))
	if !got.LastPolledAt.Equal(at(time.Second)) {
		t.Errorf("second poll saw last poll %v, want %v", got.LastPolledAt, at(time.Second))
	}
	got, _ = s.PollDeviceCode(ctx, d.Hash, "c1", at(20*time.Second))
	if got.Interval != restauth.DeviceInterval+restauth.DeviceSlowDown {
		t.Errorf("interval after a poll too soon = %v, want %v", got.Interval, restauth.DeviceInterval+restauth.DeviceSlowDown)
	}
	_, err = s.PollDeviceCode(ctx, d.Hash, "c2", at(30*time.Second))
	wantErr(t, "PollDeviceCode by another client", err, restauth.ErrNotFound)

	_, err = s.RedeemDeviceCode(ctx, d.Hash, "c1", "s1", at(30*time.Second))
	wantErr(t, "RedeemDeviceCode while pending", err, restauth.ErrNotFound)
	if err := s.DecideDeviceCode(ctx, "BCDFGHJK", alice.ID, at(-time.Hour), true, at(30*time.Second)); err != nil {
		t.Fatalf("DecideDeviceCode: %v", err)
	}
	wantErr(t, "DecideDeviceCode twice", s.DecideDeviceCode(ctx, "BCDFGHJK", alice.ID, at(0), false, at(31*time.Second)), restauth.ErrNotFound)
	_, err = s.RedeemDeviceCode(ctx, d.Hash, "c2", "s1", at(40*time.Second))
	wantErr(t, "RedeemDeviceCode by another client", err, restauth.ErrNotFound)
	errs := concurrently(4, func(int) error {
		_, err := s.RedeemDeviceCode(ctx, d.Hash, "c1", "s1", at(40*time.Second))
		return err
	})
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, restauth.ErrNotFound) {
			t.Errorf("concurrent RedeemDeviceCode: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("concurrent redemptions succeeded %d times, want 1", ok)
	}
	got, _ = s.PollDeviceCode(ctx, d.Hash, "c1", at(50*time.Second))
	if got.Status != restauth.DeviceUsed || got.UserID != alice.ID || got.SessionID != "s1" || !got.AuthTime.Equal(at(-time.Hour)) {
		t.Errorf("redeemed device code = %+v, want used by s1 for user %d", got, alice.ID)
	}

	// An expired device code is kept for DeviceCodeKeep, so that a late
	// poll finds it (and is told it expired); storing another deletes it
	// only after that.
	late := &restauth.DeviceCode{Hash: hash("dev-late"), UserCode: "LLLLMMMM", ClientID: "c1", Scopes: []string{"openid"},
		CreatedAt: at(0), ExpiresAt: at(restauth.DeviceCodeTTL), Interval: restauth.DeviceInterval, Status: restauth.DevicePending}
	if err := s.AddDeviceCode(ctx, late, at(0)); err != nil {
		t.Fatalf("AddDeviceCode: %v", err)
	}
	within := at(restauth.DeviceCodeTTL + restauth.DeviceCodeKeep - time.Second)
	next := &restauth.DeviceCode{Hash: hash("dev-next"), UserCode: "NNNNPPPP", ClientID: "c1", Scopes: []string{"openid"},
		CreatedAt: within, ExpiresAt: within.Add(restauth.DeviceCodeTTL), Interval: restauth.DeviceInterval, Status: restauth.DevicePending}
	if err := s.AddDeviceCode(ctx, next, within); err != nil {
		t.Fatalf("AddDeviceCode: %v", err)
	}
	if got, err := s.PollDeviceCode(ctx, late.Hash, "c1", within); err != nil || !got.ExpiresAt.Equal(late.ExpiresAt) {
		t.Errorf("PollDeviceCode of a code expired within the keep = %+v, %v; want it found", got, err)
	}
	after := at(restauth.DeviceCodeTTL + restauth.DeviceCodeKeep + time.Second)
	last := &restauth.DeviceCode{Hash: hash("dev-last"), UserCode: "QQQQRRRR", ClientID: "c1", Scopes: []string{"openid"},
		CreatedAt: after, ExpiresAt: after.Add(restauth.DeviceCodeTTL), Interval: restauth.DeviceInterval, Status: restauth.DevicePending}
	if err := s.AddDeviceCode(ctx, last, after); err != nil {
		t.Fatalf("AddDeviceCode: %v", err)
	}
	_, err = s.PollDeviceCode(ctx, late.Hash, "c1", after)
	wantErr(t, "PollDeviceCode of a code expired longer than the keep", err, restauth.ErrNotFound)
}

// testIDTokenKeys checks that the RSA keys of ID tokens round-trip and
// retire as the access-token keys do.
func testIDTokenKeys(t *testing.T, s Store) {
	ctx := t.Context()
	k1 := &restauth.SigningKey{ID: "k1", Algorithm: "RS256", PrivateKey: []byte("der1"), CreatedAt: at(0), ActivatesAt: at(0)}
	k2 := &restauth.SigningKey{ID: "k2", Algorithm: "RS256", PrivateKey: []byte("der2"), CreatedAt: at(time.Minute), ActivatesAt: at(6 * time.Minute)}
	for _, k := range []*restauth.SigningKey{k1, k2} {
		if err := s.AddIDTokenKey(ctx, k); err != nil {
			t.Fatalf("AddIDTokenKey(%s): %v", k.ID, err)
		}
	}
	if err := s.RetireIDTokenKeys(ctx, "k2", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.IDTokenKeys(ctx, at(time.Minute))
	if err != nil || len(got) != 2 || got[0].ID != "k1" || !got[0].ExpiresAt.Equal(at(time.Hour)) || !bytes.Equal(got[0].PrivateKey, k1.PrivateKey) ||
		got[1].ID != "k2" || !got[1].ExpiresAt.IsZero() || !got[1].ActivatesAt.Equal(k2.ActivatesAt) {
		t.Fatalf("IDTokenKeys = %v, %v; want k1 retired at %v, then k2", got, err, at(time.Hour))
	}
	got, _ = s.IDTokenKeys(ctx, at(time.Hour))
	if len(got) != 1 || got[0].ID != "k2" {
		t.Errorf("IDTokenKeys after k1 expired = %v, want only k2", got)
	}
}

// testIDTokenFirstKey checks that instances starting together on an empty
// database store one first ID-token key between them, and that none is
// stored beside a live key.
func testIDTokenFirstKey(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 4
	added := make([]bool, n)
	errs := concurrently(n, func(i int) error {
		k := &restauth.SigningKey{ID: fmt.Sprintf("first%d", i), Algorithm: "RS256", PrivateKey: []byte("der"), CreatedAt: at(0), ActivatesAt: at(0)}
		var err error
		added[i], err = s.AddFirstIDTokenKey(ctx, k, at(0))
		return err
	})
	stored := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddFirstIDTokenKey %d: %v", i, err)
		}
		if added[i] {
			stored++
		}
	}
	keys, err := s.IDTokenKeys(ctx, at(0))
	if err != nil || stored != 1 || len(keys) != 1 {
		t.Fatalf("concurrent AddFirstIDTokenKey stored %d (store holds %d keys, %v), want 1", stored, len(keys), err)
	}
	// Once the only key has expired, a first key is stored again.
	if err := s.RetireIDTokenKeys(ctx, "none", at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	k := &restauth.SigningKey{ID: "again", Algorithm: "RS256", PrivateKey: []byte("der"), CreatedAt: at(2 * time.Hour), ActivatesAt: at(2 * time.Hour)}
	if ok, err := s.AddFirstIDTokenKey(ctx, k, at(2*time.Hour)); err != nil || !ok {
		t.Errorf("AddFirstIDTokenKey after every key expired = %v, %v; want stored", ok, err)
	}
}
