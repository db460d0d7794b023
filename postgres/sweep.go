package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.Sweeper = (*DB)(nil)

// Sweep deletes sessions that ended (expired or revoked) before
// sessionsBefore, their refresh tokens by cascade, and counters last
// incremented before countersBefore, and user-level revocations older than
// sessionsBefore, in one transaction, returning the number of rows deleted. Several instances sweeping at
// once only delete the same rows once.
func (db *DB) Sweep(ctx context.Context, sessionsBefore, countersBefore time.Time) (int64, error) {
	var n int64
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			s, err := tx.Exec(ctx,
				`DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)`,
				sessionsBefore)
			if err != nil {
				return err
			}
			k, err := tx.Exec(ctx, `DELETE FROM counters WHERE last < $1`, countersBefore)
			if err != nil {
				return err
			}
			u, err := tx.Exec(ctx, `DELETE FROM user_revocations WHERE revoked_at < $1`, sessionsBefore)
			if err != nil {
				return err
			}
			n = s.RowsAffected() + k.RowsAffected() + u.RowsAffected()
			return nil
		})
	})
	if err != nil {
		return 0, storeErr("sweep", err)
	}
	return n, nil
}
