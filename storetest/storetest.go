package storetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/token"
)

// Store is everything a restauth store implements.
type Store interface {
	restauth.UserStore
	restauth.SessionStore
	restauth.CounterStore
	restauth.KeyStore
	restauth.Sweeper
	restauth.BrowserStore
	restauth.APIKeyStore
	restauth.MFAStore
	restauth.PasskeyStore
	restauth.OAuthStore
	token.IDKeyStore
}

// Run runs the conformance suite. open must return a fresh, empty, migrated
// store on every call; it is called once per subtest and may register
// cleanups on the t it is given.
func Run(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Users", testUsers},
		{"UsernameCaseInsensitive", testUsernameCaseInsensitive},
		{"ConcurrentRegistration", testConcurrentRegistration},
		{"SetPasswordHash", testSetPasswordHash},
		{"DeleteUser", testDeleteUser},
		{"Sessions", testSessions},
		{"ListSessions", testListSessions},
		{"RotateRefresh", testRotateRefresh},
		{"ConcurrentRotateRefresh", testConcurrentRotateRefresh},
		{"RevokeSession", testRevokeSession},
		{"RevokeUserSessions", testRevokeUserSessions},
		{"RevokedSince", testRevokedSince},
		{"Counters", testCounters},
		{"ConcurrentIncr", testConcurrentIncr},
		{"SigningKeys", testSigningKeys},
		{"Secret", testSecret},
		{"ConcurrentSecret", testConcurrentSecret},
		{"Sweep", testSweep},
		{"BadData", testBadData},
		{"BrowserSessions", testBrowserSessions},
		{"ReuseSession", testReuseSession},
		{"UserRevocations", testUserRevocations},
		{"ImportUsers", testImportUsers},
		{"APIKeys", testAPIKeys},
		{"MFA", testMFA},
		{"Passkeys", testPasskeys}, {"PasskeyChallenges", testPasskeyChallenges},
		{"OAuthClients", testOAuthClients}, {"AuthorizationRequests", testAuthorizationRequests},
		{"OAuthCodes", testOAuthCodes}, {"OAuthConsents", testOAuthConsents}, {"DeviceCodes", testDeviceCodes},
		{"IDTokenKeys", testIDTokenKeys}, {"IDTokenFirstKey", testIDTokenFirstKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

// t0 is the suite's fixed clock origin: whole seconds, so that every store
// round-trips it exactly.
var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// hash returns a distinct fake token hash for name.
func hash(name string) []byte { return []byte("hash:" + name) }

// concurrently runs fn(i) for i in [0, n) on n goroutines released together,
// and returns their errors by index.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func mustCreateUser(t *testing.T, s Store, name string) *restauth.User {
	t.Helper()
	u := &restauth.User{Username: name, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", name, err)
	}
	return u
}

// newSession returns a session of userID created at created and expiring an
// hour later.
func newSession(id string, userID int64, created time.Time) *restauth.Session {
	return &restauth.Session{
		ID:         id,
		UserID:     userID,
		CreatedAt:  created,
		LastUsedAt: created,
		ExpiresAt:  created.Add(time.Hour),
		ClientIP:   "192.0.2.1",
		UserAgent:  "storetest/1.0",
	}
}

func mustCreateSession(t *testing.T, s Store, sess *restauth.Session) {
	t.Helper()
	rec := &restauth.RefreshRecord{Hash: hash(sess.ID), SessionID: sess.ID, CreatedAt: sess.CreatedAt}
	if err := s.CreateSession(t.Context(), sess, rec); err != nil {
		t.Fatalf("CreateSession(%q): %v", sess.ID, err)
	}
}

func mustSession(t *testing.T, s Store, id string) *restauth.Session {
	t.Helper()
	sess, err := s.Session(t.Context(), id)
	if err != nil {
		t.Fatalf("Session(%q): %v", id, err)
	}
	return sess
}

// wantErr fails unless err matches want (nil meaning success).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: got error %v, want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func equalUser(a, b *restauth.User) bool {
	return a.ID == b.ID && a.Username == b.Username && a.PasswordHash == b.PasswordHash && a.CreatedAt.Equal(b.CreatedAt)
}

func equalSession(a, b *restauth.Session) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.CreatedAt.Equal(b.CreatedAt) &&
		a.LastUsedAt.Equal(b.LastUsedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.ClientIP == b.ClientIP && a.UserAgent == b.UserAgent && a.RevokedAt.Equal(b.RevokedAt) &&
		a.Reusable == b.Reusable
}

