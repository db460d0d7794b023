package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/instance"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/sqlite"
	"github.com/restauth/restauth/token"
)

// toolApp opens an existing database for an operator command and wires
// what the command needs. It never creates a database, a signing key or a
// secret: only serve and migrate create things.
func toolApp(ctx context.Context, in *invocation) (*app, error) {
	if err := requireDatabase(ctx, in.cfg.db); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(in.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, in.cfg.db)
	if err != nil {
		return nil, openErr(in.cfg.db, err)
	}
	// One hash at a time, in this process: a command adds one user.
	opts := in.cfg.hash
	opts.MaxConcurrent = 1
	hasher := password.New(opts)
	svc := restauth.NewService(in.cfg.domain, restauth.Deps{
		Users: st, Sessions: st, Counters: st, APIKeys: st, Hasher: hasher,
		Normalizer: instance.Norm{}, IsCommon: password.IsCommon,
		Logger: logger, NewID: instance.NewSessionID,
		MFA: st,
	})
	ring := token.NewRing(st, token.RingOptions{Logger: logger})
	return &app{store: st, ring: ring, svc: svc, hasher: hasher, logger: logger}, nil
}

// requireDatabase refuses a database that does not exist, before anything
// opens (and so creates) it.
func requireDatabase(ctx context.Context, dsn string) error {
	if isPostgres(dsn) {
		ok, err := postgresHasSchema(ctx, dsn)
		if err != nil {
			return openErr(dsn, err)
		}
		if !ok {
			return fmt.Errorf("no restauth database at %s: its schema has no restauth tables (restauth migrate or restauth serve creates them; --db names another)", redactDSN(dsn))
		}
		return nil
	}
	path, ok := sqlitePath(dsn)
	if !ok {
		return nil // In memory: nothing to find.
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s (restauth serve or restauth migrate creates one; --db or RESTAUTH_DB names another)", absPath(path))
	} else if err != nil {
		return fmt.Errorf("database %s: %w", absPath(path), err)
	}
	return nil
}

// describe is the operator's view of an error from the Service: the
// client-safe message, then the cause when there is one. Operators see
// causes; clients do not.
func describe(err error) string {
	if e, ok := err.(*restauth.Error); ok {
		if e.Err != nil {
			return e.Message + ": " + e.Err.Error()
		}
		return e.Message
	}
	return err.Error()
}

func userAdd(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	name := in.args[0]
	pw := in.getenv("RESTAUTH_USER_PASSWORD")
	if pw == "" {
		if pw, err = readPassword(name, in.stdin, in.stderr); err != nil {
			return err
		}
	}
	u, err := a.svc.AddUser(ctx, name, pw)
	if err != nil {
		return errors.New(describe(err))
	}
	fmt.Fprintf(in.stdout, "added user %d %s\n", u.ID, u.Username)
	return nil
}

// readPassword prompts for a password without echo when stdin is a
// terminal, and otherwise reads the first line of stdin.
func readPassword(name string, stdin io.Reader, prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "Password for %s: ", name)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if len(first) == 0 {
			return "", errors.New("no password given")
		}
		fmt.Fprint(prompt, "Repeat it: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(again) {
			return "", errors.New("the passwords do not match")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password given: set RESTAUTH_USER_PASSWORD or write it on standard input")
	}
	return pw, nil
}

