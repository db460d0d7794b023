package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/restauth/restauth/migration"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) {
	ms, err := migration.Load(migrationFS)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", "sqlite", err)
	}
	return ms, nil
}

// Migrate applies every embedded migration that the database lacks, in
// version order, each in its own transaction together with its row in
// schema_migrations. It is idempotent, and safe when several processes
// migrate one file at once: each migration is re-checked under the write
// lock before it runs.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`
	// The check and the creation share one write transaction, so that no
	// other process adds tables in between.
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := refuseForeign(ctx, tx, db.name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, create)
		return err
	})
	if errors.Is(err, migration.ErrForeign) {
		return err
	}
	if err != nil {
		return storeErr("migrate", err)
	}
	for _, m := range ms {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("apply %s: %w", m.Name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, micros(time.Now()))
			return err
		})
		if err != nil {
			return storeErr("migrate", err)
		}
	}
	return nil
}

// MigrationsCurrent reports whether every embedded migration has been
// applied. Versions the binary does not know, applied by a newer release,
// do not make the database less current.
func (db *DB) MigrationsCurrent(ctx context.Context) (bool, error) {
	ms, err := migrations()
	if err != nil {
		return false, err
	}
	var tables int
	err = db.read.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&tables)
	if err != nil {
		return false, storeErr("check migrations", err)
	}
	if tables == 0 {
		return len(ms) == 0, nil
	}
	rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return false, storeErr("check migrations", err)
	}
	defer rows.Close()
	applied := make(map[int64]bool)
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return false, storeErr("check migrations", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return false, storeErr("check migrations", err)
	}
	for _, m := range ms {
		if !applied[m.Version] {
			return false, nil
		}
	}
	return true, nil
}

// refuseForeign returns an error when the database is neither empty nor
// restauth's (see migration.CheckOwner), so that restauth never writes into
// another program's database. name is the database as the operator named
// it, for the message.
func refuseForeign(ctx context.Context, q querier, name string) error {
	tables, err := queryIDs(ctx, q,
		`SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	var cols []string
	if slices.Contains(tables, migration.Table) {
		cols, err = queryIDs(ctx, q, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, migration.Table)
		if err != nil {
			return err
		}
	}
	if err := migration.CheckOwner(tables, cols); err != nil {
		return fmt.Errorf("sqlite: database %s is %w, and was left unchanged; give restauth a new file, or one that restauth created", name, err)
	}
	return nil
}
