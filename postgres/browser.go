package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

var _ restauth.BrowserStore = (*DB)(nil)

// CreateBrowserSession stores s, with no refresh token, and the hash of
// its cookie in one transaction. It returns restauth.ErrNotFound when
// s.UserID names no user.
func (db *DB) CreateBrowserSession(ctx context.Context, s *restauth.Session, cookieHash []byte) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if err := insertSession(ctx, tx, s); err != nil {
				return err
			}
			_, err := tx.Exec(ctx,
				`INSERT INTO browser_sessions (cookie_hash, session_id, created_at) VALUES ($1, $2, $3)`,
				cookieHash, s.ID, s.CreatedAt)
			return err
		})
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("create browser session", err)
}

// BrowserSession returns the session whose cookie hashes to cookieHash,
// revoked or not, or restauth.ErrNotFound.
func (db *DB) BrowserSession(ctx context.Context, cookieHash []byte) (*restauth.Session, error) {
	var s *restauth.Session
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		s, err = scanSession(c.QueryRow(ctx,
			`SELECT `+sessionColsS+` FROM browser_sessions b JOIN sessions s ON s.id = b.session_id
			WHERE b.cookie_hash = $1`, cookieHash))
		return err
	})
	return s, storeErr("get browser session", err)
}

// TouchSession moves the session's last use forward to now; GREATEST keeps
// it from moving back when instances' clocks disagree. A revoked or unknown
// session is restauth.ErrNotFound.
func (db *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx,
			`UPDATE sessions SET last_used_at = GREATEST(last_used_at, $1) WHERE id = $2 AND revoked_at IS NULL`,
			now, id)
		if err != nil {
			return err
		}
		return rowsAffected(tag)
	})
	return storeErr("touch session", err)
}
