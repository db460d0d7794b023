package main

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/postgres"
	"github.com/restauth/restauth/sqlite"
)

// restAuthFixture is a REST-auth users table whose hashes were made by
// passlib and Werkzeug (testdata/gen_restauth_fixtures.py wrote it).
//
//go:embed testdata/restauth_users.sql
var restAuthFixture string

// restAuthUsers are the fixture's users and their passwords.
var restAuthUsers = []struct {
	id             int64
	name, password string
	hashPrefix     string // What the library wrote.
}{
	{1, "miguel", "python", "$5$rounds=535000$"},                          // passlib sha256_crypt
	{2, "susan", "correct horse battery staple", "pbkdf2:sha256:260000$"}, // Werkzeug
	{5, "Ödön", "jelszó-Ünnep", "pbkdf2:sha256:260000$"},                  // Werkzeug
	{9, "olga", "sekrit-42", "$6$rounds=656000$"},                         // passlib custom_app_context
}

// storeKinds are the databases the import tests run on: SQLite always,
// PostgreSQL when RESTAUTH_TEST_POSTGRES names one.
func storeKinds(t *testing.T) []string {
	kinds := []string{"sqlite"}
	if os.Getenv("RESTAUTH_TEST_POSTGRES") != "" {
		kinds = append(kinds, "postgres")
	} else {
		t.Log("RESTAUTH_TEST_POSTGRES not set: PostgreSQL not tested")
	}
	return kinds
}

// newDatabase returns the address of an empty database of kind: a file
// path in a temporary directory, or a fresh PostgreSQL schema.
func newDatabase(t *testing.T, kind string) string {
	t.Helper()
	if kind == "postgres" {
		return freshPostgresSchema(t, os.Getenv("RESTAUTH_TEST_POSTGRES"))
	}
	return filepath.Join(t.TempDir(), "db.sqlite")
}

// restAuthSource returns a REST-auth database of kind holding the fixture
// and then the extra statements.
func restAuthSource(t *testing.T, kind string, extra ...string) string {
	t.Helper()
	dsn := newDatabase(t, kind)
	script := restAuthFixture + strings.Join(extra, ";\n")
	if kind == "postgres" {
		c, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(t.Context(), script); err != nil {
			t.Fatalf("load the REST-auth fixture: %v", err)
		}
		return dsn
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), script); err != nil {
		t.Fatalf("load the REST-auth fixture: %v", err)
	}
	return dsn
}

