package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects a server's log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitReady polls base/readyz until it answers 200. It fails the test when
// exited is closed first (the server stopped) or after 30 seconds.
func waitReady(t *testing.T, base string, exited <-chan struct{}, logs fmt.Stringer) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // Tests serve self-signed certificates.
	}}
	for {
		if res, err := client.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("the server exited before it was ready:\n%s", logs)
		case <-deadline:
			t.Fatalf("the server was not ready within 30s:\n%s", logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// server is restauth serve running in this process.
type server struct {
	base   string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error // Receives what run returned.
	exited chan struct{}
}

// startServer calls run serve on a free loopback port and returns once
// /readyz answers; the server stops when the test ends.
func startServer(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer) {
	t.Helper()
	s := launch(t, context.Background(), env, args...)
	t.Cleanup(func() {
		s.cancel()
		if err := <-s.done; err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	return s.base, s.logs
}

// launch starts run serve under ctx and waits until it is ready; the caller
// stops it with s.cancel and reads s.done.
func launch(t *testing.T, ctx context.Context, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	addr := freeAddr(t)
	scheme := "http"
	if slices.Contains(args, "--tls-cert") {
		scheme = "https"
	}
	s := &server{base: scheme + "://" + addr, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1), exited: make(chan struct{})}
	getenv := func(k string) string { return env[k] }
	go func() {
		err := run(ctx, append([]string{"serve", "--addr", addr}, args...), getenv, strings.NewReader(""), io.Discard, s.logs)
		close(s.exited)
		s.done <- err
	}()
	waitReady(t, s.base, s.exited, s.logs)
	return s
}

// call is an HTTP response, read whole.
type call struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// send makes one request. A transport error is returned rather than
// fatal, since the crash and multi-instance tests expect some; it is safe
// to call from any goroutine.
func send(method, url, body, auth string) (call, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return call{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return call{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		// The answer was cut short: it does not count as received.
		return call{}, err
	}
	c := call{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &c.body)
	return c, nil
}

// do is send for the calling test's goroutine: a transport error fails
// the test.
func do(t *testing.T, method, url, body, auth string) call {
	t.Helper()
	c, err := send(method, url, body, auth)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func basicAuth(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

// TestRESTAuthSession replays the README's curl session against the real
// program.
func TestRESTAuthSession(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db})

	r := do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
	if r.status != 201 || r.body["username"] != "miguel" {
		t.Fatalf("register: %d %s, want 201 miguel", r.status, r.raw)
	}
	if loc := r.header.Get("Location"); loc != base+"/api/users/1" {
		t.Errorf("Location = %q, want %q", loc, base+"/api/users/1")
	}
	r = do(t, "GET", base+"/api/resource", "", basicAuth("miguel", "python is fun"))
	if r.status != 200 || r.body["data"] != "Hello, miguel!" {
		t.Fatalf("basic: %d %s, want 200 Hello, miguel!", r.status, r.raw)
	}
	r = do(t, "GET", base+"/api/resource", "", basicAuth("miguel", "python is not fun"))
	if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="Authentication Required"` {
		t.Fatalf("wrong password: %d %v, want 401 with the Basic challenge", r.status, r.header)
	}
	r = do(t, "GET", base+"/api/token", "", basicAuth("miguel", "python is fun"))
	if r.status != 200 || r.body["duration"] != float64(600) {
		t.Fatalf("token: %d %s, want 200 with duration 600", r.status, r.raw)
	}
	tok := r.body["token"].(string)
	r = do(t, "GET", base+"/api/resource", "", basicAuth(tok, "unused"))
	if r.status != 200 || r.body["data"] != "Hello, miguel!" {
		t.Fatalf("token as username: %d %s", r.status, r.raw)
	}
	r = do(t, "GET", base+"/api/resource", "", "Bearer "+tok)
	if r.status != 200 {
		t.Fatalf("bearer: %d %s", r.status, r.raw)
	}
	// Request lines are written in batches, every 100 ms.
	waitFor(t, "the request line of GET /api/resource in the log", func() bool {
		return strings.Contains(logs.String(), "path=/api/resource status=200")
	})
	for _, secret := range []string{"python is fun", tok} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a secret (%.12s…)", secret)
		}
	}
}

// TestTokensSurviveRestart checks that the signing key is generated once,
// persisted, and reused: a token issued before a restart verifies after.
func TestTokensSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	env := map[string]string{"RESTAUTH_DB": db}
	s := launch(t, context.Background(), env)
	do(t, "POST", s.base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
	tok := do(t, "GET", s.base+"/api/token", "", basicAuth("miguel", "python is fun")).body["token"].(string)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatal(err)
	}
	base2, logs := startServer(t, env)
	if r := do(t, "GET", base2+"/api/resource", "", "Bearer "+tok); r.status != 200 {
		t.Fatalf("token after restart: %d %s, want 200", r.status, r.raw)
	}
	if !strings.Contains(logs.String(), "db_created=false signing_key=loaded") {
		t.Errorf("second start does not say the database and key were found:\n%s", logs)
	}
	if !strings.Contains(s.logs.String(), "db="+db+" db_created=true signing_key=generated") {
		t.Errorf("first start does not say the database and key were created:\n%s", s.logs)
	}
}
