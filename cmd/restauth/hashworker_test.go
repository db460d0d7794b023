package main

import (
	"context"
	"os"
	"testing"
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