// restauthCmd runs restauth with args and returns its output.
func restauthCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustRestauth(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := restauthCmd(t, args...)
	if err != nil {
		t.Fatalf("restauth %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// openUsers opens the store at dsn for the test to look at its users.
func openUsers(t *testing.T, dsn string) restauth.UserStore {
	t.Helper()
	var st interface {
		restauth.UserStore
		Close() error
	}
	var err error
	if isPostgres(dsn) {
		st, err = postgres.Open(t.Context(), dsn)
	} else {
		st, err = sqlite.Open(t.Context(), dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// userRows lists the users of dsn as "id name" lines.
func userRows(t *testing.T, dsn string) []string {
	t.Helper()
	users, err := openUsers(t, dsn).ListUsers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, u := range users {
		rows = append(rows, fmt.Sprintf("%d %s", u.ID, u.Username))
	}
	return rows
}

// TestImportRESTAuthSignIn is the migration end to end: a REST-auth
// database whose hashes passlib and Werkzeug made is imported, the server
// starts on it, and every user signs in over the REST-auth API with the
// old password, keeping its id, after which its stored hash is argon2id.
// Registrations continue after the largest imported id, and importing again
// changes nothing.
func TestImportRESTAuthSignIn(t *testing.T) {
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			src := restAuthSource(t, kind)
			db := newDatabase(t, kind)
			mustRestauth(t, "migrate", "--db", db)
			out := mustRestauth(t, "import", "rest-auth", src, "--db", db)
			if !strings.HasPrefix(out, "imported 4 of 4 users from REST-auth database ") {
				t.Errorf("import said %q, want it to have imported 4 of 4 users", out)
			}
			st := openUsers(t, db)
			for _, u := range restAuthUsers {
				got, err := st.UserByID(t.Context(), u.id)
				if err != nil || got.Username != u.name || !strings.HasPrefix(got.PasswordHash, u.hashPrefix) {
					t.Fatalf("user %d after import = %v, %v; want %q with its %s… hash as REST-auth had it", u.id, fmtUser(got), err, u.name, u.hashPrefix)
				}
			}

			base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db},
				"--argon2-memory", "8192", "--argon2-time", "1", "--hash-wait", "30s",
				"--login-ip-limit", "0", "--register-ip-limit", "0")
			for _, u := range restAuthUsers {
				auth := basicAuth(u.name, u.password)
				if r := do(t, "GET", base+"/api/resource", "", auth); r.status != 200 || r.body["data"] != "Hello, "+u.name+"!" {
					t.Errorf("%s: GET /api/resource with the old password = %d %s, want 200 Hello, %s!", u.name, r.status, r.raw, u.name)
				}
				if r := do(t, "GET", base+"/api/resource", "", basicAuth(u.name, u.password+"x")); r.status != 401 {
					t.Errorf("%s: GET /api/resource with a wrong password = %d, want 401", u.name, r.status)
				}
				r := do(t, "GET", base+"/api/token", "", auth)
				if tok, _ := r.body["token"].(string); r.status != 200 || tok == "" {
					t.Errorf("%s: GET /api/token = %d %s, want 200 with a token", u.name, r.status, r.raw)
				}
				r = do(t, "GET", fmt.Sprintf("%s/api/users/%d", base, u.id), "", "")
				if r.status != 200 || r.body["username"] != u.name {
					t.Errorf("GET /api/users/%d = %d %s, want 200 %s", u.id, r.status, r.raw, u.name)
				}
				got, err := st.UserByID(t.Context(), u.id)
				if err != nil || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
					t.Errorf("%s: stored hash after sign-in starts %.10q (err %v), want $argon2id$", u.name, got.PasswordHash, err)
				}
			}
			r := do(t, "POST", base+"/api/users", `{"username":"newcomer","password":"a new password"}`, "")
			if loc := r.header.Get("Location"); r.status != 201 || loc != base+"/api/users/10" {
				t.Errorf("registration after the import = %d, Location %q; want 201 at %s (after the largest imported id, 9)", r.status, loc, base+"/api/users/10")
			}
			for _, u := range restAuthUsers {
				if strings.Contains(logs.String(), u.password) {
					t.Errorf("the log contains %s's password", u.name)
				}
			}

			// Again, with the server running and the hashes upgraded: nothing
			// changes, and the upgraded hashes stay.
			before := userRows(t, db)
			out = mustRestauth(t, "import", "rest-auth", src, "--db", db)
			if want := "(4 already there)"; !strings.Contains(out, "imported 0 of 4 users") || !strings.Contains(out, want) {
				t.Errorf("second import said %q, want 0 imported and %s", out, want)
			}
			if after := userRows(t, db); !slices.Equal(after, before) {
				t.Errorf("users after the second import = %v, want %v", after, before)
			}
			for _, u := range restAuthUsers {
				if got, _ := st.UserByID(t.Context(), u.id); got == nil || !strings.HasPrefix(got.PasswordHash, "$argon2id$") {
					t.Errorf("%s: the second import replaced the upgraded hash", u.name)
				}
			}
		})
	}
}

func fmtUser(u *restauth.User) string {
	if u == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%d %q hash %.10q…}", u.ID, u.Username, u.PasswordHash)
}

// jsonlLine is one user in the format of import jsonl.
func jsonlLine(id int64, name, hash string) string {
	b, _ := json.Marshal(map[string]any{"id": id, "username": name, "hash": hash})
	return string(b)
}

