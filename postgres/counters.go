package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

// Incr adds one to the counter key with one upsert, starting a new window
// at now (with count 1) when the current window began window or more before
// now. The row lock taken by ON CONFLICT makes concurrent increments, from
// any instance, queue: none is lost.
func (db *DB) Incr(ctx context.Context, key string, now time.Time, window time.Duration) (restauth.Counter, error) {
	var c restauth.Counter
	err := db.run(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx,
			`INSERT INTO counters AS c (key, count, window_start, last) VALUES ($1, 1, $2, $2)
			ON CONFLICT (key) DO UPDATE SET
				count = CASE WHEN c.window_start <= $3 THEN 1 ELSE c.count + 1 END,
				window_start = CASE WHEN c.window_start <= $3 THEN $2 ELSE c.window_start END,
				last = $2
			RETURNING count, window_start, last`,
			key, now, now.Add(-window)).Scan(&c.Count, &c.WindowStart, &c.Last)
	})
	if err != nil {
		return restauth.Counter{}, storeErr("increment counter", err)
	}
	c.WindowStart, c.Last = c.WindowStart.UTC(), c.Last.UTC()
	return c, nil
}

// Get returns the counter key, or a zero Counter when there is none or its
// window (which began window or more before now) has passed.
func (db *DB) Get(ctx context.Context, key string, now time.Time, window time.Duration) (restauth.Counter, error) {
	var c restauth.Counter
	err := db.run(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx,
			`SELECT count, window_start, last FROM counters WHERE key = $1 AND window_start > $2`,
			key, now.Add(-window)).Scan(&c.Count, &c.WindowStart, &c.Last)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return restauth.Counter{}, nil
	}
	if err != nil {
		return restauth.Counter{}, storeErr("get counter", err)
	}
	c.WindowStart, c.Last = c.WindowStart.UTC(), c.Last.UTC()
	return c, nil
}

// Reset deletes the counter key; resetting a missing counter is not an
// error.
func (db *DB) Reset(ctx context.Context, key string) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM counters WHERE key = $1`, key)
		return err
	})
	return storeErr("reset counter", err)
}

// Decr subtracts one from the counter key, never below zero, and leaves its
// window alone.
func (db *DB) Decr(ctx context.Context, key string) error {
	err := db.run(ctx, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE counters SET count = count - 1 WHERE key = $1 AND count > 0`, key)
		return err
	})
	return storeErr("decrement counter", err)
}
