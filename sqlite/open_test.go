package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeFile creates a SQLite file at path with the statements of another
// program, through the bare driver.
func makeFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	c, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, s := range stmts {
		if _, err := c.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// tableNames lists the tables of the file at path, read without the store.
func tableNames(t *testing.T, path string) []string {
	t.Helper()
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestOpenRefusesForeignDatabase points the store at files of other
// programs: Open must refuse them with a message naming the file and its
// tables, and leave every byte as it was, with no schema_migrations table
// and no -wal file.
func TestOpenRefusesForeignDatabase(t *testing.T) {
	tests := []struct {
		name  string
		stmts []string
		want  string // In the message, besides the path.
	}{
		{"users table of another program", []string{
			`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)`,
			`INSERT INTO users (email) VALUES ('someone@example.com')`,
		}, "(users)"},
		{"another tool's schema_migrations", []string{
			`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty INTEGER NOT NULL)`,
			`CREATE TABLE posts (id INTEGER PRIMARY KEY)`,
		}, "(posts, schema_migrations)"},
		{"a view only", []string{`CREATE VIEW answer AS SELECT 42`}, "(answer)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other.db")
			makeFile(t, path, tt.stmts...)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tables := tableNames(t, path)

			db, err := Open(t.Context(), path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got success, want an error", tt.name)
			}
			msg := err.Error()
			for _, want := range []string{path, "not restauth's", tt.want, "left unchanged"} {
				if !strings.Contains(msg, want) {
					t.Errorf("Open(%s) = %q, want the message to contain %q", tt.name, msg, want)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("Open(%s) changed the file", tt.name)
			}
			if got := tableNames(t, path); !slices.Equal(got, tables) {
				t.Errorf("tables after Open(%s) = %q, want %q as before", tt.name, got, tables)
			}
			if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Open(%s) left a -wal file (stat: %v), want none", tt.name, err)
			}
		})
	}
}

// TestOpenAcceptsOwnDatabase reopens restauth's own file, also once the
// operator has added a table of their own to it, and an existing empty
// file.
func TestOpenAcceptsOwnDatabase(t *testing.T) {
	db, path := openTemp(t)
	if _, err := db.write.Exec(`CREATE TABLE operator_notes (note TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	again, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen restauth's database with an extra table: %v", err)
	}
	again.Close()

	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), empty)
	if err != nil {
		t.Fatalf("Open(an empty file): %v", err)
	}
	db.Close()
}
