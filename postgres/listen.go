package postgres

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// notifyChannel is the one LISTEN/NOTIFY channel of restauth. NOTIFY reaches
// every session of the database, whatever its search_path, so the payload,
// "<kind> <schema>", names the schema, and a listener ignores what other
// schemas of the same database (tests, other deployments) announce.
const notifyChannel = "restauth"

// Notification kinds.
const (
	kindRevoked = "revoked" // Sessions were revoked.
	kindKeys    = "keys"    // Signing keys were added or retired.
)

// Listener timing.
const (
	// listenCheck is how long the listener waits in silence before it
	// checks that its connection still answers: a database host that
	// vanished without closing the connection is found within
	// listenCheck+pingTimeout rather than at the TCP keepalive.
	listenCheck = 30 * time.Second
	pingTimeout = 5 * time.Second
	minBackoff  = 100 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// notify sends a notification of kind on the channel. Sent inside tx, it is
// delivered when tx commits and never when it rolls back, so a listener is
// told exactly about changes that happened.
func (db *DB) notify(ctx context.Context, tx pgx.Tx, kind string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, kind+" "+db.schema)
	return err
}

// parseNotification splits a payload into its kind and the schema it
// concerns; ok is false for a payload restauth did not send.
func parseNotification(payload string) (kind, schema string, ok bool) {
	kind, schema, ok = strings.Cut(payload, " ")
	if !ok || kind == "" || schema == "" {
		return "", "", false
	}
	return kind, schema, true
}

// Listen keeps the instance's in-memory views current while the database is
// shared with other instances. It holds one dedicated connection (outside the
// pool) that LISTENs on the restauth channel, and calls onRevoke when
// sessions or a user's credentials have been revoked (RevokeSession,
// RevokeUserSessions, DeleteUser, SetPasswordHash)
// and onKeys when signing keys have been added or retired, by this instance
// or any other sharing the schema. Each callback runs on a goroutine of its
// own, and notifications that arrive while it is pending or running merge
// into one further call, so a burst costs one resync and a slow callback
// never delays the listener. Either callback may be nil.
//
// Both callbacks are also called each time the listener has (re)connected,
// because notifications sent while it was not listening are lost: the
// resync they trigger heals the gap. When the connection fails, Listen
// reconnects with exponential backoff (100ms to 5s, jittered), logging each
// failure to logger. It returns when ctx ends, after the callbacks have
// returned.
func (db *DB) Listen(ctx context.Context, onRevoke, onKeys func(), logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	revoked := coalesce(ctx, &wg, onRevoke)
	keys := coalesce(ctx, &wg, onKeys)
	onConnect := func() {
		revoked()
		keys()
	}
	onNotify := func(kind string) {
		switch kind {
		case kindRevoked:
			revoked()
		case kindKeys:
			keys()
		}
	}
	delay := minBackoff
	for {
		connected, err := db.listen(ctx, onConnect, onNotify)
		if ctx.Err() != nil {
			return
		}
		if connected {
			delay = minBackoff
		}
		wait := delay/2 + rand.N(delay) // Jittered, so instances do not reconnect in step.
		logger.Warn("postgres: notification listener lost the database; reconnecting",
			"err", err, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, maxBackoff)
	}
}

// listen runs one connection of Listen until it fails or ctx ends.
// connected reports whether LISTEN succeeded, which resets the backoff.
func (db *DB) listen(ctx context.Context, onConnect func(), onNotify func(kind string)) (connected bool, err error) {
	c, err := pgx.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return false, err
	}
	defer closeConn(c)
	if _, err := c.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	onConnect()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenCheck)
		n, err := c.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if kind, schema, ok := parseNotification(n.Payload); ok && schema == db.schema {
				onNotify(kind)
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err) && !c.IsClosed():
			// A quiet spell: the connection survives the timeout, so check
			// that the server still answers. Notifications arriving
			// meanwhile are queued by pgx for the next wait.
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return true, err
			}
		default:
			return true, err
		}
	}
}

// coalesce returns a function that schedules fn to run on a goroutine of
// its own (added to wg, ending with ctx). Calls made while a run is pending
// merge into it; a call made during a run schedules exactly one more, so
// no change is missed.
func coalesce(ctx context.Context, wg *sync.WaitGroup, fn func()) func() {
	if fn == nil {
		return func() {}
	}
	pending := make(chan struct{}, 1)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-pending:
				fn()
			}
		}
	})
	return func() {
		select {
		case pending <- struct{}{}:
		default:
		}
	}
}
