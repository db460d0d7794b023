package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/restauth/restauth"
)

// SigningKeys returns every key whose ExpiresAt is zero or after now, oldest
// first.
func (db *DB) SigningKeys(ctx context.Context, now time.Time) ([]*restauth.SigningKey, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, algorithm, private_key, public_key, created_at, activates_at, expires_at
		FROM signing_keys WHERE expires_at IS NULL OR expires_at > ?
		ORDER BY created_at, id`, micros(now))
	if err != nil {
		return nil, storeErr("list signing keys", err)
	}
	defer rows.Close()
	var keys []*restauth.SigningKey
	for rows.Next() {
		var k restauth.SigningKey
		var created, activates int64
		var expires sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &created, &activates, &expires); err != nil {
			return nil, storeErr("list signing keys", err)
		}
		k.CreatedAt, k.ActivatesAt, k.ExpiresAt = fromMicros(created), fromMicros(activates), fromNullMicros(expires)
		keys = append(keys, &k)
	}
	return keys, storeErr("list signing keys", rows.Err())
}

// AddSigningKey stores k; a key id that exists already is an error. The
// private key is stored as given: protect the database file.
func (db *DB) AddSigningKey(ctx context.Context, k *restauth.SigningKey) error {
	_, err := db.write.ExecContext(ctx,
		`INSERT INTO signing_keys (id, algorithm, private_key, public_key, created_at, activates_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PrivateKey, k.PublicKey, micros(k.CreatedAt), micros(k.ActivatesAt), nullMicros(k.ExpiresAt))
	return storeErr("add signing key", err)
}

// RetireSigningKeys sets ExpiresAt to expiresAt on every key other than keep
// that has not been retired yet; keys retired earlier keep their expiry.
func (db *DB) RetireSigningKeys(ctx context.Context, keep string, expiresAt time.Time) error {
	_, err := db.write.ExecContext(ctx,
		`UPDATE signing_keys SET expires_at = ? WHERE expires_at IS NULL AND id <> ?`,
		micros(expiresAt), keep)
	return storeErr("retire signing keys", err)
}

// Secret returns the secret stored under name. When there is none it calls
// gen and stores the result unless another caller stored one first; every
// caller receives the one value that was stored.
func (db *DB) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var value []byte
	err := db.read.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	if err == nil {
		return value, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, storeErr("get secret", err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("sqlite: generate secret %q: %w", name, err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, storeErr("store secret", err)
	}
	return value, nil
}
