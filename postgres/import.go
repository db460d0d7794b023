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
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return inTx(ctx, c, func(tx pgx.Tx) error {
			if err := importRows(ctx, tx, users, kept, true, now, ids, created); err != nil {
				return err
			}
			if err := advanceUserIDs(ctx, tx); err != nil {
				return err
			}
			return importRows(ctx, tx, users, fresh, false, now, ids, created)
		})
	})
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

// importRows inserts the users at the indexes idx in one statement, with
// their own ids when keepIDs, and writes the stored ids and times back at
// the same indexes. The rows go as arrays, so that one statement carries
// any number of them.
func importRows(ctx context.Context, tx pgx.Tx, users []restauth.User, idx []int, keepIDs bool, now time.Time, ids []int64, created []time.Time) error {
	if len(idx) == 0 {
		return nil
	}
	n := len(idx)
	var (
		pos    = make([]int64, n)
		uids   = make([]int64, n)
		names  = make([]string, n)
		keys   = make([]string, n)
		hashes = make([]string, n)
		times  = make([]time.Time, n)
	)
	for j, i := range idx {
		u := &users[i]
		pos[j], uids[j], names[j], keys[j], hashes[j] = int64(j), u.ID, u.Username, usernameKey(u.Username), u.PasswordHash
		times[j] = u.CreatedAt
		if times[j].IsZero() {
			times[j] = now
		}
	}
	var rows pgx.Rows
	var err error
	if keepIDs {
		rows, err = tx.Query(ctx, `
			INSERT INTO users (id, username, username_key, password_hash, created_at) OVERRIDING SYSTEM VALUE
			SELECT id, username, username_key, password_hash, created_at
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
				AS r(pos, id, username, username_key, password_hash, created_at)
			ORDER BY pos
			RETURNING id, created_at`, pos, uids, names, keys, hashes, times)
	} else {
		rows, err = tx.Query(ctx, `
			INSERT INTO users (username, username_key, password_hash, created_at)
			SELECT username, username_key, password_hash, created_at
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
				AS r(pos, username, username_key, password_hash, created_at)
			ORDER BY pos
			RETURNING id, username_key, created_at`, pos, names, keys, hashes, times)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	// PostgreSQL does not promise RETURNING in insertion order; each row is
	// matched by its id or its folded name, both unique.
	byID := make(map[int64]int, n)
	byKey := make(map[string]int, n)
	for j, i := range idx {
		byID[uids[j]] = i
		byKey[keys[j]] = i
	}
	for rows.Next() {
		var id int64
		var t time.Time
		var i int
		if keepIDs {
			if err := rows.Scan(&id, &t); err != nil {
				return err
			}
			i = byID[id]
		} else {
			var key string
			if err := rows.Scan(&id, &key, &t); err != nil {
				return err
			}
			i = byKey[key]
		}
		ids[i], created[i] = id, t.UTC()
	}
	return rows.Err()
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