// TestImportRESTAuthConflicts checks what the import does with users it
// cannot bring over as they are: every one is reported on its own line, and
// nothing at all is written, unless --on-conflict skip or rename says what
// to do; --dry-run writes nothing; each resolution, run twice, gives the
// same users.
func TestImportRESTAuthConflicts(t *testing.T) {
	miguelHash := "$5$rounds=535000$QqC2//7Z8cCKnhhG$n2nCMHtTe6VL3Oq1vfx.sdBB7i9SRXYgyvITOj2hI/5"
	werkzeugHash := "pbkdf2:sha256:260000$FwgSECw10X7ASiB0$6a022a2b70c7f87371c7fd5e72640ad3fb94e853400b3d1deeb9355bdc1b8a97"
	extra := []string{
		fmt.Sprintf(`INSERT INTO users VALUES (10, 'Miguel', '%s')`, miguelHash),             // Folds like id 1.
		fmt.Sprintf(`INSERT INTO users VALUES (11, 'bad:name', '%s')`, miguelHash),           // ':' cannot sign in over Basic.
		`INSERT INTO users VALUES (12, 'plain', 'hunter2')`,                                  // No hash restauth can verify.
		fmt.Sprintf(`INSERT INTO users VALUES (13, NULL, '%s')`, miguelHash),                 // No name.
		fmt.Sprintf("INSERT INTO users VALUES (14, 'O\u0308DO\u0308N', '%s')", werkzeugHash), // NFD; after NFC it folds like id 5.
		`INSERT INTO users VALUES (15, 'nohash', NULL)`,
	}
	wantConflicts := []string{
		`conflict: id 2 "susan": id 2 is taken by "dave" in the restauth database`,
		`conflict: id 9 "olga": the name is taken by id 20 "Olga" in the restauth database`,
		`conflict: id 10 "Miguel": the name folds like that of id 1 "miguel"`,
		`conflict: id 11 "bad:name": restauth refuses the name: username must not contain control, format or line-separator characters or ':'`,
		`conflict: id 12 "plain": a password hash restauth cannot verify (password: unsupported hash: unknown format)`,
		`conflict: id 13 (no username): no username`,
		"conflict: id 14 \"O\u0308DO\u0308N\": the name folds like that of id 5 \"Ödön\"",
		`conflict: id 15 "nohash": no password hash`,
	}
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			src := restAuthSource(t, kind, extra...)
			// Seed the restauth database: dave has susan's id, Olga has
			// olga's name (another person: another hash).
			seed := filepath.Join(t.TempDir(), "seed.jsonl")
			argon := "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$qdpGGo4OmCBXd4o7jLzxzVWgNlnV6i1yC7E9PjjwL5Q"
			if err := os.WriteFile(seed, []byte(jsonlLine(2, "dave", argon)+"\n"+jsonlLine(20, "Olga", argon)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			fresh := func(t *testing.T) string {
				db := newDatabase(t, kind)
				mustRestauth(t, "migrate", "--db", db)
				mustRestauth(t, "import", "jsonl", seed, "--db", db)
				return db
			}
			seeded := []string{"2 dave", "20 Olga"}

			t.Run("refused", func(t *testing.T) {
				db := fresh(t)
				for _, args := range [][]string{{}, {"--dry-run"}} {
					out, _, err := restauthCmd(t, append([]string{"import", "rest-auth", src, "--db", db}, args...)...)
					if err == nil || !strings.Contains(err.Error(), "8 of 10 users") || !strings.Contains(err.Error(), "nothing was written") {
						t.Errorf("import %v returned %v, want an error saying 8 of 10 users cannot be imported and nothing was written", args, err)
					}
					if got := strings.Split(strings.TrimSpace(out), "\n"); !slices.Equal(got, wantConflicts) {
						t.Errorf("import %v reported\n%s\nwant\n%s", args, strings.Join(got, "\n"), strings.Join(wantConflicts, "\n"))
					}
					if got := userRows(t, db); !slices.Equal(got, seeded) {
						t.Errorf("users after the refused import %v = %v, want %v (nothing written)", args, got, seeded)
					}
				}
			})

			tests := []struct {
				mode      string
				wantUsers []string
				wantLines []string // Besides the summary.
				summary   string
			}{
				{"skip",
					[]string{"1 miguel", "2 dave", "5 Ödön", "20 Olga"},
					[]string{
						`skipped: id 2 "susan": id 2 is taken by "dave" in the restauth database`,
						`skipped: id 9 "olga": the name is taken by id 20 "Olga" in the restauth database`,
						`skipped: id 10 "Miguel": the name folds like that of id 1 "miguel"`,
						`skipped: id 11 "bad:name": restauth refuses the name: username must not contain control, format or line-separator characters or ':'`,
						`skipped: id 12 "plain": a password hash restauth cannot verify (password: unsupported hash: unknown format)`,
						`skipped: id 13 (no username): no username`,
						"skipped: id 14 \"O\u0308DO\u0308N\": the name folds like that of id 5 \"Ödön\"",
						`skipped: id 15 "nohash": no password hash`,
					},
					"2 of 10 users",
				},
				{"rename",
					[]string{"1 miguel", "2 dave", "5 Ödön", "9 olga-9", "10 Miguel-10", "11 user-11", "13 user-13", "14 ÖDÖN-14", "20 Olga", "21 susan"},
					[]string{
						`renamed: id 2 "susan" with id 21: id 2 is taken by "dave" in the restauth database`,
						`renamed: id 9 "olga" as "olga-9": the name is taken by id 20 "Olga" in the restauth database`,
						`renamed: id 10 "Miguel" as "Miguel-10": the name folds like that of id 1 "miguel"`,
						`renamed: id 11 "bad:name" as "user-11": restauth refuses the name: username must not contain control, format or line-separator characters or ':'`,
						`skipped: id 12 "plain": a password hash restauth cannot verify (password: unsupported hash: unknown format)`,
						`renamed: id 13 (no username) as "user-13": no username`,
						"renamed: id 14 \"O\u0308DO\u0308N\" as \"ÖDÖN-14\": the name folds like that of id 5 \"Ödön\"",
						`skipped: id 15 "nohash": no password hash`,
					},
					"8 of 10 users",
				},
			}
			for _, tt := range tests {
				t.Run(tt.mode, func(t *testing.T) {
					db := fresh(t)
					args := []string{"import", "rest-auth", src, "--db", db, "--on-conflict", tt.mode}
					dry := mustRestauth(t, append(args, "--dry-run")...)
					if got := userRows(t, db); !slices.Equal(got, seeded) {
						t.Errorf("users after --dry-run = %v, want %v (nothing written)", got, seeded)
					}
					if !strings.Contains(dry, "dry run: would import "+tt.summary) || !strings.Contains(dry, "nothing was written") {
						t.Errorf("--dry-run said\n%s\nwant it to say it would import %s and wrote nothing", dry, tt.summary)
					}
					out := mustRestauth(t, args...)
					lines := strings.Split(strings.TrimSpace(out), "\n")
					if got := lines[:len(lines)-1]; !slices.Equal(got, tt.wantLines) {
						t.Errorf("import reported\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.wantLines, "\n"))
					}
					if last := lines[len(lines)-1]; !strings.HasPrefix(last, "imported "+tt.summary) {
						t.Errorf("import summary %q, want it to start %q", last, "imported "+tt.summary)
					}
					if got := userRows(t, db); !slices.Equal(got, tt.wantUsers) {
						t.Errorf("users after the import = %v, want %v", got, tt.wantUsers)
					}
					// Twice, and without saying how to resolve the conflicts the
					// first run resolved: the same users.
					for _, again := range [][]string{args, {"import", "rest-auth", src, "--db", db, "--on-conflict", "skip"}} {
						out := mustRestauth(t, again...)
						if !strings.Contains(out, "imported 0 of 10 users") {
							t.Errorf("import again (%s) said\n%s\nwant 0 imported", strings.Join(again[4:], " "), out)
						}
						if got := userRows(t, db); !slices.Equal(got, tt.wantUsers) {
							t.Errorf("users after importing again = %v, want %v", got, tt.wantUsers)
						}
					}
				})
			}
		})
	}
}

