package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ restauth.APIKeyStore = (*DB)(nil)

const apiKeyCols = `k.id, k.user_id, k.name, k.scopes, k.created_at, k.last_used_at, k.expires_at`

func scanAPIKey(row interface{ Scan(...any) error }, extra ...any) (*restauth.APIKey, error) {
	var k restauth.APIKey
	var scopes string
	var created int64
	var used, expires sql.NullInt64
	dest := append([]any{&k.ID, &k.UserID, &k.Name, &scopes, &created, &used, &expires}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt, k.ExpiresAt = fromMicros(created), fromNullMicros(used), fromNullMicros(expires)
	return &k, nil
}

// CreateAPIKey stores k unless its user already holds max keys; the count
// and the insert share one write transaction, so concurrent creations
// cannot pass the limit together.
func (db *DB) CreateAPIKey(ctx context.Context, k *restauth.APIKey, max int) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE user_id = ?`, k.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return restauth.ErrTooManyAPIKeys
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO api_keys (id, user_id, name, key_hash, scopes, created_at, last_used_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.UserID, k.Name, k.Hash, strings.Join(k.Scopes, " "),
			micros(k.CreatedAt), nullMicros(k.LastUsedAt), nullMicros(k.ExpiresAt))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("create API key", err)
}

// APIKeyByHash returns the key whose hash is hash, with its owner's name.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (*restauth.APIKey, error) {
	var username string
	k, err := scanAPIKey(db.read.QueryRowContext(ctx,
		`SELECT `+apiKeyCols+`, u.username FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.key_hash = ?`, hash), &username)
	if err != nil {
		return nil, storeErr("get API key", err)
	}
	k.Username = username
	k.Hash = hash
	return k, nil
}

// ListAPIKeys returns the user's keys, oldest first, without hashes.
func (db *DB) ListAPIKeys(ctx context.Context, userID int64) ([]*restauth.APIKey, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT `+apiKeyCols+` FROM api_keys k WHERE k.user_id = ? ORDER BY k.created_at, k.id`, userID)
	if err != nil {
		return nil, storeErr("list API keys", err)
	}
	defer rows.Close()
	var keys []*restauth.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, storeErr("list API keys", err)
		}
		keys = append(keys, k)
	}
	return keys, storeErr("list API keys", rows.Err())
}

// DeleteAPIKey deletes one key of the user and records a user-level
// revocation, in one transaction.
func (db *DB) DeleteAPIKey(ctx context.Context, userID int64, id string, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		return recordUserRevocation(ctx, tx, userID, now)
	})
	return storeErr("delete API key", err)
}

// DeleteUserAPIKeys deletes every key of the user and records a user-level
// revocation, in one transaction.
func (db *DB) DeleteUserAPIKeys(ctx context.Context, userID int64, now time.Time) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_keys WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return recordUserRevocation(ctx, tx, userID, now)
	})
	if err != nil {
		return 0, storeErr("delete API keys", err)
	}
	return int(n), nil
}

// TouchAPIKeys moves each key's last use forward, never back, in one
// transaction.
func (db *DB) TouchAPIKeys(ctx context.Context, uses map[string]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			`UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for id, at := range uses {
			if _, err := stmt.ExecContext(ctx, micros(at), id); err != nil {
				return err
			}
		}
		return nil
	})
	return storeErr("touch API keys", err)
}
