package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/storetest"
)

func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "restauth.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db, _ := openTemp(t)
		return db
	})
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		db, err := Open(t.Context(), ":memory:")
		if err != nil {
			t.Fatalf("Open(:memory:): %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestPragmas checks every pooled connection, held open at once so that the
// pools must create new ones, rather than one connection reused.
func TestPragmas(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"synchronous":  "2", // FULL.
	}
	pools := []struct {
		name      string
		pool      *sql.DB
		conns     int
		queryOnly string
	}{
		{"writer", db.write, 1, "0"},
		{"reader", db.read, 4, "1"},
	}
	for _, p := range pools {
		var conns []*sql.Conn
		for range p.conns {
			c, err := p.pool.Conn(ctx)
			if err != nil {
				t.Fatalf("%s: Conn: %v", p.name, err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for pragma, wantValue := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatalf("%s conn %d: PRAGMA %s: %v", p.name, i, pragma, err)
				}
				if !strings.EqualFold(got, wantValue) {
					t.Errorf("%s conn %d: PRAGMA %s = %q, want %q", p.name, i, pragma, got, wantValue)
				}
			}
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA query_only").Scan(&got); err != nil {
				t.Fatalf("%s conn %d: PRAGMA query_only: %v", p.name, i, err)
			}
			if got != p.queryOnly {
				t.Errorf("%s conn %d: PRAGMA query_only = %q, want %q", p.name, i, got, p.queryOnly)
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if stats := db.write.Stats(); stats.MaxOpenConnections != 1 {
		t.Errorf("writer pool MaxOpenConnections = %d, want 1", stats.MaxOpenConnections)
	}
}

func TestWriteTransactionsAreImmediate(t *testing.T) {
	db, path := openTemp(t)
	ctx := t.Context()
	// While this process holds a write transaction, another connection to the
	// file must be refused the write lock at BEGIN, not later.
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otx, err := other.BeginTx(ctx, nil)
	if err == nil {
		otx.Rollback()
		t.Fatalf("BEGIN IMMEDIATE on a second connection: got success while the store's transaction is open, want SQLITE_BUSY")
	}
	if got := storeErr("test", err); restauth.ErrorCode(got) != restauth.EUnavailable {
		t.Errorf("storeErr(busy) code = %q, want %q (err %v)", restauth.ErrorCode(got), restauth.EUnavailable, got)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	db, path := openTemp(t)
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations: %v", err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("embedded migrations start at %v, want version 1", ms)
	}
	count := func(db *DB) int {
		var n int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatalf("count migrations: %v", err)
		}
		return n
	}
	for i := range 3 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+2, err)
		}
	}
	if got := count(db); got != len(ms) {
		t.Errorf("schema_migrations rows after repeated Migrate = %d, want %d", got, len(ms))
	}
	if ok, err := db.MigrationsCurrent(ctx); err != nil || !ok {
		t.Errorf("MigrationsCurrent = %v, %v; want true, nil", ok, err)
	}
	db.Close()

	// Reopening, also from several processes' worth of handles at once,
	// applies nothing again.
	var wg sync.WaitGroup
	dbs := make([]*DB, 3)
	errs := make([]error, len(dbs))
	for i := range dbs {
		wg.Go(func() { dbs[i], errs[i] = Open(ctx, path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent reopen %d: %v", i, err)
		}
		defer dbs[i].Close()
	}
	if got := count(dbs[0]); got != len(ms) {
		t.Errorf("schema_migrations rows after reopen = %d, want %d", got, len(ms))
	}
}

func TestMigrationsCurrent(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	if _, err := db.write.ExecContext(ctx, `DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.MigrationsCurrent(ctx); err != nil || ok {
		t.Errorf("MigrationsCurrent with the last migration unrecorded = %v, %v; want false, nil", ok, err)
	}
	if _, err := db.write.ExecContext(ctx, `DROP TABLE schema_migrations`); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.MigrationsCurrent(ctx); err != nil || ok {
		t.Errorf("MigrationsCurrent without schema_migrations = %v, %v; want false, nil", ok, err)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	db, path := openTemp(t)
	ctx := t.Context()
	u := &restauth.User{Username: "Persistent", PasswordHash: "h"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sess := &restauth.Session{ID: "s", UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(ctx, sess, &restauth.RefreshRecord{Hash: []byte("h0"), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Incr(ctx, "k", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	secret, err := db.Secret(ctx, "hmac", func() ([]byte, error) { return []byte("s3cr3t"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db2, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db2.Close()
	got, err := db2.UserByUsername(ctx, "persistent")
	if err != nil || got.ID != u.ID || got.Username != "Persistent" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("UserByUsername after reopen = %+v, %v; want %+v", got, err, u)
	}
	if _, err := db2.Session(ctx, "s"); err != nil {
		t.Errorf("Session after reopen: %v", err)
	}
	res, err := db2.RotateRefresh(ctx, restauth.Rotation{OldHash: []byte("h0"), NewHash: []byte("h1"), Now: now})
	if err != nil || !res.Consumed {
		t.Errorf("RotateRefresh after reopen = %+v, %v; want consumed", res, err)
	}
	if c, err := db2.Get(ctx, "k", now, time.Hour); err != nil || c.Count != 1 {
		t.Errorf("Get after reopen = %+v, %v; want Count 1", c, err)
	}
	again, err := db2.Secret(ctx, "hmac", func() ([]byte, error) { return []byte("other"), nil })
	if err != nil || string(again) != string(secret) {
		t.Errorf("Secret after reopen differs from the stored one (err %v)", err)
	}
}

func TestFileMode(t *testing.T) {
	_, path := openTemp(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got&0o077 != 0 {
		t.Errorf("database file mode = %v, want no group or other access", got)
	}
}

// TestNoLockErrors runs the brief's contention figures against two handles on
// one file, as two server instances sharing it would: registrations and
// refreshes must queue, never fail with "database is locked".
func TestNoLockErrors(t *testing.T) {
	a, path := openTemp(t)
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dbs := []*DB{a, b}
	ctx := t.Context()

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 200)
	for i := range 50 {
		wg.Go(func() {
			<-start
			errs <- dbs[i%2].CreateUser(ctx, &restauth.User{Username: fmt.Sprint("user", i), PasswordHash: "h"})
		})
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		id := fmt.Sprint("s", i)
		u := &restauth.User{Username: "owner" + id, PasswordHash: "h"}
		if err := a.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		s := &restauth.Session{ID: id, UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := a.CreateSession(ctx, s, &restauth.RefreshRecord{Hash: []byte(id), CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			_, err := dbs[i%2].RotateRefresh(ctx, restauth.Rotation{OldHash: []byte(id), NewHash: []byte(id + "-child"), Now: now})
			errs <- err
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: got error %v, want none", err)
		}
	}
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn        string
		wantBase   string
		wantPath   string
		wantMemory bool
		wantErr    bool
	}{
		{dsn: "/var/lib/restauth/db.sqlite", wantBase: "/var/lib/restauth/db.sqlite", wantPath: "/var/lib/restauth/db.sqlite"},
		{dsn: "rel.db", wantBase: "rel.db", wantPath: "rel.db"},
		{dsn: "sqlite:rel.db", wantBase: "rel.db", wantPath: "rel.db"},
		{dsn: "sqlite:///abs/x.db", wantBase: "/abs/x.db", wantPath: "/abs/x.db"},
		{dsn: "sqlite:/abs/x.db?_pragma=cache_size(-2000)", wantBase: "/abs/x.db", wantPath: "/abs/x.db"},
		{dsn: "file:/abs/x.db?cache=private", wantBase: "file:/abs/x.db", wantPath: "/abs/x.db"},
		{dsn: "file:///abs/my%20db.db", wantBase: "file:///abs/my%20db.db", wantPath: "/abs/my db.db"},
		{dsn: "file:rel.db", wantBase: "file:rel.db", wantPath: "rel.db"},
		{dsn: ":memory:", wantBase: ":memory:", wantMemory: true},
		{dsn: "sqlite::memory:", wantBase: ":memory:", wantMemory: true},
		{dsn: "file::memory:", wantBase: "file::memory:", wantMemory: true},
		{dsn: "file:x?mode=memory", wantBase: "file:x", wantMemory: true},
		{dsn: "", wantErr: true},
		{dsn: "sqlite:", wantErr: true},
		{dsn: "x.db?_txlock=deferred", wantErr: true},
		{dsn: "x.db?_pragma=synchronous(OFF)", wantErr: true},
		{dsn: "x.db?_pragma=journal_mode=DELETE", wantErr: true},
		{dsn: "x.db?_pragma=query_only(1)", wantErr: true},
		{dsn: "x.db?_journal_mode=DELETE", wantErr: true},
		{dsn: "x.db?a=%zz", wantErr: true},
	}
	for _, tt := range tests {
		src, err := parseDSN(tt.dsn)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseDSN(%q) error = %v, want error %v", tt.dsn, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if src.base != tt.wantBase || src.path != tt.wantPath || src.memory != tt.wantMemory {
			t.Errorf("parseDSN(%q) = {base:%q path:%q memory:%v}, want {base:%q path:%q memory:%v}",
				tt.dsn, src.base, src.path, src.memory, tt.wantBase, tt.wantPath, tt.wantMemory)
		}
	}
}

func TestOpenFileURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uri.db")
	db, err := Open(t.Context(), "file:"+path+"?cache=private")
	if err != nil {
		t.Fatalf("Open(file: URI): %v", err)
	}
	defer db.Close()
	if err := db.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at %q: %v", path, err)
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
		{"no rows", sql.ErrNoRows, restauth.ENotFound, restauth.ErrNotFound},
		{"conn done", sql.ErrConnDone, restauth.EUnavailable, restauth.ErrStoreUnavailable},
		{"domain error kept", restauth.ErrUsernameTaken, restauth.EUsernameTaken, restauth.ErrUsernameTaken},
		{"invalid text", fmt.Errorf("sql: converting argument $1 type: %w", errInvalidText), restauth.EInvalid, restauth.ErrInvalidData},
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
	}
	// Clients never see the cause of an internal error.
	if msg := restauth.ErrorMessage(storeErr("op", errors.New("near \"SELEC\": syntax error"))); strings.Contains(msg, "SELEC") {
		t.Errorf("client message %q leaks the SQL error", msg)
	}
}

func TestClosedDBUnavailable(t *testing.T) {
	db, _ := openTemp(t)
	db.Close()
	if err := db.Ping(t.Context()); err == nil {
		t.Errorf("Ping after Close: got success, want an error")
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"", "x.db", "sqlite:///a", "file:///a%20b?mode=ro", ":memory:", "file:x?mode=memory&_pragma=cache_size(1)", "x?%", "file://host"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		src, err := parseDSN(dsn)
		if err != nil {
			return
		}
		if src.base == "" {
			t.Errorf("parseDSN(%q) accepted an empty base", dsn)
		}
		if src.memory && src.path != "" {
			t.Errorf("parseDSN(%q) = memory with path %q", dsn, src.path)
		}
		// The driver DSN always carries the store's own settings.
		for _, ro := range []bool{false, true} {
			if d := src.dsn(ro); !strings.Contains(d, "synchronous%28FULL%29") {
				t.Errorf("dsn(%v) = %q lacks synchronous(FULL)", ro, d)
			}
		}
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(tb testing.TB) storetest.Store {
		db, _ := openTemp(tb)
		return db
	})
}
