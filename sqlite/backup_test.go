package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/restauth/restauth"
)

// TestBackup copies the database while another connection, in another pool
// as another process would have, keeps writing: the copy is private,
// intact, and a snapshot of some moment between the start and the end.
func TestBackup(t *testing.T) {
	ctx := context.Background()
	db, path := openTemp(t)
	for i := range 50 {
		if err := db.CreateUser(ctx, &restauth.User{Username: fmt.Sprintf("before%d", i), PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	writer, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written int
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				written = i
				return
			default:
			}
			if err := writer.CreateUser(ctx, &restauth.User{Username: fmt.Sprintf("during%d", i), PasswordHash: "x"}); err != nil {
				t.Error(err)
				written = i
				return
			}
		}
	})

	file := filepath.Join(t.TempDir(), "copy.db")
	err = db.Backup(ctx, file)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	cp, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var check string
	if err := cp.read.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the copy: %q, %v", check, err)
	}
	users, err := cp.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(users); n < 50 || n > 50+written {
		t.Errorf("the copy holds %d users, want 50 to %d", n, 50+written)
	}
	t.Logf("copied %d users while %d were being added", len(users), written)

	// An existing file is never overwritten, and a failed backup leaves
	// nothing behind.
	if err := db.Backup(ctx, file); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("backup onto an existing file: %v, want a refusal", err)
	}
	bad := filepath.Join(t.TempDir(), "copy.db")
	db.Close()
	if err := db.Backup(ctx, bad); err == nil {
		t.Error("backup from a closed database succeeded")
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a failed backup left %s behind (%v)", bad, err)
	}
}
