package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ restauth.PasskeyStore = (*DB)(nil)

const passkeyCols = `id, user_id, credential_id, name, credential, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (*restauth.Passkey, error) {
	var p restauth.Passkey
	var created int64
	var used sql.NullInt64
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &created, &used); err != nil {
		return nil, err
	}
	p.CreatedAt, p.LastUsedAt = fromMicros(created), fromNullMicros(used)
	return &p, nil
}

// AddPasskey stores p while its user has fewer than limit passkeys. The
// count and the insert share the write transaction, which SQLite runs one
// at a time, so that concurrent registrations cannot pass the limit.
func (db *DB) AddPasskey(ctx context.Context, p *restauth.Passkey, limit int) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ?`, p.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return restauth.ErrPasskeyLimit
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?, ?, ?, ?, ?, ?, NULL)`,
			p.ID, p.UserID, p.CredentialID, p.Name, p.Credential, micros(p.CreatedAt))
		return err
	})
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return restauth.ErrNotFound
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return restauth.ErrPasskeyExists
	}
	return storeErr("add passkey", err)
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID int64) ([]*restauth.Passkey, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, storeErr("list passkeys", err)
	}
	defer rows.Close()
	var out []*restauth.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, storeErr("list passkeys", err)
		}
		out = append(out, p)
	}
	return out, storeErr("list passkeys", rows.Err())
}

// PasskeyByCredentialID returns the passkey with that credential id.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*restauth.Passkey, error) {
	p, err := scanPasskey(db.read.QueryRowContext(ctx,
		`SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, credentialID))
	return p, storeErr("get passkey", err)
}

// UsePasskey records a use of the passkey.
func (db *DB) UsePasskey(ctx context.Context, id string, credential []byte, now time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE passkeys SET credential = ?, last_used_at = ? WHERE id = ?`, credential, micros(now), id)
	if err != nil {
		return storeErr("use passkey", err)
	}
	return rowsAffected(res)
}

// DeletePasskey removes one passkey of userID.
func (db *DB) DeletePasskey(ctx context.Context, userID int64, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return storeErr("delete passkey", err)
	}
	return rowsAffected(res)
}

// AddPasskeyChallenge stores c and deletes the challenges that expired.
func (db *DB) AddPasskeyChallenge(ctx context.Context, c *restauth.PasskeyChallenge, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO passkey_challenges (id, user_id, kind, state, expires_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Kind, c.State, micros(c.ExpiresAt))
		return err
	})
	return storeErr("add passkey challenge", err)
}

// TakePasskeyChallenge deletes the challenge and returns it, in one
// statement; an expired one is deleted too but not returned.
func (db *DB) TakePasskeyChallenge(ctx context.Context, id string, now time.Time) (*restauth.PasskeyChallenge, error) {
	var c restauth.PasskeyChallenge
	var exp int64
	err := db.write.QueryRowContext(ctx,
		`DELETE FROM passkey_challenges WHERE id = ? RETURNING id, user_id, kind, state, expires_at`, id).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.State, &exp)
	if err != nil {
		return nil, storeErr("take passkey challenge", err)
	}
	c.ExpiresAt = fromMicros(exp)
	if !now.Before(c.ExpiresAt) {
		return nil, restauth.ErrNotFound
	}
	return &c, nil
}
