package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/migration"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The stores must satisfy the domain interfaces.
var (
	_ restauth.UserStore    = (*DB)(nil)
	_ restauth.SessionStore = (*DB)(nil)
	_ restauth.CounterStore = (*DB)(nil)
	_ restauth.KeyStore     = (*DB)(nil)
)

// pragmas are applied by the driver to every new pooled connection, so a
// connection opened after a reconnect behaves like the first one.
// synchronous=FULL makes WAL commits fsync before they are acknowledged, so an
// acknowledged write survives kill -9 and power loss.
var pragmas = []string{
	"busy_timeout(5000)",
	"foreign_keys(ON)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
}

// reservedParams are DSN parameters the store sets itself; a DSN that sets
// them is refused rather than silently overridden.
var reservedParams = map[string]bool{
	"_txlock": true, "_busy_timeout": true, "_timeout": true,
	"_foreign_keys": true, "_fk": true, "_journal_mode": true, "_journal": true,
	"_synchronous": true, "_sync": true, "_query_only": true,
	"_time_format": true, "_time_integer_format": true, "_inttotime": true, "_texttotime": true,
}

// DB is a SQLite-backed store implementing restauth.UserStore,
// restauth.SessionStore, restauth.CounterStore and restauth.KeyStore.
//
// It keeps two pools on one database file: a single-connection writer whose
// transactions begin IMMEDIATE, so writers in this process queue in Go rather
// than racing for SQLite's lock, and a multi-connection query-only reader pool
// that WAL lets run alongside the writer. An in-memory database uses the one
// writer connection for everything, since each connection to ":memory:" would
// otherwise see a database of its own.
type DB struct {
	write *sql.DB
	read  *sql.DB
	name  string // The database for operators' messages: a quoted absolute path, or ":memory:".
	stmts statements
}

// Open opens (creating if needed) the database named by dsn and applies any
// pending migrations. dsn is a file path, a path prefixed with "sqlite:" (or
// "sqlite://"), a "file:" URI, or ":memory:". Query parameters are passed to
// the driver, except those that would change the pragmas and transaction mode
// the store depends on, which are refused. A new database file is created
// readable by its owner only, since it holds password hashes and signing keys.
//
// Open refuses, before writing anything, an existing database that is
// neither empty nor restauth's. When the file system explains a failure (a
// missing or read-only folder, a read-only file, a file that is not a
// database), the error says so and what to do, for the operator to read.
func Open(ctx context.Context, dsn string) (*DB, error) {
	src, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := open(ctx, src)
	if err != nil {
		return nil, explainOpen(src.path, err)
	}
	return db, nil
}

// open is Open once the DSN is parsed; Open explains its failures.
func open(ctx context.Context, src source) (*DB, error) {
	name := ":memory:"
	if src.path != "" {
		name = strconv.Quote(absolute(src.path))
		if fi, err := os.Stat(src.path); err == nil && fi.Size() > 0 {
			// The writer's first connection switches the file to WAL,
			// which is a write: look at another program's file first.
			if err := inspect(ctx, src, name); err != nil {
				return nil, err
			}
		}
		// SQLite creates its -wal and -shm files with the main file's mode.
		f, err := os.OpenFile(src.path, os.O_RDONLY|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: create database file: %w", err)
		}
		f.Close()
	}

	write := sql.OpenDB(connector{src.dsn(false)})
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	db := &DB{write: write, read: write, name: name}
	// The writer connects first so that it alone switches a new file to WAL.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, storeErr("open", err)
	}
	// SQLite opens a file it may not write read-only without a word, and
	// every write would then fail: refuse now, with a reason.
	if err := checkWritable(ctx, write, name); err != nil {
		write.Close()
		return nil, err
	}
	if !src.memory {
		read := sql.OpenDB(connector{src.dsn(true)})
		n := max(4, runtime.GOMAXPROCS(0))
		read.SetMaxOpenConns(n)
		read.SetMaxIdleConns(n)
		db.read = read
		if err := read.PingContext(ctx); err != nil {
			db.Close()
			return nil, storeErr("open", err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.prepare(ctx)
	return db, nil
}

// inspect refuses an existing database that is not restauth's, through a
// query-only connection that sets no pragma, so that nothing is written to
// it.
func inspect(ctx context.Context, src source, name string) error {
	q := url.Values{}
	for k, v := range src.query {
		q[k] = append([]string(nil), v...)
	}
	q["_pragma"] = append(q["_pragma"], "busy_timeout(5000)", "query_only(1)")
	c := sql.OpenDB(connector{src.base + "?" + q.Encode()})
	defer c.Close()
	err := refuseForeign(ctx, c, name)
	if err != nil && !errors.Is(err, migration.ErrForeign) {
		return storeErr("open", err)
	}
	return err
}

// Close closes the prepared statements and both connection pools.
func (db *DB) Close() error {
	db.stmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database can be reached through both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return storeErr("ping", err)
	}
	// A ping alone would reuse an idle connection without touching the file.
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1 FROM sqlite_schema LIMIT 1").Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storeErr("ping", err)
	}
	return nil
}

