package main

import (
	"context"

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
