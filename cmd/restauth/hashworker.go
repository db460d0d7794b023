package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/restauth/restauth/password"
)

// workerCommand is the hidden command serve starts its hashing worker
// with: the restauth binary itself, computing argon2 keys for the server
// on its standard input and output (password.ServeWorker).
const workerCommand = "hash-worker"

// defaultHashNice is the worker's default nice value. At 19 the kernel
// gives the worker about 1.5% of a CPU that request handling also wants
// (a weight of 15 against 1024), and all of any CPU left idle.
const defaultHashNice = 19

// hashWorker is the worker's side: it lowers its own priority and serves
// requests until the server closes its input. It ignores SIGINT and
// SIGTERM, which a terminal or a service manager sends to the server and
// its children alike: the server still needs hashes while it drains, and
// closes the worker's input when it is done.
func hashWorker(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(workerCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	nice := fs.Int("nice", 0, "nice value")
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", workerCommand, err)
	}
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	if *nice > 0 {
		if err := password.SetProcessNice(*nice); err != nil {
			fmt.Fprintf(stderr, "restauth %s: hashing at normal priority: %v\n", workerCommand, err)
		}
	}
	return password.ServeWorker(stdin, stdout)
}

// workerCmd returns the function that makes a hashing worker's command:
// this same executable, with an environment of its own. The worker gets
// none of the server's variables (it needs no database address or
// secret) and, for a race-enabled test build, no wait at exit; the Hasher
// adds GOMAXPROCS.
func workerCmd(nice int, stderr io.Writer) func() *exec.Cmd {
	exe := "/proc/self/exe" // The running binary, even if the file was replaced by an upgrade.
	if runtime.GOOS != "linux" {
		exe, _ = os.Executable()
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe, workerCommand, "--nice", strconv.Itoa(nice))
		cmd.Env = []string{"GORACE=atexit_sleep_ms=0"}
		cmd.Stderr = stderr
		return cmd
	}
}
