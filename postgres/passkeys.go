package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.PasskeyStore = (*DB)(nil)

const passkeyCols = `id, user_id, credential_id, name, credential, created_at, last_used_at`

func scanPasskey(row pgx.Row) (*restauth.Passkey, error) {
	var p restauth.Passkey
	var used *time.Time
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &p.CreatedAt, &used); err != nil {
		return nil, err
	}
	p.CreatedAt = p.CreatedAt.UTC()
	if used != nil {
		p.LastUsedAt = used.UTC()
	}
	return &p, nil
}

// AddPasskey stores p while its user has fewer than limit passkeys. The
// user's row is locked for the count and the insert, so that concurrent
// registrations, on any instance, cannot pass the limit.
func (db *DB) AddPasskey(ctx context.Context, p *restauth.Passkey, limit int) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var id int64
			if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, p.UserID).Scan(&id); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM passkeys WHERE user_id = $1`, p.UserID).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return restauth.ErrPasskeyLimit
			}
			_, err := tx.Exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
				p.ID, p.UserID, p.CredentialID, p.Name, p.Credential, p.CreatedAt)
			return err
		})
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows), isCode(err, codeForeignKeyViolation):
		return restauth.ErrNotFound
	case isCode(err, codeUniqueViolation):
		return restauth.ErrPasskeyExists
	}
	return storeErr("add passkey", err)
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID int64) ([]*restauth.Passkey, error) {
	var out []*restauth.Passkey
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		out = nil
		rows, err := c.Query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPasskey(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, storeErr("list passkeys", err)
}

// PasskeyByCredentialID returns the passkey with that credential id.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*restauth.Passkey, error) {
	var p *restauth.Passkey
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		p, err = scanPasskey(c.QueryRow(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = $1`, credentialID))
		return err
	})
	return p, storeErr("get passkey", err)
}

// UsePasskey records a use of the passkey.
func (db *DB) UsePasskey(ctx context.Context, id string, credential []byte, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3`, credential, now, id)
		if err != nil {
			return err
		}
		return rowsAffected(tag)
	})
	return storeErr("use passkey", err)
}

// DeletePasskey removes one passkey of userID.
func (db *DB) DeletePasskey(ctx context.Context, userID int64, id string) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return err
		}
		return rowsAffected(tag)
	})
	return storeErr("delete passkey", err)
}

// AddPasskeyChallenge stores c and deletes the challenges that expired.
func (db *DB) AddPasskeyChallenge(ctx context.Context, ch *restauth.PasskeyChallenge, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM passkey_challenges WHERE expires_at <= $1`, now); err != nil {
				return err
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO passkey_challenges (id, user_id, kind, state, expires_at) VALUES ($1, $2, $3, $4, $5)`,
				ch.ID, ch.UserID, ch.Kind, ch.State, ch.ExpiresAt)
			return err
		})
	})
	return storeErr("add passkey challenge", err)
}

// TakePasskeyChallenge deletes the challenge and returns it, in one
// statement; an expired one is deleted too but not returned.
func (db *DB) TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (*restauth.PasskeyChallenge, error) {
	var ch restauth.PasskeyChallenge
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx,
			`DELETE FROM passkey_challenges WHERE id = $1 RETURNING id, user_id, kind, state, expires_at`, id).
			Scan(&ch.ID, &ch.UserID, &ch.Kind, &ch.State, &ch.ExpiresAt)
	})
	if err != nil {
		return nil, storeErr("take passkey challenge", err)
	}
	if !now.Before(ch.ExpiresAt) {
		return nil, restauth.ErrNotFound
	}
	ch.ExpiresAt = ch.ExpiresAt.UTC()
	return &ch, nil
}
