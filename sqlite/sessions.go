package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

const sessionCols = `id, user_id, created_at, last_used_at, expires_at, client_ip, user_agent, revoked_at, reusable`

func scanSession(row interface{ Scan(...any) error }) (*restauth.Session, error) {
	var s restauth.Session
	var userID, revoked sql.NullInt64
	var created, lastUsed, expires int64
	err := row.Scan(&s.ID, &userID, &created, &lastUsed, &expires, &s.ClientIP, &s.UserAgent, &revoked, &s.Reusable)
	if err != nil {
		return nil, err
	}
	s.UserID = userID.Int64 // Zero once the user has been deleted.
	s.CreatedAt = fromMicros(created)
	s.LastUsedAt = fromMicros(lastUsed)
	s.ExpiresAt = fromMicros(expires)
	s.RevokedAt = fromNullMicros(revoked)
	return &s, nil
}

// CreateSession stores s and, when refresh is not nil, its first refresh
// token (under s.ID, whatever refresh.SessionID says), in one transaction. It
// returns restauth.ErrNotFound when s.UserID names no user, so a login racing
// the account's deletion cannot leave a session behind.
func (db *DB) CreateSession(ctx context.Context, s *restauth.Session, refresh *restauth.RefreshRecord) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertSession(ctx, tx, s); err != nil {
			return err
		}
		if refresh == nil {
			return nil
		}
		_, err := db.stmts.insertRefresh.exec(ctx, tx,
			refresh.Hash, s.ID, micros(refresh.CreatedAt))
		return err
	})
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return restauth.ErrNotFound
	}
	return storeErr("create session", err)
}

// Session returns the session with id, revoked or not, or
// restauth.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*restauth.Session, error) {
	s, err := scanSession(db.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	return s, lookupErr("get session", err)
}

// ListSessions returns the user's sessions that are not revoked and whose
// absolute expiry is after now, oldest first. The idle timeout is the
// Service's to apply.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*restauth.Session, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY created_at, id`, userID, micros(now))
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	defer rows.Close()
	var sessions []*restauth.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, storeErr("list sessions", err)
		}
		sessions = append(sessions, s)
	}
	return sessions, storeErr("list sessions", rows.Err())
}

// RotateRefresh consumes the token r.OldHash with one conditional UPDATE. When
// that UPDATE wins, the same transaction stores r.NewHash as the session's
// next token and moves the session's LastUsedAt to r.Now, and the result has
// Consumed set and Session as it was before this rotation, so the caller
// applies the idle timeout to the previous use. When the token had already
// been used, the result carries UsedAt, the ChildSealed stored then and the
// session as it is now, and nothing is written. When r.Live refuses the
// session, the transaction is rolled back and the result has Ended set. An
// unknown token is restauth.ErrNotFound. Whether a reuse is a retry within
// the grace window is the Service's to decide.
func (db *DB) RotateRefresh(ctx context.Context, r restauth.Rotation) (*restauth.RotationResult, error) {
	var res *restauth.RotationResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := micros(r.Now)
		var sessionID string
		err := tx.QueryRowContext(ctx,
			`UPDATE refresh_tokens SET used_at = ?, child_sealed = ?
			WHERE hash = ? AND used_at IS NULL RETURNING session_id`,
			now, r.NewSealed, r.OldHash).Scan(&sessionID)
		switch {
		case err == nil:
			s, err := scanSession(tx.QueryRowContext(ctx,
				`SELECT `+sessionCols+` FROM sessions WHERE id = ?`, sessionID))
			if err != nil {
				return err
			}
			if r.Live != nil && !r.Live(s) {
				// Rolled back: a refused refresh writes nothing.
				res = &restauth.RotationResult{Session: s, Ended: true}
				return errSessionEnded
			}
			if _, err := db.stmts.insertRefresh.exec(ctx, tx, r.NewHash, sessionID, now); err != nil {
				return err
			}
			// max() keeps LastUsedAt from moving back when instances'
			// clocks disagree.
			if _, err := tx.ExecContext(ctx,
				`UPDATE sessions SET last_used_at = max(last_used_at, ?) WHERE id = ?`,
				now, sessionID); err != nil {
				return err
			}
			res = &restauth.RotationResult{Session: s, Consumed: true}
			return nil
		case errors.Is(err, sql.ErrNoRows):
			var usedAt sql.NullInt64
			var sealed []byte
			err := tx.QueryRowContext(ctx,
				`SELECT session_id, used_at, child_sealed FROM refresh_tokens WHERE hash = ?`,
				r.OldHash).Scan(&sessionID, &usedAt, &sealed)
			if err != nil {
				return err
			}
			s, err := scanSession(tx.QueryRowContext(ctx,
				`SELECT `+sessionCols+` FROM sessions WHERE id = ?`, sessionID))
			if err != nil {
				return err
			}
			res = &restauth.RotationResult{Session: s, UsedAt: fromNullMicros(usedAt), ChildSealed: sealed}
			return nil
		default:
			return err
		}
	})
	if errors.Is(err, errSessionEnded) {
		return res, nil
	}
	if err != nil {
		return nil, storeErr("rotate refresh token", err)
	}
	return res, nil
}

