package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// badText are strings no store can hold: PostgreSQL refuses them in a text
// column, and the stores must answer alike.
var badText = []struct{ name, v string }{
	{"0xff", "\xff"},
	{"NUL", "\x00"},
	{"inner NUL", "a\x00b"},
	{"invalid sequence", "\xc3\x28"},
}

// badIDs are ids no row has: negative, zero and the ends of int64's range.
var badIDs = []int64{-1, 0, math.MinInt64, math.MaxInt64}

// longText returns a 10 KB string of random letters, which PostgreSQL
// cannot compress below the size limit of an index entry.
func longText() string {
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 10<<10)
	for i := range b {
		b[i] = letters[r.IntN(len(letters))]
	}
	return string(b)
}

// oneOf fails unless err is one of wants (nil meaning success), and reports
// whether err is nil.
func oneOf(t *testing.T, what string, err error, wants ...error) bool {
	t.Helper()
	for _, w := range wants {
		if (w == nil && err == nil) || (w != nil && errors.Is(err, w)) {
			return err == nil
		}
	}
	t.Errorf("%s: got %v, want one of %v", what, err, wants)
	return err == nil
}

// stored logs whether a write of a long value was stored or refused, which
// the suite leaves to each store, and returns ok.
func stored(t *testing.T, what string, ok bool) bool {
	t.Helper()
	if ok {
		t.Logf("%s: stored", what)
	} else {
		t.Logf("%s: refused", what)
	}
	return ok
}

