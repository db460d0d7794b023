package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/restauth/restauth"
)

// toolApp opens the database and wires the Service for an operator
// command, with the serve flags (so hashing parameters and limits match
// the server's).
func toolApp(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*app, []string, error) {
	var cfg config
	fs := serveFlags(&cfg, stderr)
	fs.Init(name, fs.ErrorHandling())
	if err := parse(fs, args, getenv); err != nil {
		return nil, nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	logger, err := newLogger(stderr, "warn", "text")
	if err != nil {
		return nil, nil, err
	}
	a, err := newApp(ctx, &cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	return a, fs.Args(), nil
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: restauth user add|list|delete")
	}
	sub := args[0]
	a, rest, err := toolApp(ctx, "user "+sub, args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	switch sub {
	case "add":
		if len(rest) != 1 {
			return errors.New("usage: restauth user add NAME (password from RESTAUTH_USER_PASSWORD or stdin)")
		}
		pw := getenv("RESTAUTH_USER_PASSWORD")
		if pw == "" {
			line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read password: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		u, err := a.svc.Register(ctx, rest[0], pw, restauth.ClientMeta{})
		if err != nil {
			return errors.New(restauth.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "added user %d %s\n", u.ID, u.Username)
		return nil
	case "list":
		users, err := a.store.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tCREATED")
		for _, u := range users {
			fmt.Fprintf(tw, "%d\t%s\t%s\n", u.ID, u.Username, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "delete":
		if len(rest) != 1 {
			return errors.New("usage: restauth user delete NAME|ID")
		}
		u, err := a.svc.UserByName(ctx, rest[0])
		if errors.Is(err, restauth.ErrNotFound) {
			if id, perr := strconv.ParseInt(rest[0], 10, 64); perr == nil {
				u, err = a.store.UserByID(ctx, id)
			}
		}
		if err != nil {
			if errors.Is(err, restauth.ErrNotFound) {
				return fmt.Errorf("no user %q", rest[0])
			}
			return err
		}
		if err := a.svc.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted user %d %s\n", u.ID, u.Username)
		return nil
	}
	return fmt.Errorf("unknown user command %q", sub)
}

func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: restauth keys list|rotate")
	}
	sub := args[0]
	a, _, err := toolApp(ctx, "keys "+sub, args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer a.store.Close()
	switch sub {
	case "rotate":
		d := a.svc.Config()
		k, err := a.ring.Rotate(ctx, 5*time.Minute, d.AccessTTL+d.Leeway)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added key %s: published now, signs from %s; older keys retire after every token they signed has expired\n",
			k.ID, k.ActivatesAt.UTC().Format(time.RFC3339))
		return nil
	case "list":
		keys, err := a.store.SigningKeys(ctx, time.Now())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KID\tALG\tCREATED\tSIGNS FROM\tEXPIRES")
		for _, k := range keys {
			exp := "-"
			if !k.ExpiresAt.IsZero() {
				exp = k.ExpiresAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm,
				k.CreatedAt.UTC().Format(time.RFC3339), k.ActivatesAt.UTC().Format(time.RFC3339), exp)
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown keys command %q", sub)
}

func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("migrate", &cfg, stderr)
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer st.Close()
	fmt.Fprintf(stdout, "migrations applied to %s\n", redactDSN(cfg.db))
	return nil
}
