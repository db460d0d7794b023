package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/restauth/restauth"
)

// The store must satisfy the domain interfaces.
var (
	_ restauth.UserStore    = (*DB)(nil)
	_ restauth.SessionStore = (*DB)(nil)
	_ restauth.CounterStore = (*DB)(nil)
	_ restauth.KeyStore     = (*DB)(nil)
)

const (
	// opTimeout bounds every store call, so that a database that stops
	// answering (rather than refusing) fails requests with 503 instead of
	// holding them.
	opTimeout = 10 * time.Second
	// defaultConnectTimeout applies when the URL sets no connect_timeout.
	defaultConnectTimeout = 5 * time.Second
)

// DB is a PostgreSQL-backed store implementing restauth.UserStore,
// restauth.SessionStore, restauth.CounterStore and restauth.KeyStore. It is
// safe for concurrent use by many goroutines and by many processes sharing
// one database.
type DB struct {
	cfg    *pgx.ConnConfig
	pool   *pgxpool.Pool
	schema string // The schema holding the tables, named in notifications.
}

// Open connects to the database named by url (a postgres:// or
// postgresql:// URL, or a keyword/value string) and applies any pending
// migrations under an advisory lock. Parameters pgx does not know are sent to
// the server as run-time settings, so search_path selects the schema that
// holds the tables (it must exist). The pool is pgxpool: its pool_* URL
// settings apply, and pool_max_conns defaults to max(4, GOMAXPROCS). A
// connect_timeout of 5s applies unless the URL sets one.
//
// Open refuses, before creating anything, a schema that is neither empty nor
// restauth's. A failure an operator must act on (a missing database or
// role, a refused password, nothing listening at the address) is an error
// whose text says so and what to do; it never holds the password. Those
// that may pass by themselves (nothing listening, no answer) also wrap
// restauth.ErrStoreUnavailable.
func Open(ctx context.Context, url string) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		pcfg.MaxConns = int32(max(4, runtime.GOMAXPROCS(0)))
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	return openConfig(ctx, pcfg)
}

// openConfig is Open once the configuration is complete.
func openConfig(ctx context.Context, pcfg *pgxpool.Config) (*DB, error) {
	// A connection idle for a second may have been dropped by the server or
	// a proxy; pgxpool pings such a connection before handing it out.
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := &DB{cfg: pcfg.ConnConfig, pool: pool}
	schema, err := db.migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.schema = schema
	return db, nil
}

// Close closes the pool's connections. A running Listen ends with its
// context, not with Close.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	err := db.runRead(ctx, func(ctx context.Context, c *pgx.Conn) error {
		return c.Ping(ctx)
	})
	return storeErr("ping", err)
}

// errConnLost marks an error after which the connection was gone, or could
// not be had: whatever the cause reads like, the database was unreachable.
var errConnLost = errors.New("connection lost")

// run calls fn with a pooled connection, under opTimeout. A call whose
// connection turned out to be dead is retried once on a fresh connection
// when fn cannot have taken effect, which makes the retry safe for writes
// too (see retryable). Before the retry, the pool's idle connections are
// dropped, since what ended one connection has usually ended them all.
func (db *DB) run(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn) error) error {
	return db.call(ctx, false, fn)
}

// runRead is run for a call that only reads: running it twice does no harm,
// so it is retried once on a fresh connection however its connection was
// lost, also after its query was sent.
func (db *DB) runRead(ctx context.Context, fn func(ctx context.Context, c *pgx.Conn) error) error {
	return db.call(ctx, true, fn)
}

