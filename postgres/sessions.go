package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

const (
	sessionCols = `id, user_id, created_at, last_used_at, expires_at, client_ip, user_agent, revoked_at, reusable`
	// sessionColsS is sessionCols of a query that names sessions "s".
	sessionColsS = `s.id, s.user_id, s.created_at, s.last_used_at, s.expires_at, s.client_ip, s.user_agent, s.revoked_at, s.reusable`
)

// scanSession scans the sessionCols of row, after the columns that lead
// (when any) into the destinations given.
func scanSession(row pgx.Row, lead ...any) (*restauth.Session, error) {
	var s restauth.Session
	var userID *int64
	var revoked *time.Time
	dest := append(lead, &s.ID, &userID, &s.CreatedAt, &s.LastUsedAt, &s.ExpiresAt, &s.ClientIP, &s.UserAgent, &revoked, &s.Reusable)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if userID != nil {
		s.UserID = *userID // Zero once the user has been deleted.
	}
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.LastUsedAt.UTC(), s.ExpiresAt.UTC()
	s.RevokedAt = fromNull(revoked)
	return &s, nil
}

// CreateSession stores s and, when refresh is not nil, its first refresh
// token (under s.ID, whatever refresh.SessionID says), in one transaction. It
// returns restauth.ErrNotFound when s.UserID names no user, so a login racing
// the account's deletion cannot leave a session behind.
func (db *DB) CreateSession(ctx context.Context, s *restauth.Session, refresh *restauth.RefreshRecord) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		if refresh == nil {
			_, err := c.Exec(ctx, qInsertSession, sessionArgs(s)...)
			return err
		}
		// One statement, so one transaction and one round trip, where
		// BEGIN, two INSERTs and COMMIT took four: a login waits for every
		// one of them. The foreign key from the refresh token to the
		// session is checked at the end of the statement, when the
		// session row is there.
		_, err := c.Exec(ctx, `WITH s AS (`+qInsertSession+` RETURNING id)
			INSERT INTO refresh_tokens (hash, session_id, created_at) SELECT $10, id, $11 FROM s`,
			append(sessionArgs(s), refresh.Hash, refresh.CreatedAt)...)
		return err
	})
	if isCode(err, codeForeignKeyViolation) {
		return restauth.ErrNotFound
	}
	return storeErr("create session", err)
}

// Session returns the session with id, revoked or not, or
// restauth.ErrNotFound.
func (db *DB) Session(ctx context.Context, id string) (*restauth.Session, error) {
	var s *restauth.Session
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		s, err = scanSession(c.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
		return err
	})
	return s, lookupErr("get session", err)
}

// ListSessions returns the user's sessions that are not revoked and whose
// absolute expiry is after now, oldest first. The idle timeout is the
// Service's to apply.
func (db *DB) ListSessions(ctx context.Context, userID int64, now time.Time) ([]*restauth.Session, error) {
	var sessions []*restauth.Session
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT `+sessionCols+` FROM sessions
			WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
			ORDER BY created_at, id`, userID, now)
		if err != nil {
			return err
		}
		sessions, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*restauth.Session, error) { return scanSession(row) })
		return err
	})
	if err != nil {
		return nil, storeErr("list sessions", err)
	}
	return sessions, nil
}

// RotateRefresh consumes the token r.OldHash with one conditional UPDATE:
// under READ COMMITTED a concurrent rotation of the same token waits for the
// first to commit, re-checks used_at and matches nothing, so exactly one
// caller consumes it, on whichever instance. When that UPDATE wins, the same
// transaction stores r.NewHash as the session's next token and moves the
// session's LastUsedAt to r.Now, and the result has Consumed set and Session
// as it was before this rotation, so the caller applies the idle timeout to
// the previous use. When the token had already been used, the result
// carries UsedAt, the ChildSealed stored then and the session as it is now,
// and nothing is written. When r.Live refuses the session, the transaction
// is rolled back and the result has Ended set. An unknown token is
// restauth.ErrNotFound. Whether a reuse is a retry within the grace window
// is the Service's to decide.
func (db *DB) RotateRefresh(ctx context.Context, r restauth.Rotation) (*restauth.RotationResult, error) {
	var res *restauth.RotationResult
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var sessionID string
			err := tx.QueryRow(ctx,
				`UPDATE refresh_tokens SET used_at = $1, child_sealed = $2
				WHERE hash = $3 AND used_at IS NULL RETURNING session_id`,
				r.Now, r.NewSealed, r.OldHash).Scan(&sessionID)
			switch {
			case err == nil:
				// The row lock keeps the session as read here until the
				// UPDATE below.
				s, err := scanSession(tx.QueryRow(ctx,
					`SELECT `+sessionCols+` FROM sessions WHERE id = $1 FOR UPDATE`, sessionID))
				if err != nil {
					return err
				}
				if r.Live != nil && !r.Live(s) {
					// Rolled back: a refused refresh writes nothing.
					res = &restauth.RotationResult{Session: s, Ended: true}
					return errSessionEnded
				}
				if _, err := tx.Exec(ctx,
					`INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES ($1, $2, $3)`,
					r.NewHash, sessionID, r.Now); err != nil {
					return err
				}
				// GREATEST keeps LastUsedAt from moving back when instances'
				// clocks disagree.
				if _, err := tx.Exec(ctx,
					`UPDATE sessions SET last_used_at = GREATEST(last_used_at, $1) WHERE id = $2`,
					r.Now, sessionID); err != nil {
					return err
				}
				res = &restauth.RotationResult{Session: s, Consumed: true}
				return nil
			case errors.Is(err, pgx.ErrNoRows):
				var usedAt *time.Time
				var sealed []byte
				s, err := scanSession(tx.QueryRow(ctx,
					`SELECT r.used_at, r.child_sealed, `+sessionColsS+`
					FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
					WHERE r.hash = $1`, r.OldHash), &usedAt, &sealed)
				if err != nil {
					return err
				}
				res = &restauth.RotationResult{Session: s, UsedAt: fromNull(usedAt), ChildSealed: sealed}
				return nil
			default:
				return err
			}
		})
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
// already revoked, and notifies the other instances in the same
// transaction; otherwise it returns restauth.ErrNotFound, so a caller cannot
// learn whether another user's session exists. A session past its absolute
// expiry can still be revoked: an access token issued shortly before the
// expiry may outlive it.
func (db *DB) RevokeSession(ctx context.Context, userID int64, id string, now time.Time) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx,
				`UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
				now, id, userID)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	return lookupErr("revoke session", err)
}