// TestExportImportJSONL moves users out and back in: the export file is
// new, private and refuses to be overwritten, and every user comes back
// with its id, name, hash and creation time.
func TestExportImportJSONL(t *testing.T) {
	for _, kind := range storeKinds(t) {
		t.Run(kind, func(t *testing.T) {
			src := restAuthSource(t, kind)
			a := newDatabase(t, kind)
			mustRestauth(t, "migrate", "--db", a)
			mustRestauth(t, "import", "rest-auth", src, "--db", a)
			file := filepath.Join(t.TempDir(), "users.jsonl")
			if out := mustRestauth(t, "export", "jsonl", file, "--db", a); !strings.HasPrefix(out, "exported 4 users to ") {
				t.Errorf("export said %q, want exported 4 users", out)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("export file mode = %v, want 0600", mode)
			}
			exported, _ := os.ReadFile(file)
			_, _, err = restauthCmd(t, "export", "jsonl", file, "--db", a)
			if err == nil || !strings.Contains(err.Error(), "never overwrites") {
				t.Errorf("export onto an existing file returned %v, want a refusal", err)
			}
			if again, _ := os.ReadFile(file); !bytes.Equal(again, exported) {
				t.Error("a refused export changed the existing file")
			}

			b := newDatabase(t, kind)
			mustRestauth(t, "migrate", "--db", b)
			if out := mustRestauth(t, "import", "jsonl", file, "--db", b); !strings.HasPrefix(out, "imported 4 of 4 users") {
				t.Errorf("import jsonl said %q, want imported 4 of 4", out)
			}
			want, err := openUsers(t, a).ListUsers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got, err := openUsers(t, b).ListUsers(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("imported %d users, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.ID != w.ID || g.Username != w.Username || g.PasswordHash != w.PasswordHash || !g.CreatedAt.Equal(w.CreatedAt) {
					t.Errorf("user %d after export and import = %s created %v, want %s created %v",
						i, fmtUser(g), g.CreatedAt, fmtUser(w), w.CreatedAt)
				}
			}
		})
	}
}

