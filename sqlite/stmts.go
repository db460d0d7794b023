package sqlite

import (
	"context"
	"database/sql"
)

// The queries of a password login, of Basic with a password and of a
// refresh, which run on every such request, are prepared once when the
// store opens. SQLite
// compiles a statement's text into a program each time it is prepared:
// for a primary-key lookup that is about as much work as running it. A
// prepared *sql.Stmt is compiled once per connection of its pool and reset
// between uses.
type statements struct {
	userByUsername, counter, totp prepared // On the reader pool.
	insertSession, insertRefresh  prepared // On the writer, used in its transactions.
}

// prepared is a query and its prepared statement, or a nil statement when
// preparing failed, as it does on a damaged database that lacks a table:
// the query then runs unprepared and fails where it is used, with its
// cause, while the rest of the store still works.
type prepared struct {
	query string
	stmt  *sql.Stmt
}

// prepare prepares the hot statements. It runs after the migrations, which
// create the tables the statements name. Statements on the writer are
// prepared here, outside any transaction: the writer has one connection,
// which a transaction holds.
func (db *DB) prepare(ctx context.Context) {
	stmt := func(pool *sql.DB, query string) prepared {
		s, err := pool.PrepareContext(ctx, query)
		if err != nil {
			return prepared{query: query}
		}
		return prepared{query: query, stmt: s}
	}
	db.stmts = statements{
		userByUsername: stmt(db.read, `SELECT `+userCols+` FROM users WHERE username_key = ?`),
		counter:        stmt(db.read, `SELECT count, window_start, last FROM counters WHERE key = ? AND window_start > ?`),
		totp:           stmt(db.read, `SELECT secret, created_at, confirmed_at, last_step FROM totp WHERE user_id = ?`),
		insertSession:  stmt(db.write, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		insertRefresh:  stmt(db.write, `INSERT INTO refresh_tokens (hash, session_id, created_at) VALUES (?, ?, ?)`),
	}
}

// close closes the prepared statements.
func (st *statements) close() {
	for _, p := range []prepared{st.userByUsername, st.counter, st.totp, st.insertSession, st.insertRefresh} {
		if p.stmt != nil {
			p.stmt.Close()
		}
	}
}

// queryRow runs the query on pool, the pool p was prepared on.
func (p prepared) queryRow(ctx context.Context, pool *sql.DB, args ...any) *sql.Row {
	if p.stmt != nil {
		return p.stmt.QueryRowContext(ctx, args...)
	}
	return pool.QueryRowContext(ctx, p.query, args...)
}

// exec runs the statement in tx, a transaction of the writer.
func (p prepared) exec(ctx context.Context, tx *sql.Tx, args ...any) (sql.Result, error) {
	if p.stmt != nil {
		return tx.StmtContext(ctx, p.stmt).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, p.query, args...)
}
