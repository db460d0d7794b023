//go:build unix

package main

import (
	"bufio"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignals runs the real binary and signals it as an operator or a
// service manager would: one signal stops it cleanly (status 0, the last
// line says so), and a second one cuts a stalled shutdown short (status 1,
// saying what was cut off).
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the test that builds and runs the binary")
	}
	bin := buildBinary(t)

	t.Run("one signal", func(t *testing.T) {
		p := startBinary(t, bin, filepath.Join(t.TempDir(), "db"))
		do(t, "GET", p.base+"/healthz", "", "")
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-p.done
		if p.err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0\n%s", p.err, p.logs)
		}
		lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, "msg=stopped order=http,background,store,logs") {
			t.Errorf("last line %q, want the stopped line", last)
		}
		if !strings.Contains(p.logs.String(), "path=/healthz status=200") {
			t.Errorf("the request line was lost:\n%s", p.logs)
		}
	})

	t.Run("second signal", func(t *testing.T) {
		p := startBinary(t, bin, filepath.Join(t.TempDir(), "db"))
		// A request whose body never comes. The handler asking for the
		// body makes the server send 100 Continue: from then on the
		// request is in flight.
		c, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("waiting for 100 Continue: %q, %v", line, err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the shutdown to start", func() bool { return strings.Contains(p.logs.String(), "shutting down") })
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the second signal did not stop the server:\n%s", p.logs)
		}
		var ee *exec.ExitError
		if !errors.As(p.err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("exit: %v, want status 1", p.err)
		}
		lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
		const want = "restauth: shutdown cut short by a second signal: 1 request still running"
		if last := lines[len(lines)-1]; last != want {
			t.Errorf("last line %q, want %q", last, want)
		}
	})
}
