package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Backup writes a consistent copy of the database to file, which must not
// exist, with mode 0600: the copy holds password hashes and private keys.
// It is VACUUM INTO, run in one read transaction, so it is safe while other
// connections (another process included) write: the copy is the database as
// of the transaction's start, compacted. A failed backup leaves no file.
func (db *DB) Backup(ctx context.Context, file string) (err error) {
	// VACUUM INTO writes into an empty file; creating it here first fixes
	// its mode and refuses to overwrite anything.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("sqlite: backup: %s exists already; name a new file", file)
		}
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(file)
		}
	}()
	// The reader pool is query_only, which refuses VACUUM INTO; on the
	// writer it holds this process's writes back for the copy's duration,
	// while other processes keep writing (WAL).
	if _, err := db.write.ExecContext(ctx, `VACUUM INTO ?`, file); err != nil {
		return fmt.Errorf("sqlite: backup to %s: %w", file, err)
	}
	// SQLite wrote the copy without syncing it.
	f, err = os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}
