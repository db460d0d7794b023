// Command restauth is the restauth authentication server and its operator
// tools: serve, user add|list|delete, keys rotate|list, migrate, version.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "restauth:", err)
		os.Exit(1)
	}
}

// run is the whole program, callable from tests: args without the program
// name, the environment through getenv, and the output streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stderr)
	case "user":
		return userCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "keys":
		return keysCmd(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "restauth", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q (try: restauth help)", cmd)
	}
}

const usage = `restauth: an authentication API server.

Usage:
  restauth serve [flags]          run the server (the default command)
  restauth user add NAME          add a user; the password is read from
                                  RESTAUTH_USER_PASSWORD or the first line of stdin
  restauth user list              list users
  restauth user delete NAME|ID    delete a user and end its sessions
  restauth keys list              list signing keys (public parts only)
  restauth keys rotate            add a signing key; old keys retire after
                                  every token they signed has expired
  restauth migrate                apply database migrations and exit
  restauth version                print the version

Every flag also reads RESTAUTH_<FLAG> from the environment, with dashes as
underscores (for example --db and RESTAUTH_DB); a flag on the command line
wins. Run "restauth serve -h" for the flags and their defaults.
`
