package postgres

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
)

// withUser returns raw with the URL's user (and password) replaced.
func withUser(t *testing.T, raw string, user *url.Userinfo) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = user
	return u.String()
}

// withDatabase returns raw with the URL's database replaced.
func withDatabase(t *testing.T, raw, database string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + database
	return u.String()
}

// TestOpenExplainsPermanentFailures opens databases that cannot work as
// named: each error must say what is wrong and what to do, must not read as
// a passing outage unless it may be one, and must never print the password.
func TestOpenExplainsPermanentFailures(t *testing.T) {
	base := testURL(t)
	const secret = "hunter2-not-printed"
	withPassword := withUser(t, base, url.UserPassword("postgres", secret))
	closed := closedPort(t)
	silent := silentPort(t)
	tests := []struct {
		name      string
		dsn       string
		want      []string
		transient bool // The error wraps restauth.ErrStoreUnavailable.
	}{
		{"missing database", withDatabase(t, withPassword, "restauth_no_such_db"),
			[]string{`database "restauth_no_such_db" does not exist at ` + hostOf(t, base), "createdb", "restauth_no_such_db"}, false},
		{"unknown role", withUser(t, base, url.UserPassword("restauth_no_such_role", secret)),
			[]string{`role "restauth_no_such_role" does not exist at ` + hostOf(t, base), "createuser"}, false},
		{"closed port", withParams(t, strings.Replace(withPassword, hostOf(t, base), closed, 1), map[string]string{"connect_timeout": "2"}),
			[]string{"nothing listens at " + closed}, true},
		{"no answer", withParams(t, strings.Replace(withPassword, hostOf(t, base), silent, 1), map[string]string{"connect_timeout": "1"}),
			[]string{"no answer from " + silent + " within 1s", "firewall"}, true},
		{"password in the query", withParams(t, strings.Replace(base, hostOf(t, base), closed, 1), map[string]string{"password": secret}),
			[]string{"nothing listens at " + closed}, true},
		{"unparsable URL", "postgres://postgres:" + secret + "@127.0.0.1:notaport/test?sslmode=disable", []string{"postgres: cannot parse"}, false},
		{"unparsable URL, password in the query", "postgres://postgres@127.0.0.1:notaport/test?password=" + secret, []string{"postgres: cannot parse"}, false},
		{"missing schema", withParams(t, withPassword, map[string]string{"search_path": "restauth_no_such_schema"}),
			[]string{"restauth_no_such_schema", "CREATE SCHEMA"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.dsn)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got success, want an error", tt.name)
			}
			msg := err.Error()
			t.Logf("Open(%s) = %s", tt.name, msg)
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("Open(%s) = %q, want the message to contain %q", tt.name, msg, want)
				}
			}
			for _, bad := range []string{secret, "temporarily unavailable", "connection lost"} {
				if strings.Contains(msg, bad) {
					t.Errorf("Open(%s) = %q, must not contain %q", tt.name, msg, bad)
				}
			}
			if got := errors.Is(err, restauth.ErrStoreUnavailable); got != tt.transient {
				t.Errorf("Open(%s): wraps ErrStoreUnavailable = %v, want %v", tt.name, got, tt.transient)
			}
		})
	}
}

// TestOpenRefusesForeignSchema points the store at schemas holding another
// program's tables: Open must refuse them with a message naming the schema
// and its tables, and create nothing.
func TestOpenRefusesForeignSchema(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		want  string
	}{
		{"users table of another program", []string{
			`CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL)`,
			`INSERT INTO users (email) VALUES ('someone@example.com')`,
		}, "(users)"},
		{"another tool's schema_migrations", []string{
			`CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)`,
			`CREATE TABLE posts (id bigint)`,
		}, "(posts, schema_migrations)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, schema := freshSchema(t)
			for _, s := range tt.stmts {
				admin(t, dsn, s)
			}
			db, err := Open(t.Context(), dsn)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got success, want an error", tt.name)
			}
			msg := err.Error()
			for _, want := range []string{`schema "` + schema + `" is not restauth's`, tt.want, "left unchanged", "CREATE SCHEMA"} {
				if !strings.Contains(msg, want) {
					t.Errorf("Open(%s) = %q, want the message to contain %q", tt.name, msg, want)
				}
			}
			if got, want := schemaTables(t, dsn, schema), tableList(tt.stmts); !slices.Equal(got, want) {
				t.Errorf("tables after Open(%s) = %q, want %q as before", tt.name, got, want)
			}
		})
	}

	// restauth's own schema stays open to it when the operator adds a table.
	dsn, _ := freshSchema(t)
	mustOpen(t, dsn).Close()
	admin(t, dsn, `CREATE TABLE operator_notes (note text)`)
	mustOpen(t, dsn)
}

// tableList returns the tables the CREATE TABLE statements create, sorted.
func tableList(stmts []string) []string {
	var names []string
	for _, s := range stmts {
		if rest, ok := strings.CutPrefix(s, "CREATE TABLE "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// schemaTables lists the tables in schema.
func schemaTables(t *testing.T, dsn, schema string) []string {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	rows, err := c.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// silentPort returns a local address that accepts connections and never
// answers, as a host behind a firewall that drops packets seems to.
func silentPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
			select {
			case <-done:
				return
			default:
			}
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}