func equalKey(a, b *restauth.SigningKey) bool {
	return a.ID == b.ID && a.Algorithm == b.Algorithm && bytes.Equal(a.PrivateKey, b.PrivateKey) &&
		bytes.Equal(a.PublicKey, b.PublicKey) && a.CreatedAt.Equal(b.CreatedAt) &&
		a.ActivatesAt.Equal(b.ActivatesAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// fmtUser and fmtSession print without the password hash's value, which
// tests compare but never need to show.
func fmtUser(u *restauth.User) string {
	if u == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{ID:%d Username:%q PasswordHash:%d bytes CreatedAt:%s}", u.ID, u.Username, len(u.PasswordHash), u.CreatedAt.Format(time.RFC3339Nano))
}

func fmtSession(s *restauth.Session) string {
	if s == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%+v", *s)
}

func testUsers(t *testing.T, s Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	alice := mustCreateUser(t, s, "Alice")
	bob := mustCreateUser(t, s, "bob")
	after := time.Now().Add(time.Second)
	if alice.ID <= 0 || bob.ID <= 0 || alice.ID == bob.ID {
		t.Fatalf("CreateUser set IDs %d and %d, want distinct positive IDs", alice.ID, bob.ID)
	}
	if alice.CreatedAt.Before(before) || alice.CreatedAt.After(after) {
		t.Errorf("CreateUser set CreatedAt %v, want between %v and %v", alice.CreatedAt, before, after)
	}

	given := &restauth.User{Username: "carol", PasswordHash: "h", CreatedAt: at(time.Minute)}
	if err := s.CreateUser(ctx, given); err != nil {
		t.Fatalf("CreateUser(carol): %v", err)
	}
	if !given.CreatedAt.Equal(at(time.Minute)) {
		t.Errorf("CreateUser changed a given CreatedAt: got %v, want %v", given.CreatedAt, at(time.Minute))
	}

	lookups := []struct {
		name string
		get  func() (*restauth.User, error)
		want *restauth.User
		err  error
	}{
		{"UserByID(alice)", func() (*restauth.User, error) { return s.UserByID(ctx, alice.ID) }, alice, nil},
		{"UserByID(bob)", func() (*restauth.User, error) { return s.UserByID(ctx, bob.ID) }, bob, nil},
		{"UserByUsername(Alice)", func() (*restauth.User, error) { return s.UserByUsername(ctx, "Alice") }, alice, nil},
		{"UserByUsername(ALICE)", func() (*restauth.User, error) { return s.UserByUsername(ctx, "ALICE") }, alice, nil},
		{"UserByUsername(Bob)", func() (*restauth.User, error) { return s.UserByUsername(ctx, "Bob") }, bob, nil},
		{"UserByUsername(carol)", func() (*restauth.User, error) { return s.UserByUsername(ctx, "carol") }, given, nil},
		{"UserByID(missing)", func() (*restauth.User, error) { return s.UserByID(ctx, alice.ID+bob.ID+given.ID+1000) }, nil, restauth.ErrNotFound},
		{"UserByUsername(missing)", func() (*restauth.User, error) { return s.UserByUsername(ctx, "nobody") }, nil, restauth.ErrNotFound},
	}
	for _, tt := range lookups {
		got, err := tt.get()
		wantErr(t, tt.name, err, tt.err)
		if tt.want != nil && (got == nil || !equalUser(got, tt.want)) {
			t.Errorf("%s = %s, want %s", tt.name, fmtUser(got), fmtUser(tt.want))
		}
	}

	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	want := []*restauth.User{alice, bob, given}
	if !slices.EqualFunc(users, want, equalUser) {
		t.Errorf("ListUsers: got %d users, want %d in ID order", len(users), len(want))
		for i, u := range users {
			t.Logf("got[%d] = %s", i, fmtUser(u))
		}
		for i, u := range want {
			t.Logf("want[%d] = %s", i, fmtUser(u))
		}
	}
}

func testUsernameCaseInsensitive(t *testing.T, s Store) {
	ctx := t.Context()
	mustCreateUser(t, s, "Alice")
	mustCreateUser(t, s, "Émile")
	tests := []struct {
		name string
		err  error
	}{
		{"alice", restauth.ErrUsernameTaken},
		{"ALICE", restauth.ErrUsernameTaken},
		{"Alice", restauth.ErrUsernameTaken},
		{"aLiCe", restauth.ErrUsernameTaken},
		{"émile", restauth.ErrUsernameTaken},
		{"ÉMILE", restauth.ErrUsernameTaken},
		{"alice2", nil},
		{"emile", nil},
	}
	for _, tt := range tests {
		err := s.CreateUser(ctx, &restauth.User{Username: tt.name, PasswordHash: "h"})
		wantErr(t, fmt.Sprintf("CreateUser(%q)", tt.name), err, tt.err)
	}
	for _, lookup := range []string{"alice", "ALICE", "Alice"} {
		u, err := s.UserByUsername(ctx, lookup)
		if err != nil {
			t.Errorf("UserByUsername(%q): %v", lookup, err)
			continue
		}
		if u.Username != "Alice" {
			t.Errorf("UserByUsername(%q).Username = %q, want the stored spelling %q", lookup, u.Username, "Alice")
		}
	}
}

func testConcurrentRegistration(t *testing.T, s Store) {
	const n = 50
	spellings := []string{"Mallory", "mallory", "MALLORY", "mAlLoRy"}
	errs := concurrently(n, func(i int) error {
		return s.CreateUser(t.Context(), &restauth.User{Username: spellings[i%len(spellings)], PasswordHash: "h"})
	})
	var ok, taken int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, restauth.ErrUsernameTaken):
			taken++
		default:
			t.Errorf("registration %d: got error %v, want success or ErrUsernameTaken", i, err)
		}
	}
	if ok != 1 || taken != n-1 {
		t.Errorf("%d concurrent registrations: got %d successes and %d ErrUsernameTaken, want 1 and %d", n, ok, taken, n-1)
	}
	users, err := s.ListUsers(t.Context())
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(users) != 1 {
		t.Errorf("ListUsers after concurrent registration: got %d users, want 1", len(users))
	}
}

