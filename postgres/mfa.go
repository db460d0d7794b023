package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.MFAStore = (*DB)(nil)

// PutPendingTOTP stores a pending enrolment, replacing a pending one but
// never a confirmed one, with one upsert.
func (db *DB) PutPendingTOTP(ctx context.Context, userID int64, secret []byte, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx,
			`INSERT INTO totp (user_id, secret, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (user_id) DO UPDATE SET secret = $2, created_at = $3, last_step = 0
			WHERE totp.confirmed_at IS NULL`,
			userID, secret, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return restauth.ErrTOTPActive
		}
		return nil
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("put pending totp", err)
}

// TOTP returns the user's enrolment, pending or confirmed.
func (db *DB) TOTP(ctx context.Context, userID int64) (*restauth.TOTPRecord, error) {
	r := &restauth.TOTPRecord{UserID: userID}
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		var confirmed *time.Time
		err := c.QueryRow(ctx,
			`SELECT secret, created_at, confirmed_at, last_step FROM totp WHERE user_id = $1`, userID).
			Scan(&r.Secret, &r.CreatedAt, &confirmed, &r.LastStep)
		r.CreatedAt, r.ConfirmedAt = r.CreatedAt.UTC(), fromNull(confirmed)
		return err
	})
	if err != nil {
		return nil, lookupErr("get totp", err)
	}
	return r, nil
}

// ConfirmTOTP confirms the pending enrolment and replaces the recovery
// codes in one transaction.
func (db *DB) ConfirmTOTP(ctx context.Context, userID int64, step int64, recoveryHashes [][]byte, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx,
				`UPDATE totp SET confirmed_at = $1, last_step = $2 WHERE user_id = $3 AND confirmed_at IS NULL`,
				now, step, userID)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
				return err
			}
			_, err = tx.Exec(ctx,
				`INSERT INTO recovery_codes (user_id, hash) SELECT $1, h FROM unnest($2::bytea[]) AS h`,
				userID, recoveryHashes)
			return err
		})
	})
	return storeErr("confirm totp", err)
}

// UseTOTPStep moves last_step forward to step with one conditional update;
// a step not after the last one changes nothing.
func (db *DB) UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	var ok bool
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx,
			`UPDATE totp SET last_step = $1 WHERE user_id = $2 AND confirmed_at IS NOT NULL AND last_step < $1`,
			step, userID)
		ok = err == nil && tag.RowsAffected() == 1
		return err
	})
	return ok, storeErr("use totp step", err)
}

// UseRecoveryCode deletes one recovery code; only one of concurrent uses
// deletes it.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	var ok bool
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2`, userID, hash)
		ok = err == nil && tag.RowsAffected() == 1
		return err
	})
	return ok, storeErr("use recovery code", err)
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n)
	})
	return n, storeErr("count recovery codes", err)
}

// DeleteMFA removes the user's enrolment and recovery codes in one
// transaction.
func (db *DB) DeleteMFA(ctx context.Context, userID int64) (bool, error) {
	var removed bool
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var confirmed *time.Time
			err := tx.QueryRow(ctx, `DELETE FROM totp WHERE user_id = $1 RETURNING confirmed_at`, userID).Scan(&confirmed)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			removed = confirmed != nil
			_, err = tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
			return err
		})
	})
	return removed, storeErr("delete mfa", err)
}

// CreateMFAChallenge stores c after deleting the expired challenges.
func (db *DB) CreateMFAChallenge(ctx context.Context, ch *restauth.MFAChallenge) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= $1`, ch.CreatedAt); err != nil {
				return err
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO mfa_challenges (hash, user_id, client_ip, user_agent, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				ch.Hash, ch.UserID, ch.ClientIP, ch.UserAgent, ch.CreatedAt, ch.ExpiresAt)
			return err
		})
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("create mfa challenge", err)
}

const challengeCols = `hash, user_id, client_ip, user_agent, created_at, expires_at`

func scanChallenge(row pgx.Row) (*restauth.MFAChallenge, error) {
	ch := &restauth.MFAChallenge{}
	if err := row.Scan(&ch.Hash, &ch.UserID, &ch.ClientIP, &ch.UserAgent, &ch.CreatedAt, &ch.ExpiresAt); err != nil {
		return nil, err
	}
	ch.CreatedAt, ch.ExpiresAt = ch.CreatedAt.UTC(), ch.ExpiresAt.UTC()
	return ch, nil
}

// MFAChallenge returns the unexpired challenge whose token hashes to hash.
func (db *DB) MFAChallenge(ctx context.Context, hash []byte, now time.Time) (*restauth.MFAChallenge, error) {
	var ch *restauth.MFAChallenge
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		ch, err = scanChallenge(c.QueryRow(ctx,
			`SELECT `+challengeCols+` FROM mfa_challenges WHERE hash = $1 AND expires_at > $2`, hash, now))
		return err
	})
	return ch, lookupErr("get mfa challenge", err)
}

// ConsumeMFAChallenge deletes the unexpired challenge and returns it, in
// one statement.
func (db *DB) ConsumeMFAChallenge(ctx context.Context, hash []byte, now time.Time) (*restauth.MFAChallenge, error) {
	var ch *restauth.MFAChallenge
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		ch, err = scanChallenge(c.QueryRow(ctx,
			`DELETE FROM mfa_challenges WHERE hash = $1 AND expires_at > $2 RETURNING `+challengeCols, hash, now))
		return err
	})
	return ch, lookupErr("consume mfa challenge", err)
}
