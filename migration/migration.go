// Package migration reads the versioned SQL migrations that the stores
// embed. Each store applies them its own way (a write lock on SQLite, an
// advisory lock on PostgreSQL); reading and ordering them is shared here so
// that both stores name and order migrations by one rule.
package migration

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change, from a file named NNNN_description.sql.
type Migration struct {
	Version int64
	Name    string // The file's base name.
	SQL     string
}

// Load returns the migrations in fsys's migrations/ folder in version
// order. It refuses a file not named NNNN_description.sql and two files
// with one version.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := path.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q is not named NNNN_description.sql", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return int(a.Version - b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %q and %q share a version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Table is the table in which the stores record applied migrations, and
// Columns its columns in order. The shape tells restauth's table from the
// schema_migrations of other tools, which use other columns.
const Table = "schema_migrations"

// Columns are Table's columns, in order.
var Columns = []string{"version", "applied_at"}

// ErrForeign marks a database that holds tables restauth did not create.
var ErrForeign = errors.New("not restauth's")

// CheckOwner decides whether restauth may migrate a database before
// anything is written to it. tables are the names of the tables and views
// the database (or schema) holds, in any order, and cols the columns of its
// Table, in order (nil when there is none). It returns nil for a database
// that holds nothing, or that holds restauth's Table; otherwise an error
// wrapping ErrForeign that names the tables, so that restauth never writes
// into another program's database.
func CheckOwner(tables, cols []string) error {
	if len(tables) == 0 || (slices.Contains(tables, Table) && slices.Equal(cols, Columns)) {
		return nil
	}
	names := slices.Sorted(slices.Values(tables))
	const most = 5
	list := strings.Join(names[:min(len(names), most)], ", ")
	if len(names) > most {
		list += fmt.Sprintf(" and %d more", len(names)-most)
	}
	return fmt.Errorf("%w: it holds tables restauth did not create (%s)", ErrForeign, list)
}
