package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth/postgres"
)

// openPostgres opens the PostgreSQL store and applies its migrations.
func openPostgres(ctx context.Context, dsn string) (store, error) {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		// A nil *postgres.DB in the interface would not compare equal to nil.
		return nil, err
	}
	return db, nil
}

// postgresHasSchema reports whether the schema the URL selects holds
// restauth's tables, without creating anything.
func postgresHasSchema(ctx context.Context, dsn string) (bool, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return false, err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var ok bool
	err = c.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&ok)
	return ok, err
}
