package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

// usernameKey is the domain's folding rule, restauth.FoldUsername, applied in
// Go so that every store folds alike whatever the database's collation.
func usernameKey(username string) string { return restauth.FoldUsername(username) }

const userCols = `id, username, password_hash, created_at`

func scanUser(row interface{ Scan(...any) error }) (*restauth.User, error) {
	var u restauth.User
	var created int64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// CreateUser inserts u and sets u.ID and u.CreatedAt (to now when zero, and
// always to the stored, microsecond-precision value). The unique index on
// the folded name decides between concurrent registrations; its violation is
// reported as restauth.ErrUsernameTaken.
func (db *DB) CreateUser(ctx context.Context, u *restauth.User) error {
	created := u.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var id int64
	err := db.write.QueryRowContext(ctx,
		`INSERT INTO users (username, username_key, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		u.Username, usernameKey(u.Username), u.PasswordHash, micros(created)).Scan(&id)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		return restauth.ErrUsernameTaken
	}
	if err != nil {
		return storeErr("create user", err)
	}
	u.ID = id
	u.CreatedAt = fromMicros(micros(created))
	return nil
}

// UserByID returns the user with id, or restauth.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*restauth.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, storeErr("get user", err)
}

// UserByUsername returns the user whose name folds to the same key as
// username, or restauth.ErrNotFound (also for a name no row can hold).
func (db *DB) UserByUsername(ctx context.Context, username string) (*restauth.User, error) {
	u, err := scanUser(db.stmts.userByUsername.queryRow(ctx, db.read, usernameKey(username)))
	return u, lookupErr("get user", err)
}

// ListUsers returns every user in id order.
func (db *DB) ListUsers(ctx context.Context) ([]*restauth.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, storeErr("list users", err)
	}
	defer rows.Close()
	var users []*restauth.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, storeErr("list users", err)
		}
		users = append(users, u)
	}
	return users, storeErr("list users", rows.Err())
}

// SetPasswordHash replaces the user's hash only while it still equals
// oldHash, and records a user-level revocation at the current time in the
// same transaction. It returns restauth.ErrNotFound when the user is gone or
// its hash has changed meanwhile, so a rehash never overwrites a password
// change.
func (db *DB) SetPasswordHash(ctx context.Context, id int64, oldHash, newHash string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, id, oldHash)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		return recordUserRevocation(ctx, tx, id, time.Now())
	})
	return storeErr("set password hash", err)
}

// DeleteUser revokes every not yet revoked session of the user at now and
// deletes the user, recording a user-level revocation at now, in one
// transaction, returning the revoked session ids.
// The session rows stay (their user_id becomes NULL) so that RevokedSince
// reports them to other instances. It returns restauth.ErrNotFound when there
// is no such user.
func (db *DB) DeleteUser(ctx context.Context, id int64, now time.Time) ([]string, error) {
	var revoked []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		revoked, err = queryIDs(ctx, tx,
			`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL RETURNING id`,
			micros(now), id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(res); err != nil {
			return err
		}
		return recordUserRevocation(ctx, tx, id, now)
	})
	if err != nil {
		return nil, storeErr("delete user", err)
	}
	return revoked, nil
}

// rowsAffected returns restauth.ErrNotFound when res changed no row.
func rowsAffected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return restauth.ErrNotFound
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryIDs runs a query returning one text column and collects it.
func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
