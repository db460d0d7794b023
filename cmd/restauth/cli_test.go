package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// result is what one invocation of the program did, as main would report
// it: the exit status and the two output streams.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the program in dir (the working directory for relative paths)
// with env as its whole environment and stdin as its input.
func cli(t *testing.T, dir string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	if dir != "" {
		t.Chdir(dir)
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	code := exitCode(err, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func TestHelpExitsZero(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string // Lines or fragments the help must hold.
		notWant []string // Flags of other commands.
	}{
		{[]string{"-h"}, []string{"Usage: restauth COMMAND", "user add NAME", "backup FILE"}, nil},
		{[]string{"--help"}, []string{"Usage: restauth COMMAND"}, nil},
		{[]string{"help"}, []string{"Usage: restauth COMMAND"}, nil},
		{[]string{"serve", "-h"}, []string{"Usage: restauth serve [flags]", "--addr HOST:PORT", "RESTAUTH_ADDR", "--issuer NAME", "RESTAUTH_REVOCATION_SYNC", "(default 127.0.0.1:5000)", "(default 168h)"}, nil},
		{[]string{"serve", "--addr", "127.0.0.1:1", "--help"}, []string{"Usage: restauth serve [flags]"}, nil},
		{[]string{"user", "-h"}, []string{"Usage: restauth user COMMAND", "user add NAME", "user delete NAME|ID"}, []string{"--"}},
		{[]string{"keys", "--help"}, []string{"keys list", "keys rotate"}, []string{"--"}},
		{[]string{"user", "add", "-h"},
			[]string{"Usage: restauth user add [flags] NAME", "--db PATH|URL", "RESTAUTH_DB", "--argon2-memory N", "RESTAUTH_ARGON2_MEMORY", "--password-min", "RESTAUTH_USER_PASSWORD"},
			[]string{"--addr", "--tls-cert", "--cors-origins", "--token-ttl", "--hash-nice"}},
		{[]string{"help", "user", "add"}, []string{"Usage: restauth user add [flags] NAME"}, nil},
		{[]string{"user", "list", "-h"}, []string{"Usage: restauth user list [flags]", "--db"}, []string{"--argon2", "--addr"}},
		{[]string{"user", "delete", "-h"}, []string{"Usage: restauth user delete [flags] NAME|ID"}, []string{"--argon2", "--addr"}},
		{[]string{"user", "mfa-reset", "-h"}, []string{"Usage: restauth user mfa-reset [flags] NAME|ID"}, []string{"--argon2", "--addr"}},
		{[]string{"keys", "rotate", "-h"}, []string{"--token-ttl DURATION", "RESTAUTH_LEEWAY", "--db"}, []string{"--addr", "--argon2"}},
		{[]string{"keys", "list", "-h"}, []string{"Usage: restauth keys list [flags]"}, []string{"--token-ttl"}},
		{[]string{"migrate", "-h"}, []string{"Usage: restauth migrate [flags]", "RESTAUTH_DB"}, []string{"--addr"}},
		{[]string{"backup", "-h"}, []string{"Usage: restauth backup [flags] FILE", "pg_dump"}, []string{"--addr"}},
		{[]string{"version", "-h"}, []string{"Usage: restauth version"}, []string{"--"}},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(t, dir, nil, "", tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("help mentions %q, which the command does not take:\n%s", w, r.stdout)
				}
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("help created %v", entries)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string // The one line on stderr.
	}{
		{[]string{"frob"}, nil, `restauth: unknown command "frob" (see restauth -h)`},
		{[]string{"user"}, nil, `restauth: user needs a command: add, list, delete, mfa-reset (see restauth user -h)`},
		{[]string{"user", "frob"}, nil, `restauth: unknown command "user frob": restauth user takes add, list, delete, mfa-reset (see restauth user -h)`},
		{[]string{"keys", "frob"}, nil, `restauth: unknown command "keys frob": restauth keys takes list, rotate (see restauth keys -h)`},
		{[]string{"user", "add"}, nil, `restauth: user add needs NAME (see restauth user add -h)`},
		{[]string{"backup"}, nil, `restauth: backup needs FILE (see restauth backup -h)`},
		{[]string{"serve", "extra", "--addr", "127.0.0.1:0"}, nil, `restauth: serve: unexpected argument "extra" (see restauth serve -h)`},
		{[]string{"user", "list", "a", "b"}, nil, `restauth: user list: unexpected arguments "a" "b" (see restauth user list -h)`},
		{[]string{"user", "add", "bob", "--db", "x.db", "extra"}, nil, `restauth: user add: unexpected argument "extra" (see restauth user add -h)`},
		{[]string{"serve", "--bogus"}, nil, `restauth: unknown flag --bogus (see restauth serve -h)`},
		{[]string{"user", "list", "--addr", "0.0.0.0:80"}, nil, `restauth: user list does not take --addr (see restauth user list -h)`},
		{[]string{"serve", "--addr"}, nil, `restauth: --addr needs a value: --addr HOST:PORT`},
		{[]string{"--addr", "127.0.0.1"}, nil, `restauth: --addr: "127.0.0.1" has no port: write host:port, such as 127.0.0.1:5000`},
		{[]string{"serve", "--addr", "localhost"}, nil, `restauth: --addr: "localhost" has no port: write host:port, such as 127.0.0.1:5000`},
		{[]string{"serve", "--addr", "127.0.0.1:http"}, nil, `restauth: --addr: "127.0.0.1:http" has port "http", which is not a number from 0 to 65535`},
		{[]string{"serve", "--public-url", "auth.example.com"}, nil, `restauth: --public-url: "auth.example.com" is not an absolute URL, such as https://auth.example.com`},
		{[]string{"serve", "--public-url", "ftp://auth.example.com"}, nil, `restauth: --public-url: "ftp://auth.example.com" must use https`},
		{[]string{"serve", "--public-url", "http://auth.example.com"}, nil, `restauth: --public-url: "http://auth.example.com" must use https (http is accepted only on a loopback host, for development)`},
		{[]string{"serve", "--public-url", "https://auth.example.com/?x=1"}, nil, `restauth: --public-url: "https://auth.example.com/?x=1" must not carry user information, a query or a fragment`},
		{[]string{"serve", "--public-url", "https://a@auth.example.com"}, nil, `restauth: --public-url: "https://a@auth.example.com" must not carry user information, a query or a fragment`},
		{[]string{"serve", "--session-idle", "7d"}, nil, `restauth: --session-idle: "7d" is not a duration: write hours, such as 168h`},
		{[]string{"serve", "--session-idle=2w"}, nil, `restauth: --session-idle: "2w" is not a duration: write hours, such as 336h`},
		{[]string{"serve", "--token-ttl", "ten"}, nil, `restauth: --token-ttl: "ten" is not a duration: write a number and a unit, such as 168h, 30m, 90s or 500ms`},
		{[]string{"serve", "--token-ttl", "10ms"}, nil, `restauth: --token-ttl: "10ms" is less than the least accepted, 1s`},
		{[]string{"serve"}, map[string]string{"RESTAUTH_SESSION_IDLE": "7d"}, `restauth: RESTAUTH_SESSION_IDLE: "7d" is not a duration: write hours, such as 168h`},
		{[]string{"user", "add", "bob"}, map[string]string{"RESTAUTH_ARGON2_TIME": "0"}, `restauth: RESTAUTH_ARGON2_TIME: "0" is not a whole number from 1 to 16`},
		{[]string{"serve", "--argon2-memory", "4"}, nil, `restauth: --argon2-memory: "4" is not a whole number from 8 to 262144`},
		{[]string{"serve", "--argon2-time", "17"}, nil, `restauth: --argon2-time: "17" is not a whole number from 1 to 16`},
		{[]string{"serve", "--argon2-threads", "255"}, nil, `restauth: --argon2-threads: "255" is not a whole number from 1 to 16`},
		{[]string{"serve", "--argon2-threads", "4", "--argon2-memory", "16"}, nil, `restauth: --argon2-memory must be at least 8 KiB per lane of --argon2-threads (4 × 8 = 32)`},
		{[]string{"serve", "--password-min", "20", "--password-max", "10"}, nil, `restauth: --password-max (10) must be at least --password-min (20)`},
		{[]string{"serve", "--session-ttl", "1m", "--token-ttl", "10m"}, nil, `restauth: --session-ttl (1m0s) must be at least --token-ttl (10m0s)`},
		{[]string{"serve", "--hash-nice", "20"}, nil, `restauth: --hash-nice: "20" is not a whole number from 0 to 19`},
		{[]string{"serve", "--insecure-http=maybe"}, nil, `restauth: --insecure-http: "maybe" is not true or false`},
		{[]string{"serve", "--log-level", "loud"}, nil, `restauth: --log-level: "loud" is not one of debug, info, warn, error`},
		{[]string{"serve", "--cors-origins", "*"}, nil, `restauth: --cors-origins: "*" cannot be allowed for a credentialed API; list exact origins such as https://app.example.com`},
		{[]string{"serve", "--trusted-proxies", "nope"}, nil, `restauth: --trusted-proxies: "nope" is not an address or CIDR, such as 10.0.0.2 or 10.0.0.0/24`},
		{[]string{"serve", "--introspect-clients", "id:short"}, nil, `restauth: --introspect-clients: each entry is id:secret with a secret of at least 16 characters`},
		{[]string{"serve", "--tls-cert", "c.pem"}, nil, `restauth: --tls-cert and --tls-key go together`},
		{[]string{"serve", "--addr", "0.0.0.0:0"}, nil, `restauth: refusing plain HTTP on 0.0.0.0:0, which is not a loopback address: pass --tls-cert and --tls-key, or --insecure-http when a TLS-terminating proxy is in front`},
		{[]string{"serve", "--read-header-timeout", "0s"}, nil, `restauth: --read-header-timeout: "0s" is less than the least accepted, 1ms`},
		{[]string{"serve", "--revocation-sync", "0s"}, nil, `restauth: --revocation-sync: "0s" is less than the least accepted, 1ms`},
		{[]string{"version", "--db", "x"}, nil, `restauth: version does not take --db (see restauth version -h)`},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(t, dir, tc.env, "", tc.args...)
			if r.code != 2 || r.stderr != tc.want+"\n" || r.stdout != "" {
				t.Errorf("exit %d\nstderr %q\nstdout %q\nwant exit 2 and stderr %q", r.code, r.stderr, r.stdout, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("usage errors created %v", entries)
	}
}

// TestOnlyServeAndMigrateCreate checks that operator commands refuse a
// database that does not exist and create nothing, wherever they run.
func TestOnlyServeAndMigrateCreate(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"RESTAUTH_USER_PASSWORD": "a fine passphrase"}
	for _, args := range [][]string{
		{"user", "list"}, {"user", "add", "bob"}, {"user", "delete", "bob"},
		{"keys", "list"}, {"keys", "rotate"}, {"backup", "copy.db"},
		{"user", "frob"}, {"keys", "frob"}, {"user", "add"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := cli(t, dir, env, "", args...)
			if r.code == 0 {
				t.Errorf("exit 0, want a refusal")
			}
			if r.code == 1 {
				want := "restauth: no database at " + filepath.Join(dir, "restauth.db") +
					" (restauth serve or restauth migrate creates one; --db or RESTAUTH_DB names another)\n"
				if r.stderr != want {
					t.Errorf("stderr %q, want %q", r.stderr, want)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("created %v", entries)
			}
		})
	}
	r := cli(t, dir, nil, "", "migrate")
	if want := "created " + filepath.Join(dir, "restauth.db") + " and applied the migrations\n"; r.code != 0 || r.stdout != want {
		t.Errorf("migrate: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, want)
	}
	r = cli(t, dir, nil, "", "migrate")
	if want := "migrations applied to " + filepath.Join(dir, "restauth.db") + "\n"; r.code != 0 || r.stdout != want {
		t.Errorf("second migrate: exit %d, stdout %q; want 0 and %q", r.code, r.stdout, want)
	}
	// Operator commands do not generate a signing key either.
	if r := cli(t, dir, nil, "", "keys", "list"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("keys list after migrate: exit %d, %q; want only the header", r.code, r.stdout)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	if r := cli(t, dir, nil, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	// Serving settings in the environment do not concern operator
	// commands: a non-loopback address without TLS is not refused.
	env := map[string]string{"RESTAUTH_ADDR": "0.0.0.0:80", "RESTAUTH_CORS_ORIGINS": "*"}
	steps := []struct {
		args  []string
		env   map[string]string
		stdin string
		code  int
		out   string // Expected stdout (a regexp).
		err   string // Expected stderr, exactly.
	}{
		{[]string{"user", "add", "grace"}, nil, "a fine passphrase\nignored\n", 0, `^added user 1 grace\n$`, ""},
		{[]string{"user", "add", "ada"}, map[string]string{"RESTAUTH_USER_PASSWORD": "another passphrase"}, "", 0, `^added user 2 ada\n$`, ""},
		{[]string{"user", "add", "GRACE"}, nil, "a fine passphrase\n", 1, `^$`, "restauth: username is already taken\n"},
		{[]string{"user", "add", "bob"}, nil, "", 1, `^$`, "restauth: no password given: set RESTAUTH_USER_PASSWORD or write it on standard input\n"},
		{[]string{"user", "add", "bob"}, nil, "\n", 1, `^$`, "restauth: no password given: set RESTAUTH_USER_PASSWORD or write it on standard input\n"},
		{[]string{"user", "add", "bob"}, nil, "qz7#Kp\n", 1, `^$`, "restauth: password must be at least 8 characters\n"},
		{[]string{"user", "add", "--password-min", "4", "bob"}, nil, "qz7#Kp\n", 0, `^added user 3 bob\n$`, ""},
		{[]string{"user", "list"}, nil, "", 0, `^ID +USERNAME +CREATED\n1 +grace +\S+\n2 +ada +\S+\n3 +bob +\S+\n$`, ""},
		{[]string{"user", "delete", "GRACE"}, nil, "", 0, `^deleted user 1 grace\n$`, ""},
		{[]string{"user", "delete", "2"}, nil, "", 0, `^deleted user 2 ada\n$`, ""},
		{[]string{"user", "delete", "nobody"}, nil, "", 1, `^$`, "restauth: no user \"nobody\"\n"},
		{[]string{"user", "list"}, nil, "", 0, `^ID +USERNAME +CREATED\n3 +bob +\S+\n$`, ""},
	}
	for _, s := range steps {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range s.env {
			e[k] = v
		}
		r := cli(t, dir, e, s.stdin, s.args...)
		if r.code != s.code || !regexp.MustCompile(s.out).MatchString(r.stdout) || r.stderr != s.err {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %s, %q", strings.Join(s.args, " "), r.code, r.stdout, r.stderr, s.code, s.out, s.err)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:secret@db:5432/x?sslmode=disable", "postgres://u:xxxxx@db:5432/x?sslmode=disable"},
		{"postgres://u@db/x?password=secret&sslmode=disable", "postgres://u@db/x?password=xxxxx&sslmode=disable"},
		{"postgresql://u:a%40b@db/x?sslpassword=secret", "postgresql://u:xxxxx@db/x?sslpassword=xxxxx"},
		{"postgres://db/x?PASSWORD=secret", "postgres://db/x?PASSWORD=xxxxx"},
		{"postgres://u@db/x", "postgres://u@db/x"},
		{"./restauth.db", "./restauth.db"},
	}
	for _, tc := range tests {
		if got := redactDSN(tc.dsn); got != tc.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
	// A driver error that repeats a secret is scrubbed.
	if got := scrubDSN("postgres://u:s3cret@db/x?password=other", "bad s3cret and other"); got != "bad xxxxx and xxxxx" {
		t.Errorf("scrubDSN = %q", got)
	}
}

// TestCorruptSigningKey checks that serve refuses a stored key it cannot
// read, rather than generating a new one and so invalidating every token,
// and that the recovery it names works.
func TestCorruptSigningKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "restauth.db")
	env := map[string]string{"RESTAUTH_DB": db}
	s := launch(t, context.Background(), env)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`UPDATE signing_keys SET private_key = x'00'`); err != nil {
		t.Fatal(err)
	}
	var kid string
	conn.QueryRow(`SELECT id FROM signing_keys`).Scan(&kid)
	conn.Close()

	logs := &syncBuffer{}
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, logs)
	want := "token: unusable signing key in the store: key " + kid + ": private key is not a 32-byte Ed25519 seed. " +
		"Tokens it signed can no longer be verified; to retire it and sign with a new key, run: restauth keys rotate (with the same --db), then start again"
	if err == nil || err.Error() != want {
		t.Fatalf("serve on a corrupt key: %v\nwant %s", err, want)
	}
	if strings.Contains(logs.String(), "listening") {
		t.Errorf("serve announced itself before refusing:\n%s", logs)
	}
	// The warning went through the configured logger, in its format.
	if !strings.Contains(logs.String(), `level=WARN msg="token: skipping unusable signing key" kid=`+kid) {
		t.Errorf("the key ring did not log through the configured logger:\n%s", logs)
	}
	if r := cli(t, "", env, "", "keys", "rotate"); r.code != 0 || !strings.HasPrefix(r.stdout, "added key ") {
		t.Fatalf("keys rotate: %+v", r)
	}
	s = launch(t, context.Background(), env)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Errorf("serve after keys rotate: %v", err)
	}
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "restauth.db")
	env := map[string]string{"RESTAUTH_DB": db}
	base, _ := startServer(t, env)
	if r := do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, ""); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	// While the server runs.
	r := cli(t, dir, env, "", "backup", "copy.db")
	copyPath := filepath.Join(dir, "copy.db")
	if want := "backed up " + db + " to " + copyPath + " (mode 0600)\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("backup: %+v, want stdout %q", r, want)
	}
	fi, err := os.Stat(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if n := userCount(t, copyPath); n != 1 {
		t.Errorf("backup holds %d users, want 1", n)
	}
	r = cli(t, dir, env, "", "backup", "copy.db")
	if want := "restauth: sqlite: backup: copy.db exists already; name a new file\n"; r.code != 1 || r.stderr != want {
		t.Errorf("backup onto an existing file: %+v, want exit 1 and %q", r, want)
	}
	pg := map[string]string{"RESTAUTH_DB": "postgres://u:secret@db/x?sslmode=require&password=secret&pool_max_conns=8&search_path=auth"}
	r = cli(t, dir, pg, "", "backup", "dump file")
	want := "restauth backup copies SQLite databases; for PostgreSQL run pg_dump, keeping the file private:\n\n" +
		"  (umask 077 && pg_dump --format=custom --schema=auth --file='dump file' 'postgres://u@db/x?sslmode=require')\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("backup on PostgreSQL: %+v\nwant %q", r, want)
	}
}

