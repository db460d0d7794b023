package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.APIKeyStore = (*DB)(nil)

const apiKeyCols = `k.id, k.user_id, k.name, k.scopes, k.created_at, k.last_used_at, k.expires_at`

func scanAPIKey(row pgx.Row, extra ...any) (*restauth.APIKey, error) {
	var k restauth.APIKey
	var scopes string
	var used, expires *time.Time
	dest := append([]any{&k.ID, &k.UserID, &k.Name, &scopes, &k.CreatedAt, &used, &expires}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	k.Scopes = strings.Fields(scopes)
	k.CreatedAt, k.LastUsedAt, k.ExpiresAt = k.CreatedAt.UTC(), fromNull(used), fromNull(expires)
	return &k, nil
}

// CreateAPIKey stores k unless its user already holds max keys. The user's
// row is locked first, so that concurrent creations for one user count one
// after the other and cannot pass the limit together.
func (db *DB) CreateAPIKey(ctx context.Context, k *restauth.APIKey, max int) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, k.UserID).Scan(&one); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE user_id = $1`, k.UserID).Scan(&n); err != nil {
				return err
			}
			if n >= max {
				return restauth.ErrTooManyAPIKeys
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO api_keys (id, user_id, name, key_hash, scopes, created_at, last_used_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				k.ID, k.UserID, k.Name, k.Hash, strings.Join(k.Scopes, " "),
				k.CreatedAt, nullTime(k.LastUsedAt), nullTime(k.ExpiresAt))
			return err
		})
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("create API key", err)
}

// APIKeyByHash returns the key whose hash is hash, with its owner's name.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (*restauth.APIKey, error) {
	var k *restauth.APIKey
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var username string
		var err error
		k, err = scanAPIKey(c.QueryRow(ctx,
			`SELECT `+apiKeyCols+`, u.username FROM api_keys k JOIN users u ON u.id = k.user_id
			WHERE k.key_hash = $1`, hash), &username)
		if err == nil {
			k.Username, k.Hash = username, hash
		}
		return err
	})
	if err != nil {
		return nil, storeErr("get API key", err)
	}
	return k, nil
}

// ListAPIKeys returns the user's keys, oldest first, without hashes.
func (db *DB) ListAPIKeys(ctx context.Context, userID int64) ([]*restauth.APIKey, error) {
	var keys []*restauth.APIKey
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT `+apiKeyCols+` FROM api_keys k WHERE k.user_id = $1 ORDER BY k.created_at, k.id`, userID)
		if err != nil {
			return err
		}
		keys, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*restauth.APIKey, error) { return scanAPIKey(row) })
		return err
	})
	if err != nil {
		return nil, storeErr("list API keys", err)
	}
	return keys, nil
}

// DeleteAPIKey deletes one key of the user and records a user-level
// revocation, announced to the other instances when the transaction
// commits.
func (db *DB) DeleteAPIKey(ctx context.Context, userID int64, id string, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM api_keys WHERE id = $1 AND user_id = $2`, id, userID)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			if err := recordUserRevocation(ctx, tx, userID, now); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	return storeErr("delete API key", err)
}

// DeleteUserAPIKeys deletes every key of the user and records a user-level
// revocation, announced to the other instances when the transaction
// commits.
func (db *DB) DeleteUserAPIKeys(ctx context.Context, userID int64, now time.Time) (int, error) {
	var n int64
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `DELETE FROM api_keys WHERE user_id = $1`, userID)
			if err != nil {
				return err
			}
			n = tag.RowsAffected()
			if err := recordUserRevocation(ctx, tx, userID, now); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	if err != nil {
		return 0, storeErr("delete API keys", err)
	}
	return int(n), nil
}

// TouchAPIKeys moves each key's last use forward, never back, with one
// statement.
func (db *DB) TouchAPIKeys(ctx context.Context, uses map[string]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	ids := make([]string, 0, len(uses))
	ats := make([]time.Time, 0, len(uses))
	for id, at := range uses {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx,
			`UPDATE api_keys k SET last_used_at = GREATEST(k.last_used_at, u.at)
			FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at) WHERE k.id = u.id`, ids, ats)
		return err
	})
	return storeErr("touch API keys", err)
}
