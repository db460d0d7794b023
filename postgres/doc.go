// Package postgres is the PostgreSQL store of restauth, for several
// instances sharing one database: one *DB implements restauth.UserStore,
// restauth.SessionStore, restauth.CounterStore and restauth.KeyStore on
// pgx (v5), with the semantics of the SQLite store, which the shared
// conformance suite (storetest) pins down.
//
// Every rule that must hold across instances is decided by the database in
// one statement, never by process memory: usernames are unique through a
// UNIQUE constraint on the folded name (INSERT, whose violation is
// restauth.ErrUsernameTaken), a refresh token is consumed by one conditional
// UPDATE ... WHERE used_at IS NULL RETURNING, rate-limit counters are
// INSERT ... ON CONFLICT DO UPDATE upserts, and the server secret is
// INSERT ... ON CONFLICT DO NOTHING followed by a read of the winner.
//
// Sweep (restauth.Sweeper) deletes ended sessions and idle counters, so the
// tables stay bounded by live data.
//
// Revocations and signing-key changes are announced with pg_notify inside
// the transaction that makes them, so they are delivered on commit only;
// Listen turns them into callbacks with which each instance refreshes its
// in-memory revocation set and key ring (see Listen).
//
// The schema lives in versioned migrations embedded from migrations/*.sql
// and applied by Open under a pg_advisory_lock, so instances starting
// together do not race. Tables are created unqualified, in the first schema
// of the search_path, which the URL may set (?search_path=name). Its
// decisions follow the SQLite store's: times are timestamptz (microseconds),
// NULL for a zero time; user ids come from an identity column and are never
// reused; sessions reference users ON DELETE SET NULL so that a deleted
// user's revoked sessions stay visible to RevokedSince; refresh tokens are
// stored by hash only.
//
// The store fails closed. When the database cannot be reached, refuses
// connections, is shutting down or stops answering (every call is bounded by
// a timeout), errors wrap restauth.ErrStoreUnavailable, which the HTTP layer
// answers with 503 and a generic body. The connection pool drops broken
// connections and dials anew on the next call, so the store recovers by
// itself when the database returns. A call that meets a dead connection is
// retried once on a fresh one when that is safe: always for a read (run
// through runRead), and for a write when it cannot have taken effect
// (nothing was sent, or the server answered that it ended the session, as
// after pg_terminate_backend or a restart), so a failover does not fail the
// next request of every pooled connection.
//
// A value PostgreSQL refuses as malformed is the client's fault, not the
// server's: a data exception (SQLSTATE class 22: text that is not valid
// UTF-8 or holds a NUL byte, a number or time out of range, text that does
// not parse as its column's type) or a value over a size limit (54000, a
// key too long for its index) is an error wrapping restauth.ErrInvalidData,
// which the HTTP layer answers with 400. A lookup by such a value
// (UserByUsername, Session, RevokeSession) is restauth.ErrNotFound instead,
// the answer an unknown value gets, since no row can hold it.
//
// Errors reaching callers are restauth.ErrNotFound,
// restauth.ErrUsernameTaken, errors wrapping restauth.ErrInvalidData or
// restauth.ErrStoreUnavailable, or plain errors, whose text (which may name
// SQL) clients never see.
package postgres
