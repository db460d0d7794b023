package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/procstat"
)

// TestMain lets the test binary stand in for restauth as its own hashing
// worker: serve, run by the tests, starts /proc/self/exe hash-worker,
// which is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == workerCommand {
		os.Exit(exitCode(run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr), os.Stderr))
	}
	os.Exit(m.Run())
}

// TestHashWorker checks the worker serve starts: a child at the configured
// nice value with none of the server's environment, which the server
// replaces when it dies (hashing in its own process meanwhile, and saying
// so in the log), and which is gone once the server has stopped.
func TestHashWorker(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the worker's nice value and environment are read from Linux's /proc")
	}
	var last int
	// Registered first, so it runs after the server has stopped.
	t.Cleanup(func() {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", last)); err == nil {
			t.Errorf("worker %d still exists after the server stopped", last)
		}
	})
	db := filepath.Join(t.TempDir(), "restauth.db")
	// The nice value 13 tells this test's worker from those of other
	// tests running at the same time; the cache off makes every request
	// hash.
	base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db, "RESTAUTH_HASH_NICE": "13"}, "--credential-cache-ttl", "0")
	if r := do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, ""); r.status != 201 {
		t.Fatalf("register: %d %s, want 201", r.status, r.raw)
	}
	first := workerOf(t, "13")
	nices, err := procstat.ThreadNices(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, nice := range nices {
		if nice != 13 {
			t.Errorf("worker thread nice = %d, want 13", nice)
		}
	}
	vars, err := procstat.Environ(first)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range vars {
		if name, _, _ := strings.Cut(kv, "="); name != "GOMAXPROCS" && name != "GORACE" {
			t.Errorf("worker environment holds %s; want GOMAXPROCS and GORACE only", name)
		}
	}
	// One hash at a time per worker, with the default single lane.
	if !slices.Contains(vars, "GOMAXPROCS=1") {
		t.Errorf("worker environment = %q; want GOMAXPROCS=1", vars)
	}

	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Right after the kill, requests are hashed in the server itself.
	for range 3 {
		if r := do(t, "GET", base+"/api/resource", "", basicAuth("miguel", "python is fun")); r.status != 200 {
			t.Fatalf("basic with the worker killed: %d %s, want 200", r.status, r.raw)
		}
	}
	waitFor(t, "the log to report the worker's exit", func() bool {
		return strings.Contains(logs.String(), `msg="hashing worker"`)
	})
	// A new worker is started on a hash at least a second later.
	waitFor(t, "a new worker", func() bool {
		time.Sleep(100 * time.Millisecond)
		if r := do(t, "GET", base+"/api/resource", "", basicAuth("miguel", "python is fun")); r.status != 200 {
			t.Fatalf("basic while the worker restarts: %d %s, want 200", r.status, r.raw)
		}
		last = findWorker("13")
		return last != 0 && last != first
	})
}

// workerOf returns the pid of this process's hashing worker started with
// the given nice value, failing the test when there is none.
func workerOf(t *testing.T, nice string) int {
	t.Helper()
	pid := findWorker(nice)
	if pid == 0 {
		t.Fatalf("no hash-worker child with nice %s", nice)
	}
	return pid
}

// findWorker returns the pid of a child of this process whose command line
// is hash-worker with the given nice value, or 0.
func findWorker(nice string) int {
	for _, c := range procstat.Children(os.Getpid()) {
		if c.State == "Z" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.PID))
		if strings.HasSuffix(string(cmdline), "\x00"+workerCommand+"\x00--nice\x00"+nice+"\x00") {
			return c.PID
		}
	}
	return 0
}