// TestImportJSONLRefusesBadLines checks that a file with one bad line
// imports nothing and names the line.
func TestImportJSONLRefusesBadLines(t *testing.T) {
	good := jsonlLine(1, "ann", "$5$rounds=535000$QqC2//7Z8cCKnhhG$n2nCMHtTe6VL3Oq1vfx.sdBB7i9SRXYgyvITOj2hI/5")
	tests := []struct {
		name, line, want string
	}{
		{"not JSON", `{"id": 2, "username": "bo`, ":2: not a user"},
		{"unknown field", `{"id": 2, "username": "bo", "hash": "x", "email": "bo@example.com"}`, `:2: not a user: json: unknown field "email"`},
		{"no id", `{"username": "bo", "hash": "x"}`, ":2: id must be a whole number of at least 1"},
		{"id twice", jsonlLine(1, "bo", "x"), ":2: id 1 is also on line 1"},
		{"two values", good + " " + good, ":2: more than one value on the line"},
		{"created not a time", `{"id": 2, "username": "bo", "hash": "x", "created": "yesterday"}`, ":2: not a user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "db.sqlite")
			mustRestauth(t, "migrate", "--db", db)
			file := filepath.Join(t.TempDir(), "users.jsonl")
			if err := os.WriteFile(file, []byte(good+"\n"+tt.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := restauthCmd(t, "import", "jsonl", file, "--db", db)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("import jsonl = %v, want an error containing %q", err, tt.want)
			}
			if got := userRows(t, db); len(got) != 0 {
				t.Errorf("users after the refused import = %v, want none", got)
			}
		})
	}
}

