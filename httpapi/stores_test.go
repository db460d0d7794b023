package httpapi

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
	_ "github.com/jackc/pgx/v5/stdlib" // The "pgx" driver, for rawRows.

	"github.com/restauth/restauth/postgres"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/storetest"
)

// postgresEnv names the environment variable that points the tests at a
// PostgreSQL server; the PostgreSQL store's own tests read the same one.
const postgresEnv = "RESTAUTH_TEST_POSTGRES"

// testStore is what the HTTP tests need of a store: everything the Service
// and the signing-key ring use, plus the probes.
type testStore interface {
	storetest.Store
	Ping(ctx context.Context) error
	Close() error
}

// storeKind opens fresh, empty, migrated stores of one kind. The HTTP tests
// that take hostile input run on every kind testStores returns, because a
// database that refuses some bytes (PostgreSQL and invalid UTF-8 or NUL)
// turns input that another one stores or ignores into an error.
type storeKind struct {
	name string
	// open returns a fresh store, closed when the test ends, and a plain
	// database/sql handle on the same database for looking at its rows.
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
	schema := "restauth_http_" + strings.ToLower(rand.Text()[:16])
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

// storedTables are the tables a request can write; rawRows reads them.
var storedTables = []string{"users", "sessions", "refresh_tokens", "counters", "signing_keys", "secrets"}

// rawRows returns every row of table, each printed as one line, in a
// stable order: what the database holds, independent of what the stores'
// interfaces choose to expose.
func rawRows(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY 1`)
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
		var b strings.Builder
		for i, v := range vals {
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%q ", cols[i], fmt.Sprint(v))
		}
		out = append(out, b.String())
	}
	return out, rows.Err()
}

// snapshot is every row of every table, by table.
type snapshot map[string][]string

func takeSnapshot(ctx context.Context, db *sql.DB) (snapshot, error) {
	s := snapshot{}
	for _, table := range storedTables {
		rows, err := rawRows(ctx, db, table)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		s[table] = rows
	}
	return s, nil
}

// diff names the tables whose rows differ between s and other, leaving out
// those in except.
func (s snapshot) diff(other snapshot, except ...string) []string {
	var changed []string
	for _, table := range storedTables {
		if slices.Contains(except, table) {
			continue
		}
		if strings.Join(s[table], "\n") != strings.Join(other[table], "\n") {
			changed = append(changed, table)
		}
	}
	return changed
}
