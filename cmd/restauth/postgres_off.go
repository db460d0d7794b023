package main

import (
	"context"
	"errors"
)

// openPostgres is replaced when the PostgreSQL store lands.
func openPostgres(ctx context.Context, dsn string) (store, error) {
	return nil, errors.New("postgres is not supported by this build")
}
