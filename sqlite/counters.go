package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/restauth/restauth"
)

// Incr adds one to the counter key with one upsert, starting a new window
// at now (with count 1) when the current window began window or more before
// now. Concurrent increments never lose a count.
func (db *DB) Incr(ctx context.Context, key string, now time.Time, window time.Duration) (restauth.Counter, error) {
	var c restauth.Counter
	var start, last int64
	err := db.write.QueryRowContext(ctx,
		`INSERT INTO counters (key, count, window_start, last) VALUES (?1, 1, ?2, ?2)
		ON CONFLICT (key) DO UPDATE SET
			count = CASE WHEN window_start <= ?3 THEN 1 ELSE count + 1 END,
			window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END,
			last = ?2
		RETURNING count, window_start, last`,
		key, micros(now), micros(now.Add(-window))).Scan(&c.Count, &start, &last)
	if err != nil {
		return restauth.Counter{}, storeErr("increment counter", err)
	}
	c.WindowStart, c.Last = fromMicros(start), fromMicros(last)
	return c, nil
}

// Get returns the counter key, or a zero Counter when there is none or its
// window (which began window or more before now) has passed.
func (db *DB) Get(ctx context.Context, key string, now time.Time, window time.Duration) (restauth.Counter, error) {
	var c restauth.Counter
	var start, last int64
	err := db.stmts.counter.queryRow(ctx, db.read, key, micros(now.Add(-window))).Scan(&c.Count, &start, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return restauth.Counter{}, nil
	}
	if err != nil {
		return restauth.Counter{}, storeErr("get counter", err)
	}
	c.WindowStart, c.Last = fromMicros(start), fromMicros(last)
	return c, nil
}

// Reset deletes the counter key; resetting a missing counter is not an
// error.
func (db *DB) Reset(ctx context.Context, key string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM counters WHERE key = ?`, key)
	return storeErr("reset counter", err)
}

// Decr subtracts one from the counter key, never below zero, and leaves its
// window alone.
func (db *DB) Decr(ctx context.Context, key string) error {
	_, err := db.write.ExecContext(ctx, `UPDATE counters SET count = count - 1 WHERE key = ? AND count > 0`, key)
	return storeErr("decrement counter", err)
}
