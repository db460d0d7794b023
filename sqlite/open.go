package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/restauth/restauth/migration"
	sqlite3 "modernc.org/sqlite/lib"
)

// openError is a failure to open the database that the file system
// explains. Its text is for the operator, who reads it at startup: it says
// what is wrong and what to do, without the "temporarily unavailable" of a
// request that failed. It unwraps to the cause.
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// absolute returns path made absolute when it can be, for messages.
func absolute(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// explainOpen turns err, a failure to open or migrate the database file at
// path, into an *openError when the file system says why: a folder that
// does not exist or cannot be written, a file that cannot be written, a
// folder where the file should be, a file that is not a database. Any other
// error (a database busy beyond the timeout, one of another program) is
// returned as it is. The checks run only after a failure, so they cost a
// working start nothing.
func explainOpen(path string, err error) error {
	if err == nil || path == "" || errors.Is(err, migration.ErrForeign) {
		return err
	}
	file := absolute(path)
	dir := filepath.Dir(file)
	wrap := func(format string, args ...any) error {
		return &openError{msg: "sqlite: " + fmt.Sprintf(format, args...), err: err}
	}
	if fi, statErr := os.Stat(dir); errors.Is(statErr, fs.ErrNotExist) {
		return wrap("folder %q does not exist: create it (mkdir -p %q) or give another path for the database", dir, dir)
	} else if statErr == nil && !fi.IsDir() {
		return wrap("%q is not a folder, so it cannot hold the database %q", dir, filepath.Base(file))
	}
	if fi, statErr := os.Stat(file); statErr == nil && fi.IsDir() {
		return wrap("%q is a folder, not a database file: give the path of a file in it", file)
	}
	if f, openErr := os.OpenFile(file, os.O_RDWR, 0); openErr != nil {
		if readOnly(openErr) {
			return wrap("database file %q is read-only (%v): restauth writes to it, so make it writable by the user restauth runs as (for example chmod u+w %q)",
				file, reason(openErr), file)
		}
	} else {
		f.Close()
	}
	if f, createErr := os.CreateTemp(dir, ".restauth-write-check-*"); createErr != nil {
		if readOnly(createErr) {
			base := filepath.Base(file)
			return wrap("folder %q is not writable (%v): SQLite creates the files %q and %q beside the database while it is open, "+
				"so the folder must be writable by the user restauth runs as (for example chmod u+w %q)",
				dir, reason(createErr), base+"-wal", base+"-shm", dir)
		}
	} else {
		f.Close()
		os.Remove(f.Name())
	}
	if sqliteCode(err)&0xff == sqlite3.SQLITE_NOTADB {
		return wrap("%q is not a SQLite database (it may be another kind of file, or damaged): give restauth a new file, or one it created", file)
	}
	return err
}

// readOnly reports whether err means the file system will not let us write.
func readOnly(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// reason is the system's short explanation in err ("permission denied",
// "read-only file system").
func reason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
