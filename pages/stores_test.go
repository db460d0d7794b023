package pages

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // The "pgx" driver, for counting rows.

	"github.com/restauth/restauth/postgres"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/storetest"
)

// postgresEnv names the environment variable that points the tests at a
// PostgreSQL server; the stores' and the API's tests read the same one.
const postgresEnv = "RESTAUTH_TEST_POSTGRES"

// testStore is what the pages' tests need of a store: everything the
// Service and the signing-key ring use, plus the probes.
type testStore interface {
	storetest.Store
	Ping(ctx context.Context) error
	Close() error
}

// storeKind opens fresh, empty, migrated stores of one kind. The tests that
// take hostile input run on every kind testStores returns, because
// PostgreSQL refuses bytes (invalid UTF-8, NUL) that SQLite stores.
type storeKind struct {
	name string
	// open returns a fresh store, closed when the test ends, and a plain
	// database/sql handle on the same database for counting its rows.
	open func(t testing.TB) (testStore, *sql.DB)
}

var (
	sqliteStore   = storeKind{name: "sqlite", open: openSQLite}
	postgresStore = storeKind{name: "postgres", open: openPostgres}
)

// testStores returns SQLite always and PostgreSQL when RESTAUTH_TEST_POSTGRES
// is set.
func testStores() []storeKind {
	if os.Getenv(postgresEnv) == "" {
		return []storeKind{sqliteStore}
	}
	return []storeKind{sqliteStore, postgresStore}
}

// forEachStore runs fn as one subtest per store of testStores, named after
// the store.
func forEachStore(t *testing.T, fn func(t *testing.T, kind storeKind)) {
	t.Helper()
	for _, kind := range testStores() {
		t.Run(kind.name, func(t *testing.T) { fn(t, kind) })
	}
}

func openSQLite(t testing.TB) (testStore, *sql.DB) {
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
func openPostgres(t testing.TB) (testStore, *sql.DB) {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Fatalf("%s is not set: the PostgreSQL store cannot be opened", postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got one that does not parse as such (%v)", postgresEnv, err)
	}
	schema := "restauth_pages_" + strings.ToLower(rand.Text()[:16])
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
