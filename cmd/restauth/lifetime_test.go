package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds. The test decides on cond; the
// deadline only ends a hung test, so it is long enough that no load on a
// shared machine reaches it (a niced hashing worker included).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestShutdownInOrder checks that run returns only once every goroutine
// serve started has returned, that it stopped HTTP, the background work,
// the store and the logs in that order, and that no buffered log line was
// lost.
func TestShutdownInOrder(t *testing.T) {
	// Goroutines serve runs: log flusher, HTTP, key reload, revocation
	// sync, sweep, API key last uses and the store's change listener.
	const goro = 7
	stores := map[string]struct {
		db   func(t *testing.T) string
		goro int64
	}{
		"sqlite": {func(t *testing.T) string { return filepath.Join(t.TempDir(), "restauth.db") }, goro},
	}
	if base := os.Getenv("RESTAUTH_TEST_POSTGRES"); base != "" {
		stores["postgres"] = struct {
			db   func(t *testing.T) string
			goro int64
		}{func(t *testing.T) string { return freshPostgresSchema(t, base) }, goro}
	}
	for name, st := range stores {
		t.Run(name, func(t *testing.T) {
			lt := &lifetime{}
			env := map[string]string{"RESTAUTH_DB": st.db(t)}
			s := launch(t, withLifetime(context.Background(), lt), env)
			if got := lt.running.Load(); got != st.goro {
				t.Errorf("while serving, %d goroutines run, want %d", got, st.goro)
			}
			do(t, "POST", s.base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
			// The last request's line sits in the log buffer when the
			// shutdown starts.
			do(t, "GET", s.base+"/api/resource?last", "", basicAuth("miguel", "python is fun"))
			s.cancel()
			if err := <-s.done; err != nil {
				t.Fatalf("run returned %v", err)
			}
			if got := lt.running.Load(); got != 0 {
				t.Errorf("after run returned, %d of its goroutines still run", got)
			}
			if got, want := lt.order(), []string{"http", "background", "store", "logs"}; !slices.Equal(got, want) {
				t.Errorf("stopped in the order %v, want %v", got, want)
			}
			logs := strings.Split(strings.TrimSpace(s.logs.String()), "\n")
			if !strings.Contains(s.logs.String(), "path=/api/resource status=200") {
				t.Errorf("the last request's log line was lost:\n%s", s.logs)
			}
			if last := logs[len(logs)-1]; !strings.Contains(last, `msg=stopped order=http,background,store,logs`) {
				t.Errorf("last log line %q, want the stopped line", last)
			}
		})
	}
}

// stallRequest opens a request whose body never arrives, and waits until
// its handler runs.
func stallRequest(t *testing.T, s *server, lt *lifetime) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stalled request to reach its handler", func() bool { return lt.inflight.Load() == 1 })
}

// TestShutdownCutShort checks what a request that does not finish does to
// a shutdown: after --shutdown-timeout, or at a second signal, the server
// closes it and says so.
func TestShutdownCutShort(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		lt := &lifetime{}
		env := map[string]string{"RESTAUTH_DB": filepath.Join(t.TempDir(), "db")}
		s := launch(t, withLifetime(context.Background(), lt), env, "--shutdown-timeout", "200ms")
		stallRequest(t, s, lt)
		s.cancel()
		err := <-s.done
		const want = "shutdown cut short after --shutdown-timeout 200ms: 1 request still running"
		if err == nil || err.Error() != want {
			t.Fatalf("run returned %v, want %q", err, want)
		}
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != 1 || stderr.String() != "restauth: "+want+"\n" {
			t.Errorf("exit %d, %q; want 1 and the message", code, stderr.String())
		}
		if !strings.Contains(s.logs.String(), `level=ERROR msg="`+want+`"`) {
			t.Errorf("the log does not say what was cut off:\n%s", s.logs)
		}
		if got := lt.running.Load(); got != 0 {
			t.Errorf("after run returned, %d of its goroutines still run", got)
		}
		if lt.inflight.Load() != 0 {
			t.Error("run returned with the cut request's handler still running")
		}
	})
	t.Run("second signal", func(t *testing.T) {
		lt := &lifetime{}
		force := make(chan struct{})
		ctx := withForce(withLifetime(context.Background(), lt), force)
		env := map[string]string{"RESTAUTH_DB": filepath.Join(t.TempDir(), "db")}
		s := launch(t, ctx, env, "--shutdown-timeout", "1h")
		stallRequest(t, s, lt)
		s.cancel()
		waitFor(t, "the shutdown to start", func() bool { return strings.Contains(s.logs.String(), "shutting down") })
		close(force)
		err := <-s.done
		const want = "shutdown cut short by a second signal: 1 request still running"
		if err == nil || err.Error() != want {
			t.Fatalf("run returned %v, want %q", err, want)
		}
		if got, want := lt.order(), []string{"http", "background", "store", "logs"}; !slices.Equal(got, want) {
			t.Errorf("stopped in the order %v, want %v", got, want)
		}
	})
}

// TestCertificateLoadedFirst checks that a missing certificate fails the
// start before anything is announced or created.
func TestCertificateLoadedFirst(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
		func(k string) string { return map[string]string{"RESTAUTH_DB": filepath.Join(dir, "db")}[k] }, nil, &logs, &logs)
	const want = "load TLS certificate: open c.pem: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("serve with a missing certificate: %v, want %q", err, want)
	}
	if logs.Len() != 0 {
		t.Errorf("serve logged before failing:\n%s", logs.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve created %v before failing", entries)
	}
}
