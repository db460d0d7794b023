package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

func importUsers(n int, prefix string) []restauth.User {
	users := make([]restauth.User, n)
	for i := range users {
		users[i] = restauth.User{Username: fmt.Sprintf("%s%06d", prefix, i), PasswordHash: "$argon2id$shared"}
	}
	return users
}

func TestImportUsersSizes(t *testing.T) {
	// Sizes around the batch boundary exercise the full and the partial
	// statement.
	for _, n := range []int{0, 1, importBatch - 1, importBatch, importBatch + 1, 3*importBatch + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			db, _ := openTemp(t)
			ctx := context.Background()
			users := importUsers(n, "User")
			if err := db.ImportUsers(ctx, users); err != nil {
				t.Fatalf("ImportUsers(%d users) = %v, want nil", n, err)
			}
			seen := map[int64]bool{}
			for i, u := range users {
				if u.ID <= 0 || seen[u.ID] {
					t.Fatalf("users[%d].ID = %d, want a new positive id", i, u.ID)
				}
				seen[u.ID] = true
				if u.CreatedAt.IsZero() {
					t.Fatalf("users[%d].CreatedAt is zero, want the import time", i)
				}
			}
			if n == 0 {
				return
			}
			last := users[n-1]
			got, err := db.UserByUsername(ctx, "user"+fmt.Sprintf("%06d", n-1))
			if err != nil {
				t.Fatalf("UserByUsername after import: %v", err)
			}
			if got.ID != last.ID || got.Username != last.Username || got.PasswordHash != last.PasswordHash || !got.CreatedAt.Equal(last.CreatedAt) {
				t.Errorf("stored user = %+v, want %+v", got, last)
			}
			// Registration after an import continues the id sequence.
			u := &restauth.User{Username: "after", PasswordHash: "h"}
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			if u.ID <= last.ID {
				t.Errorf("CreateUser after import got id %d, want more than %d", u.ID, last.ID)
			}
		})
	}
}

func TestImportUsersKeepsIDsAndTimes(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	created := time.Date(2015, 3, 1, 12, 0, 0, 123456000, time.UTC)
	users := []restauth.User{
		{ID: 42, Username: "miguel", PasswordHash: "$6$rounds=656000$salt$hash", CreatedAt: created},
		{Username: "susan", PasswordHash: "$5$rounds=535000$salt$hash"},
		{ID: 7, Username: "Ana", PasswordHash: "pbkdf2:sha256:600000$salt$hash"},
	}
	if err := db.ImportUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   int64
	}{{"miguel", 42}, {"ana", 7}} {
		u, err := db.UserByUsername(ctx, tc.name)
		if err != nil || u.ID != tc.id {
			t.Errorf("UserByUsername(%q) = %+v, %v; want id %d", tc.name, u, err, tc.id)
		}
	}
	if users[1].ID <= 42 {
		t.Errorf("auto id after explicit 42 = %d, want more than 42", users[1].ID)
	}
	if !users[0].CreatedAt.Equal(created) {
		t.Errorf("CreatedAt = %v, want %v", users[0].CreatedAt, created)
	}
}

func TestImportUsersAllOrNothing(t *testing.T) {
	tests := []struct {
		name    string
		users   []restauth.User
		wantErr error // nil: any error
	}{
		{"duplicate in input, other case", []restauth.User{{Username: "a", PasswordHash: "h"}, {Username: "A", PasswordHash: "h"}}, restauth.ErrUsernameTaken},
		{"existing name", append(importUsers(300, "x"), restauth.User{Username: "Existing", PasswordHash: "h"}), restauth.ErrUsernameTaken},
		{"existing id", []restauth.User{{Username: "b", PasswordHash: "h"}, {ID: 1, Username: "c", PasswordHash: "h"}}, nil},
		{"empty hash", []restauth.User{{Username: "d", PasswordHash: "h"}, {Username: "e"}}, nil},
		{"empty username", []restauth.User{{PasswordHash: "h"}}, nil},
		{"username not UTF-8", []restauth.User{{Username: "f", PasswordHash: "h"}, {Username: "\xff", PasswordHash: "h"}}, restauth.ErrInvalidData},
		{"NUL in hash", []restauth.User{{Username: "g", PasswordHash: "h\x00"}}, restauth.ErrInvalidData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t)
			ctx := context.Background()
			if err := db.CreateUser(ctx, &restauth.User{Username: "existing", PasswordHash: "h"}); err != nil {
				t.Fatal(err)
			}
			err := db.ImportUsers(ctx, tc.users)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("ImportUsers = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, restauth.ErrUsernameTaken) {
				t.Fatalf("ImportUsers = %v, want an error other than username taken", err)
			}
			all, err := db.ListUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 1 {
				t.Errorf("users after failed import = %d, want 1 (nothing imported)", len(all))
			}
		})
	}
}
