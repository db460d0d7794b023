// Package sqlite is the SQLite store of restauth: one *DB implements
// restauth.UserStore, restauth.SessionStore, restauth.CounterStore and
// restauth.KeyStore on a single database file, through the pure-Go
// modernc.org/sqlite driver (so CGO_ENABLED=0 builds work).
//
// Every pooled connection runs with journal_mode=WAL, synchronous=FULL (an
// acknowledged write survives kill -9 and power loss), busy_timeout=5000 and
// foreign_keys=ON, set through the driver's _pragma DSN parameters so that
// connections opened later get them too. Writes go through a
// single-connection pool whose transactions begin IMMEDIATE; reads go through
// a query-only pool that WAL lets run beside the writer. Several processes
// may share one file: busy_timeout and IMMEDIATE transactions make their
// writers queue instead of failing with "database is locked".
//
// The schema lives in versioned migrations embedded from migrations/*.sql
// and applied by Open, each in a transaction recorded in schema_migrations.
// Its decisions:
//   - Times are INTEGER unix microseconds, the precision PostgreSQL keeps; a
//     nullable time (revoked_at, used_at, expires_at) is NULL while zero.
//   - Usernames are unique case-insensitively through users.username_key,
//     strings.ToLower of the NFC name the Service passes, under a UNIQUE
//     constraint whose violation becomes restauth.ErrUsernameTaken: there is
//     no check-then-insert.
//   - User ids are AUTOINCREMENT, never reused. Sessions reference users with
//     ON DELETE SET NULL rather than CASCADE: DeleteUser revokes the sessions
//     and the rows stay, so RevokedSince keeps reporting them to other
//     instances, while the foreign key still refuses a session for a user
//     that no longer exists.
//   - Refresh tokens are stored by hash only, and consumed by one conditional
//     UPDATE; a token's sealed child is kept with it for the grace window.
//
// SQLite stores any bytes in a TEXT column, PostgreSQL refuses text that is
// not valid UTF-8 or holds a NUL byte. So that both stores give one answer,
// every connection refuses such a string argument before SQLite sees it
// (BLOB arguments pass as they are): a lookup by such a value (UserByUsername,
// Session, RevokeSession) is restauth.ErrNotFound, since no row can hold it,
// and any other call is an error wrapping restauth.ErrInvalidData, with
// nothing stored. Ids are int64, which an INTEGER column holds whole, so an
// id can only be unknown, never out of range.
//
// The store applies no policy: expiry, idle timeout, grace windows and the
// tarpit are the Service's. Errors reaching callers are restauth.ErrNotFound,
// restauth.ErrUsernameTaken, errors wrapping restauth.ErrInvalidData when a
// value is refused as malformed (a 400, never a 500), errors wrapping
// restauth.ErrStoreUnavailable when the database cannot be reached or
// written, or plain errors, whose text (which may name SQL) clients never
// see.
package sqlite