// inTx runs fn in a write transaction, which the driver begins IMMEDIATE so
// that it takes the write lock up front and never fails to upgrade a read
// lock halfway through.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// source is a parsed data source name.
type source struct {
	base   string     // A file path or a "file:" URI, without query.
	query  url.Values // Parameters for the driver (or SQLite, for a URI).
	path   string     // The file to pre-create, or "" when unknown or in memory.
	memory bool
}

func parseDSN(dsn string) (source, error) {
	if rest, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		dsn = strings.TrimPrefix(rest, "//")
	}
	base, rawQuery, _ := strings.Cut(dsn, "?")
	if base == "" {
		return source{}, errors.New("sqlite: empty database path")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return source{}, fmt.Errorf("sqlite: invalid dsn query: %w", err)
	}
	for k := range q {
		if reservedParams[strings.ToLower(k)] {
			return source{}, fmt.Errorf("sqlite: dsn parameter %q is set by the store", k)
		}
	}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		name, _, _ = strings.Cut(name, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		for _, own := range pragmas {
			if strings.HasPrefix(own, name+"(") {
				return source{}, fmt.Errorf("sqlite: dsn pragma %q is set by the store", name)
			}
		}
		if name == "query_only" {
			return source{}, fmt.Errorf("sqlite: dsn pragma %q is set by the store", name)
		}
	}
	src := source{base: base, query: q}
	if uri, ok := strings.CutPrefix(base, "file:"); ok {
		if strings.HasPrefix(uri, "//") {
			// file://host/path: only an empty or "localhost" authority is valid.
			_, uri, _ = strings.Cut(uri[2:], "/")
			uri = "/" + uri
		}
		p, err := url.PathUnescape(uri)
		if err != nil {
			return source{}, fmt.Errorf("sqlite: invalid dsn path: %w", err)
		}
		src.memory = p == ":memory:" || q.Get("mode") == "memory"
		if !src.memory && p != "" {
			src.path = p
		}
	} else {
		src.memory = base == ":memory:"
		if !src.memory {
			src.path = base
		}
	}
	return src, nil
}

// dsn returns the driver DSN for the reader pool (readOnly) or the writer.
func (s source) dsn(readOnly bool) string {
	q := url.Values{}
	for k, v := range s.query {
		q[k] = append([]string(nil), v...)
	}
	q["_pragma"] = append(q["_pragma"], pragmas...)
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return s.base + "?" + q.Encode()
}

// Times are stored as unix microseconds: the precision PostgreSQL keeps, so
// that every store returns the same instant, and a range that includes the
// zero time.Time.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores the zero time as NULL, for columns where zero means
// "not yet" (revoked_at, used_at, expires_at).
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// storeErr translates a database error for the domain: no rows becomes
// restauth.ErrNotFound, a value the store refuses as malformed becomes an
// error wrapping restauth.ErrInvalidData, a database that cannot be reached
// or written an error wrapping restauth.ErrStoreUnavailable (both still
// wrapping the cause for the logs), and anything else a plain error, which
// clients only ever see as a generic message. op names the operation, never
// the SQL.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return restauth.ErrNotFound
	}
	var re *restauth.Error
	if errors.As(err, &re) {
		return err
	}
	if invalidData(err) {
		return fmt.Errorf("sqlite: %s: %w: %w", op, restauth.ErrInvalidData, err)
	}
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_PROTOCOL:
		return fmt.Errorf("sqlite: %s: %w: %w", op, restauth.ErrStoreUnavailable, err)
	}
	if errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("sqlite: %s: %w: %w", op, restauth.ErrStoreUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// lookupErr is storeErr for a lookup by an identifier the caller was given:
// a value the store refuses as malformed cannot name any row, so it is
// restauth.ErrNotFound, the answer an unknown identifier gets.
func lookupErr(op string, err error) error {
	if invalidData(err) {
		return restauth.ErrNotFound
	}
	return storeErr(op, err)
}

// invalidData reports whether err refuses a value the request carried: text
// that is not valid UTF-8 or holds a NUL byte (refused before SQLite sees
// it, as PostgreSQL refuses it), or a string or blob over SQLite's size
// limit. Integers cannot be out of range: ids are int64, which an INTEGER
// column holds whole.
func invalidData(err error) bool {
	return errors.Is(err, errInvalidText) || sqliteCode(err)&0xff == sqlite3.SQLITE_TOOBIG
}

// Listen waits until ctx ends. SQLite has no notifications between
// processes: the instances sharing a file (and the operator commands) learn
// of revocations and key changes through the periodic resync. It exists so
// that every store serves the same interface.
func (db *DB) Listen(ctx context.Context, onRevoke, onKeys func(), logger *slog.Logger) {
	<-ctx.Done()
}
