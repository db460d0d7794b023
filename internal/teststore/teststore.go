// Package teststore opens the stores the HTTP-facing tests run on: SQLite
// always, PostgreSQL when RESTAUTH_TEST_POSTGRES is set, each fresh, empty
// and migrated, with a plain database/sql handle on the same database for
// looking at its rows. The JSON API's and the pages' tests share it so that
// both run on the same stores, opened the same way.
package teststore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // The "pgx" driver, for the raw handle.

	"github.com/restauth/restauth/postgres"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/storetest"
)

// PostgresEnv names the environment variable that points the tests at a
// PostgreSQL server; the PostgreSQL store's own tests read the same one.
const PostgresEnv = "RESTAUTH_TEST_POSTGRES"

// Store is what the HTTP-facing tests need of a store: everything the
// Service and the signing-key ring use, plus the probes.
type Store interface {
	storetest.Store
	Ping(ctx context.Context) error
	Close() error
}

// Kind opens fresh, empty, migrated stores of one kind. The tests that take
// hostile input run on every kind Kinds returns, because a database that
// refuses some bytes (PostgreSQL and invalid UTF-8 or NUL) turns input that
// another one stores or ignores into an error.
type Kind struct {
	Name string
	// Open returns a fresh store, closed when the test ends, and a plain
	// database/sql handle on the same database for looking at its rows.
	Open func(t testing.TB) (Store, *sql.DB)
}

var (
	// SQLite opens a store in a file in the test's temporary directory.
	SQLite = Kind{Name: "sqlite", Open: openSQLite}
	// Postgres opens a store in a fresh schema of the server that
	// RESTAUTH_TEST_POSTGRES names; the test fails when it is not set.
	Postgres = Kind{Name: "postgres", Open: openPostgres}
)

// Kinds returns SQLite always and PostgreSQL when RESTAUTH_TEST_POSTGRES is
// set.
func Kinds() []Kind {
	if os.Getenv(PostgresEnv) == "" {
		return []Kind{SQLite}
	}
	return []Kind{SQLite, Postgres}
}

// ForEach runs fn as one subtest per store of Kinds, named after the store.
func ForEach(t *testing.T, fn func(t *testing.T, kind Kind)) {
	t.Helper()
	for _, kind := range Kinds() {
		t.Run(kind.Name, func(t *testing.T) { fn(t, kind) })
	}
}

func openSQLite(t testing.TB) (Store, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return st, raw
}

// openPostgres creates a schema with a random name, dropped when the test
// ends, and opens the store on it through search_path, as the PostgreSQL
// store's own tests do.
func openPostgres(t testing.TB) (Store, *sql.DB) {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Fatalf("%s is not set: the PostgreSQL store cannot be opened", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got one that does not parse as such (%v)", PostgresEnv, err)
	}
	schema := "restauth_test_" + strings.ToLower(rand.Text()[:16])
	pgAdmin(t, base, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { pgAdmin(t, base, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()

	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	t.Cleanup(func() { raw.Close() })
	return st, raw
}

// pgAdmin runs one statement on a connection of its own.
func pgAdmin(t testing.TB, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// StoredTables are every table a request to the JSON API, the pages or
// the OAuth endpoints can write; TakeSnapshot reads them.
var StoredTables = []string{"users", "sessions", "refresh_tokens", "counters", "signing_keys", "secrets", "totp", "recovery_codes", "mfa_challenges",
	"api_keys", "passkeys", "passkey_challenges", "browser_sessions", "user_revocations",
	"oauth_clients", "oauth_requests", "oauth_codes", "oauth_sessions", "oauth_consents", "oauth_device_codes", "oauth_id_keys"}

// RawRows returns every row of table, each printed as one line, in a
// stable order: what the database holds, independent of what the stores'
// interfaces choose to expose.
func RawRows(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	return Rows(ctx, db, `SELECT * FROM `+table+` ORDER BY 1`, func(cols []string, vals []any) string {
		var b strings.Builder
		for i, v := range vals {
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%q ", cols[i], fmt.Sprint(v))
		}
		return b.String()
	})
}

// Rows runs query and returns each row as line prints it, given the
// column names and the row's values.
func Rows(ctx context.Context, db *sql.DB, query string, line func(cols []string, vals []any) string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, line(cols, vals))
	}
	return out, rows.Err()
}

// Snapshot is every row of every table of StoredTables, by table.
type Snapshot map[string][]string

// TakeSnapshot reads every row of every table of StoredTables.
func TakeSnapshot(ctx context.Context, db *sql.DB) (Snapshot, error) {
	s := Snapshot{}
	for _, table := range StoredTables {
		rows, err := RawRows(ctx, db, table)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		s[table] = rows
	}
	return s, nil
}

// Diff names the tables whose rows differ between s and other, leaving out
// those in except.
func (s Snapshot) Diff(other Snapshot, except ...string) []string {
	var changed []string
	for _, table := range StoredTables {
		if slices.Contains(except, table) {
			continue
		}
		if strings.Join(s[table], "\n") != strings.Join(other[table], "\n") {
			changed = append(changed, table)
		}
	}
	return changed
}
