package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// Sweep deletes sessions that ended (expired or revoked) before
// sessionsBefore, their refresh tokens by cascade, and counters last
// incremented before countersBefore, and user-level revocations older than
// sessionsBefore.
func (db *DB) Sweep(ctx context.Context, sessionsBefore, countersBefore time.Time) (int64, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`DELETE FROM sessions WHERE expires_at < ?1 OR (revoked_at IS NOT NULL AND revoked_at < ?1)`,
			micros(sessionsBefore))
		if err != nil {
			return err
		}
		s, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM counters WHERE last < ?`, micros(countersBefore))
		if err != nil {
			return err
		}
		c, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM user_revocations WHERE revoked_at < ?`, micros(sessionsBefore))
		if err != nil {
			return err
		}
		u, _ := res.RowsAffected()
		n = s + c + u
		return nil
	})
	return n, storeErr("sweep", err)
}