// RevokeUserSessions revokes every not yet revoked session of userID except
// the one named (which may be empty) and returns the revoked ids, and records
// a user-level revocation at now, in one transaction. When sessions were
// revoked, the other instances are notified in the same transaction; when
// none was, the user-level revocation (which then leaves every credential as
// valid as before) reaches them at their next periodic resync.
func (db *DB) RevokeUserSessions(ctx context.Context, userID int64, except string, now time.Time) ([]string, error) {
	var ids []string
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var err error
			ids, err = queryIDs(ctx, tx,
				`UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL RETURNING id`,
				now, userID, except)
			if err != nil {
				return err
			}
			if err := recordUserRevocation(ctx, tx, userID, now); err != nil || len(ids) == 0 {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	if err != nil {
		return nil, storeErr("revoke sessions", err)
	}
	return ids, nil
}

// RevokedSince returns the sessions revoked at or after since, oldest
// revocation first, including those of deleted users.
func (db *DB) RevokedSince(ctx context.Context, since time.Time) ([]restauth.Revocation, error) {
	var revs []restauth.Revocation
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1 ORDER BY revoked_at, id`, since)
		if err != nil {
			return err
		}
		revs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (restauth.Revocation, error) {
			var v restauth.Revocation
			err := row.Scan(&v.SessionID, &v.RevokedAt)
			v.RevokedAt = v.RevokedAt.UTC()
			return v, err
		})
		return err
	})
	if err != nil {
		return nil, storeErr("list revocations", err)
	}
	return revs, nil
}

// recordUserRevocation stores a user-level revocation, for
// UserRevocationsSince.
func recordUserRevocation(ctx context.Context, tx pgx.Tx, userID int64, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO user_revocations (user_id, revoked_at) VALUES ($1, $2)`, userID, now)
	return err
}

// UserRevocationsSince returns the user-level revocations recorded at or
// after since, oldest first, including those of deleted users.
func (db *DB) UserRevocationsSince(ctx context.Context, since time.Time) ([]restauth.Revocation, error) {
	var revs []restauth.Revocation
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx,
			`SELECT user_id, revoked_at FROM user_revocations WHERE revoked_at >= $1 ORDER BY revoked_at, user_id`, since)
		if err != nil {
			return err
		}
		revs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (restauth.Revocation, error) {
			var v restauth.Revocation
			err := row.Scan(&v.UserID, &v.RevokedAt)
			v.RevokedAt = v.RevokedAt.UTC()
			return v, err
		})
		return err
	})
	if err != nil {
		return nil, storeErr("list user revocations", err)
	}
	return revs, nil
}

// ReuseSession moves the LastUsedAt of the user's most recently used live
// reusable session from clientIP with userAgent to now, with one UPDATE, and
// returns it; restauth.ErrNotFound when there is none.
func (db *DB) ReuseSession(ctx context.Context, userID int64, clientIP, userAgent string, now, idleAfter time.Time) (*restauth.Session, error) {
	var s *restauth.Session
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		s, err = scanSession(c.QueryRow(ctx,
			`UPDATE sessions SET last_used_at = greatest(last_used_at, $1)
			WHERE id = (
				SELECT id FROM sessions
				WHERE user_id = $2 AND client_ip = $3 AND user_agent = $4 AND reusable
					AND revoked_at IS NULL AND expires_at > $1 AND last_used_at > $5
				ORDER BY last_used_at DESC, id LIMIT 1)
			RETURNING `+sessionCols,
			now, userID, clientIP, userAgent, idleAfter))
		return err
	})
	return s, storeErr("reuse session", err)
}

// insertSession writes the session row, for API and browser sessions alike.
func insertSession(ctx context.Context, tx pgx.Tx, s *restauth.Session) error {
	_, err := tx.Exec(ctx, qInsertSession, sessionArgs(s)...)
	return err
}

// qInsertSession inserts a session row; sessionArgs are its arguments.
const qInsertSession = `INSERT INTO sessions (` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func sessionArgs(s *restauth.Session) []any {
	return []any{s.ID, s.UserID, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.ClientIP, s.UserAgent, nullTime(s.RevokedAt), s.Reusable}
}