func testSetPasswordHash(t *testing.T, s Store) {
	ctx := t.Context()
	u := &restauth.User{Username: "dave", PasswordHash: "h1"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	steps := []struct {
		name     string
		id       int64
		old, new string
		err      error
		wantHash string // The stored hash afterwards.
	}{
		{"current old hash", u.ID, "h1", "h2", nil, "h2"},
		{"stale old hash", u.ID, "h1", "h3", restauth.ErrNotFound, "h2"},
		{"wrong old hash", u.ID, "nope", "h4", restauth.ErrNotFound, "h2"},
		{"missing user", u.ID + 1000, "h2", "h5", restauth.ErrNotFound, "h2"},
		{"chained change", u.ID, "h2", "h6", nil, "h6"},
	}
	for _, tt := range steps {
		err := s.SetPasswordHash(ctx, tt.id, tt.old, tt.new)
		wantErr(t, "SetPasswordHash, "+tt.name, err, tt.err)
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if got.PasswordHash != tt.wantHash {
			// The values are test fixtures, not real hashes, so they may be shown.
			t.Errorf("after SetPasswordHash, %s: stored hash %q, want %q", tt.name, got.PasswordHash, tt.wantHash)
		}
	}
}

func testDeleteUser(t *testing.T, s Store) {
	ctx := t.Context()
	erin := mustCreateUser(t, s, "Erin")
	frank := mustCreateUser(t, s, "frank")
	mustCreateSession(t, s, newSession("erin-1", erin.ID, at(0)))
	mustCreateSession(t, s, newSession("erin-2", erin.ID, at(time.Second)))
	mustCreateSession(t, s, newSession("erin-old", erin.ID, at(0)))
	mustCreateSession(t, s, newSession("frank-1", frank.ID, at(0)))
	if err := s.RevokeSession(ctx, erin.ID, "erin-old", at(time.Minute)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}

	now := at(10 * time.Minute)
	ids, err := s.DeleteUser(ctx, erin.ID, now)
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	slices.Sort(ids)
	if want := []string{"erin-1", "erin-2"}; !slices.Equal(ids, want) {
		t.Errorf("DeleteUser revoked %q, want %q", ids, want)
	}
	if _, err := s.UserByID(ctx, erin.ID); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("UserByID after DeleteUser: got error %v, want ErrNotFound", err)
	}
	if _, err := s.UserByUsername(ctx, "erin"); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("UserByUsername after DeleteUser: got error %v, want ErrNotFound", err)
	}
	for _, tt := range []struct {
		id          string
		wantRevoked time.Time
	}{
		{"erin-1", now},
		{"erin-2", now},
		{"erin-old", at(time.Minute)},
		{"frank-1", time.Time{}},
	} {
		got := mustSession(t, s, tt.id)
		if !got.RevokedAt.Equal(tt.wantRevoked) {
			t.Errorf("Session(%q).RevokedAt = %v, want %v", tt.id, got.RevokedAt, tt.wantRevoked)
		}
	}
	revs, err := s.RevokedSince(ctx, now)
	if err != nil {
		t.Fatalf("RevokedSince: %v", err)
	}
	slices.SortFunc(revs, func(a, b restauth.Revocation) int { return cmp.Compare(a.SessionID, b.SessionID) })
	want := []restauth.Revocation{{SessionID: "erin-1", RevokedAt: now}, {SessionID: "erin-2", RevokedAt: now}}
	if !slices.EqualFunc(revs, want, equalRevocation) {
		t.Errorf("RevokedSince(now) after DeleteUser = %+v, want %+v", revs, want)
	}

	if _, err := s.DeleteUser(ctx, erin.ID, now); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("second DeleteUser: got error %v, want ErrNotFound", err)
	}
	// The name is free again, and the new account does not inherit anything.
	again := mustCreateUser(t, s, "erin")
	if again.ID == erin.ID {
		t.Errorf("re-registered user got the deleted user's ID %d", erin.ID)
	}
	list, err := s.ListSessions(ctx, again.ID, at(0))
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	if len(list) != 0 {
		t.Errorf("ListSessions of the re-registered user: got %d sessions, want 0", len(list))
	}
}

