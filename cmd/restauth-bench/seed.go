package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/sqlite"
)

// seedChunk is the number of users imported per transaction.
const seedChunk = 10_000

// username returns the name of seeded user i (1-based). Every name has the
// same length, so that every GET /api/resource answer has the same size.
func username(i int) string { return fmt.Sprintf("bench-%07d", i) }

// database is one database restauth runs on during the benchmark.
type database struct {
	kind  string // "sqlite" or "postgres".
	dsn   string // restauth's --db.
	users int
	seed  time.Duration // Time to create and fill it.
}

// seeder creates databases of seeded users on one kind of store. Every
// user has the same password and so shares one precomputed argon2id hash:
// seeding a million users costs no hashing at all.
type seeder interface {
	create(ctx context.Context, name string, users int, hash string) (*database, error)
	cleanup(ctx context.Context)
}

// sqliteSeeder creates SQLite files in a directory, through the store's
// bulk import.
type sqliteSeeder struct{ dir string }

func (s sqliteSeeder) create(ctx context.Context, name string, n int, hash string) (*database, error) {
	start := time.Now()
	path := filepath.Join(s.dir, name+".db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	users := make([]restauth.User, 0, seedChunk)
	for first := 1; first <= n; first += seedChunk {
		users = users[:0]
		for i := first; i < first+seedChunk && i <= n; i++ {
			users = append(users, restauth.User{Username: username(i), PasswordHash: hash})
		}
		if err := db.ImportUsers(ctx, users); err != nil {
			return nil, fmt.Errorf("seed %s: %w", path, err)
		}
	}
	if err := db.Close(); err != nil {
		return nil, err
	}
	return &database{kind: "sqlite", dsn: path, users: n, seed: time.Since(start)}, nil
}

func (sqliteSeeder) cleanup(context.Context) {}

// pgSeeder creates a fresh schema per database on one PostgreSQL server
// and points restauth at it through search_path, so that runs never see
// each other's rows. restauth's own migrations create the tables (through
// "restauth migrate"); the users are then loaded with COPY.
type pgSeeder struct {
	url     string // The server, as given to -postgres.
	bin     string // The restauth binary, for migrate.
	prefix  string
	schemas []string
}

func (s *pgSeeder) create(ctx context.Context, name string, n int, hash string) (*database, error) {
	start := time.Now()
	schema := s.prefix + "_" + name
	admin, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE; CREATE SCHEMA "+ident); err != nil {
		return nil, fmt.Errorf("postgres: create schema: %w", err)
	}
	s.schemas = append(s.schemas, schema)
	dsn, err := withSearchPath(s.url, schema)
	if err != nil {
		return nil, err
	}
	migrate := exec.CommandContext(ctx, s.bin, "migrate", "--db", dsn)
	migrate.Env = cleanEnv(nil)
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("restauth migrate on postgres: %v: %s", err, out)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if err := copyUsers(ctx, conn, schema, n, hash); err != nil {
		return nil, err
	}
	return &database{kind: "postgres", dsn: dsn, users: n, seed: time.Since(start)}, nil
}

// copyUsers loads n users with COPY. The columns follow the PostgreSQL
// store's schema as found, so that the harness does not have to change
// with it: username_key is filled when present, created_at as unix
// microseconds or as a timestamp, whichever its type is.
func copyUsers(ctx context.Context, conn *pgx.Conn, schema string, n int, hash string) error {
	rows, err := conn.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = 'users'`, schema)
	if err != nil {
		return err
	}
	types := map[string]string{}
	for rows.Next() {
		var col, typ string
		if err := rows.Scan(&col, &typ); err != nil {
			return err
		}
		types[col] = typ
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if types["username"] == "" || types["password_hash"] == "" {
		return fmt.Errorf("postgres: no users(username, password_hash) table in schema %s after migrate", schema)
	}
	cols := []string{"username", "password_hash"}
	_, hasKey := types["username_key"]
	if hasKey {
		cols = append(cols, "username_key")
	}
	now := time.Now()
	var created any
	switch types["created_at"] {
	case "":
	case "bigint", "integer":
		created = now.UnixMicro()
	default:
		created = now
	}
	if created != nil {
		cols = append(cols, "created_at")
	}
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		i++
		name := username(i)
		row := []any{name, hash}
		if hasKey {
			row = append(row, name) // Seeded names are already lower case.
		}
		if created != nil {
			row = append(row, created)
		}
		return row, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{schema, "users"}, cols, src); err != nil {
		return fmt.Errorf("postgres: copy users: %w", err)
	}
	return nil
}

func (s *pgSeeder) cleanup(ctx context.Context) {
	if len(s.schemas) == 0 {
		return
	}
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "restauth-bench: postgres cleanup:", err)
		return
	}
	defer conn.Close(ctx)
	for _, schema := range s.schemas {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "restauth-bench: postgres cleanup:", err)
		}
	}
}

// withSearchPath adds search_path to a postgres:// URL; pgx sends unknown
// URL parameters as run-time parameters.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("-postgres must be a postgres:// URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
