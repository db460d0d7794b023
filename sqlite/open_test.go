package sqlite

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
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

// makeReadOnly takes write permission away from path (a file or a folder)
// until the test ends: chmod for an ordinary user, and the immutable
// attribute (chattr +i) for root, whom permissions do not stop.
func makeReadOnly(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o222); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, fi.Mode().Perm()) })
	if writable(path, fi.IsDir()) {
		out, err := exec.Command("chattr", "+i", path).CombinedOutput()
		if err != nil {
			t.Skipf("cannot make %s read-only here: running as root, and chattr +i failed: %v: %s", path, err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	}
	if writable(path, fi.IsDir()) {
		t.Fatalf("%s is still writable after chmod and chattr +i", path)
	}
}

// writable reports whether path can be written: a file opened for writing,
// or a file created in a folder.
func writable(path string, dir bool) bool {
	if dir {
		f, err := os.CreateTemp(path, "probe-*")
		if err != nil {
			return false
		}
		f.Close()
		os.Remove(f.Name())
		return true
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// TestOpenExplainsPermanentFailures opens databases that can never work as
// they are: each error must say what is wrong and what to do, and must not
// read as a passing outage.
func TestOpenExplainsPermanentFailures(t *testing.T) {
	existing := func(t *testing.T) string {
		db, path := openTemp(t)
		db.Close()
		return path
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) string // Returns the path to open.
		want  []string                  // Each in the message; "$" stands for the folder.
	}{
		{"read-only file", func(t *testing.T) string {
			path := existing(t)
			makeReadOnly(t, path)
			return path
		}, []string{"database file", "is read-only", "chmod u+w"}},
		{"read-only folder, existing database", func(t *testing.T) string {
			path := existing(t)
			makeReadOnly(t, filepath.Dir(path))
			return path
		}, []string{"folder \"$\" is not writable", "restauth.db-wal", "restauth.db-shm", "must be writable"}},
		{"read-only folder, new database", func(t *testing.T) string {
			dir := t.TempDir()
			makeReadOnly(t, dir)
			return filepath.Join(dir, "new.db")
		}, []string{"folder \"$\" is not writable", "new.db-wal", "must be writable"}},
		{"missing folder", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "no", "such", "x.db")
		}, []string{"does not exist", "mkdir -p"}},
		{"a folder", func(t *testing.T) string {
			return t.TempDir()
		}, []string{"is a folder, not a database file"}},
		{"not a database", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "notes.txt")
			if err := os.WriteFile(path, bytes.Repeat([]byte("not a database\n"), 100), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, []string{"is not a SQLite database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.setup(t)
			db, err := Open(t.Context(), path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got success, want an error", tt.name)
			}
			msg := err.Error()
			t.Logf("Open(%s) = %s", tt.name, msg)
			for _, want := range tt.want {
				want = strings.ReplaceAll(want, "$", filepath.Dir(path))
				if !strings.Contains(msg, want) {
					t.Errorf("Open(%s) = %q, want the message to contain %q", tt.name, msg, want)
				}
			}
			for _, bad := range []string{"temporarily unavailable", "connection lost"} {
				if strings.Contains(msg, bad) {
					t.Errorf("Open(%s) = %q, reads as an outage (%q)", tt.name, msg, bad)
				}
			}
		})
	}
}
