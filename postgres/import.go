package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/restauth/restauth"
)

// ImportUsers inserts users in one transaction. It is meant for operators
// moving an existing user table over, such as REST-auth's
// users(id, username, password_hash), and has the SQLite store's semantics:
//
// Each PasswordHash is stored as given; REST-auth's passlib and Werkzeug
// hashes verify as they are and are upgraded to argon2id at each user's
// next successful login. A non-zero ID is kept, so that ids clients already
// hold stay valid, and the id sequence is moved past the largest id in the
// table, so that the next registration gets the next id and never one
// imported. A user whose ID is zero gets the next id after that. A zero
// CreatedAt is stored as now. Usernames are stored as given: the caller
// normalises them to NFC and applies the username rules first, as the
// Service does for registrations.
//
// The import is all or nothing. A name that folds to an existing one, or to
// another one in users, returns restauth.ErrUsernameTaken; text that is not
// valid UTF-8 or holds a NUL byte returns an error wrapping
// restauth.ErrInvalidData; an id that is already taken, an empty username or
// an empty hash returns an error; in every case nothing is stored. On
// success the assigned ID and the stored CreatedAt are set in users.
func (db *DB) ImportUsers(ctx context.Context, users []restauth.User) error {
	for i := range users {
		if users[i].Username == "" || users[i].PasswordHash == "" {
			return fmt.Errorf("postgres: import users: user %d has an empty username or password hash", i)
		}
	}
	now := time.Now()
	// Rows with an id go first, then the sequence moves past them, then the
	// rows without one take their ids from it: a generated id can then
	// never collide with an imported one.
	var kept, fresh []int
	for i := range users {
		if users[i].ID != 0 {
			kept = append(kept, i)
		} else {
			fresh = append(fresh, i)
		}
	}
	ids := make([]int64, len(users))
	created := make([]time.Time, len(users))
	// An import may hold many rows, so it runs under the caller's context
	// rather than the per-call timeout of requests, and is not retried: an
	// operator runs it again.
	c, err := db.pool.Acquire(ctx)
	if err == nil {
		defer c.Release()
		err = inTx(ctx, c.Conn(), func(tx pgx.Tx) error {
			if err := copyRows(ctx, tx, users, kept, now, ids, created); err != nil {
				return err
			}
			if err := advanceUserIDs(ctx, tx); err != nil {
				return err
			}
			return insertRows(ctx, tx, users, fresh, now, ids, created)
		})
	}
	if isCode(err, codeUniqueViolation) {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.ConstraintName == "users_pkey" {
			return errors.New("postgres: import users: a user id is already taken")
		}
		return restauth.ErrUsernameTaken
	}
	if err != nil {
		return storeErr("import users", err)
	}
	for i := range users {
		users[i].ID, users[i].CreatedAt = ids[i], created[i]
	}
	return nil
}

// copyRows writes the users at the indexes idx, with their own ids, by
// COPY, which is many times faster than INSERT for a large table and writes
// identity columns as given. It sets their stored ids and times at the same
// indexes.
func copyRows(ctx context.Context, tx pgx.Tx, users []restauth.User, idx []int, now time.Time, ids []int64, created []time.Time) error {
	rows := make([][]any, len(idx))
	for j, i := range idx {
		u := &users[i]
		// PostgreSQL keeps microseconds; pgx truncates as UnixMicro does.
		created[i] = time.UnixMicro(createdOr(u.CreatedAt, now).UnixMicro()).UTC()
		ids[i] = u.ID
		rows[j] = []any{u.ID, u.Username, usernameKey(u.Username), u.PasswordHash, created[i]}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"users"},
		[]string{"id", "username", "username_key", "password_hash", "created_at"}, pgx.CopyFromRows(rows))
	return err
}

// insertRows inserts the users at the indexes idx, which have no id, in one
// statement, and sets the ids the sequence gave them and their stored times
// at the same indexes.
func insertRows(ctx context.Context, tx pgx.Tx, users []restauth.User, idx []int, now time.Time, ids []int64, created []time.Time) error {
	if len(idx) == 0 {
		return nil
	}
	n := len(idx)
	names, keys, hashes, times := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	byKey := make(map[string]int, n)
	for j, i := range idx {
		u := &users[i]
		names[j], keys[j], hashes[j], times[j] = u.Username, usernameKey(u.Username), u.PasswordHash, createdOr(u.CreatedAt, now)
		byKey[keys[j]] = i
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO users (username, username_key, password_hash, created_at)
		SELECT a, b, c, d FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY AS r(a, b, c, d, pos)
		ORDER BY pos
		RETURNING id, username_key, created_at`, names, keys, hashes, times)
	if err != nil {
		return err
	}
	defer rows.Close()
	// RETURNING is not promised in insertion order: each row is matched by
	// its folded name, which is unique.
	for rows.Next() {
		var id int64
		var key string
		var t time.Time
		if err := rows.Scan(&id, &key, &t); err != nil {
			return err
		}
		i := byKey[key]
		ids[i], created[i] = id, t.UTC()
	}
	return rows.Err()
}

func createdOr(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// advanceUserIDs moves the users id sequence to the largest id in the
// table when it is behind, never back, so that the next registration gets
// the id after every imported one and an id is never handed out twice.
func advanceUserIDs(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `
		SELECT setval(seq, top)
		FROM (SELECT pg_get_serial_sequence('users', 'id')::regclass AS seq,
		             (SELECT max(id) FROM users) AS top) AS s
		WHERE top IS NOT NULL AND top > coalesce(pg_sequence_last_value(seq), 0)`)
	return err
}
