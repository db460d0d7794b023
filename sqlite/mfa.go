package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ restauth.MFAStore = (*DB)(nil)

// PutPendingTOTP stores a pending enrolment, replacing a pending one but
// never a confirmed one, with one upsert.
func (db *DB) PutPendingTOTP(ctx context.Context, userID int64, secret []byte, now time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`INSERT INTO totp (user_id, secret, created_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (user_id) DO UPDATE SET secret = ?2, created_at = ?3, last_step = 0
		WHERE confirmed_at IS NULL`,
		userID, secret, micros(now))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	if err != nil {
		return storeErr("put pending totp", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return restauth.ErrTOTPActive
	}
	return nil
}

// TOTP returns the user's enrolment, pending or confirmed.
func (db *DB) TOTP(ctx context.Context, userID int64) (*restauth.TOTPRecord, error) {
	r := &restauth.TOTPRecord{UserID: userID}
	var created int64
	var confirmed sql.NullInt64
	err := db.stmts.totp.queryRow(ctx, db.read, userID).Scan(&r.Secret, &created, &confirmed, &r.LastStep)
	if err != nil {
		return nil, lookupErr("get totp", err)
	}
	r.CreatedAt, r.ConfirmedAt = fromMicros(created), fromNullMicros(confirmed)
	return r, nil
}

// ConfirmTOTP confirms the pending enrolment and replaces the recovery
// codes in one transaction.
func (db *DB) ConfirmTOTP(ctx context.Context, userID int64, step int64, recoveryHashes [][]byte, now time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL`,
			micros(now), step, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, restauth.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, restauth.ErrNotFound) {
		return restauth.ErrNotFound
	}
	return storeErr("confirm totp", err)
}

// UseTOTPStep moves last_step forward to step with one conditional update;
// a step not after the last one changes nothing.
func (db *DB) UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	res, err := db.write.ExecContext(ctx,
		`UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`,
		step, userID, step)
	if err != nil {
		return false, storeErr("use totp step", err)
	}
	n, err := res.RowsAffected()
	return n == 1, storeErr("use totp step", err)
}

// UseRecoveryCode deletes one recovery code; only one of concurrent uses
// deletes it.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	res, err := db.write.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash)
	if err != nil {
		return false, storeErr("use recovery code", err)
	}
	n, err := res.RowsAffected()
	return n == 1, storeErr("use recovery code", err)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n)
	return n, storeErr("count recovery codes", err)
}

// DeleteMFA removes the user's enrolment and recovery codes in one
// transaction.
func (db *DB) DeleteMFA(ctx context.Context, userID int64) (bool, error) {
	var removed bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM totp WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		removed = n > 0
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp WHERE user_id = ?`, userID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID)
		return err
	})
	return removed, storeErr("delete mfa", err)
}

// CreateMFAChallenge stores c after deleting the expired challenges.
func (db *DB) CreateMFAChallenge(ctx context.Context, c *restauth.MFAChallenge) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= ?`, micros(c.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO mfa_challenges (hash, user_id, client_ip, user_agent, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
			c.Hash, c.UserID, c.ClientIP, c.UserAgent, micros(c.CreatedAt), micros(c.ExpiresAt))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("create mfa challenge", err)
}

const challengeCols = `hash, user_id, client_ip, user_agent, created_at, expires_at`

func scanChallenge(row *sql.Row) (*restauth.MFAChallenge, error) {
	c := &restauth.MFAChallenge{}
	var created, expires int64
	if err := row.Scan(&c.Hash, &c.UserID, &c.ClientIP, &c.UserAgent, &created, &expires); err != nil {
		return nil, err
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return c, nil
}

// MFAChallenge returns the unexpired challenge whose token hashes to hash.
func (db *DB) MFAChallenge(ctx context.Context, hash []byte, now time.Time) (*restauth.MFAChallenge, error) {
	c, err := scanChallenge(db.read.QueryRowContext(ctx,
		`SELECT `+challengeCols+` FROM mfa_challenges WHERE hash = ? AND expires_at > ?`, hash, micros(now)))
	return c, lookupErr("get mfa challenge", err)
}

// ConsumeMFAChallenge deletes the unexpired challenge and returns it, in
// one statement.
func (db *DB) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*restauth.MFAChallenge, error) {
	c, err := scanChallenge(db.write.QueryRowContext(ctx,
		`DELETE FROM mfa_challenges WHERE hash = ? AND expires_at > ? RETURNING `+challengeCols, hash, micros(now)))
	return c, lookupErr("consume mfa challenge", err)
}
