// Command restauth is the restauth authentication server and its operator
// tools: serve, user add|list|delete, keys list|rotate, migrate, backup,
// import rest-auth|jsonl, export jsonl, version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	// The first SIGINT or SIGTERM starts a graceful shutdown; a second one
	// cuts it short.
	ctx, cancel := context.WithCancel(context.Background())
	force := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		close(force)
		// Should even the cut-short shutdown hang, a third signal ends the
		// process where it stands.
		<-sigs
		fmt.Fprintln(os.Stderr, "restauth: third signal: exiting at once")
		os.Exit(1)
	}()
	ownsRuntime = true
	err := run(withForce(ctx, force), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err, if any, as one line and returns the process status:
// 0 for success (help included), 2 for a usage error or a bad value, 1 for
// any other failure.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "restauth:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line or the environment: an
// unknown command or flag, a missing or stray argument, a bad value.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelp is returned by the parser when help was asked for.
var errHelp = errors.New("help requested")

// invocation is what a command runs with.
type invocation struct {
	cfg            *config
	args           []string // The positional arguments, as many as the command declares.
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// command is one thing restauth does.
type command struct {
	name    string   // As typed: "user add".
	args    []string // Names of the positional arguments, all required.
	summary string   // One line for restauth -h.
	about   string   // What restauth NAME -h says besides the flags.
	// flags names the entries of flagTable the command reads; nil means
	// every one but those marked toolOnly (serve). A command ignores every
	// other RESTAUTH_ variable.
	flags []string
	run   func(ctx context.Context, in *invocation) error
}

// Flag groups shared by several commands.
var (
	dbFlags   = []string{"db"}
	hashFlags = []string{"db", "password-min", "password-max", "argon2-memory", "argon2-time", "argon2-threads"}
	keyFlags  = []string{"db", "token-ttl", "leeway"}
)

// commands lists every command, in the order help shows them.
var commands = []*command{
	{name: "serve", summary: "run the server (the default command)", run: serve,
		about: "Run the server. It creates the database and its first signing key when there are\n" +
			"none, and stops gracefully on SIGINT or SIGTERM (a second signal cuts the shutdown short)."},
	{name: "user add", args: []string{"NAME"}, summary: "add a user", flags: hashFlags, run: userAdd,
		about: "Add the user NAME under the username and password rules of POST /api/users.\n" +
			"The password is taken from RESTAUTH_USER_PASSWORD, else prompted for without echo\n" +
			"on a terminal, else read from the first line of standard input."},
	{name: "user list", summary: "list users", flags: dbFlags, run: userList,
		about: "List the users: id, username and creation time."},
	{name: "user delete", args: []string{"NAME|ID"}, summary: "delete a user and end its sessions", flags: dbFlags, run: userDelete,
		about: "Delete the user named NAME (in any letter case) or with the id ID, and end its\n" +
			"sessions at once."},
	{name: "user mfa-reset", args: []string{"NAME|ID"}, summary: "remove a user's second factor and end its sessions", flags: dbFlags, run: userMFAReset,
		about: "Remove the TOTP authenticator and recovery codes of the user named NAME (in any\n" +
			"letter case) or with the id ID, so that the password alone logs in again, and end\n" +
			"every session of the user at once. For someone who lost the authenticator and the\n" +
			"recovery codes; check who is asking first."},
	{name: "keys list", summary: "list signing keys (public parts only)", flags: dbFlags, run: keysList,
		about: "List the signing keys: id, algorithm, creation, when each signs from, when it expires."},
	{name: "keys rotate", summary: "add a signing key; older keys retire once their tokens expire", flags: keyFlags, run: keysRotate,
		about: "Add a signing key, published at once and signing five minutes later. Every older key\n" +
			"is retired after the new one activates plus --token-ttl plus --leeway, when every\n" +
			"token it signed has expired; give the values the servers run with. Rotating also\n" +
			"retires a stored key that cannot be read, which lets the server start again."},
	{name: "migrate", summary: "create the database if needed, apply migrations and exit", flags: dbFlags, run: migrateCmd,
		about: "Create the database if there is none and apply the embedded migrations."},
	{name: "backup", args: []string{"FILE"}, summary: "copy the SQLite database to FILE, consistently, mode 0600", flags: dbFlags, run: backupCmd,
		about: "Write a consistent copy of the SQLite database to FILE, which must not exist, readable\n" +
			"by its owner only; safe while the server runs. For PostgreSQL it prints the pg_dump\n" +
			"command to use instead."},
	{name: "import rest-auth", args: []string{"SOURCE"}, summary: "bring the users of a REST-auth database over, keeping ids and passwords",
		flags: importFlags, run: importRESTAuth,
		about: "Import every user of REST-auth's users table (id, username, password_hash), read from\n" +
			"SOURCE, a SQLite file or a postgres:// URL, which is only read. Each user keeps its id\n" +
			"and its password: passlib and Werkzeug hashes are kept and upgraded to argon2id at the\n" +
			"next sign-in, and registrations continue after the largest id. Users that cannot come\n" +
			"over as they are (a name restauth refuses, names equal but for case, a name or id the\n" +
			"database already has, a hash restauth cannot verify) are listed one per line, and\n" +
			"nothing is written unless --on-conflict says how to resolve them. Running it again\n" +
			"changes nothing. See docs/migrating.md."},
	{name: "import jsonl", args: []string{"FILE"}, summary: "import users from a JSON Lines file, keeping ids",
		flags: importFlags, run: importJSONL,
		about: "Import users from FILE, one JSON object per line: {\"id\": 1, \"username\": \"...\",\n" +
			"\"hash\": \"...\", \"created\": \"RFC 3339 time\"} (created may be left out), as restauth\n" +
			"export jsonl writes. Ids, conflicts and --on-conflict work as for import rest-auth."},
	{name: "export jsonl", args: []string{"FILE"}, summary: "write every user to a new JSON Lines file, mode 0600",
		flags: dbFlags, run: exportJSONL,
		about: "Write every user (id, username, password hash, creation time) to FILE, which must not\n" +
			"exist, one JSON object per line, readable by its owner only; restauth import jsonl\n" +
			"reads it back."},
	{name: "version", summary: "print the version, commit and Go release", flags: []string{}, run: func(_ context.Context, in *invocation) error {
		_, err := io.WriteString(in.stdout, buildVersionText())
		return err
	}, about: "Print the version, the commit it was built from (\"-dirty\" when the work tree had\n" +
		"uncommitted changes) and the Go release and platform, one per line."},
	{name: "healthcheck", summary: "exit 0 when the server on --addr answers /healthz (container health checks)",
		flags: []string{"addr", "tls-cert"}, run: healthcheck,
		about: "Ask the server listening on --addr for GET /healthz and exit 0 on 200, 1 otherwise.\n" +
			"An unspecified host (0.0.0.0, ::) is asked on loopback. With --tls-cert it speaks\n" +
			"HTTPS and accepts only that certificate. For images without curl, such as distroless."},
}

// groups are the commands that only hold subcommands.
var groups = []string{"user", "keys", "import", "export"}

// run is the whole program, callable from tests: args without the program
// name, the environment through getenv, and the standard streams.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			// restauth help user add: the help of that command.
			return run(ctx, append(slices.Clone(args[1:]), "-h"), getenv, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, mainUsage())
		return nil
	case "--version", "-version":
		args[0] = "version"
	case workerCommand:
		return hashWorker(args[1:], stdin, stdout, stderr)
	}
	if strings.HasPrefix(args[0], "-") {
		// Flags without a command are serve's.
		args = append([]string{"serve"}, args...)
	}
	cmd, rest, err := findCommand(args)
	if err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprint(stdout, groupUsage(args[0]))
			return nil
		}
		return err
	}
	cfg, pos, err := parseCommand(cmd, rest, getenv)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, cmd.usage())
		return nil
	}
	if err != nil {
		return err
	}
	return cmd.run(ctx, &invocation{cfg: cfg, args: pos, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

// findCommand picks the command named by the first one or two arguments and
// returns the arguments after its name.
func findCommand(args []string) (*command, []string, error) {
	name, rest := args[0], args[1:]
	if slices.Contains(groups, name) {
		subs := subcommands(name)
		if len(rest) == 0 {
			return nil, nil, usagef("%s needs a command: %s (see restauth %s -h)", name, strings.Join(subs, ", "), name)
		}
		if isHelp(rest[0]) {
			return nil, nil, errHelp
		}
		name, rest = name+" "+rest[0], rest[1:]
		if findByName(name) == nil {
			return nil, nil, usagef("unknown command %q: restauth %s takes %s (see restauth %s -h)",
				name, args[0], strings.Join(subs, ", "), args[0])
		}
	}
	cmd := findByName(name)
	if cmd == nil {
		return nil, nil, usagef("unknown command %q (see restauth -h)", name)
	}
	return cmd, rest, nil
}

func findByName(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			out = append(out, sub)
		}
	}
	return out
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// flagDefs returns the flags the command reads, in table order.
func (c *command) flagDefs() []*flagDef {
	var out []*flagDef
	for _, f := range flagTable {
		if (c.flags == nil && !f.toolOnly) || slices.Contains(c.flags, f.name) {
			out = append(out, f)
		}
	}
	return out
}

// parseCommand applies the command's RESTAUTH_* variables, then its flags,
// which win, and checks its positional arguments. Flags may come before,
// between or after the arguments; after "--" everything is an argument.
func parseCommand(cmd *command, args []string, getenv func(string) string) (*config, []string, error) {
	cfg := defaultConfig()
	defs := cmd.flagDefs()
	for _, f := range defs {
		if v := getenv(f.env()); v != "" {
			if err := f.set(cfg, v); err != nil {
				return nil, nil, usagef("%s: %v", f.env(), err)
			}
		}
	}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		if isHelp(a) {
			return nil, nil, errHelp
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		var f *flagDef
		for _, d := range defs {
			if d.name == name {
				f = d
			}
		}
		if f == nil {
			if lookupFlag(name) != nil {
				return nil, nil, usagef("%s does not take --%s (see restauth %s -h)", cmd.name, name, cmd.name)
			}
			return nil, nil, usagef("unknown flag %s (see restauth %s -h)", strings.SplitN(a, "=", 2)[0], cmd.name)
		}
		if !hasValue {
			if f.isSwitch() {
				value = "true"
			} else {
				if i+1 == len(args) {
					return nil, nil, usagef("--%s needs a value: --%s %s", f.name, f.name, f.arg)
				}
				i++
				value = args[i]
			}
		}
		if err := f.set(cfg, value); err != nil {
			return nil, nil, usagef("--%s: %v", f.name, err)
		}
	}
	if len(pos) > len(cmd.args) {
		extra := pos[len(cmd.args):]
		quoted := make([]string, len(extra))
		for i, e := range extra {
			quoted[i] = fmt.Sprintf("%q", e)
		}
		noun := "argument"
		if len(extra) > 1 {
			noun = "arguments"
		}
		return nil, nil, usagef("%s: unexpected %s %s (see restauth %s -h)", cmd.name, noun, strings.Join(quoted, " "), cmd.name)
	}
	if len(pos) < len(cmd.args) {
		return nil, nil, usagef("%s needs %s (see restauth %s -h)", cmd.name, strings.Join(cmd.args[len(pos):], " "), cmd.name)
	}
	if err := cfg.validate(); err != nil {
		return nil, nil, &usageError{err.Error()}
	}
	return cfg, pos, nil
}

// usage is the command's help: its synopsis, what it does, its arguments
// and its flags with their variables and defaults.
func (c *command) usage() string {
	var b strings.Builder
	defs := c.flagDefs()
	fmt.Fprintf(&b, "Usage: restauth %s", c.name)
	if len(defs) > 0 {
		b.WriteString(" [flags]")
	}
	for _, a := range c.args {
		b.WriteString(" " + a)
	}
	b.WriteString("\n\n" + c.about + "\n")
	if len(defs) == 0 {
		return b.String()
	}
	b.WriteString("\nFlags (each also read from the environment variable beside it; a flag on the\ncommand line wins):\n")
	defaults := defaultConfig()
	for _, f := range defs {
		flag := "--" + f.name
		if !f.isSwitch() {
			flag += " " + f.arg
		}
		fmt.Fprintf(&b, "  %-36s %s\n      %s", flag, f.env(), f.usage)
		if d := f.get(defaults); d != "" && d != "false" {
			fmt.Fprintf(&b, " (default %s)", d)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func groupUsage(group string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: restauth %s COMMAND [flags] [ARGS]\n\nCommands:\n", group)
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimSpace(c.name+" "+strings.Join(c.args, " ")), c.summary)
		}
	}
	fmt.Fprintf(&b, "\nRun \"restauth %s COMMAND -h\" for the flags of each.\n", group)
	return b.String()
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString("restauth: an authentication API server.\n\nUsage: restauth COMMAND [flags] [ARGS]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimSpace(c.name+" "+strings.Join(c.args, " ")), c.summary)
	}
	b.WriteString(`
Every flag also reads RESTAUTH_<FLAG> from the environment, with dashes as
underscores (for example --db and RESTAUTH_DB); a flag on the command line
wins. Each command reads only its own flags and variables. Run
"restauth COMMAND -h" for them and their defaults.
`)
	return b.String()
}
