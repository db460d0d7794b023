package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// TestReadRetriedAfterCut cuts the network under a call whose query is
// running: a read is retried on a fresh connection and succeeds, while a
// call that may write gets the error, since its statement may have
// committed.
func TestReadRetriedAfterCut(t *testing.T) {
	dsn, _ := freshSchema(t)
	p := startProxy(t, hostOf(t, dsn))
	app := "restauth_cut_" + strings.ToLower(rand.Text()[:12])
	proxied := withParams(t, strings.Replace(dsn, hostOf(t, dsn), p.ln.Addr().String(), 1),
		map[string]string{"connect_timeout": "2", "application_name": app})
	db := mustOpen(t, proxied)
	admin := func(sql string, args ...any) int {
		c, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		var n int
		if err := c.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name      string
		call      func(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn) error) error
		wantTries int
		wantErr   bool
	}{
		{"read", db.runRead, 2, false},
		{"write", db.run, 1, true},
	}
	for _, tt := range tests {
		// The comment tells this query from the one of the case before,
		// whose backend sleeps on after the cut.
		query := "SELECT pg_sleep(3) /* " + tt.name + " */"
		tries := 0
		done := make(chan error, 1)
		go func() {
			done <- tt.call(t.Context(), func(ctx context.Context, c *pgx.Conn) error {
				tries++
				if tries == 1 {
					_, err := c.Exec(ctx, query)
					return err
				}
				return c.Ping(ctx)
			})
		}()
		// Cut once the query runs on the server.
		for admin(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND state = 'active'`, app, query) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		// Only a cut: new connections go through at once, so the retry
		// never meets a proxy still refusing (a down and up in two
		// steps let a fast retry in between).
		p.cut()
		err := <-done
		if tries != tt.wantTries || (err != nil) != tt.wantErr {
			t.Errorf("%s cut mid-query: %d tries, error %v; want %d tries, error %v", tt.name, tries, err, tt.wantTries, tt.wantErr)
		}
		if tt.wantErr && !errors.Is(storeErr("op", err), restauth.ErrStoreUnavailable) {
			t.Errorf("%s cut mid-query: %v, want an error wrapping ErrStoreUnavailable", tt.name, storeErr("op", err))
		}
	}
}

// sendError is a failure to send, as pgproto3 reports one: it says whether
// nothing was written.
type sendError struct {
	err  error
	safe bool
}

func (e *sendError) Error() string     { return "write failed: " + e.err.Error() }
func (e *sendError) Unwrap() error     { return e.err }
func (e *sendError) SafeToRetry() bool { return e.safe }

// closedError is pgconn's "conn closed", which it marks safe to retry even
// when the connection was lost while waiting for a result.
type closedError struct{}

func (closedError) Error() string     { return "conn closed" }
func (closedError) SafeToRetry() bool { return true }

func TestRetryable(t *testing.T) {
	writeErr := &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	tests := []struct {
		name          string
		err           error
		read, written bool // Whether a read, and a write, may be retried.
	}{
		{"terminated by an administrator", &pgconn.PgError{Code: "57P01"}, true, true},
		{"crash of another backend", &pgconn.PgError{Code: "57P02"}, true, true},
		{"idle session timeout", &pgconn.PgError{Code: "57P05"}, true, true},
		{"send failed, nothing written", &sendError{writeErr, true}, true, true},
		{"send failed, some written", &sendError{writeErr, false}, true, false},
		{"lost while waiting for the result", closedError{}, true, false},
		{"unexpected EOF", io.ErrUnexpectedEOF, true, false},
	}
	for _, tt := range tests {
		if got := retryable(true, tt.err); got != tt.read {
			t.Errorf("retryable(read, %s) = %v, want %v", tt.name, got, tt.read)
		}
		if got := retryable(false, tt.err); got != tt.written {
			t.Errorf("retryable(write, %s) = %v, want %v", tt.name, got, tt.written)
		}
	}
}