// testBadData feeds every store method that takes a string or an id the
// values a hostile client can put in a request. The answers the suite pins
// down:
//   - A lookup by a string no store can hold (UserByUsername, Session,
//     RevokeSession) is restauth.ErrNotFound, the answer an unknown value
//     gets: such a value cannot name a row.
//   - A write of such a string is restauth.ErrInvalidData, and stores
//     nothing; so is a conditional write whose condition holds one
//     (SetPasswordHash may also say ErrNotFound).
//   - A lookup or conditional write whose missing row is not an error (Get,
//     Reset, Decr) may answer as for a missing row or ErrInvalidData;
//     RevokeUserSessions and RetireSigningKeys must refuse, and change
//     nothing.
//   - An id no row has is restauth.ErrNotFound, or an empty list.
//   - A 10 KB string is valid data that a store may refuse as too large: a
//     write either succeeds and the value round-trips, or is
//     restauth.ErrInvalidData and stores nothing; a lookup finds nothing.
//
// Never another error: an error that is not a domain error is a 500.
func testBadData(t *testing.T, s Store) {
	ctx := t.Context()
	keeper := mustCreateUser(t, s, "keeper")
	sess := newSession("keeper-1", keeper.ID, at(0))
	mustCreateSession(t, s, sess)
	key := &restauth.SigningKey{
		ID: "kid-1", Algorithm: "EdDSA", PrivateKey: []byte("private"), PublicKey: []byte("public"),
		CreatedAt: at(0), ActivatesAt: at(0),
	}
	if err := s.AddSigningKey(ctx, key); err != nil {
		t.Fatalf("AddSigningKey: %v", err)
	}
	if _, err := s.Incr(ctx, "keeper-counter", at(0), time.Hour); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	gen := func() ([]byte, error) { return []byte("secret"), nil }
	notFound, invalid := restauth.ErrNotFound, restauth.ErrInvalidData

	for i, bad := range badText {
		v := bad.v
		call := func(method string) string { return fmt.Sprintf("%s(%s)", method, bad.name) }
		_, err := s.UserByUsername(ctx, v)
		oneOf(t, call("UserByUsername"), err, notFound)
		_, err = s.Session(ctx, v)
		oneOf(t, call("Session"), err, notFound)
		oneOf(t, call("RevokeSession"), s.RevokeSession(ctx, keeper.ID, v, at(time.Minute)), notFound)

		oneOf(t, call("CreateUser username"), s.CreateUser(ctx, &restauth.User{Username: v, PasswordHash: "h"}), invalid)
		oneOf(t, call("CreateUser password hash"),
			s.CreateUser(ctx, &restauth.User{Username: fmt.Sprint("hashless-", i), PasswordHash: v}), invalid)
		oneOf(t, call("SetPasswordHash new hash"), s.SetPasswordHash(ctx, keeper.ID, keeper.PasswordHash, v), invalid)
		oneOf(t, call("SetPasswordHash old hash"), s.SetPasswordHash(ctx, keeper.ID, v, "h2"), notFound, invalid)

		for field, mod := range map[string]func(*restauth.Session){
			"id":         func(x *restauth.Session) { x.ID = v },
			"client ip":  func(x *restauth.Session) { x.ClientIP = v },
			"user agent": func(x *restauth.Session) { x.UserAgent = v },
		} {
			x := newSession(fmt.Sprint("hostile-", i), keeper.ID, at(0))
			mod(x)
			rec := &restauth.RefreshRecord{Hash: hash(x.ID + field), CreatedAt: at(0)}
			oneOf(t, call("CreateSession "+field), s.CreateSession(ctx, x, rec), invalid)
		}
		_, err = s.RotateRefresh(ctx, restauth.Rotation{OldHash: []byte(v), NewHash: hash("unused"), Now: at(time.Minute)})
		oneOf(t, call("RotateRefresh"), err, notFound)
		_, err = s.RevokeUserSessions(ctx, keeper.ID, v, at(time.Minute))
		oneOf(t, call("RevokeUserSessions"), err, notFound, invalid)

		_, err = s.Incr(ctx, v, at(0), time.Hour)
		oneOf(t, call("Incr"), err, invalid)
		c, err := s.Get(ctx, v, at(0), time.Hour)
		if oneOf(t, call("Get"), err, nil, invalid) && c != (restauth.Counter{}) {
			t.Errorf("%s = %+v, want a zero Counter", call("Get"), c)
		}
		oneOf(t, call("Reset"), s.Reset(ctx, v), nil, invalid)
		oneOf(t, call("Decr"), s.Decr(ctx, v), nil, invalid)

		for field, mod := range map[string]func(*restauth.SigningKey){
			"id":        func(k *restauth.SigningKey) { k.ID = v },
			"algorithm": func(k *restauth.SigningKey) { k.ID, k.Algorithm = fmt.Sprint("kid-hostile-", i), v },
		} {
			k := *key
			mod(&k)
			oneOf(t, call("AddSigningKey "+field), s.AddSigningKey(ctx, &k), invalid)
		}
		oneOf(t, call("RetireSigningKeys"), s.RetireSigningKeys(ctx, v, at(time.Hour)), notFound, invalid)
		_, err = s.Secret(ctx, v, gen)
		oneOf(t, call("Secret"), err, invalid)
	}

	for _, id := range badIDs {
		call := func(method string) string { return fmt.Sprintf("%s(%d)", method, id) }
		_, err := s.UserByID(ctx, id)
		oneOf(t, call("UserByID"), err, notFound)
		oneOf(t, call("SetPasswordHash"), s.SetPasswordHash(ctx, id, keeper.PasswordHash, "h2"), notFound)
		_, err = s.DeleteUser(ctx, id, at(time.Minute))
		oneOf(t, call("DeleteUser"), err, notFound)
		oneOf(t, call("CreateSession"), s.CreateSession(ctx, newSession(fmt.Sprint("orphan", id), id, at(0)), nil), notFound)
		orphan := newSession(fmt.Sprint("orphan-refresh", id), id, at(0))
		oneOf(t, call("CreateSession with a refresh token"), s.CreateSession(ctx, orphan,
			&restauth.RefreshRecord{Hash: []byte(orphan.ID), SessionID: orphan.ID, CreatedAt: at(0)}), notFound)
		if _, err := s.Session(ctx, orphan.ID); !errors.Is(err, restauth.ErrNotFound) {
			t.Errorf("Session(%q) after a refused CreateSession = %v, want not found: nothing stored", orphan.ID, err)
		}
		oneOf(t, call("RevokeSession"), s.RevokeSession(ctx, id, sess.ID, at(time.Minute)), notFound)
		list, err := s.ListSessions(ctx, id, at(0))
		if oneOf(t, call("ListSessions"), err, nil, notFound) && len(list) != 0 {
			t.Errorf("%s = %d sessions, want none", call("ListSessions"), len(list))
		}
		ids, err := s.RevokeUserSessions(ctx, id, "", at(time.Minute))
		if oneOf(t, call("RevokeUserSessions"), err, nil, notFound) && len(ids) != 0 {
			t.Errorf("%s revoked %q, want nothing", call("RevokeUserSessions"), ids)
		}
	}

	// A long value: lookups find nothing, writes round-trip or are refused.
	long := longText()
	_, err := s.UserByUsername(ctx, long)
	oneOf(t, "UserByUsername(10 KB)", err, notFound)
	_, err = s.Session(ctx, long)
	oneOf(t, "Session(10 KB)", err, notFound)
	oneOf(t, "RevokeSession(10 KB)", s.RevokeSession(ctx, keeper.ID, long, at(time.Minute)), notFound)
	c, err := s.Get(ctx, long, at(0), time.Hour)
	if oneOf(t, "Get(10 KB)", err, nil, invalid) && c != (restauth.Counter{}) {
		t.Errorf("Get(10 KB) = %+v, want a zero Counter", c)
	}
	oneOf(t, "Reset(10 KB)", s.Reset(ctx, long), nil, invalid)
	oneOf(t, "Decr(10 KB)", s.Decr(ctx, long), nil, invalid)

	wantUsers := []*restauth.User{keeper}
	longUser := &restauth.User{Username: long, PasswordHash: "h"}
	if stored(t, "CreateUser(10 KB)", oneOf(t, "CreateUser(10 KB)", s.CreateUser(ctx, longUser), nil, invalid)) {
		got, err := s.UserByUsername(ctx, long)
		if err != nil || !equalUser(got, longUser) {
			t.Errorf("UserByUsername(10 KB) after CreateUser = %s, %v; want the user stored", fmtUser(got), err)
		}
		wantUsers = append(wantUsers, longUser)
	}
	wantSessions := []*restauth.Session{sess}
	longSess := newSession(long, keeper.ID, at(time.Second))
	if stored(t, "CreateSession(10 KB)", oneOf(t, "CreateSession(10 KB)", s.CreateSession(ctx, longSess, nil), nil, invalid)) {
		if got, err := s.Session(ctx, long); err != nil || !equalSession(got, longSess) {
			t.Errorf("Session(10 KB) after CreateSession = %s, %v; want the session stored", fmtSession(got), err)
		}
		wantSessions = append(wantSessions, longSess)
	}
	wantCounters := int64(1)
	if _, err := s.Incr(ctx, long, at(0), time.Hour); stored(t, "Incr(10 KB)", oneOf(t, "Incr(10 KB)", err, nil, invalid)) {
		c, err := s.Get(ctx, long, at(0), time.Hour)
		if err != nil || c.Count != 1 {
			t.Errorf("Get(10 KB) after Incr = %+v, %v; want Count 1", c, err)
		}
		wantCounters++
	}
	wantKeys := []*restauth.SigningKey{key}
	longKey := *key
	longKey.ID = long
	if stored(t, "AddSigningKey(10 KB)", oneOf(t, "AddSigningKey(10 KB)", s.AddSigningKey(ctx, &longKey), nil, invalid)) {
		wantKeys = append(wantKeys, &longKey)
	}
	if v, err := s.Secret(ctx, long, gen); stored(t, "Secret(10 KB)", oneOf(t, "Secret(10 KB)", err, nil, invalid)) && string(v) != "secret" {
		t.Errorf("Secret(10 KB) = %q, want %q", v, "secret")
	}

	// Nothing hostile was stored, and nothing that was stored changed.
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if !slices.EqualFunc(users, wantUsers, equalUser) {
		t.Errorf("ListUsers after the hostile calls: got %d users, want %d (%s first, unchanged)", len(users), len(wantUsers), fmtUser(keeper))
		for i, u := range users {
			t.Logf("got[%d] = %s", i, fmtUser(u))
		}
	}
	sessions, err := s.ListSessions(ctx, keeper.ID, at(0))
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if !slices.EqualFunc(sessions, wantSessions, equalSession) {
		t.Errorf("ListSessions after the hostile calls: got %d sessions, want %d", len(sessions), len(wantSessions))
		for i, x := range sessions {
			t.Logf("got[%d] = %s", i, fmtSession(x))
		}
	}
	if revs, err := s.RevokedSince(ctx, time.Time{}); err != nil || len(revs) != 0 {
		t.Errorf("RevokedSince after the hostile calls = %v, %v; want nothing revoked", revs, err)
	}
	keys, err := s.SigningKeys(ctx, at(0))
	if err != nil {
		t.Fatalf("SigningKeys: %v", err)
	}
	byID := func(a, b *restauth.SigningKey) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(keys, byID)
	slices.SortFunc(wantKeys, byID)
	if !slices.EqualFunc(keys, wantKeys, equalKey) {
		t.Errorf("SigningKeys after the hostile calls: got %d keys, want %d, none retired", len(keys), len(wantKeys))
	}
	// Sweeping every counter counts them: only the ones stored on purpose.
	n, err := s.Sweep(ctx, time.Time{}, at(1000*time.Hour))
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if n != wantCounters {
		t.Errorf("Sweep of every counter deleted %d rows, want %d", n, wantCounters)
	}
}
