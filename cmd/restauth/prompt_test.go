//go:build linux

package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal on this machine: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestPasswordPromptOnTerminal checks that user add, on a terminal, asks
// twice with echo off, so the password never appears on the screen.
func TestPasswordPromptOnTerminal(t *testing.T) {
	dir := t.TempDir()
	if r := cli(t, dir, nil, "", "migrate"); r.code != 0 {
		t.Fatalf("migrate: %+v", r)
	}
	master, slave := openPTY(t)
	var screen syncBuffer // What the terminal shows: the echo, if any.
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			screen.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"user", "add", "grace"}, func(string) string { return "" }, slave, &stdout, &stderr)
	}()
	echoOff := func() bool {
		tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&unix.ECHO == 0
	}
	const pw = "a fine passphrase"
	for _, prompt := range []string{"Password for grace: ", "Repeat it: "} {
		waitFor(t, "the prompt "+prompt, func() bool { return strings.HasSuffix(stderr.String(), prompt) && echoOff() })
		if _, err := master.Write([]byte(pw + "\n")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the line to be read", func() bool { return !strings.HasSuffix(stderr.String(), prompt) })
	}
	if err := <-done; err != nil {
		t.Fatalf("user add on a terminal: %v", err)
	}
	if got := stdout.String(); got != "added user 1 grace\n" {
		t.Errorf("stdout %q, want the added line", got)
	}
	if strings.Contains(screen.String(), "passphrase") {
		t.Errorf("the terminal echoed the password: %q", screen.String())
	}
	if echoOff() {
		t.Error("echo was left off")
	}
}
