package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/sqlite"
)

func TestSweep(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := &restauth.User{Username: "alice", PasswordHash: "x"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Microsecond)
	mk := func(id string, expires time.Time) {
		s := &restauth.Session{ID: id, UserID: u.ID, CreatedAt: now.Add(-48 * time.Hour), LastUsedAt: now.Add(-48 * time.Hour), ExpiresAt: expires}
		if err := db.CreateSession(ctx, s, &restauth.RefreshRecord{Hash: []byte(id), SessionID: id, CreatedAt: s.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	mk("expired-long-ago", now.Add(-24*time.Hour))
	mk("live", now.Add(24*time.Hour))
	mk("revoked-long-ago", now.Add(24*time.Hour))
	mk("revoked-recently", now.Add(24*time.Hour))
	if err := db.RevokeSession(ctx, u.ID, "revoked-long-ago", now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeSession(ctx, u.ID, "revoked-recently", now); err != nil {
		t.Fatal(err)
	}
	db.Incr(ctx, "old", now.Add(-24*time.Hour), time.Hour)
	db.Incr(ctx, "new", now, time.Hour)

	n, err := db.Sweep(ctx, now.Add(-time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("swept %d rows, want 3 (two sessions, one counter)", n)
	}
	for id, want := range map[string]bool{"expired-long-ago": false, "revoked-long-ago": false, "live": true, "revoked-recently": true} {
		_, err := db.Session(ctx, id)
		if got := err == nil; got != want {
			t.Errorf("session %s present = %v, want %v", id, got, want)
		}
	}
	if c, _ := db.Get(ctx, "new", now, time.Hour); c.Count != 1 {
		t.Errorf("recent counter = %d, want 1", c.Count)
	}
}
