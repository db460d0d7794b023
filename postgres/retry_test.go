package postgres

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/restauth/restauth"
)

// TestRetryAfterTerminatedBackends terminates every backend of a working
// store, as pg_terminate_backend does during a failover or an operator's
// cleanup: the calls that follow must succeed on fresh connections, reads
// and writes alike, instead of failing with 503.
//
// Only the store's own backends are terminated, found by an
// application_name of the test's own, since other tests share the
// database. The pool is told never to ping an idle connection before
// handing it out, as it does not within a second of its last use, so every
// call meets a dead connection and the store's retry alone saves it.
func TestRetryAfterTerminatedBackends(t *testing.T) {
	dsn, _ := freshSchema(t)
	app := "restauth_retry_" + strings.ToLower(rand.Text()[:12])
	pcfg, err := pgxpool.ParseConfig(withParams(t, dsn, map[string]string{"application_name": app, "pool_max_conns": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	db, err := openConfig(t.Context(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	now := time.Now()
	u := &restauth.User{Username: "survivor", PasswordHash: "h"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &restauth.Session{ID: "s1", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, sess, nil); err != nil {
		t.Fatal(err)
	}

	calls := []struct {
		name string
		do   func() error
	}{
		{"Ping", func() error { return db.Ping(ctx) }},
		{"UserByID", func() error { _, err := db.UserByID(ctx, u.ID); return err }},
		{"UserByUsername", func() error { _, err := db.UserByUsername(ctx, "survivor"); return err }},
		{"ListUsers", func() error { _, err := db.ListUsers(ctx); return err }},
		{"Session", func() error { _, err := db.Session(ctx, "s1"); return err }},
		{"ListSessions", func() error { _, err := db.ListSessions(ctx, u.ID, now); return err }},
		{"Get", func() error { _, err := db.Get(ctx, "k", now, time.Hour); return err }},
		{"SigningKeys", func() error { _, err := db.SigningKeys(ctx, now); return err }},
		{"Incr", func() error { _, err := db.Incr(ctx, "k", now, time.Hour); return err }},
		{"CreateUser", func() error { return db.CreateUser(ctx, &restauth.User{Username: "newcomer", PasswordHash: "h"}) }},
		{"RevokeSession", func() error { return db.RevokeSession(ctx, u.ID, "s1", now) }},
	}
	for _, tt := range calls {
		// Fill the pool with idle connections, then kill them all.
		warm := make(chan error, 4)
		for range 4 {
			go func() { _, err := db.ListUsers(ctx); warm <- err }()
		}
		for range 4 {
			if err := <-warm; err != nil {
				t.Fatalf("warming the pool: %v", err)
			}
		}
		if n := terminate(t, dsn, app); n == 0 {
			t.Fatalf("%s: no backend of the store to terminate", tt.name)
		}
		if err := tt.do(); err != nil {
			t.Errorf("%s after its backends were terminated: %v, want success", tt.name, err)
		}
	}
}

// terminate ends every backend whose application_name is app, waits until
// they are gone, and returns how many there were.
func terminate(t *testing.T, dsn, app string) int {
	t.Helper()
	ctx := t.Context()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, app).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var left int
		err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&left)
		if err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			return n
		}
		select {
		case <-ctx.Done():
			t.Fatalf("backends of %s still running: %v", app, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
