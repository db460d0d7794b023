package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

// usernameKey is the domain's folding rule, restauth.FoldUsername, applied in
// Go so that every store folds alike whatever the database's collation.
func usernameKey(username string) string { return restauth.FoldUsername(username) }

const userCols = `id, username, password_hash, created_at`

func scanUser(row pgx.Row) (*restauth.User, error) {
	var u restauth.User
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// CreateUser inserts u and sets u.ID and u.CreatedAt (to now when zero, and
// always to the stored, microsecond-precision value). The unique index on
// the folded name decides between concurrent registrations, on this instance
// or any other; its violation is reported as restauth.ErrUsernameTaken.
func (db *DB) CreateUser(ctx context.Context, u *restauth.User) error {
	created := u.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var id int64
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx,
			`INSERT INTO users (username, username_key, password_hash, created_at) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`,
			u.Username, usernameKey(u.Username), u.PasswordHash, created).Scan(&id, &created)
	})
	if isCode(err, codeUniqueViolation) {
		return restauth.ErrUsernameTaken
	}
	if err != nil {
		return storeErr("create user", err)
	}
	u.ID, u.CreatedAt = id, created.UTC()
	return nil
}

// UserByID returns the user with id, or restauth.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*restauth.User, error) {
	var u *restauth.User
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		u, err = scanUser(c.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
		return err
	})
	return u, storeErr("get user", err)
}

// UserByUsername returns the user whose name folds to the same key as
// username, or restauth.ErrNotFound (also for a name no row can hold).
func (db *DB) UserByUsername(ctx context.Context, username string) (*restauth.User, error) {
	var u *restauth.User
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) (err error) {
		u, err = scanUser(c.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username_key = $1`, usernameKey(username)))
		return err
	})
	return u, lookupErr("get user", err)
}

// ListUsers returns every user in id order.
func (db *DB) ListUsers(ctx context.Context) ([]*restauth.User, error) {
	var users []*restauth.User
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
		if err != nil {
			return err
		}
		users, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*restauth.User, error) { return scanUser(row) })
		return err
	})
	if err != nil {
		return nil, storeErr("list users", err)
	}
	return users, nil
}

// SetPasswordHash replaces the user's hash only while it still equals
// oldHash. It returns restauth.ErrNotFound when the user is gone or its hash
// has changed meanwhile, so a rehash never overwrites a password change. In
// the same transaction it records a user-level revocation at the current
// time and notifies the other instances, which drop what they cached for the
// user.
func (db *DB) SetPasswordHash(ctx context.Context, id int64, oldHash, newHash string) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx,
				`UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, newHash, id, oldHash)
			if err != nil {
				return err
			}
			if err := rowsAffected(tag); err != nil {
				return err
			}
			if err := recordUserRevocation(ctx, tx, id, time.Now()); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	return storeErr("set password hash", err)
}

// DeleteUser revokes every not yet revoked session of the user at now,
// deletes the user and records a user-level revocation at now, in one
// transaction that also notifies the other instances, returning the revoked
// session ids. The session rows stay (their
// user_id becomes NULL) so that RevokedSince reports them. It returns
// restauth.ErrNotFound when there is no such user.
//
// The user's row is locked first: a login racing the deletion then either
// commits its session before the lock is taken, and the session is revoked
// here, or waits and fails its foreign key check; no session outlives the
// account unrevoked.
func (db *DB) DeleteUser(ctx context.Context, id int64, now time.Time) ([]string, error) {
	var revoked []string
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
				return err
			}
			var err error
			revoked, err = queryIDs(ctx, tx,
				`UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL RETURNING id`, now, id)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
				return err
			}
			if err := recordUserRevocation(ctx, tx, id, now); err != nil {
				return err
			}
			return db.notify(ctx, tx, kindRevoked)
		})
	})
	if err != nil {
		return nil, storeErr("delete user", err)
	}
	return revoked, nil
}

// queryIDs runs a query returning one text column and collects it.
func queryIDs(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
