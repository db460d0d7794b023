package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects a server's log output and signals when the listening
// line appears.
type syncBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addrc chan string
}

var listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if m := listenRE.FindSubmatch(b.buf.Bytes()); m != nil && b.addrc != nil {
		b.addrc <- string(m[1])
		b.addrc = nil
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer calls run on 127.0.0.1:0 and returns the base URL and the
// captured log; the server stops when the test ends.
func startServer(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{addrc: make(chan string, 1)}
	addrc := logs.addrc
	getenv := func(k string) string { return env[k] }
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	select {
	case addr := <-addrc:
		return "http://" + addr, logs
	case err := <-done:
		t.Fatalf("run exited early: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	return "", nil
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
	for _, secret := range []string{"python is fun", tok} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log contains a secret (%.12s…)", secret)
		}
	}
	if !strings.Contains(logs.String(), "path=/api/resource status=200") {
		t.Errorf("request log lacks the request line:\n%s", logs.String())
	}
}

// TestTokensSurviveRestart checks that the signing key is generated once,
// persisted, and reused: a token issued before a restart verifies after.
func TestTokensSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	env := map[string]string{"RESTAUTH_DB": db}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{addrc: make(chan string, 1)}
	addrc := logs.addrc
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, logs)
	}()
	base := "http://" + <-addrc
	do(t, "POST", base+"/api/users", `{"username":"miguel","password":"python is fun"}`, "")
	tok := do(t, "GET", base+"/api/token", "", basicAuth("miguel", "python is fun")).body["token"].(string)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	base2, _ := startServer(t, env)
	if r := do(t, "GET", base2+"/api/resource", "", "Bearer "+tok); r.status != 200 {
		t.Fatalf("token after restart: %d %s, want 200", r.status, r.raw)
	}
}

func TestUserCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	env := map[string]string{"RESTAUTH_DB": db, "RESTAUTH_USER_PASSWORD": "a fine passphrase"}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"user", "add", "grace"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"user", "add", "grace"}, getenv, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("duplicate user add: err = %v, want username taken", err)
	}
	out.Reset()
	if err := run(ctx, []string{"user", "list"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "grace") {
		t.Errorf("user list = %q, want grace", out.String())
	}
	if err := run(ctx, []string{"user", "delete", "GRACE"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run(ctx, []string{"user", "list"}, getenv, &out, io.Discard)
	if strings.Contains(out.String(), "grace") {
		t.Errorf("user list after delete = %q, want no grace", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, getenv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "restauth ") {
		t.Errorf("version = %q, %v", out.String(), err)
	}
	if err := run(ctx, []string{"bogus"}, getenv, &out, io.Discard); err == nil {
		t.Error("unknown command: want an error")
	}
}