func testSessions(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "grace")
	sess := newSession("sess-1", u.ID, at(0))
	sess.LastUsedAt = at(time.Second)
	sess.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) ünïcødé"
	sess.ClientIP = "2001:db8::1"
	mustCreateSession(t, s, sess)
	if got := mustSession(t, s, "sess-1"); !equalSession(got, sess) {
		t.Errorf("Session round trip:\ngot  %s\nwant %s", fmtSession(got), fmtSession(sess))
	}

	// The REST-auth flow creates sessions without a refresh token.
	bare := newSession("sess-bare", u.ID, at(0))
	if err := s.CreateSession(ctx, bare, nil); err != nil {
		t.Fatalf("CreateSession without refresh token: %v", err)
	}
	if got := mustSession(t, s, "sess-bare"); !equalSession(got, bare) {
		t.Errorf("Session round trip:\ngot  %s\nwant %s", fmtSession(got), fmtSession(bare))
	}

	errTests := []struct {
		name string
		sess *restauth.Session
		rec  *restauth.RefreshRecord
		want error // nil means any error.
	}{
		{"duplicate id", newSession("sess-1", u.ID, at(0)), nil, nil},
		{"duplicate refresh hash", newSession("sess-dup-hash", u.ID, at(0)), &restauth.RefreshRecord{Hash: hash("sess-1"), SessionID: "sess-dup-hash", CreatedAt: at(0)}, nil},
		{"missing user", newSession("sess-orphan", u.ID+1000, at(0)), nil, restauth.ErrNotFound},
	}
	for _, tt := range errTests {
		err := s.CreateSession(ctx, tt.sess, tt.rec)
		switch {
		case err == nil:
			t.Errorf("CreateSession, %s: got success, want an error", tt.name)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("CreateSession, %s: got error %v, want %v", tt.name, err, tt.want)
		}
	}
	// A failed CreateSession leaves nothing behind.
	for _, id := range []string{"sess-dup-hash", "sess-orphan"} {
		if _, err := s.Session(ctx, id); !errors.Is(err, restauth.ErrNotFound) {
			t.Errorf("Session(%q) after a failed CreateSession: got error %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.Session(ctx, "no-such-session"); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("Session(missing): got error %v, want ErrNotFound", err)
	}
}

func testListSessions(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "heidi")
	other := mustCreateUser(t, s, "ivan")
	live1 := newSession("live-1", u.ID, at(0))
	live2 := newSession("live-2", u.ID, at(time.Minute))
	expired := newSession("expired", u.ID, at(-2*time.Hour)) // Expires at -1h.
	revoked := newSession("revoked", u.ID, at(0))
	foreign := newSession("foreign", other.ID, at(0))
	for _, sess := range []*restauth.Session{live1, live2, expired, revoked, foreign} {
		mustCreateSession(t, s, sess)
	}
	if err := s.RevokeSession(ctx, u.ID, "revoked", at(time.Minute)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	tests := []struct {
		name string
		user int64
		now  time.Time
		want []string
	}{
		{"live sessions only", u.ID, at(2 * time.Minute), []string{"live-1", "live-2"}},
		{"before the expired one ended", u.ID, at(-90 * time.Minute), []string{"expired", "live-1", "live-2"}},
		{"at live-1's expiry", u.ID, at(time.Hour), []string{"live-2"}},
		{"after every expiry", u.ID, at(2 * time.Hour), nil},
		{"other user", other.ID, at(0), []string{"foreign"}},
		{"no sessions", other.ID + u.ID + 1000, at(0), nil},
	}
	for _, tt := range tests {
		list, err := s.ListSessions(ctx, tt.user, tt.now)
		if err != nil {
			t.Fatalf("ListSessions, %s: %v", tt.name, err)
		}
		var got []string
		for _, sess := range list {
			got = append(got, sess.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListSessions, %s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	list, err := s.ListSessions(ctx, u.ID, at(0))
	if err != nil {
		t.Fatalf("ListSessions: %v", err)
	}
	for _, got := range list {
		if got.ID == "live-1" && !equalSession(got, live1) {
			t.Errorf("ListSessions entry:\ngot  %s\nwant %s", fmtSession(got), fmtSession(live1))
		}
	}
}

func testRotateRefresh(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "judy")
	sess := newSession("rot", u.ID, at(0))
	mustCreateSession(t, s, sess) // Its first refresh token hashes to hash("rot").
	h0, h1, h2, h3 := hash("rot"), hash("child-1"), hash("child-2"), hash("child-3")

	// A rotation whose session Live refuses writes nothing: it returns the
	// session unconsumed, and the parent is still there to consume.
	var judged *restauth.Session
	refused := restauth.Rotation{OldHash: h0, NewHash: hash("never"), NewSealed: []byte("never"), Now: at(30 * time.Second),
		Live: func(got *restauth.Session) bool { judged = got; return false }}
	res, err := s.RotateRefresh(ctx, refused)
	if err != nil {
		t.Fatalf("RotateRefresh(parent, Live refusing): %v", err)
	}
	if !res.Ended || res.Consumed || !res.UsedAt.IsZero() || res.Session == nil || !equalSession(res.Session, sess) || judged == nil || !equalSession(judged, sess) {
		t.Errorf("RotateRefresh(parent, Live refusing) = Ended %v, Consumed %v, UsedAt %v, session %s (judged %s); want ended, not consumed, zero UsedAt, the session %s",
			res.Ended, res.Consumed, res.UsedAt, fmtSession(res.Session), fmtSession(judged), fmtSession(sess))
	}
	if got := mustSession(t, s, "rot"); !got.LastUsedAt.Equal(sess.LastUsedAt) {
		t.Errorf("LastUsedAt after a refused rotation = %v, want %v (untouched)", got.LastUsedAt, sess.LastUsedAt)
	}
	if res, err := s.RotateRefresh(ctx, restauth.Rotation{OldHash: hash("never"), NewHash: hash("never-2"), Now: at(31 * time.Second)}); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("RotateRefresh(the refused rotation's child) = %+v, %v; want ErrNotFound: it was never stored", res, err)
	}

	// The first rotation consumes the parent.
	r1 := restauth.Rotation{OldHash: h0, NewHash: h1, NewSealed: []byte("sealed-1"), Now: at(time.Minute)}
	res, err = s.RotateRefresh(ctx, r1)
	if err != nil {
		t.Fatalf("RotateRefresh(parent): %v", err)
	}
	if !res.Consumed || res.Ended {
		t.Errorf("RotateRefresh(parent): Consumed %v, Ended %v; want consumed, not ended", res.Consumed, res.Ended)
	}
	if res.Session == nil || !equalSession(res.Session, sess) {
		t.Errorf("RotateRefresh(parent).Session:\ngot  %s\nwant %s (as before the rotation)", fmtSession(res.Session), fmtSession(sess))
	}
	if got := mustSession(t, s, "rot"); !got.LastUsedAt.Equal(r1.Now) {
		t.Errorf("LastUsedAt after rotation = %v, want %v", got.LastUsedAt, r1.Now)
	}

	// Presenting the parent again finds it used, with the child sealed then;
	// the second rotation's child is not stored.
	for _, now := range []time.Time{at(time.Minute + time.Second), at(time.Hour)} {
		r2 := restauth.Rotation{OldHash: h0, NewHash: h2, NewSealed: []byte("sealed-2"), Now: now}
		res, err = s.RotateRefresh(ctx, r2)
		if err != nil {
			t.Fatalf("RotateRefresh(used parent) at %v: %v", now, err)
		}
		if res.Consumed || res.Ended {
			t.Errorf("RotateRefresh(used parent) at %v: Consumed %v, Ended %v; want neither", now, res.Consumed, res.Ended)
		}
		if !res.UsedAt.Equal(r1.Now) {
			t.Errorf("RotateRefresh(used parent) at %v: UsedAt = %v, want %v", now, res.UsedAt, r1.Now)
		}
		if !bytes.Equal(res.ChildSealed, r1.NewSealed) {
			t.Errorf("RotateRefresh(used parent) at %v: ChildSealed = %q, want %q", now, res.ChildSealed, r1.NewSealed)
		}
		if res.Session == nil || res.Session.ID != "rot" || !res.Session.LastUsedAt.Equal(r1.Now) {
			t.Errorf("RotateRefresh(used parent) at %v: Session = %s, want session %q last used at %v", now, fmtSession(res.Session), "rot", r1.Now)
		}
	}
	if _, err := s.RotateRefresh(ctx, restauth.Rotation{OldHash: h2, NewHash: hash("x"), Now: at(time.Hour)}); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("RotateRefresh(child of a refused rotation): got error %v, want ErrNotFound", err)
	}

	// The child is a live token of the same session.
	r3 := restauth.Rotation{OldHash: h1, NewHash: h3, NewSealed: []byte("sealed-3"), Now: at(2 * time.Minute)}
	res, err = s.RotateRefresh(ctx, r3)
	if err != nil {
		t.Fatalf("RotateRefresh(child): %v", err)
	}
	if !res.Consumed || res.Session == nil || res.Session.ID != "rot" {
		t.Errorf("RotateRefresh(child) = {Consumed:%v Session:%s}, want consumed for session %q", res.Consumed, fmtSession(res.Session), "rot")
	}
	if res.Session != nil && !res.Session.LastUsedAt.Equal(r1.Now) {
		t.Errorf("RotateRefresh(child).Session.LastUsedAt = %v, want the previous use %v", res.Session.LastUsedAt, r1.Now)
	}

	// A rotation without a sealed child stores none.
	res, err = s.RotateRefresh(ctx, restauth.Rotation{OldHash: h3, NewHash: hash("child-4"), Now: at(3 * time.Minute)})
	if err != nil || !res.Consumed {
		t.Fatalf("RotateRefresh(grandchild) = %+v, %v; want consumed", res, err)
	}
	res, err = s.RotateRefresh(ctx, restauth.Rotation{OldHash: h3, NewHash: hash("child-5"), Now: at(4 * time.Minute)})
	if err != nil {
		t.Fatalf("RotateRefresh(used grandchild): %v", err)
	}
	if res.Consumed || len(res.ChildSealed) != 0 {
		t.Errorf("RotateRefresh(used grandchild) = {Consumed:%v ChildSealed:%q}, want {false \"\"}", res.Consumed, res.ChildSealed)
	}

	if _, err := s.RotateRefresh(ctx, restauth.Rotation{OldHash: hash("unknown"), NewHash: hash("y"), Now: at(time.Minute)}); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("RotateRefresh(unknown): got error %v, want ErrNotFound", err)
	}

	// Rotation itself ignores revocation: the Service refuses revoked sessions.
	if err := s.RevokeSession(ctx, u.ID, "rot", at(5*time.Minute)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	res, err = s.RotateRefresh(ctx, restauth.Rotation{OldHash: hash("child-4"), NewHash: hash("child-6"), Now: at(6 * time.Minute)})
	if err != nil {
		t.Fatalf("RotateRefresh(revoked session): %v", err)
	}
	if res.Session == nil || !res.Session.RevokedAt.Equal(at(5*time.Minute)) {
		t.Errorf("RotateRefresh(revoked session).Session = %s, want RevokedAt %v", fmtSession(res.Session), at(5*time.Minute))
	}
}

func testConcurrentRotateRefresh(t *testing.T, s Store) {
	const n = 20
	u := mustCreateUser(t, s, "ken")
	mustCreateSession(t, s, newSession("race", u.ID, at(0)))
	results := make([]*restauth.RotationResult, n)
	errs := concurrently(n, func(i int) error {
		var err error
		results[i], err = s.RotateRefresh(t.Context(), restauth.Rotation{
			OldHash:   hash("race"),
			NewHash:   hash(fmt.Sprint("race-child-", i)),
			NewSealed: []byte(fmt.Sprint("sealed-", i)),
			Now:       at(time.Minute),
		})
		return err
	})
	winner := -1
	for i, err := range errs {
		if err != nil {
			t.Fatalf("rotation %d: %v", i, err)
		}
		if results[i].Consumed {
			if winner >= 0 {
				t.Errorf("rotations %d and %d both consumed the parent, want exactly one", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no rotation of %d consumed the parent, want exactly one", n)
	}
	wantSealed := []byte(fmt.Sprint("sealed-", winner))
	for i, res := range results {
		if i != winner && !bytes.Equal(res.ChildSealed, wantSealed) {
			t.Errorf("rotation %d: ChildSealed = %q, want the winner's %q", i, res.ChildSealed, wantSealed)
		}
	}
	// Exactly one child was stored: only the winner's can be rotated.
	var stored []int
	for i := range n {
		_, err := s.RotateRefresh(t.Context(), restauth.Rotation{
			OldHash: hash(fmt.Sprint("race-child-", i)),
			NewHash: hash(fmt.Sprint("race-grandchild-", i)),
			Now:     at(2 * time.Minute),
		})
		switch {
		case err == nil:
			stored = append(stored, i)
		case !errors.Is(err, restauth.ErrNotFound):
			t.Errorf("RotateRefresh(child %d): got error %v, want success or ErrNotFound", i, err)
		}
	}
	if want := []int{winner}; !slices.Equal(stored, want) {
		t.Errorf("stored children: got %v, want %v", stored, want)
	}
}

func testRevokeSession(t *testing.T, s Store) {
	ctx := t.Context()
	owner := mustCreateUser(t, s, "leo")
	other := mustCreateUser(t, s, "mia")
	mustCreateSession(t, s, newSession("leo-1", owner.ID, at(0)))
	mustCreateSession(t, s, newSession("leo-expired", owner.ID, at(-2*time.Hour)))
	steps := []struct {
		name string
		user int64
		id   string
		now  time.Time
		err  error
	}{
		{"by another user", other.ID, "leo-1", at(time.Minute), restauth.ErrNotFound},
		{"unknown session", owner.ID, "nope", at(time.Minute), restauth.ErrNotFound},
		{"by the owner", owner.ID, "leo-1", at(2 * time.Minute), nil},
		{"already revoked", owner.ID, "leo-1", at(3 * time.Minute), restauth.ErrNotFound},
		{"past its expiry", owner.ID, "leo-expired", at(4 * time.Minute), nil},
	}
	for _, tt := range steps {
		err := s.RevokeSession(ctx, tt.user, tt.id, tt.now)
		wantErr(t, "RevokeSession, "+tt.name, err, tt.err)
	}
	for id, want := range map[string]time.Time{"leo-1": at(2 * time.Minute), "leo-expired": at(4 * time.Minute)} {
		if got := mustSession(t, s, id); !got.RevokedAt.Equal(want) {
			t.Errorf("Session(%q).RevokedAt = %v, want %v (the first revocation)", id, got.RevokedAt, want)
		}
	}
}

func testRevokeUserSessions(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "nina")
	other := mustCreateUser(t, s, "oscar")
	for _, id := range []string{"n-1", "n-2", "n-3", "n-4"} {
		mustCreateSession(t, s, newSession(id, u.ID, at(0)))
	}
	mustCreateSession(t, s, newSession("o-1", other.ID, at(0)))
	if err := s.RevokeSession(ctx, u.ID, "n-4", at(time.Second)); err != nil {
		t.Fatalf("RevokeSession: %v", err)
	}
	steps := []struct {
		name    string
		user    int64
		except  string
		now     time.Time
		want    []string // Revoked ids, sorted.
		wantAll []string // Live sessions of u afterwards, sorted.
	}{
		{"all but the current", u.ID, "n-2", at(time.Minute), []string{"n-1", "n-3"}, []string{"n-2"}},
		{"nothing left but the current", u.ID, "n-2", at(2 * time.Minute), nil, []string{"n-2"}},
		{"everything", u.ID, "", at(3 * time.Minute), []string{"n-2"}, nil},
		{"no sessions", u.ID + other.ID + 1000, "", at(4 * time.Minute), nil, nil},
	}
	for _, tt := range steps {
		got, err := s.RevokeUserSessions(ctx, tt.user, tt.except, tt.now)
		if err != nil {
			t.Fatalf("RevokeUserSessions, %s: %v", tt.name, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("RevokeUserSessions, %s: revoked %q, want %q", tt.name, got, tt.want)
		}
		for _, id := range tt.want {
			if sess := mustSession(t, s, id); !sess.RevokedAt.Equal(tt.now) {
				t.Errorf("RevokeUserSessions, %s: Session(%q).RevokedAt = %v, want %v", tt.name, id, sess.RevokedAt, tt.now)
			}
		}
		list, err := s.ListSessions(ctx, u.ID, at(0))
		if err != nil {
			t.Fatalf("ListSessions: %v", err)
		}
		var live []string
		for _, sess := range list {
			live = append(live, sess.ID)
		}
		slices.Sort(live)
		if !slices.Equal(live, tt.wantAll) {
			t.Errorf("after RevokeUserSessions, %s: live sessions %q, want %q", tt.name, live, tt.wantAll)
		}
	}
	if sess := mustSession(t, s, "o-1"); !sess.RevokedAt.IsZero() {
		t.Errorf("another user's session was revoked at %v, want untouched", sess.RevokedAt)
	}
	if sess := mustSession(t, s, "n-4"); !sess.RevokedAt.Equal(at(time.Second)) {
		t.Errorf("Session(n-4).RevokedAt = %v, want the earlier revocation %v", sess.RevokedAt, at(time.Second))
	}
}

func equalRevocation(a, b restauth.Revocation) bool {
	return a.SessionID == b.SessionID && a.RevokedAt.Equal(b.RevokedAt)
}

func testRevokedSince(t *testing.T, s Store) {
	ctx := t.Context()
	u := mustCreateUser(t, s, "pat")
	for _, id := range []string{"r-1", "r-2", "r-3", "live"} {
		mustCreateSession(t, s, newSession(id, u.ID, at(0)))
	}
	revoked := map[string]time.Time{"r-1": at(time.Minute), "r-2": at(2 * time.Minute), "r-3": at(3 * time.Minute)}
	for id, when := range revoked {
		if err := s.RevokeSession(ctx, u.ID, id, when); err != nil {
			t.Fatalf("RevokeSession(%q): %v", id, err)
		}
	}
	rev := func(id string) restauth.Revocation { return restauth.Revocation{SessionID: id, RevokedAt: revoked[id]} }
	tests := []struct {
		since time.Time
		want  []restauth.Revocation
	}{
		{at(0), []restauth.Revocation{rev("r-1"), rev("r-2"), rev("r-3")}},
		{at(2 * time.Minute), []restauth.Revocation{rev("r-2"), rev("r-3")}}, // Inclusive.
		{at(2*time.Minute + time.Microsecond), []restauth.Revocation{rev("r-3")}},
		{at(time.Hour), nil},
	}
	for _, tt := range tests {
		got, err := s.RevokedSince(ctx, tt.since)
		if err != nil {
			t.Fatalf("RevokedSince(%v): %v", tt.since, err)
		}
		slices.SortFunc(got, func(a, b restauth.Revocation) int { return cmp.Compare(a.SessionID, b.SessionID) })
		if !slices.EqualFunc(got, tt.want, equalRevocation) {
			t.Errorf("RevokedSince(%v) = %+v, want %+v", tt.since, got, tt.want)
		}
	}
}

func testCounters(t *testing.T, s Store) {
	ctx := t.Context()
	const w = time.Minute
	type op int
	const (
		incr op = iota
		get
		reset
		decr
	)
	steps := []struct {
		name      string
		op        op
		key       string
		now       time.Time
		wantCount int // 0 means the zero Counter.
		wantStart time.Time
		wantLast  time.Time
	}{
		{"get missing", get, "a", at(0), 0, time.Time{}, time.Time{}},
		{"first incr", incr, "a", at(0), 1, at(0), at(0)},
		{"incr in window", incr, "a", at(10 * time.Second), 2, at(0), at(10 * time.Second)},
		{"incr late in window", incr, "a", at(w - time.Microsecond), 3, at(0), at(w - time.Microsecond)},
		{"get in window", get, "a", at(w - time.Microsecond), 3, at(0), at(w - time.Microsecond)},
		{"get at window end", get, "a", at(w), 0, time.Time{}, time.Time{}},
		{"other key independent", incr, "b", at(30 * time.Second), 1, at(30 * time.Second), at(30 * time.Second)},
		{"incr at window end starts anew", incr, "a", at(w), 1, at(w), at(w)},
		{"incr in new window", incr, "a", at(w + time.Second), 2, at(w), at(w + time.Second)},
		{"get reports the last incr", get, "a", at(w + 30*time.Second), 2, at(w), at(w + time.Second)},
		{"incr long after", incr, "a", at(10 * w), 1, at(10 * w), at(10 * w)},
		{"reset", reset, "a", at(10 * w), 0, time.Time{}, time.Time{}},
		{"get after reset", get, "a", at(10 * w), 0, time.Time{}, time.Time{}},
		{"incr after reset", incr, "a", at(10*w + time.Second), 1, at(10*w + time.Second), at(10*w + time.Second)},
		{"reset missing", reset, "never", at(0), 0, time.Time{}, time.Time{}},
		{"incr again", incr, "a", at(10*w + 2*time.Second), 2, at(10*w + time.Second), at(10*w + 2*time.Second)},
		{"decr refunds one", decr, "a", at(10*w + 3*time.Second), 0, time.Time{}, time.Time{}},
		{"get after decr keeps window", get, "a", at(10*w + 3*time.Second), 1, at(10*w + time.Second), at(10*w + 2*time.Second)},
		{"decr to zero", decr, "a", at(10*w + 3*time.Second), 0, time.Time{}, time.Time{}},
		{"decr never below zero", decr, "a", at(10*w + 3*time.Second), 0, time.Time{}, time.Time{}},
		{"incr after decr to zero", incr, "a", at(10*w + 4*time.Second), 1, at(10*w + time.Second), at(10*w + 4*time.Second)},
		{"decr missing", decr, "never", at(0), 0, time.Time{}, time.Time{}},
		{"other key untouched", get, "b", at(31 * time.Second), 1, at(30 * time.Second), at(30 * time.Second)},
	}
	for _, tt := range steps {
		var c restauth.Counter
		var err error
		switch tt.op {
		case incr:
			c, err = s.Incr(ctx, tt.key, tt.now, w)
		case get:
			c, err = s.Get(ctx, tt.key, tt.now, w)
		case reset:
			err = s.Reset(ctx, tt.key)
		case decr:
			err = s.Decr(ctx, tt.key)
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		switch {
		case tt.op == reset || tt.op == decr:
		case tt.wantCount == 0:
			if c != (restauth.Counter{}) {
				t.Errorf("%s: got %+v, want the zero Counter", tt.name, c)
			}
		case c.Count != tt.wantCount || !c.WindowStart.Equal(tt.wantStart) || !c.Last.Equal(tt.wantLast):
			t.Errorf("%s: got {Count:%d WindowStart:%v Last:%v}, want {Count:%d WindowStart:%v Last:%v}",
				tt.name, c.Count, c.WindowStart, c.Last, tt.wantCount, tt.wantStart, tt.wantLast)
		}
	}
}

func testConcurrentIncr(t *testing.T, s Store) {
	const n = 50
	counts := make([]int, n)
	errs := concurrently(n, func(i int) error {
		c, err := s.Incr(t.Context(), "hot", at(time.Duration(i)*time.Millisecond), time.Hour)
		counts[i] = c.Count
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Incr %d: %v", i, err)
		}
	}
	// Every increment saw a distinct count: none was lost or doubled.
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Errorf("sorted counts returned by %d concurrent Incr: got %v, want 1..%d", n, counts, n)
			break
		}
	}
	c, err := s.Get(t.Context(), "hot", at(time.Second), time.Hour)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if c.Count != n {
		t.Errorf("Get after %d concurrent Incr: Count = %d, want %d", n, c.Count, n)
	}
}

func testSigningKeys(t *testing.T, s Store) {
	ctx := t.Context()
	key := func(id string, created time.Time) *restauth.SigningKey {
		return &restauth.SigningKey{
			ID:          id,
			Algorithm:   "EdDSA",
			PrivateKey:  bytes.Repeat([]byte(id[:1]), 32),
			PublicKey:   bytes.Repeat([]byte(id[len(id)-1:]), 32),
			CreatedAt:   created,
			ActivatesAt: created.Add(time.Hour),
		}
	}
	k1 := key("k1", at(0))
	k2 := key("k2", at(24*time.Hour))
	k3 := key("k3", at(-48*time.Hour))
	k3.ExpiresAt = at(-time.Hour)
	for _, k := range []*restauth.SigningKey{k1, k2, k3} {
		if err := s.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey(%s): %v", k.ID, err)
		}
	}
	if err := s.AddSigningKey(ctx, key("k1", at(0))); err == nil {
		t.Errorf("AddSigningKey(duplicate id): got success, want an error")
	}

	check := func(step string, now time.Time, want ...*restauth.SigningKey) {
		t.Helper()
		got, err := s.SigningKeys(ctx, now)
		if err != nil {
			t.Fatalf("%s: SigningKeys: %v", step, err)
		}
		slices.SortFunc(got, func(a, b *restauth.SigningKey) int { return cmp.Compare(a.ID, b.ID) })
		if !slices.EqualFunc(got, want, equalKey) {
			var g, w []string
			for _, k := range got {
				g = append(g, fmt.Sprintf("%s(expires %v)", k.ID, k.ExpiresAt))
			}
			for _, k := range want {
				w = append(w, fmt.Sprintf("%s(expires %v)", k.ID, k.ExpiresAt))
			}
			t.Errorf("%s: SigningKeys(%v) = %v, want %v (all fields equal)", step, now, g, w)
		}
	}
	check("before k3 expires", at(-2*time.Hour), k1, k2, k3)
	check("at k3's expiry", at(-time.Hour), k1, k2)
	check("after k3 expires", at(0), k1, k2)

	retire := at(48 * time.Hour)
	if err := s.RetireSigningKeys(ctx, "k2", retire); err != nil {
		t.Fatalf("RetireSigningKeys: %v", err)
	}
	k1.ExpiresAt = retire // k3 keeps its earlier expiry.
	check("after retiring all but k2", at(47*time.Hour), k1, k2)
	check("after k1 expires", retire, k2)
	if err := s.RetireSigningKeys(ctx, "k2", retire.Add(time.Hour)); err != nil {
		t.Errorf("RetireSigningKeys with nothing to retire: %v", err)
	}
	check("after a second retirement", at(0), k1, k2)
}

func testSecret(t *testing.T, s Store) {
	ctx := t.Context()
	calls := 0
	gen := func(v string) func() ([]byte, error) {
		return func() ([]byte, error) {
			calls++
			return []byte(v), nil
		}
	}
	steps := []struct {
		name      string
		secret    string
		gen       func() ([]byte, error)
		want      string
		wantCalls int
		err       error
	}{
		{"generated", "alpha", gen("first"), "first", 1, nil},
		{"stored", "alpha", gen("second"), "first", 1, nil},
		{"other name", "beta", gen("third"), "third", 2, nil},
		{"generator fails", "gamma", func() ([]byte, error) { return nil, errBoom }, "", 2, errBoom},
		{"nothing stored after failure", "gamma", gen("fourth"), "fourth", 3, nil},
	}
	for _, tt := range steps {
		got, err := s.Secret(ctx, tt.secret, tt.gen)
		wantErr(t, "Secret, "+tt.name, err, tt.err)
		if string(got) != tt.want {
			t.Errorf("Secret, %s: got %q, want %q", tt.name, got, tt.want)
		}
		if calls != tt.wantCalls {
			t.Errorf("Secret, %s: generator called %d times in all, want %d", tt.name, calls, tt.wantCalls)
		}
	}
}

var errBoom = errors.New("storetest: generator failed")

func testConcurrentSecret(t *testing.T, s Store) {
	const n = 20
	got := make([][]byte, n)
	errs := concurrently(n, func(i int) error {
		var err error
		got[i], err = s.Secret(t.Context(), "shared", func() ([]byte, error) {
			return []byte(fmt.Sprint("value-", i)), nil
		})
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Secret %d: %v", i, err)
		}
	}
	for i := range got {
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("concurrent Secret: caller %d got %q, caller 0 got %q, want one value", i, got[i], got[0])
		}
	}
	again, err := s.Secret(t.Context(), "shared", func() ([]byte, error) { return []byte("late"), nil })
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if !bytes.Equal(again, got[0]) {
		t.Errorf("Secret after the race = %q, want %q", again, got[0])
	}
}

func testSweep(t *testing.T, db Store) {
	ctx := t.Context()
	u := &restauth.User{Username: "alice", PasswordHash: "x"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := at(0)
	for _, s := range []struct {
		id      string
		expires time.Time
		revoked time.Time
	}{
		{"expired-long-ago", now.Add(-24 * time.Hour), time.Time{}},
		{"live", now.Add(24 * time.Hour), time.Time{}},
		{"revoked-long-ago", now.Add(24 * time.Hour), now.Add(-24 * time.Hour)},
		{"revoked-recently", now.Add(24 * time.Hour), now},
	} {
		sess := &restauth.Session{ID: s.id, UserID: u.ID, CreatedAt: now.Add(-48 * time.Hour), LastUsedAt: now.Add(-48 * time.Hour), ExpiresAt: s.expires}
		if err := db.CreateSession(ctx, sess, &restauth.RefreshRecord{Hash: []byte(s.id), SessionID: s.id, CreatedAt: sess.CreatedAt}); err != nil {
			t.Fatal(err)
		}
		if !s.revoked.IsZero() {
			if err := db.RevokeSession(ctx, u.ID, s.id, s.revoked); err != nil {
				t.Fatal(err)
			}
		}
	}
	for key, when := range map[string]time.Time{"old": now.Add(-24 * time.Hour), "new": now} {
		if _, err := db.Incr(ctx, key, when, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	n, err := db.Sweep(ctx, now.Add(-time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Sweep deleted %d rows, want 3 (two sessions, one counter)", n)
	}
	for id, want := range map[string]bool{"expired-long-ago": false, "revoked-long-ago": false, "live": true, "revoked-recently": true} {
		_, err := db.Session(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("session %s present after Sweep = %v (%v), want %v", id, got, err, want)
		}
	}
	// The swept sessions' refresh tokens went with them.
	if _, err := db.RotateRefresh(ctx, restauth.Rotation{OldHash: []byte("expired-long-ago"), NewHash: []byte("x"), Now: now}); !errors.Is(err, restauth.ErrNotFound) {
		t.Errorf("RotateRefresh of a swept session's token: got %v, want ErrNotFound", err)
	}
	for key, want := range map[string]int{"old": 0, "new": 1} {
		if c, err := db.Get(ctx, key, now.Add(-48*time.Hour), 100*time.Hour); err != nil || c.Count != want {
			t.Errorf("counter %s after Sweep = %+v, %v; want count %d", key, c, err, want)
		}
	}
}

// Benchmark measures the operations on a store's hot paths. open must
// return a fresh, empty, migrated store on every call.
func Benchmark(b *testing.B, open func(tb testing.TB) Store) {
	b.Run("CreateUser", func(b *testing.B) {
		db, ctx := open(b), b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := db.CreateUser(ctx, &restauth.User{Username: fmt.Sprint("u", i), PasswordHash: "h"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UserByUsername", func(b *testing.B) {
		db, ctx := open(b), b.Context()
		if err := db.CreateUser(ctx, &restauth.User{Username: "Reader", PasswordHash: "h"}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := db.UserByUsername(ctx, "reader"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("RotateRefresh", func(b *testing.B) {
		db, ctx := open(b), b.Context()
		u := &restauth.User{Username: "bench", PasswordHash: "h"}
		if err := db.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		now := at(0)
		s := &restauth.Session{ID: "s", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s, &restauth.RefreshRecord{Hash: []byte("0"), SessionID: "s", CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			old := []byte(fmt.Sprint(i))
			i++
			res, err := db.RotateRefresh(ctx, restauth.Rotation{OldHash: old, NewHash: []byte(fmt.Sprint(i)), NewSealed: []byte("sealed"), Now: now})
			if err != nil || !res.Consumed {
				b.Fatalf("RotateRefresh = %+v, %v", res, err)
			}
		}
	})
	b.Run("Incr", func(b *testing.B) {
		db, ctx := open(b), b.Context()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.Incr(ctx, "ip:192.0.2.1", at(0), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}
