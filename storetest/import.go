package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/restauth/restauth"
)

// UserImporter is the bulk import every store offers operators moving users
// over from another system: all or nothing, keeping the ids given, and
// moving the id sequence past them. See the SQLite and PostgreSQL stores'
// ImportUsers for the full contract.
type UserImporter interface {
	ImportUsers(ctx context.Context, users []restauth.User) error
}

// testImportUsers checks that imported users keep their ids, names, hashes
// and times, that registrations continue after the largest imported id,
// that a user without an id gets a new one, and that a conflicting import
// stores nothing at all.
func testImportUsers(t *testing.T, s Store) {
	imp, ok := s.(UserImporter)
	if !ok {
		t.Fatalf("%T has no ImportUsers(ctx, []restauth.User) error method", s)
	}
	ctx := t.Context()
	before := mustCreateUser(t, s, "native") // Id 1: the importer must not disturb it.

	users := []restauth.User{
		{ID: 7, Username: "Miguel", PasswordHash: "$5$rounds=535000$salt$hash", CreatedAt: at(0)},
		{ID: 3, Username: "susan", PasswordHash: "pbkdf2:sha256:260000$salt$hash", CreatedAt: at(1e6)},
		{ID: 42, Username: "Ödön", PasswordHash: "$6$rounds=656000$salt$hash", CreatedAt: at(2e6)},
		{Username: "newcomer", PasswordHash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", CreatedAt: at(3e6)},
	}
	if err := imp.ImportUsers(ctx, users); err != nil {
		t.Fatalf("ImportUsers: %v", err)
	}
	for i, id := range []int64{7, 3, 42} {
		want := users[i]
		if want.ID != id {
			t.Errorf("users[%d].ID after import = %d, want the id given, %d", i, want.ID, id)
		}
		got, err := s.UserByID(ctx, want.ID)
		if err != nil {
			t.Fatalf("UserByID(%d): %v", want.ID, err)
		}
		if !equalUser(got, &want) {
			t.Errorf("UserByID(%d) = %s, want %s", want.ID, fmtUser(got), fmtUser(&want))
		}
	}
	if id := users[3].ID; id <= 42 {
		t.Errorf("user imported without an id got id %d, want one after the largest imported id, 42", id)
	}
	if got, err := s.UserByUsername(ctx, "MIGUEL"); err != nil || got.ID != 7 {
		t.Errorf("UserByUsername(%q) = %s, %v; want id 7 (the folded name is indexed)", "MIGUEL", fmtUser(got), err)
	}
	next := mustCreateUser(t, s, "after")
	if next.ID <= users[3].ID {
		t.Errorf("registration after the import got id %d, want more than every id in the table (%d)", next.ID, users[3].ID)
	}

	list := func() []int64 {
		t.Helper()
		all, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, u := range all {
			ids = append(ids, u.ID)
		}
		return ids
	}
	want := list()
	if !slices.Equal(want, []int64{before.ID, 3, 7, 42, users[3].ID, next.ID}) {
		t.Errorf("ids after the import = %v, want %v", want, []int64{before.ID, 3, 7, 42, users[3].ID, next.ID})
	}

	// Each batch holds one fresh user and one that conflicts: nothing of it
	// may be stored.
	bad := []struct {
		name    string
		users   []restauth.User
		wantErr error // nil: any error but ErrUsernameTaken.
	}{
		{"name taken in another case", []restauth.User{
			{ID: 100, Username: "fresh", PasswordHash: "h"}, {ID: 101, Username: "SUSAN", PasswordHash: "h"}}, restauth.ErrUsernameTaken},
		{"names folding alike in the batch", []restauth.User{
			{ID: 100, Username: "twin", PasswordHash: "h"}, {ID: 101, Username: "TWIN", PasswordHash: "h"}}, restauth.ErrUsernameTaken},
		{"id taken", []restauth.User{
			{ID: 100, Username: "fresh", PasswordHash: "h"}, {ID: 7, Username: "other", PasswordHash: "h"}}, nil},
		{"empty hash", []restauth.User{
			{ID: 100, Username: "fresh", PasswordHash: "h"}, {ID: 101, Username: "nohash"}}, nil},
		{"username not UTF-8", []restauth.User{
			{ID: 100, Username: "fresh", PasswordHash: "h"}, {ID: 101, Username: "\xff", PasswordHash: "h"}}, restauth.ErrInvalidData},
	}
	for _, tc := range bad {
		err := imp.ImportUsers(ctx, tc.users)
		switch {
		case err == nil:
			t.Errorf("%s: ImportUsers succeeded, want an error", tc.name)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("%s: ImportUsers = %v, want %v", tc.name, err, tc.wantErr)
		case tc.wantErr == nil && errors.Is(err, restauth.ErrUsernameTaken):
			t.Errorf("%s: ImportUsers = %v, want an error other than %v", tc.name, err, restauth.ErrUsernameTaken)
		}
		if got := list(); !slices.Equal(got, want) {
			t.Errorf("%s: ids after the refused import = %v, want %v (nothing stored)", tc.name, got, want)
		}
	}
	if err := imp.ImportUsers(ctx, nil); err != nil {
		t.Errorf("ImportUsers(nil) = %v, want nil", err)
	}
}