// call is run and runRead.
func (db *DB) call(ctx context.Context, readOnly bool, fn func(ctx context.Context, c *pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	for attempt := 0; ; attempt++ {
		var lost bool
		acquired := false
		err := db.pool.AcquireFunc(ctx, func(pc *pgxpool.Conn) error {
			acquired = true
			c := pc.Conn()
			err := fn(ctx, c)
			// pgxpool destroys a closed connection, or one left inside a
			// transaction, when it is released.
			lost = err != nil && c.IsClosed()
			return err
		})
		if !acquired && err != nil {
			return fmt.Errorf("%w: %w", errConnLost, err)
		}
		switch {
		case err == nil:
			return nil
		case lost && attempt == 0 && retryable(readOnly, err) && ctx.Err() == nil:
			// What killed this connection (a failover, a restart,
			// pg_terminate_backend, a proxy) has most likely killed the
			// idle ones too: drop them all, so that the retry and the
			// calls after it dial afresh instead of meeting them.
			db.pool.Reset()
			continue
		case lost:
			return fmt.Errorf("%w: %w", errConnLost, err)
		}
		return err
	}
}

// retryable reports whether a call that lost its connection with err may
// run again on a fresh one. A read always may. A write may only when it
// cannot have taken effect: when the server answered that it had ended the
// session (sessionEnded), which rolls back whatever it had not committed,
// or when sending the first bytes failed. pgconn.SafeToRetry alone is not
// enough: pgconn also reports "conn closed", marked safe, when a statement
// sent without arguments (COMMIT among them) loses its connection while
// waiting for the result, and the statement may have committed by then.
// So a write is retried only on a write error that sent nothing; a
// connection lost any other way mid-call fails the call.
func retryable(readOnly bool, err error) bool {
	if readOnly || sessionEnded(err) {
		return true
	}
	var opErr *net.OpError
	return pgconn.SafeToRetry(err) && errors.As(err, &opErr) && opErr.Op == "write"
}

// sessionEnded reports whether err is the server's notice that it ended the
// session: an administrator's command (57P01, pg_terminate_backend or a
// fast shutdown), a crash of another backend (57P02) or the idle-session
// timeout (57P05). The server sends it in place of a statement's result
// when the statement did not run to its commit.
func sessionEnded(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "57P01", "57P02", "57P05":
		return true
	}
	return false
}

// inTx runs fn in a transaction on c, committing when fn succeeds.
func inTx(ctx context.Context, c *pgx.Conn, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, c, fn)
}

// storeErr translates a database error for the domain: no rows becomes
// restauth.ErrNotFound, a value the database refuses as malformed becomes an
// error wrapping restauth.ErrInvalidData, a database that cannot be reached
// (or is shutting down, or has no room) an error wrapping
// restauth.ErrStoreUnavailable, domain errors pass unchanged, and anything
// else becomes a plain error, which clients only ever see as a generic
// message. The wrapped errors keep the cause for the logs. op names the
// operation, never the SQL.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return restauth.ErrNotFound
	}
	var re *restauth.Error
	if errors.As(err, &re) {
		return err
	}
	if invalidData(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, restauth.ErrInvalidData, err)
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, restauth.ErrStoreUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// lookupErr is storeErr for a lookup by an identifier the caller was given:
// a value the database refuses as malformed cannot name any row, so it is
// restauth.ErrNotFound, the answer an unknown identifier gets.
func lookupErr(op string, err error) error {
	if invalidData(err) {
		return restauth.ErrNotFound
	}
	return storeErr(op, err)
}

// invalidData reports whether err is PostgreSQL refusing a value the request
// carried: a data exception (SQLSTATE class 22: a string that is not valid
// UTF-8 or holds a NUL byte, a number or time out of its column's range,
// text that does not parse as the column's type) or a value over a size
// limit (54000, such as a key too long for its index).
func invalidData(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) &&
		(strings.HasPrefix(pgErr.Code, "22") || pgErr.Code == codeProgramLimitExceeded)
}

// unavailable reports whether err means the database could not serve the
// request right now, as opposed to refusing it.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // Connection exception.
			strings.HasPrefix(pgErr.Code, "53"), // Insufficient resources: too many connections, disk full.
			strings.HasPrefix(pgErr.Code, "57"), // Operator intervention: shutdown, query cancelled.
			strings.HasPrefix(pgErr.Code, "40"), // Transaction rollback: deadlock, serialization; a retry may pass.
			pgErr.Code == "25006":               // Read-only transaction: a standby, during failover.
			return true
		}
		if !errors.Is(err, errConnLost) {
			return false
		}
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.Is(err, errConnLost) ||
		errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		pgconn.Timeout(err)
}

// isCode reports whether err is a PostgreSQL error with the SQLSTATE code.
func isCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// SQLSTATE codes the store translates.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	// codeProgramLimitExceeded is what an index answers to a key over its
	// size limit (about 2.7 kB for a B-tree).
	codeProgramLimitExceeded = "54000"
)

// Times go to PostgreSQL as timestamptz, which keeps microseconds: pgx
// truncates as time.Time.UnixMicro does, so every store returns the same
// instant. Times come back in UTC, like the SQLite store's.

// nullTime stores the zero time as NULL, for columns where zero means "not
// yet" (revoked_at, used_at, expires_at).
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// rowsAffected returns restauth.ErrNotFound when tag changed no row.
func rowsAffected(tag pgconn.CommandTag) error {
	if tag.RowsAffected() == 0 {
		return restauth.ErrNotFound
	}
	return nil
}

// closeConn closes a connection of its own (the migration and LISTEN
// connections) without waiting long on a server that has gone away.
func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
