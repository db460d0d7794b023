package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/restauth/restauth"
	sqlite3 "modernc.org/sqlite/lib"
)

// importBatch is the number of rows one INSERT statement carries. SQLite
// binds at most 32,766 parameters per statement; a few hundred rows already
// make the per-statement cost (parse, driver round trip) negligible next to
// the B-tree work.
const importBatch = 256

// ImportUsers inserts users in one transaction, many rows per prepared
// statement. It is meant for operators migrating an existing user table,
// such as REST-auth's users(id, username, password_hash), and for seeding
// large databases in tests and benchmarks, where hashing every password
// through the API would take hours.
//
// Each PasswordHash is stored as given: REST-auth's passlib sha256_crypt and
// sha512_crypt hashes, Werkzeug hashes and bcrypt verify as they are and are
// upgraded to argon2id at each user's next successful login. A user whose ID
// is zero gets the next id; a non-zero ID is kept, so that ids clients
// already hold stay valid. A zero CreatedAt is stored as now. Usernames are
// stored as given: the caller normalises them to NFC and applies the
// username rules first, as the Service does for registrations.
//
// The import is all or nothing. A name that folds to an existing one, or to
// another one in users, returns restauth.ErrUsernameTaken; text that is not
// valid UTF-8 or holds a NUL byte returns an error wrapping
// restauth.ErrInvalidData; an id that is already taken, an empty username or
// an empty hash returns an error; in every case nothing is stored. On
// success the
// assigned ID and the stored CreatedAt are set in users.
func (db *DB) ImportUsers(ctx context.Context, users []restauth.User) error {
	for i := range users {
		if users[i].Username == "" || users[i].PasswordHash == "" {
			return fmt.Errorf("sqlite: import users: user %d has an empty username or password hash", i)
		}
	}
	now := time.Now()
	ids := make([]int64, len(users))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var full *sql.Stmt
		for start := 0; start < len(users); start += importBatch {
			batch := users[start:min(start+importBatch, len(users))]
			stmt := full
			if stmt == nil || len(batch) != importBatch {
				s, err := tx.PrepareContext(ctx, importStatement(len(batch)))
				if err != nil {
					return err
				}
				defer s.Close()
				stmt = s
				if len(batch) == importBatch {
					full = s
				}
			}
			if err := importRows(ctx, stmt, batch, ids[start:], now); err != nil {
				return err
			}
		}
		return nil
	})
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return restauth.ErrUsernameTaken
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return errors.New("sqlite: import users: a user id is already taken")
	}
	if err != nil {
		return storeErr("import users", err)
	}
	for i := range users {
		users[i].ID = ids[i]
		users[i].CreatedAt = fromMicros(micros(createdOr(users[i].CreatedAt, now)))
	}
	return nil
}

// importStatement returns an INSERT of n rows that reports each row's id
// with its key, since SQLite does not promise to return rows in insertion
// order.
func importStatement(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO users (id, username, username_key, password_hash, created_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?)")
	}
	b.WriteString(` RETURNING id, username_key`)
	return b.String()
}

// importRows inserts batch with stmt and writes the assigned ids to ids, in
// the order of batch. ids is only published by ImportUsers once the
// transaction has committed.
func importRows(ctx context.Context, stmt *sql.Stmt, batch []restauth.User, ids []int64, now time.Time) error {
	args := make([]any, 0, 5*len(batch))
	pos := make(map[string]int, len(batch))
	for i := range batch {
		u := &batch[i]
		key := usernameKey(u.Username)
		pos[key] = i
		var id any // NULL lets SQLite assign the next id.
		if u.ID != 0 {
			id = u.ID
		}
		args = append(args, id, u.Username, key, u.PasswordHash, micros(createdOr(u.CreatedAt, now)))
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		if i, ok := pos[key]; ok {
			ids[i] = id
		}
	}
	return rows.Err()
}

func createdOr(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}
