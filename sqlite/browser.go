package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

var _ restauth.BrowserStore = (*DB)(nil)

// CreateBrowserSession stores s, with no refresh token, and the hash of
// its cookie in one transaction. It returns restauth.ErrNotFound when
// s.UserID names no user.
func (db *DB) CreateBrowserSession(ctx context.Context, s *restauth.Session, cookieHash []byte) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertSession(ctx, tx, s); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO browser_sessions (cookie_hash, session_id, created_at) VALUES (?, ?, ?)`,
			cookieHash, s.ID, micros(s.CreatedAt))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("create browser session", err)
}

// BrowserSession returns the session whose cookie hashes to cookieHash,
// revoked or not, or restauth.ErrNotFound.
func (db *DB) BrowserSession(ctx context.Context, cookieHash []byte) (*restauth.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx,
		`SELECT `+sessionCols+` FROM sessions
		WHERE id = (SELECT session_id FROM browser_sessions WHERE cookie_hash = ?)`, cookieHash))
	return s, storeErr("get browser session", err)
}

// TouchSession moves the session's last use forward to now; max() keeps it
// from moving back when instances' clocks disagree. A revoked or unknown
// session is restauth.ErrNotFound.
func (db *DB) TouchSession(ctx context.Context, id string, now time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE sessions SET last_used_at = max(last_used_at, ?) WHERE id = ? AND revoked_at IS NULL`,
		micros(now), id)
	if err != nil {
		return storeErr("touch session", err)
	}
	return rowsAffected(res)
}