// TestImportFlags checks that the import flags belong to the import
// commands only, and that --on-conflict takes only its two values.
func TestImportFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--dry-run"}, "serve does not take --dry-run"},
		{[]string{"serve", "--on-conflict", "skip"}, "serve does not take --on-conflict"},
		{[]string{"export", "jsonl", "f", "--on-conflict", "skip"}, "export jsonl does not take --on-conflict"},
		{[]string{"import", "rest-auth", "x.db", "--on-conflict", "merge"}, `--on-conflict: "merge" is not skip or rename`},
		{[]string{"import", "rest-auth"}, "import rest-auth needs SOURCE"},
		{[]string{"import", "csv", "f"}, `unknown command "import csv"`},
	}
	for _, tt := range tests {
		_, _, err := restauthCmd(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err, &bytes.Buffer{}) != 2 {
			t.Errorf("restauth %s = %v, want a usage error containing %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
	// The source is only read: a missing SQLite file is an error, not
	// created.
	db := filepath.Join(t.TempDir(), "db.sqlite")
	mustRestauth(t, "migrate", "--db", db)
	missing := filepath.Join(t.TempDir(), "rest-auth.db")
	if _, _, err := restauthCmd(t, "import", "rest-auth", missing, "--db", db); err == nil {
		t.Error("import from a missing SQLite file succeeded")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("import created the missing source file (stat: %v)", err)
	}
}

// TestImportPlanRenames checks the names --on-conflict rename picks,
// also when the obvious one is taken too: the source's own names come
// first, then the database's, and a name that would be too long falls back
// to user-ID.
func TestImportPlanRenames(t *testing.T) {
	svc := restauth.NewService(restauth.DefaultConfig(), restauth.Deps{Normalizer: instance.Norm{}})
	h := "pbkdf2:sha256:260000$FwgSECw10X7ASiB0$6a022a2b70c7f87371c7fd5e72640ad3fb94e853400b3d1deeb9355bdc1b8a97"
	long := strings.Repeat("x", 63)
	user := func(id int64, name string) sourceUser {
		return sourceUser{id: id, username: name, hasName: true, hash: h}
	}
	tests := []struct {
		name     string
		src      []sourceUser
		existing []*restauth.User
		want     []string // "id name" of each user, or "id -" when left out.
	}{
		{"the lower id keeps the name",
			[]sourceUser{user(4, "Alice"), user(3, "alice")}, nil,
			[]string{"3 alice", "4 Alice-4"}},
		{"a new name another source user has",
			[]sourceUser{user(3, "alice"), user(4, "Alice"), user(7, "alice-4")}, nil,
			[]string{"3 alice", "4 Alice-4-2", "7 alice-4"}},
		{"a new name the database has",
			[]sourceUser{user(3, "alice"), user(4, "ALICE")},
			[]*restauth.User{{ID: 50, Username: "alice-4", PasswordHash: "other"}},
			[]string{"3 alice", "4 ALICE-4-2"}},
		{"too long with the suffix",
			[]sourceUser{user(1, long), user(2, strings.ToUpper(long))}, nil,
			[]string{"1 " + long, "2 user-2"}},
		{"refused names",
			[]sourceUser{user(1, " padded"), user(2, "a:b"), user(3, "user-2")}, nil,
			[]string{"1 user-1", "2 user-2-2", "3 user-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slices.SortFunc(tt.src, func(a, b sourceUser) int { return cmpInt(a.id, b.id) })
			var got []string
			for _, pu := range plan(svc, tt.src, tt.existing, resolveRename).users {
				if pu.skip {
					got = append(got, fmt.Sprintf("%d -", pu.src.id))
				} else {
					got = append(got, fmt.Sprintf("%d %s", pu.src.id, pu.name))
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("plan = %q, want %q", got, tt.want)
			}
		})
	}
}