// TestPostgresPasswordNeverPrinted gives the password as a URL query
// parameter, which the server accepts, and checks that migrate, the
// startup line and an error all print it redacted.
func TestPostgresPasswordNeverPrinted(t *testing.T) {
	base := os.Getenv("RESTAUTH_TEST_POSTGRES")
	if base == "" {
		t.Skip("RESTAUTH_TEST_POSTGRES not set: skipping the PostgreSQL DSN test")
	}
	const secret = "s3cret-in-query"
	dsn := freshPostgresSchema(t, base) + "&password=" + secret
	env := map[string]string{"RESTAUTH_DB": dsn}

	r := cli(t, "", env, "", "migrate")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "created postgres://") || !strings.Contains(r.stdout, "password=xxxxx") {
		t.Errorf("migrate: %+v, want the created line with the password redacted", r)
	}
	r2 := cli(t, "", env, "", "migrate")
	if !strings.HasPrefix(r2.stdout, "migrations applied to postgres://") {
		t.Errorf("second migrate: %+v", r2)
	}
	s := launch(t, context.Background(), env)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.logs.String(), "password=xxxxx") || !strings.Contains(s.logs.String(), "db_created=false") {
		t.Errorf("startup line does not name the database redacted:\n%s", s.logs)
	}
	bad := strings.Replace(dsn, "127.0.0.1:5432", "127.0.0.1:1", 1)
	r3 := cli(t, "", map[string]string{"RESTAUTH_DB": bad}, "", "user", "list")
	if r3.code != 1 || !strings.HasPrefix(r3.stderr, "restauth: open database postgres://") || strings.Count(r3.stderr, "\n") != 1 {
		t.Errorf("unreachable database: %+v, want one line naming it", r3)
	}
	for _, out := range []string{r.stdout, r.stderr, r2.stdout, s.logs.String(), r3.stderr} {
		if strings.Contains(out, secret) {
			t.Errorf("the password was printed:\n%s", out)
		}
	}
}