func userList(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	users, err := a.store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %s", describe(err))
	}
	tw := tabwriter.NewWriter(in.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tCREATED")
	for _, u := range users {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", u.ID, u.Username, u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func userDelete(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	u, err := findUser(ctx, a, in.args[0])
	if err != nil {
		return err
	}
	if err := a.svc.DeleteUser(ctx, u.ID); err != nil {
		return fmt.Errorf("delete user: %s", describe(err))
	}
	fmt.Fprintf(in.stdout, "deleted user %d %s\n", u.ID, u.Username)
	return nil
}

// findUser returns the user named arg (in any letter case) or, failing
// that, with the id arg.
func findUser(ctx context.Context, a *app, arg string) (*restauth.User, error) {
	u, err := a.svc.UserByName(ctx, arg)
	if errors.Is(err, restauth.ErrNotFound) {
		if id, perr := strconv.ParseInt(arg, 10, 64); perr == nil {
			u, err = a.svc.User(ctx, id)
		}
	}
	if err != nil {
		if errors.Is(err, restauth.ErrNotFound) {
			return nil, fmt.Errorf("no user %q", arg)
		}
		return nil, fmt.Errorf("find user: %s", describe(err))
	}
	return u, nil
}

// userMFAReset removes a user's second factor and ends its sessions, for
// someone who lost the authenticator and the recovery codes.
func userMFAReset(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	u, err := findUser(ctx, a, in.args[0])
	if err != nil {
		return err
	}
	err = a.svc.ResetMFA(ctx, u.ID)
	switch {
	case restauth.ErrorCode(err) == restauth.ENotFound:
		fmt.Fprintf(in.stdout, "user %d %s has no second factor; its sessions are ended\n", u.ID, u.Username)
		return nil
	case err != nil:
		return fmt.Errorf("reset second factor: %s", describe(err))
	}
	fmt.Fprintf(in.stdout, "removed the second factor of user %d %s and ended its sessions\n", u.ID, u.Username)
	return nil
}

func keysRotate(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	d := in.cfg.domain
	k, err := a.ring.Rotate(ctx, token.DefaultPublishDelay, d.AccessTTL+d.Leeway)
	if err != nil {
		return err
	}
	fmt.Fprintf(in.stdout, "added key %s: published now, signs from %s; older keys retire after every token they signed has expired\n",
		k.ID, k.ActivatesAt.UTC().Format(time.RFC3339))
	return rotateIDKeys(ctx, in, a)
}

func keysList(ctx context.Context, in *invocation) error {
	a, err := toolApp(ctx, in)
	if err != nil {
		return err
	}
	defer a.store.Close()
	keys, err := a.store.SigningKeys(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("list signing keys: %s", describe(err))
	}
	tw := tabwriter.NewWriter(in.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNS FROM\tEXPIRES")
	for _, k := range keys {
		exp := "-"
		if !k.ExpiresAt.IsZero() {
			exp = k.ExpiresAt.UTC().Format(time.RFC3339)
		}
		id := k.ID
		if !token.ValidKeyID(id) {
			id = "(invalid)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, k.Algorithm,
			k.CreatedAt.UTC().Format(time.RFC3339), k.ActivatesAt.UTC().Format(time.RFC3339), exp)
	}
	return tw.Flush()
}

func migrateCmd(ctx context.Context, in *invocation) error {
	where, created, err := describeDatabase(ctx, in.cfg.db)
	if err != nil {
		return openErr(in.cfg.db, err)
	}
	st, err := openStore(ctx, in.cfg.db)
	if err != nil {
		return openErr(in.cfg.db, err)
	}
	defer st.Close()
	if created {
		fmt.Fprintf(in.stdout, "created %s and applied the migrations\n", where)
	} else {
		fmt.Fprintf(in.stdout, "migrations applied to %s\n", where)
	}
	return nil
}

func backupCmd(ctx context.Context, in *invocation) error {
	dsn, file := in.cfg.db, in.args[0]
	if isPostgres(dsn) {
		fmt.Fprintf(in.stdout, "restauth backup copies SQLite databases; for PostgreSQL run pg_dump, keeping the file private:\n\n"+
			"  %s\n", pgDumpCommand(dsn, file))
		return nil
	}
	if _, ok := sqlitePath(dsn); !ok {
		return errors.New("an in-memory database has nothing to back up")
	}
	if err := requireDatabase(ctx, dsn); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		return openErr(dsn, err)
	}
	defer st.Close()
	if err := st.Backup(ctx, file); err != nil {
		return err
	}
	fmt.Fprintf(in.stdout, "backed up %s to %s (mode 0600)\n", absPath(mustSQLitePath(dsn)), absPath(file))
	return nil
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pgDumpCommand is the shell command that backs up the PostgreSQL database
// of dsn to file, readable by its owner only. The password is left out
// (pg_dump asks for it, or reads PGPASSWORD or ~/.pgpass), and settings
// that only restauth's driver knows are dropped; search_path becomes
// --schema.
func pgDumpCommand(dsn, file string) string {
	schema := ""
	if u, err := url.Parse(redactDSN(dsn)); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for k := range q {
			if secretParam(k) || strings.HasPrefix(k, "pool_") {
				delete(q, k)
			}
		}
		if sp := q.Get("search_path"); sp != "" {
			schema = " --schema=" + shellQuote(sp)
			q.Del("search_path")
		}
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn = redactDSN(dsn)
	}
	return fmt.Sprintf("(umask 077 && pg_dump --format=custom%s --file=%s %s)", schema, shellQuote(file), shellQuote(dsn))
}