// errSessionEnded rolls back a rotation whose session Rotation.Live
// refuses.
var errSessionEnded = errors.New("session ended")

// RevokeSession revokes the session id if it belongs to userID and is not
// already revoked; otherwise it returns restauth.ErrNotFound, so a caller
// cannot learn whether another user's session exists. A session past its
// absolute expiry can still be revoked: an access token issued shortly
// before the expiry may outlive it.
func (db *DB) RevokeSession(ctx context.Context, userID int64, id string, now time.Time) error {
	res, err := db.write.ExecContext(ctx,
		`UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
		micros(now), id, userID)
	if err != nil {
		return lookupErr("revoke session", err)
	}
	return rowsAffected(res)
}

// RevokeUserSessions revokes every not yet revoked session of userID except
// the one named (which may be empty) and returns the revoked ids. In the same
// transaction it records a user-level revocation at now, even when no
// session was live.
func (db *DB) RevokeUserSessions(ctx context.Context, userID int64, except string, now time.Time) ([]string, error) {
	var ids []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		ids, err = queryIDs(ctx, tx,
			`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL RETURNING id`,
			micros(now), userID, except)
		if err != nil {
			return err
		}
		return recordUserRevocation(ctx, tx, userID, now)
	})
	if err != nil {
		return nil, storeErr("revoke sessions", err)
	}
	return ids, nil
}

// recordUserRevocation stores a user-level revocation, for
// UserRevocationsSince.
func recordUserRevocation(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO user_revocations (user_id, revoked_at) VALUES (?, ?)`, userID, micros(now))
	return err
}

// UserRevocationsSince returns the user-level revocations recorded at or
// after since, oldest first, including those of deleted users.
func (db *DB) UserRevocationsSince(ctx context.Context, since time.Time) ([]restauth.Revocation, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT user_id, revoked_at FROM user_revocations WHERE revoked_at >= ? ORDER BY revoked_at, user_id`, micros(since))
	if err != nil {
		return nil, storeErr("list user revocations", err)
	}
	defer rows.Close()
	var revs []restauth.Revocation
	for rows.Next() {
		var v restauth.Revocation
		var at int64
		if err := rows.Scan(&v.UserID, &at); err != nil {
			return nil, storeErr("list user revocations", err)
		}
		v.RevokedAt = fromMicros(at)
		revs = append(revs, v)
	}
	return revs, storeErr("list user revocations", rows.Err())
}

// ReuseSession moves the LastUsedAt of the user's most recently used live
// reusable session from clientIP with userAgent to now, with one UPDATE, and
// returns it; restauth.ErrNotFound when there is none.
func (db *DB) ReuseSession(ctx context.Context, userID int64, clientIP, userAgent string, now, idleAfter time.Time) (*restauth.Session, error) {
	s, err := scanSession(db.write.QueryRowContext(ctx,
		`UPDATE sessions SET last_used_at = max(last_used_at, ?1)
		WHERE id = (
			SELECT id FROM sessions
			WHERE user_id = ?2 AND client_ip = ?3 AND user_agent = ?4 AND reusable = 1
				AND revoked_at IS NULL AND expires_at > ?1 AND last_used_at > ?5
			ORDER BY last_used_at DESC, id LIMIT 1)
		RETURNING `+sessionCols,
		micros(now), userID, clientIP, userAgent, micros(idleAfter)))
	return s, storeErr("reuse session", err)
}

// RevokedSince returns the sessions revoked at or after since, oldest
// revocation first, including those of deleted users.
func (db *DB) RevokedSince(ctx context.Context, since time.Time) ([]restauth.Revocation, error) {
	rows, err := db.read.QueryContext(ctx,
		`SELECT id, revoked_at FROM sessions WHERE revoked_at >= ? ORDER BY revoked_at, id`, micros(since))
	if err != nil {
		return nil, storeErr("list revocations", err)
	}
	defer rows.Close()
	var revs []restauth.Revocation
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, storeErr("list revocations", err)
		}
		revs = append(revs, restauth.Revocation{SessionID: id, RevokedAt: fromMicros(at)})
	}
	return revs, storeErr("list revocations", rows.Err())
}

// insertSession writes the session row, for API and browser sessions alike.
func (db *DB) insertSession(ctx context.Context, tx *sql.Tx, s *restauth.Session) error {
	_, err := db.stmts.insertSession.exec(ctx, tx,
		s.ID, s.UserID, micros(s.CreatedAt), micros(s.LastUsedAt), micros(s.ExpiresAt),
		s.ClientIP, s.UserAgent, nullMicros(s.RevokedAt), s.Reusable)
	return err
}