// TestOperatorSeesCause checks that an operator command shows the cause of
// an internal failure, not the sentence clients get.
func TestOperatorSeesCause(t *testing.T) {
	dir := t.TempDir()
	if r := cli(t, dir, nil, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	conn, err := sql.Open("sqlite", filepath.Join(dir, "restauth.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`DROP TABLE sessions`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	r := cli(t, dir, map[string]string{"RESTAUTH_USER_PASSWORD": "a fine passphrase"}, "", "user", "add", "grace")
	if r.code != 0 {
		t.Fatalf("user add: %+v", r)
	}
	r = cli(t, dir, nil, "", "user", "delete", "grace")
	if r.code != 1 || strings.Contains(r.stderr, "an internal error occurred") || !strings.Contains(r.stderr, "no such table: sessions") {
		t.Errorf("user delete on a damaged database: %+v, want exit 1 and the cause", r)
	}
}

// TestPublicURL checks the accepted forms of --public-url and that a
// trailing slash is dropped, so that the issuer derived from it matches
// byte for byte wherever it is printed.
func TestPublicURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://auth.example.com", "https://auth.example.com"},
		{"https://auth.example.com/", "https://auth.example.com"},
		{"https://example.com:8443/auth", "https://example.com:8443/auth"},
		{"http://127.0.0.1:5000", "http://127.0.0.1:5000"},
		{"http://localhost:5000/", "http://localhost:5000"},
		{"http://[::1]:5000", "http://[::1]:5000"},
	} {
		c := defaultConfig()
		if err := lookupFlag("public-url").set(c, tc.in); err != nil {
			t.Errorf("--public-url %q: got error %v, want none", tc.in, err)
			continue
		}
		if c.publicURL != tc.want {
			t.Errorf("--public-url %q: got %q, want %q", tc.in, c.publicURL, tc.want)
		}
	}
}
