package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	_ "modernc.org/sqlite" // Registers the "sqlite" driver wrapped here.
)

// errInvalidText is returned for a string argument that is not valid UTF-8
// or holds a NUL byte.
var errInvalidText = errors.New("text is not valid UTF-8 or holds a NUL byte")

// baseDriver is modernc.org/sqlite's driver, as registered under "sqlite".
var baseDriver = func() driver.Driver {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic("sqlite: the modernc.org/sqlite driver is not registered: " + err.Error())
	}
	defer db.Close()
	return db.Driver()
}()

// connector opens connections of the base driver that refuse text
// PostgreSQL would refuse. SQLite itself stores any bytes in a TEXT column:
// without this check a session id or username that is not valid UTF-8 would
// be stored by one store and refused by the other, and the conformance
// suite holds both to one answer.
type connector struct{ dsn string }

func (c connector) Connect(context.Context) (driver.Conn, error) {
	dc, err := baseDriver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(sqliteConn)
	if !ok {
		dc.Close()
		return nil, errors.New("sqlite: the driver's connection lacks the context methods the store needs")
	}
	return checkedConn{sc}, nil
}

func (c connector) Driver() driver.Driver { return baseDriver }

// sqliteConn is the part of modernc.org/sqlite's connection that
// database/sql uses; checkedConn passes all of it through.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// checkedConn is a connection whose every argument, in a statement run
// directly or prepared, goes through CheckNamedValue first.
type checkedConn struct{ sqliteConn }

var _ driver.NamedValueChecker = checkedConn{}

// CheckNamedValue converts nv as database/sql would by default, then
// refuses a string that is not valid UTF-8 or holds a NUL byte. Byte slices
// (BLOB columns) are not text and pass as they are.
func (checkedConn) CheckNamedValue(nv *driver.NamedValue) error {
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	if err != nil {
		return err
	}
	if s, ok := v.(string); ok && !validText(s) {
		return errInvalidText
	}
	nv.Value = v
	return nil
}

// validText reports whether s is text both stores can hold.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// checkWritable returns an error when SQLite opened the database of the
// pool db read-only.
func checkWritable(ctx context.Context, db *sql.DB, name string) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return storeErr("open", err)
	}
	defer c.Close()
	var readOnly bool
	err = c.Raw(func(dc any) error {
		cc, ok := dc.(checkedConn)
		if !ok {
			return nil
		}
		ro, ok := cc.sqliteConn.(interface{ IsReadOnly(string) (bool, error) })
		if !ok {
			return nil
		}
		var err error
		readOnly, err = ro.IsReadOnly("main")
		return err
	})
	if err != nil {
		return storeErr("open", err)
	}
	if readOnly {
		return fmt.Errorf("sqlite: database %s was opened read-only, and restauth must write to it", name)
	}
	return nil
}
