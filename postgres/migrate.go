package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth/migration"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations:
// "restauth" in ASCII, fixed so that every instance and release agrees. It
// is database-wide, so schemas in one database also migrate one at a time,
// which costs nothing.
const migrationLockKey int64 = 0x7265737461757468

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) {
	ms, err := migration.Load(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", "postgres", err)
	}
	return ms, nil
}

// Migrate applies every embedded migration that the schema lacks, in
// version order, each in its own transaction together with its row in
// schema_migrations. It holds a session-level advisory lock throughout, on a
// connection of its own that is closed afterwards, so instances starting
// together apply each migration once and the lock can never be left behind
// on a pooled connection. It is idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := db.migrate(ctx)
	return err
}

// migrate is Migrate, returning the schema the tables live in.
func (db *DB) migrate(ctx context.Context) (string, error) {
	ms, err := migrations()
	if err != nil {
		return "", err
	}
	c, err := pgx.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return "", explainConnect(db.cfg, err)
	}
	defer closeConn(c)

	var schema *string
	if err := c.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", storeErr("migrate", err)
	}
	if schema == nil {
		var path string
		if err := c.QueryRow(ctx, `SHOW search_path`).Scan(&path); err != nil {
			return "", storeErr("migrate", err)
		}
		return "", fmt.Errorf("postgres: no schema of the search_path (%s) exists in database %q: create it first (CREATE SCHEMA name), or correct search_path in the URL",
			path, db.cfg.Database)
	}
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return "", storeErr("migrate: take the migration lock", err)
	}
	// Closing the connection releases the lock too; unlocking first lets
	// the next instance go on without waiting for the close.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_, _ = c.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrationLockKey)
	}()

	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      PRIMARY KEY,
		applied_at timestamptz NOT NULL
	)`
	if err := refuseForeign(ctx, c, *schema); err != nil {
		if errors.Is(err, migration.ErrForeign) {
			return "", err
		}
		return "", storeErr("migrate", err)
	}
	if _, err := c.Exec(ctx, create); err != nil {
		return "", storeErr("migrate", err)
	}
	applied, err := appliedVersions(ctx, c)
	if err != nil {
		return "", storeErr("migrate", err)
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, time.Now())
			return err
		})
		if err != nil {
			return "", storeErr("migrate", err)
		}
	}
	return *schema, nil
}

// appliedVersions returns the versions recorded in schema_migrations.
func appliedVersions(ctx context.Context, c *pgx.Conn) (map[int64]bool, error) {
	rows, err := c.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	applied := make(map[int64]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

// MigrationsCurrent reports whether every embedded migration has been
// applied. Versions the binary does not know, applied by a newer release,
// do not make the database less current.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, err
	}
	var current bool
	err = db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var exists bool
		if err := c.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			current = len(ms) == 0
			return nil
		}
		applied, err := appliedVersions(ctx, c)
		if err != nil {
			return err
		}
		current = true
		for _, m := range ms {
			current = current && applied[m.Version]
		}
		return nil
	})
	if err != nil {
		return false, storeErr("check migrations", err)
	}
	return current, nil
}

// refuseForeign returns an error when schema is neither empty nor
// restauth's (see migration.CheckOwner), so that restauth never writes into
// another program's tables.
func refuseForeign(ctx context.Context, c *pgx.Conn, schema string) error {
	rows, err := c.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`, schema)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var cols []string
	if slices.Contains(tables, migration.Table) {
		rows, err := c.Query(ctx, `SELECT a.attname::text FROM pg_attribute a
			WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
			ORDER BY a.attnum`, schema, migration.Table)
		if err != nil {
			return err
		}
		if cols, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
	}
	if err := migration.CheckOwner(tables, cols); err != nil {
		return fmt.Errorf("postgres: schema %q is %w, and was left unchanged; give restauth a new database, "+
			"or a schema of its own (CREATE SCHEMA restauth, then search_path=restauth in the URL)", schema, err)
	}
	return nil
}
