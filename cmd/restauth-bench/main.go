// Command restauth-bench is restauth's load harness. It builds the real
// restauth binary, starts it on 127.0.0.1 over seeded databases, starts a
// bare net/http server answering a JSON body of the same size, drives both
// with the same keep-alive connections for a fixed time, and reports
// requests per second, latency percentiles, errors, the server's peak RSS
// (with its hashing worker processes) and the ratio to the baseline or to the limit each scenario is bound by.
//
// Run it from the repository root:
//
//	go run ./cmd/restauth-bench              # every scenario on SQLite (about 11 minutes)
//	go run ./cmd/restauth-bench -smoke       # a bounded run for CI; exits 1 on any error
//	go run ./cmd/restauth-bench -json        # JSON on stdout for tooling
//	go run ./cmd/restauth-bench -postgres postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// docs/benchmarks.md explains the scenarios, the targets and the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "__baseline" {
		if err := baselineMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "restauth-bench baseline:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the harness's settings.
type options struct {
	conns            int
	duration         time.Duration
	warmup           time.Duration
	passwordDuration time.Duration
	flood            int
	users            int
	bigUsers         int
	startupRuns      int
	ratioRounds      int
	ratioDuration    time.Duration
	timingRounds     int
	timeout          time.Duration
	postgres         string
	jsonOut          bool
	smoke            bool
	only             *regexp.Regexp
	profile          string
	keep             string
	serverFlags      []string
	serverEnv        []string
	render           string
	bin              string
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("restauth-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.conns, "conns", 32, "keep-alive connections per scenario")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each measurement")
	fs.DurationVar(&o.passwordDuration, "password-duration", 60*time.Second, "measured time of the password scenarios, whose memory growth target is over 60s")
	fs.IntVar(&o.flood, "flood", 500, "concurrent logins in the flood scenario")
	fs.IntVar(&o.users, "users", 1000, "users in the main database")
	fs.IntVar(&o.bigUsers, "big-users", 1_000_000, "users in the large database of the users scenario (0 skips it)")
	fs.IntVar(&o.startupRuns, "startup-runs", 5, "server starts timed for the startup figure")
	fs.IntVar(&o.ratioRounds, "ratio-rounds", 5, "alternating baseline/restauth rounds of the token-ratio scenario")
	fs.DurationVar(&o.ratioDuration, "ratio-duration", 3*time.Second, "measured time of each token-ratio round (as wrk -d3s)")
	fs.IntVar(&o.timingRounds, "timing-rounds", 30, "failed logins of each kind in the login-timing scenario")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "longest wait for one response")
	fs.StringVar(&o.postgres, "postgres", "", "also run every scenario on this PostgreSQL server (postgres:// URL); each database is a fresh schema")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON on stdout instead of tables")
	fs.BoolVar(&o.smoke, "smoke", false, "a short bounded run for CI (1s per scenario, fewer users, no million-user database); exits 1 on any error")
	fs.StringVar(&o.bin, "bin", "", "benchmark this restauth binary instead of building ./cmd/restauth (to compare a change)")
	fs.StringVar(&o.render, "render", "", "print the tables of a report saved with -json, and run nothing")
	only := fs.String("only", "", "run only the scenarios whose names match this regular expression")
	fs.StringVar(&o.profile, "profile", "", "write a CPU profile of the server per scenario into this directory (builds restauth with a pprof listener)")
	fs.StringVar(&o.keep, "keep", "", "work in this directory and keep its databases and server logs (default: a temporary directory, removed)")
	serverFlags := fs.String("server-flags", "", "extra flags for restauth serve, space-separated, to try settings (for example \"--hash-concurrency 1\")")
	serverEnv := fs.String("server-env", "", "extra environment for restauth, space-separated NAME=value pairs (for example \"GOMAXPROCS=3 GOGC=200\")")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		smoke := map[string]func(){
			"conns":             func() { o.conns = 8 },
			"duration":          func() { o.duration = time.Second },
			"warmup":            func() { o.warmup = 300 * time.Millisecond },
			"password-duration": func() { o.passwordDuration = time.Second },
			"flood":             func() { o.flood = 50 },
			"users":             func() { o.users = 100 },
			"big-users":         func() { o.bigUsers = 0 },
			"startup-runs":      func() { o.startupRuns = 1 },
			"ratio-rounds":      func() { o.ratioRounds = 3 },
			"ratio-duration":    func() { o.ratioDuration = 500 * time.Millisecond },
			"timing-rounds":     func() { o.timingRounds = 3 },
			"timeout":           func() { o.timeout = 10 * time.Second },
		}
		for name, apply := range smoke {
			if !set[name] {
				apply()
			}
		}
	}
	o.serverFlags = strings.Fields(*serverFlags)
	o.serverEnv = strings.Fields(*serverEnv)
	for _, kv := range o.serverEnv {
		if !strings.Contains(kv, "=") {
			return nil, fmt.Errorf("-server-env: %q is not NAME=value", kv)
		}
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return nil, fmt.Errorf("-only: %v", err)
		}
		o.only = re
	}
	switch {
	case o.conns < 1 || o.flood < 1 || o.startupRuns < 1 || o.ratioRounds < 1 || o.timingRounds < 1:
		return nil, fmt.Errorf("-conns, -flood, -startup-runs, -ratio-rounds and -timing-rounds must be at least 1")
	case o.users < o.conns || o.users < 2:
		return nil, fmt.Errorf("-users must be at least -conns (every connection uses its own account)")
	case o.bigUsers != 0 && o.bigUsers < o.conns:
		return nil, fmt.Errorf("-big-users must be 0 or at least -conns")
	case o.duration <= 0 || o.passwordDuration <= 0 || o.ratioDuration <= 0 || o.warmup < 0:
		return nil, fmt.Errorf("durations must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "restauth-bench:", err)
		return 2
	}
	if o.render != "" {
		return render(o.render, stdout, stderr)
	}
	h := &harness{opts: o, log: stderr}
	rep, err := h.run(ctx, args)
	if rep != nil {
		if o.jsonOut {
			if werr := rep.writeJSON(stdout); werr != nil && err == nil {
				err = werr
			}
		} else {
			rep.writeText(stdout)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "restauth-bench:", err)
		return 1
	}
	if rep.Errors > 0 {
		fmt.Fprintf(stderr, "restauth-bench: %d errors (connection errors, unexpected statuses or server ERROR log lines)\n", rep.Errors)
		return 1
	}
	return 0
}

// render prints the tables of a saved JSON report.
func render(path string, stdout, stderr io.Writer) int {
	b, err := os.ReadFile(path)
	var rep report
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, "restauth-bench: -render:", err)
		return 1
	}
	rep.writeText(stdout)
	return 0
}

func commandLine(args []string) string {
	return strings.TrimSpace("go run ./cmd/restauth-bench " + strings.Join(args, " "))
}
