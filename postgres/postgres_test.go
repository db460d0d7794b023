package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/storetest"
)

// testURL returns the PostgreSQL URL the tests run against, or skips.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RESTAUTH_TEST_POSTGRES")
	if u == "" {
		t.Skip("RESTAUTH_TEST_POSTGRES not set: skipping the PostgreSQL store suite")
	}
	return u
}

// withParams returns the URL raw with the query parameters set.
func withParams(t testing.TB, raw string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("RESTAUTH_TEST_POSTGRES must be a postgres:// URL, got one that does not parse as such (%v)", err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// freshSchema creates a schema with a random name, dropped when the test
// ends, and returns the test URL with search_path naming it.
func freshSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	base := testURL(t)
	schema = "restauth_test_" + strings.ToLower(rand.Text()[:16])
	admin(t, base, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() {
		admin(t, base, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
	})
	return withParams(t, base, map[string]string{"search_path": schema}), schema
}

// admin runs one statement on a connection of its own.
func admin(t testing.TB, dsn, sql string, args ...any) pgconn.CommandTag {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	tag, err := c.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return tag
}

func mustOpen(t testing.TB, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openFresh(t testing.TB) *DB {
	t.Helper()
	dsn, _ := freshSchema(t)
	return mustOpen(t, dsn)
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(tb testing.TB) storetest.Store { return openFresh(tb) })
}

func TestConformance(t *testing.T) {
	testURL(t) // Skip once, not in every subtest.
	storetest.Run(t, func(t *testing.T) storetest.Store { return openFresh(t) })
}

// TestConcurrentOpen starts several stores on one new schema at once: the
// advisory lock must let exactly one apply each migration, and every Open
// must succeed.
func TestConcurrentOpen(t *testing.T) {
	dsn, schema := freshSchema(t)
	const n = 6
	dbs := make([]*DB, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = Open(t.Context(), dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d of %d concurrent: %v", i, n, err)
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Errorf("schema_migrations of %s has %d rows, want %d", schema, rows, len(ms))
	}
	for i, db := range dbs {
		if db.schema != schema {
			t.Errorf("store %d: schema = %q, want %q", i, db.schema, schema)
		}
	}
	ok, err := dbs[0].MigrationsCurrent(t.Context())
	if err != nil || !ok {
		t.Errorf("MigrationsCurrent = %v, %v; want true, nil", ok, err)
	}
}

func TestMigrate(t *testing.T) {
	dsn, schema := freshSchema(t)
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	// A store that has not migrated yet: MigrationsCurrent must say so.
	db := &DB{cfg: pcfg.ConnConfig, pool: pool}
	defer db.Close()
	ctx := t.Context()
	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"before Migrate", func() error { return nil }, false},
		{"after Migrate", func() error { return db.Migrate(ctx) }, true},
		{"after a second Migrate", func() error { return db.Migrate(ctx) }, true},
		{"with a version missing", func() error {
			admin(t, dsn, `DELETE FROM schema_migrations WHERE version = 1`)
			return nil
		}, false},
		{"with an unknown newer version", func() error {
			admin(t, dsn, `INSERT INTO schema_migrations (version, applied_at) VALUES (1, now()), (9999, now())`)
			return nil
		}, true},
	}
	for _, tt := range steps {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := db.MigrationsCurrent(ctx)
		if err != nil {
			t.Fatalf("MigrationsCurrent %s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("MigrationsCurrent %s = %v, want %v", tt.name, got, tt.want)
		}
	}
	// The tables are in the schema named by search_path, not in public.
	var n int
	c, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	err = c.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'users'`, schema).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("users tables in schema %s: got %d (%v), want 1", schema, n, err)
	}
}

func TestOpenErrors(t *testing.T) {
	base := testURL(t)
	closed := closedPort(t)
	tests := []struct {
		name        string
		dsn         string
		unavailable bool   // The error must wrap restauth.ErrStoreUnavailable.
		contains    string // The error text must contain this.
	}{
		{"closed port", withParams(t, strings.Replace(base, hostOf(t, base), closed, 1), map[string]string{"connect_timeout": "2"}), true, ""},
		{"missing schema", withParams(t, base, map[string]string{"search_path": "restauth_no_such_schema"}), false, "create it first"},
		{"bad pool size", withParams(t, base, map[string]string{"pool_max_conns": "0"}), false, "pool_max_conns"},
		{"not a URL", "postgres://%zz", false, ""},
	}
	for _, tt := range tests {
		db, err := Open(t.Context(), tt.dsn)
		if err == nil {
			db.Close()
			t.Errorf("Open(%s): got success, want an error", tt.name)
			continue
		}
		if got := errors.Is(err, restauth.ErrStoreUnavailable); got != tt.unavailable {
			t.Errorf("Open(%s) = %v: wraps ErrStoreUnavailable = %v, want %v", tt.name, err, got, tt.unavailable)
		}
		if !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("Open(%s) = %v, want the text to contain %q", tt.name, err, tt.contains)
		}
	}
}

// hostOf returns the host:port of a URL.
func hostOf(t testing.TB, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":5432"
	}
	return host
}

// signals collects Listen's callbacks.
type signals struct{ revoked, keys chan struct{} }

func newSignals() *signals {
	return &signals{revoked: make(chan struct{}, 100), keys: make(chan struct{}, 100)}
}

func (s *signals) onRevoke() { s.revoked <- struct{}{} }
func (s *signals) onKeys()   { s.keys <- struct{}{} }

// wait fails the test unless c receives within d.
func wait(t *testing.T, c chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(d):
		t.Fatalf("%s: no callback within %v", what, d)
	}
}

// quiet fails the test if c has received or receives within d.
func quiet(t *testing.T, c chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c:
		t.Errorf("%s: got a callback, want none", what)
		return
	default:
	}
	if d <= 0 {
		return
	}
	select {
	case <-c:
		t.Errorf("%s: got a callback, want none", what)
	case <-time.After(d):
	}
}

// drain empties c.
func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// listen runs db.Listen until the test ends and waits for the callbacks it
// makes on connecting.
func listen(t *testing.T, db *DB) *signals {
	t.Helper()
	s := newSignals()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(ctx, s.onRevoke, s.onKeys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("Listen did not return within 10s of its context ending")
		}
	})
	wait(t, s.revoked, 5*time.Second, "revocation resync on connect")
	wait(t, s.keys, 5*time.Second, "key reload on connect")
	return s
}

func TestListen(t *testing.T) {
	dsn, _ := freshSchema(t)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	other := openFresh(t) // Another schema of the same database.
	s := listen(t, b)
	ctx := t.Context()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	newUser := func(db *DB, name string, sessions ...string) *restauth.User {
		u := &restauth.User{Username: name, PasswordHash: "h"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		for _, id := range sessions {
			sess := &restauth.Session{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := db.CreateSession(ctx, sess, nil); err != nil {
				t.Fatal(err)
			}
		}
		return u
	}
	alice := newUser(a, "alice", "a1", "a2", "a3")
	bob := newUser(a, "bob", "b1")
	mallory := newUser(other, "mallory", "m1")
	key := func(id string) *restauth.SigningKey {
		return &restauth.SigningKey{ID: id, Algorithm: "EdDSA", PrivateKey: []byte("p"), PublicKey: []byte("q"), CreatedAt: now, ActivatesAt: now}
	}

	// Changes that happened, on this schema: the other instance is told.
	notified := []struct {
		name string
		do   func() error
		c    chan struct{}
	}{
		{"RevokeSession", func() error { return a.RevokeSession(ctx, alice.ID, "a1", now) }, s.revoked},
		{"RevokeUserSessions", func() error { _, err := a.RevokeUserSessions(ctx, alice.ID, "a3", now); return err }, s.revoked},
		{"DeleteUser", func() error { _, err := a.DeleteUser(ctx, bob.ID, now); return err }, s.revoked},
		{"AddSigningKey", func() error { return a.AddSigningKey(ctx, key("k1")) }, s.keys},
		{"AddSigningKey again", func() error { return a.AddSigningKey(ctx, key("k2")) }, s.keys},
		{"RetireSigningKeys", func() error { return a.RetireSigningKeys(ctx, "k2", now) }, s.keys},
	}
	for _, tt := range notified {
		drain(s.revoked)
		drain(s.keys)
		start := time.Now()
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		wait(t, tt.c, 5*time.Second, tt.name)
		t.Logf("%s delivered in %v", tt.name, time.Since(start).Round(time.Microsecond))
	}

	// Changes that did not happen, or happened elsewhere: silence.
	drain(s.revoked)
	drain(s.keys)
	silent := []struct {
		name string
		do   func() error
	}{
		{"RevokeSession of a revoked session", func() error {
			if err := a.RevokeSession(ctx, alice.ID, "a1", now); !errors.Is(err, restauth.ErrNotFound) {
				return fmt.Errorf("got %v, want ErrNotFound", err)
			}
			return nil
		}},
		{"RevokeUserSessions with nothing to revoke", func() error {
			_, err := a.RevokeUserSessions(ctx, alice.ID, "a3", now)
			return err
		}},
		{"RetireSigningKeys with nothing to retire", func() error { return a.RetireSigningKeys(ctx, "k2", now) }},
		{"RevokeSession in another schema", func() error { return other.RevokeSession(ctx, mallory.ID, "m1", now) }},
		{"AddSigningKey in another schema", func() error { return other.AddSigningKey(ctx, key("k9")) }},
	}
	for _, tt := range silent {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	quiet(t, s.revoked, 300*time.Millisecond, "revocations that did not happen here")
	quiet(t, s.keys, 0, "key changes that did not happen here")
}

// TestListenReconnects kills the listener's backend: Listen must reconnect
// by itself, resync on reconnecting, and deliver what follows; the pool
// must recover too.
func TestListenReconnects(t *testing.T) {
	dsn, schema := freshSchema(t)
	app := "restauth_test_" + schema[len(schema)-8:]
	dsn = withParams(t, dsn, map[string]string{"application_name": app})
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	s := listen(t, b)
	ctx := t.Context()
	u := &restauth.User{Username: "ursula", PasswordHash: "h"}
	if err := a.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}

	tag := admin(t, testURL(t), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app)
	if tag.RowsAffected() == 0 {
		t.Fatalf("found no backend of %s to terminate", app)
	}
	wait(t, s.revoked, 10*time.Second, "revocation resync after reconnecting")
	wait(t, s.keys, 10*time.Second, "key reload after reconnecting")

	// Every pooled connection was killed: calls fail closed or succeed,
	// and succeed again within a few attempts.
	recovered := false
	for i := 0; i < 5 && !recovered; i++ {
		_, err := a.UserByID(ctx, u.ID)
		switch {
		case err == nil:
			recovered = true
		case !errors.Is(err, restauth.ErrStoreUnavailable):
			t.Fatalf("UserByID after the backends were terminated: got %v, want success or ErrStoreUnavailable", err)
		}
	}
	if !recovered {
		t.Fatalf("the pool did not recover within 5 calls")
	}

	now := time.Now()
	sess := &restauth.Session{ID: "s1", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := a.CreateSession(ctx, sess, nil); err != nil {
		t.Fatal(err)
	}
	drain(s.revoked)
	if err := a.RevokeSession(ctx, u.ID, "s1", now); err != nil {
		t.Fatal(err)
	}
	wait(t, s.revoked, 5*time.Second, "revocation after reconnecting")
}

// proxy forwards TCP to PostgreSQL and can be cut, standing in for a
// database that goes away and comes back.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	go p.serve()
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *proxy) forward(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	go func() {
		io.Copy(up, c)
		up.Close()
		c.Close()
	}()
	io.Copy(c, up)
	c.Close()
	up.Close()
}

// track registers the pair, or closes it when the proxy went down meanwhile.
func (p *proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		if p.down {
			c.Close()
			continue
		}
		p.conns[c] = true
	}
	return !p.down
}

// cut closes every connection and lets new ones through: a failover
// seen from the client.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// setDown cuts every connection and refuses new ones, or lets them through
// again.
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestUnavailable cuts the database away under a working store: every call
// must fail closed with ErrStoreUnavailable (and a client-safe message), and
// the store and its listener must recover by themselves.
func TestUnavailable(t *testing.T) {
	dsn, _ := freshSchema(t)
	p := startProxy(t, hostOf(t, dsn))
	proxied := withParams(t, strings.Replace(dsn, hostOf(t, dsn), p.ln.Addr().String(), 1), map[string]string{"connect_timeout": "2"})
	db := mustOpen(t, proxied)
	s := listen(t, db)
	ctx := t.Context()
	now := time.Now()
	u := &restauth.User{Username: "vera", PasswordHash: "h"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &restauth.Session{ID: "v1", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, sess, &restauth.RefreshRecord{Hash: []byte("r1"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}

	p.setDown(true)
	calls := []struct {
		name string
		do   func() error
	}{
		{"Ping", func() error { return db.Ping(ctx) }},
		{"MigrationsCurrent", func() error { _, err := db.MigrationsCurrent(ctx); return err }},
		{"UserByUsername", func() error { _, err := db.UserByUsername(ctx, "vera"); return err }},
		{"UserByID", func() error { _, err := db.UserByID(ctx, u.ID); return err }},
		{"CreateUser", func() error { return db.CreateUser(ctx, &restauth.User{Username: "walt", PasswordHash: "h"}) }},
		{"Session", func() error { _, err := db.Session(ctx, "v1"); return err }},
		{"RotateRefresh", func() error {
			_, err := db.RotateRefresh(ctx, restauth.Rotation{OldHash: []byte("r1"), NewHash: []byte("r2"), Now: now})
			return err
		}},
		{"RevokeSession", func() error { return db.RevokeSession(ctx, u.ID, "v1", now) }},
		{"RevokedSince", func() error { _, err := db.RevokedSince(ctx, now); return err }},
		{"Get", func() error { _, err := db.Get(ctx, "k", now, time.Hour); return err }},
		{"Incr", func() error { _, err := db.Incr(ctx, "k", now, time.Hour); return err }},
		{"SigningKeys", func() error { _, err := db.SigningKeys(ctx, now); return err }},
		{"Secret", func() error {
			_, err := db.Secret(ctx, "s", func() ([]byte, error) { return []byte("x"), nil })
			return err
		}},
	}
	for _, tt := range calls {
		err := tt.do()
		if !errors.Is(err, restauth.ErrStoreUnavailable) {
			t.Errorf("%s with the database down: got %v, want ErrStoreUnavailable", tt.name, err)
			continue
		}
		if code, msg := restauth.ErrorCode(err), restauth.ErrorMessage(err); code != restauth.EUnavailable || msg != restauth.ErrStoreUnavailable.Message {
			t.Errorf("%s with the database down: code %q message %q, want %q %q", tt.name, code, msg, restauth.EUnavailable, restauth.ErrStoreUnavailable.Message)
		}
	}
	if _, err := Open(ctx, proxied); !errors.Is(err, restauth.ErrStoreUnavailable) {
		t.Errorf("Open with the database down: got %v, want ErrStoreUnavailable", err)
	}

	drain(s.revoked)
	p.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := db.UserByID(ctx, u.ID)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover within 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after recovery: %v", err)
	}
	// The listener backs off at most 5s between attempts.
	wait(t, s.revoked, 10*time.Second, "listener resync after the database returned")
	drain(s.revoked)
	if err := db.RevokeSession(ctx, u.ID, "v1", now); err != nil {
		t.Fatalf("RevokeSession after recovery: %v", err)
	}
	wait(t, s.revoked, 5*time.Second, "revocation after recovery")
}

// TestCancelledCallLeavesPoolHealthy abandons a query midway: its connection
// must not be handed to the next caller.
func TestCancelledCallLeavesPoolHealthy(t *testing.T) {
	dsn, _ := freshSchema(t)
	db := mustOpen(t, withParams(t, dsn, map[string]string{"pool_max_conns": "1"}))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `SELECT pg_sleep(5)`)
		return err
	})
	if !errors.Is(storeErr("sleep", err), restauth.ErrStoreUnavailable) {
		t.Errorf("abandoned call: got %v, want an error wrapping ErrStoreUnavailable", err)
	}
	ctx = t.Context()
	err = db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `BEGIN`) // Left open on purpose.
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// With one connection, both calls above ran on it; the next must get a
	// clean one, outside any transaction.
	for i := range 3 {
		var status byte
		err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
			// The server reports its transaction status after every
			// command; 'I' is idle, outside any transaction.
			status = c.PgConn().TxStatus()
			return c.Ping(ctx)
		})
		if err != nil {
			t.Fatalf("call %d after the abandoned ones: %v", i, err)
		}
		if status != 'I' {
			t.Errorf("call %d got a connection in transaction status %q, want 'I'", i, status)
		}
	}
}

// TestPoolBound runs many calls through a pool of two connections.
func TestPoolBound(t *testing.T) {
	dsn, _ := freshSchema(t)
	db := mustOpen(t, withParams(t, dsn, map[string]string{"pool_max_conns": "2"}))
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := db.Incr(t.Context(), "k", time.Now(), time.Hour)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Incr: %v", err)
		}
	}
	c, err := db.Get(t.Context(), "k", time.Now(), time.Hour)
	if err != nil || c.Count != n {
		t.Errorf("Get = %+v, %v; want Count %d", c, err, n)
	}
	if total := db.pool.Stat().TotalConns(); total > 2 {
		t.Errorf("pool holds %d connections, want at most 2", total)
	}
}

func TestStoreErr(t *testing.T) {
	plain := errors.New("boom")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantIs   error
	}{
		{"nil", nil, "", nil},
		{"no rows", pgx.ErrNoRows, restauth.ENotFound, restauth.ErrNotFound},
		{"domain error kept", restauth.ErrUsernameTaken, restauth.EUsernameTaken, restauth.ErrUsernameTaken},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"cannot connect now", &pgconn.PgError{Code: "57P03"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"connection failure", &pgconn.PgError{Code: "08006"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"too many connections", &pgconn.PgError{Code: "53300"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"read-only standby", &pgconn.PgError{Code: "25006"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"unexpected EOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"deadline", context.DeadlineExceeded, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"connection lost", fmt.Errorf("%w: %w", errConnLost, plain), restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"invalid UTF-8", &pgconn.PgError{Code: "22021", Message: "invalid byte sequence for encoding \"UTF8\": 0xff"}, restauth.EInvalid, restauth.ErrInvalidData},
		{"numeric out of range", &pgconn.PgError{Code: "22003"}, restauth.EInvalid, restauth.ErrInvalidData},
		{"invalid text representation", &pgconn.PgError{Code: "22P02"}, restauth.EInvalid, restauth.ErrInvalidData},
		{"timestamp out of range", &pgconn.PgError{Code: "22008"}, restauth.EInvalid, restauth.ErrInvalidData},
		{"index row too large", &pgconn.PgError{Code: "54000"}, restauth.EInvalid, restauth.ErrInvalidData},
		{"disk full", &pgconn.PgError{Code: "53100"}, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"syntax error", &pgconn.PgError{Code: "42601", Message: "syntax error at or near \"SELEC\""}, restauth.EInternal, nil},
		{"unique violation", &pgconn.PgError{Code: "23505"}, restauth.EInternal, nil},
		{"other", plain, restauth.EInternal, plain},
	}
	for _, tt := range tests {
		got := storeErr("op", tt.err)
		if code := restauth.ErrorCode(got); code != tt.wantCode {
			t.Errorf("storeErr(%s) code = %q, want %q", tt.name, code, tt.wantCode)
		}
		if tt.wantIs != nil && !errors.Is(got, tt.wantIs) {
			t.Errorf("storeErr(%s) = %v, want it to wrap %v", tt.name, got, tt.wantIs)
		}
		// A lookup answers a malformed value as it answers an unknown one.
		wantLookup := tt.wantCode
		if tt.wantCode == restauth.EInvalid {
			wantLookup = restauth.ENotFound
		}
		if code := restauth.ErrorCode(lookupErr("op", tt.err)); code != wantLookup {
			t.Errorf("lookupErr(%s) code = %q, want %q", tt.name, code, wantLookup)
		}
		// Clients never see the cause.
		if msg := restauth.ErrorMessage(got); strings.Contains(msg, "SELEC") || strings.Contains(msg, "boom") || strings.Contains(msg, "0xff") {
			t.Errorf("storeErr(%s): client message %q leaks the cause", tt.name, msg)
		}
	}
}

func TestClosedDBUnavailable(t *testing.T) {
	db := openFresh(t)
	db.Close()
	if err := db.Ping(t.Context()); !errors.Is(err, restauth.ErrStoreUnavailable) {
		t.Errorf("Ping after Close: got %v, want ErrStoreUnavailable", err)
	}
}

func TestParseNotification(t *testing.T) {
	tests := []struct {
		payload, kind, schema string
		ok                    bool
	}{
		{"revoked public", "revoked", "public", true},
		{"keys my schema", "keys", "my schema", true},
		{"revoked", "", "", false},
		{"revoked ", "", "", false},
		{" public", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		kind, schema, ok := parseNotification(tt.payload)
		if kind != tt.kind || schema != tt.schema || ok != tt.ok {
			t.Errorf("parseNotification(%q) = %q, %q, %v; want %q, %q, %v", tt.payload, kind, schema, ok, tt.kind, tt.schema, tt.ok)
		}
	}
}

func FuzzParseNotification(f *testing.F) {
	for _, s := range []string{"revoked public", "keys a b", "", " ", "revoked", "x\x00y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		kind, schema, ok := parseNotification(payload)
		if !ok {
			if kind != "" || schema != "" {
				t.Errorf("parseNotification(%q) refused but returned %q, %q", payload, kind, schema)
			}
			return
		}
		if kind == "" || schema == "" || strings.Contains(kind, " ") || kind+" "+schema != payload {
			t.Errorf("parseNotification(%q) = %q, %q: not a split of the payload", payload, kind, schema)
		}
	})
}
