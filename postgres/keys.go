package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

// SigningKeys returns every key whose ExpiresAt is zero or after now, oldest
// first.
func (db *DB) SigningKeys(ctx context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	var keys []*restauth.SigningKey
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT id, algorithm, private_key, public_key, created_at, activates_at, expires_at
			FROM signing_keys WHERE expires_at IS NULL OR expires_at > $1
			ORDER BY created_at, id`, now)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*restauth.SigningKey, error) {
			var k restauth.SigningKey
			var expires *time.Time
			if err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &k.CreatedAt, &k.ActivatesAt, &expires); err != nil {
				return nil, err
			}
			k.CreatedAt, k.ActivatesAt, k.ExpiresAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC(), fromNull(expires)
			return &k, nil
		})
		return err
	})
	if err != nil {
		return nil, storeErr("list signing keys", err)
	}
	return keys, nil
}

// AddSigningKey stores k and notifies the other instances, so that they
// publish it at once; a key id that exists already is an error. The private
// key is stored as given: restrict access to the database.
func (db *DB) AddSigningKey(ctx context.Context, k *restauth.SigningKey) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx,
				`INSERT INTO signing_keys (id, algorithm, private_key, public_key, created_at, activates_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				k.ID, k.Algorithm, k.PrivateKey, k.PublicKey, k.CreatedAt, k.ActivatesAt, nullTime(k.ExpiresAt))
			if err != nil {
				return err
			}
			return db.notify(ctx, tx, kindKeys)
		})
	})
	return storeErr("add signing key", err)
}

// RetireSigningKeys sets ExpiresAt to expiresAt on every key other than keep
// that has not been retired yet, notifying the other instances when any
// was; keys retired earlier keep their expiry.
func (db *DB) RetireSigningKeys(ctx context.Context, keep string, expiresAt time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx,
				`UPDATE signing_keys SET expires_at = $1 WHERE expires_at IS NULL AND id <> $2`, expiresAt, keep)
			if err != nil || tag.RowsAffected() == 0 {
				return err
			}
			return db.notify(ctx, tx, kindKeys)
		})
	})
	return storeErr("retire signing keys", err)
}

// Secret returns the secret stored under name. When there is none it calls
// gen and stores the result unless another caller, on any instance, stored
// one first; every caller receives the one value that was stored. The
// INSERT ... ON CONFLICT DO NOTHING waits for a concurrent insert of the
// same name to commit, so the SELECT after it always finds the winner.
func (db *DB) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, storeErr("get secret", err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("postgres: generate secret %q: %w", name, err)
	}
	err = db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		if _, err := c.Exec(ctx,
			`INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return c.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if err != nil {
		return nil, storeErr("store secret", err)
	}
	return value, nil
}
