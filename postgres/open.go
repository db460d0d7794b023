package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/restauth/restauth"
)

// openError is a failure to open the store, worded for the operator, who
// reads it at startup: it says what is wrong and what to do, instead of the
// "temporarily unavailable" a failed request gets. It names the host, port,
// user and database, never a password. It unwraps to the cause and, when
// the failure may pass by itself (nothing listening yet, no answer), to
// restauth.ErrStoreUnavailable.
type openError struct {
	msg       string
	transient bool
	err       error
}

func (e *openError) Error() string { return e.msg }

func (e *openError) Unwrap() []error {
	if e.transient {
		return []error{restauth.ErrStoreUnavailable, e.err}
	}
	return []error{e.err}
}

// address returns where cfg connects, as the operator would write it.
func address(cfg *pgconn.Config) string {
	if strings.HasPrefix(cfg.Host, "/") {
		return fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// clientFlags returns the -h, -p and -U flags of the PostgreSQL client
// programs (createdb, createuser) that reach the server cfg names.
func clientFlags(cfg *pgconn.Config) string {
	return fmt.Sprintf("-h %s -p %d -U %s", cfg.Host, cfg.Port, cfg.User)
}

// explainConnect turns a failure to connect into an *openError when the
// cause is one an operator must act on; any other error becomes an error
// wrapping restauth.ErrStoreUnavailable, as before.
func explainConnect(cfg *pgx.ConnConfig, err error) error {
	database := cfg.Database
	if database == "" {
		database = cfg.User // The server's default.
	}
	at := address(&cfg.Config)
	explain := func(transient bool, format string, args ...any) error {
		return &openError{msg: "postgres: " + fmt.Sprintf(format, args...), transient: transient, err: err}
	}
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "3D000": // invalid_catalog_name
		return explain(false, "database %q does not exist at %s: create it (for example createdb %s %s) or name another database in the URL",
			database, at, clientFlags(&cfg.Config), database)
	case errors.As(err, &pgErr) && pgErr.Code == "28000" && strings.HasPrefix(pgErr.Message, "role "):
		return explain(false, "role %q does not exist at %s: create it (for example createuser %s --pwprompt %s, as a superuser) or name another user in the URL",
			cfg.User, at, fmt.Sprintf("-h %s -p %d -U postgres", cfg.Host, cfg.Port), cfg.User)
	case errors.As(err, &pgErr) && pgErr.Code == "28P01": // invalid_password
		return explain(false, "password authentication failed for user %q at %s: correct the password in the URL, PGPASSWORD or ~/.pgpass",
			cfg.User, at)
	case errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "28"):
		return explain(false, "the server at %s refuses user %q on database %q (%s): allow it in the server's pg_hba.conf",
			at, cfg.User, database, pgErr.Message)
	case errors.As(err, &pgErr) && pgErr.Code == "42501": // insufficient_privilege
		return explain(false, "user %q may not connect to database %q at %s (%s): grant it (GRANT CONNECT ON DATABASE %s TO %s)",
			cfg.User, database, at, pgErr.Message, pgx.Identifier{database}.Sanitize(), pgx.Identifier{cfg.User}.Sanitize())
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT) && strings.HasPrefix(cfg.Host, "/"):
		return explain(true, "nothing listens at %s: start PostgreSQL there, or correct the host and port in the URL", at)
	case errors.As(err, &dnsErr):
		return explain(true, "host %q was not found (%s): correct the host in the URL", cfg.Host, dnsErr.Err)
	case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
		return explain(true, "no answer from %s within %s: check that PostgreSQL runs there and that no firewall drops the connection (connect_timeout in the URL sets the wait)",
			at, cfg.ConnectTimeout)
	}
	return storeErr("connect", fmt.Errorf("%w: %w", errConnLost, err))
}
