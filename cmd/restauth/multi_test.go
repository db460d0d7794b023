package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The multi-instance test runs two processes of the real binary on one
// PostgreSQL schema, as a deployment behind a load balancer would, and
// checks that they behave as one server.

// procLog collects a process's log output.
type procLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// buildBinary builds restauth from this package into a directory that is
// removed when the test ends.
func buildBinary(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "restauth")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cleanEnv is the test's environment without RESTAUTH_ settings, so that
// only the flags given configure the processes.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RESTAUTH_") {
			env = append(env, kv)
		}
	}
	return env
}

// peer is one running restauth serve process.
type peer struct {
	name string
	base string // http://host:port
	cmd  *exec.Cmd
	logs *procLog
	done chan struct{} // Closed when the process has exited.
}

// startInstance starts bin serve on a free port and waits until /readyz answers;
// it is stopped (SIGTERM, then SIGKILL) when the test ends.
func startInstance(t *testing.T, bin, name string, args ...string) *peer {
	t.Helper()
	logs := &procLog{}
	addr := freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	in := &peer{name: name, base: "http://" + addr, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(in.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-in.done
			t.Errorf("%s did not stop within 10s of SIGTERM", name)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, logs.String())
		}
	})
	waitReady(t, in.base, in.done, logs)
	return in
}

// kill ends the process at once, as a crash or the OOM killer would.
func (in *peer) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL %s: %v", in.name, err)
	}
	select {
	case <-in.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s survived SIGKILL", in.name)
	}
}

// mustSend is send for requests that must reach the server.
func mustSend(t *testing.T, method, url, body, auth string) call {
	t.Helper()
	r, err := send(method, url, body, auth)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func registerBody(name, password string) string {
	b, _ := json.Marshal(map[string]string{"username": name, "password": password})
	return string(b)
}

// getToken logs in through the REST-auth flow (GET /api/token with Basic)
// and returns the access token.
func getToken(t *testing.T, in *peer, name, password string) string {
	t.Helper()
	r := mustSend(t, "GET", in.base+"/api/token", "", basicAuth(name, password))
	tok, _ := r.body["token"].(string)
	if r.status != http.StatusOK || tok == "" {
		t.Fatalf("GET /api/token on %s as %s: %d %s, want 200 with a token", in.name, name, r.status, r.raw)
	}
	return tok
}

// freshPostgresSchema creates a schema with a random name, dropped when the
// test ends, and returns the URL with search_path naming it.
func freshPostgresSchema(t *testing.T, base string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("RESTAUTH_TEST_POSTGRES must be a postgres:// URL (%v)", err)
	}
	schema := "restauth_multi_" + strings.ToLower(rand.Text()[:16])
	adminExec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect to PostgreSQL: %v", err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	adminExec(`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { adminExec(`DROP SCHEMA ` + pgx.Identifier{schema}.Sanitize() + ` CASCADE`) })
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestMultiInstance is the scale-out test: two instances of the real binary
// on one PostgreSQL schema.
func TestMultiInstance(t *testing.T) {
	base := os.Getenv("RESTAUTH_TEST_POSTGRES")
	if base == "" {
		t.Skip("RESTAUTH_TEST_POSTGRES not set: skipping the multi-instance PostgreSQL test")
	}
	if testing.Short() {
		t.Skip("-short: skipping the multi-instance test, which builds and runs the binary")
	}
	started := time.Now()
	bin := buildBinary(t)
	t.Logf("built the binary in %v", time.Since(started).Round(time.Millisecond))
	db := freshPostgresSchema(t, base)

	// Per-IP limits would count every request from 127.0.0.1 together.
	// Cheap hashing keeps 50 concurrent registrations quick on a small
	// machine. The periodic revocation sync and key reload are pushed out
	// of reach, so that what propagates within the test's bounds can only
	// have come through LISTEN/NOTIFY.
	argsFor := func(db string) []string {
		return []string{
			"--db", db,
			"--register-ip-limit", "0", "--login-ip-limit", "0",
			"--argon2-memory", "8192", "--argon2-time", "1", "--hash-wait", "20s",
			"--revocation-sync", "1h", "--key-reload", "1h",
			"--account-delay-base", "1h", "--account-delay-max", "1h",
		}
	}
	args := argsFor(db)
	// Started together: both migrate the empty schema at once.
	var a, b *peer
	var wg sync.WaitGroup
	wg.Go(func() { a = startInstance(t, bin, "A", args...) })
	wg.Go(func() { b = startInstance(t, bin, "B", args...) })
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}
	const password = "correct horse battery staple"

	t.Run("ready", func(t *testing.T) {
		for _, in := range []*peer{a, b} {
			if r := mustSend(t, "GET", in.base+"/readyz", "", ""); r.status != http.StatusOK {
				t.Errorf("GET /readyz on %s: %d %s, want 200", in.name, r.status, r.raw)
			}
		}
	})

	t.Run("registered on A, logs in on B", func(t *testing.T) {
		r := mustSend(t, "POST", a.base+"/api/users", registerBody("alice", password), "")
		if r.status != http.StatusCreated {
			t.Fatalf("register on A: %d %s, want 201", r.status, r.raw)
		}
		getToken(t, b, "alice", password)
	})

	t.Run("token from A works on B", func(t *testing.T) {
		tok := getToken(t, a, "alice", password)
		r := mustSend(t, "GET", b.base+"/api/resource", "", "Bearer "+tok)
		if r.status != http.StatusOK || r.body["data"] != "Hello, alice!" {
			t.Errorf("token from A on B: %d %s, want 200 Hello, alice!", r.status, r.raw)
		}
	})

	t.Run("logout on B is refused on A without waiting for the periodic sync", func(t *testing.T) {
		tok := getToken(t, a, "alice", password)
		if r := mustSend(t, "GET", a.base+"/api/resource", "", "Bearer "+tok); r.status != http.StatusOK {
			t.Fatalf("token on A before logout: %d %s, want 200", r.status, r.raw)
		}
		if r := mustSend(t, "POST", b.base+"/api/logout", "", "Bearer "+tok); r.status != http.StatusNoContent {
			t.Fatalf("logout on B: %d %s, want 204", r.status, r.raw)
		}
		loggedOut := time.Now()
		if r := mustSend(t, "GET", b.base+"/api/resource", "", "Bearer "+tok); r.status != http.StatusUnauthorized {
			t.Errorf("token on B after logout on B: %d, want 401", r.status)
		}
		for {
			r := mustSend(t, "GET", a.base+"/api/resource", "", "Bearer "+tok)
			elapsed := time.Since(loggedOut)
			if r.status == http.StatusUnauthorized {
				t.Logf("A refused the token %v after the logout on B", elapsed.Round(time.Microsecond))
				break
			}
			if r.status != http.StatusOK {
				t.Fatalf("token on A after logout on B: %d %s, want 200 or 401", r.status, r.raw)
			}
			// The periodic sync runs hourly here, so a refusal within the
			// bound can only come from B's notification. The bound is far
			// above the milliseconds it takes, so that a busy machine
			// cannot fail the test; the figure is logged above.
			if elapsed > 10*time.Second {
				t.Fatalf("A still accepts the token %v after the logout on B, want it refused through the notification", elapsed.Round(time.Millisecond))
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("50 parallel registrations of one name give one account", func(t *testing.T) {
		const n = 50
		replies := make([]call, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				in := []*peer{a, b}[i%2]
				<-start
				replies[i], errs[i] = send("POST", in.base+"/api/users", registerBody("mallory", password), "")
			})
		}
		close(start)
		wg.Wait()
		var created, taken int
		for i, r := range replies {
			switch {
			case errs[i] != nil:
				t.Errorf("registration %d: %v", i, errs[i])
			case r.status == http.StatusCreated:
				created++
			case r.status == http.StatusBadRequest && r.body["error"] == "username_taken":
				taken++
			default:
				t.Errorf("registration %d: %d %s, want 201 or 400 username_taken", i, r.status, r.raw)
			}
		}
		if created != 1 || taken != n-1 {
			t.Errorf("%d parallel registrations: %d created and %d username_taken, want 1 and %d", n, created, taken, n-1)
		}
	})

	t.Run("the per-account failure limit counts both instances", func(t *testing.T) {
		if r := mustSend(t, "POST", b.base+"/api/users", registerBody("bob", password), ""); r.status != http.StatusCreated {
			t.Fatalf("register bob: %d %s", r.status, r.raw)
		}
		// Five failures are free (the default --account-free-failures);
		// after them the next attempt must wait, wherever it arrives. The
		// instances' first tarpit delay is an hour (--account-delay-base),
		// so that a slow machine cannot outlast it during the test.
		for i := range 5 {
			in := []*peer{a, b}[i%2]
			r := mustSend(t, "GET", in.base+"/api/token", "", basicAuth("bob", "wrong password"))
			if r.status != http.StatusUnauthorized {
				t.Fatalf("failure %d on %s: %d %s, want 401", i+1, in.name, r.status, r.raw)
			}
		}
		attempts := []struct {
			in       *peer
			password string
		}{
			{a, "wrong password"},
			{b, password}, // Even the right password waits.
		}
		for _, at := range attempts {
			r := mustSend(t, "GET", at.in.base+"/api/token", "", basicAuth("bob", at.password))
			if r.status != http.StatusTooManyRequests {
				t.Errorf("attempt on %s after 5 failures spread over A and B: %d %s, want 429", at.in.name, r.status, r.raw)
			}
		}
	})

	t.Run("a key rotated by the CLI is served by both", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "keys", "rotate", "--db", db)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("keys rotate: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`added key (\S+):`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("keys rotate printed %q, want the new kid", out)
		}
		kid := string(m[1])
		rotated := time.Now()
		for _, in := range []*peer{a, b} {
			for {
				r := mustSend(t, "GET", in.base+"/.well-known/jwks.json", "", "")
				if strings.Contains(r.raw, `"kid":"`+kid+`"`) {
					t.Logf("%s serves the new key %v after the rotation", in.name, time.Since(rotated).Round(time.Microsecond))
					break
				}
				if time.Since(rotated) > 5*time.Second {
					t.Fatalf("%s does not serve the new key %s 5s after the rotation: %s", in.name, kid, r.raw)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})

	t.Run("an outage fails closed and heals", func(t *testing.T) {
		// C reaches the database through a proxy that can be cut.
		u, err := url.Parse(db)
		if err != nil {
			t.Fatal(err)
		}
		p := startTCPProxy(t, u.Host)
		u.Host = p.addr()
		q := u.Query()
		q.Set("connect_timeout", "2")
		u.RawQuery = q.Encode()
		c := startInstance(t, bin, "C", argsFor(u.String())...)
		tok := getToken(t, c, "alice", password)

		p.setDown(true)
		down := []struct {
			name, method, path, body, auth string
			want                           int
		}{
			{"liveness", "GET", "/healthz", "", "", http.StatusOK},
			{"readiness", "GET", "/readyz", "", "", http.StatusServiceUnavailable},
			{"password login", "GET", "/api/token", "", basicAuth("alice", password), http.StatusServiceUnavailable},
			{"wrong password", "GET", "/api/resource", "", basicAuth("alice", "not the password"), http.StatusServiceUnavailable},
			{"registration", "POST", "/api/users", registerBody("dora", password), "", http.StatusServiceUnavailable},
			{"logout", "POST", "/api/logout", "", "Bearer " + tok, http.StatusServiceUnavailable},
			// An access token verifies without the database, against the
			// keys and revocations the instance holds.
			{"access token", "GET", "/api/resource", "", "Bearer " + tok, http.StatusOK},
			{"forged token", "GET", "/api/resource", "", "Bearer " + tok + "x", http.StatusUnauthorized},
		}
		for _, tt := range down {
			r := mustSend(t, tt.method, c.base+tt.path, tt.body, tt.auth)
			if r.status != tt.want {
				t.Errorf("%s with the database down: %d %s, want %d", tt.name, r.status, r.raw, tt.want)
			}
			if tt.want == http.StatusServiceUnavailable && (r.body["error"] != "unavailable" || strings.Contains(r.raw, "postgres")) {
				t.Errorf("%s with the database down: body %s, want the generic unavailable error", tt.name, r.raw)
			}
		}

		p.setDown(false)
		deadline := time.Now().Add(10 * time.Second)
		for {
			r := mustSend(t, "GET", c.base+"/readyz", "", "")
			if r.status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("C not ready 10s after the database returned: %d %s", r.status, r.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
		getToken(t, c, "alice", password)
	})

	// Last, since it ends A.
	t.Run("SIGKILL of A loses no acknowledged registration", func(t *testing.T) {
		const workers = 8
		var (
			mu      sync.Mutex
			acked   []string // Names whose registration answered 201.
			ackedA  atomic.Int32
			failedA atomic.Int32 // Requests to A that got no answer.
		)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			in := []*peer{a, b}[w%2]
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("k%d_%d", w, i)
					r, err := send("POST", in.base+"/api/users", registerBody(name, password), "")
					switch {
					case err != nil && in == a:
						failedA.Add(1)
						time.Sleep(10 * time.Millisecond) // A is gone; do not spin.
					case err != nil:
						t.Errorf("register %s on B: %v", name, err)
						return
					case r.status == http.StatusCreated:
						mu.Lock()
						acked = append(acked, name)
						mu.Unlock()
						if in == a {
							ackedA.Add(1)
						}
					default:
						t.Errorf("register %s on %s: %d %s, want 201", name, in.name, r.status, r.raw)
						return
					}
				}
			})
		}
		// Kill A in the middle of the stream, once it has acknowledged some.
		deadline := time.Now().Add(10 * time.Second)
		for ackedA.Load() < 10 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		a.kill(t)
		time.Sleep(200 * time.Millisecond) // B goes on alone for a while.
		close(stop)
		wg.Wait()
		if ackedA.Load() == 0 {
			t.Fatalf("A acknowledged no registration before it was killed")
		}
		t.Logf("%d registrations acknowledged (%d by A); %d requests to A got no answer", len(acked), ackedA.Load(), failedA.Load())

		if r := mustSend(t, "GET", b.base+"/readyz", "", ""); r.status != http.StatusOK {
			t.Errorf("GET /readyz on B after A was killed: %d %s, want 200", r.status, r.raw)
		}
		var missing []string
		for _, name := range acked {
			r := mustSend(t, "GET", b.base+"/api/token", "", basicAuth(name, password))
			if r.status != http.StatusOK {
				missing = append(missing, fmt.Sprintf("%s (%d)", name, r.status))
			}
		}
		if len(missing) > 0 {
			t.Errorf("%d of %d acknowledged registrations cannot log in on B: %v", len(missing), len(acked), missing)
		}
	})
	t.Logf("multi-instance test took %v", time.Since(started).Round(time.Millisecond))
}

// tcpProxy forwards TCP connections to PostgreSQL and can be cut, standing
// in for a database that goes away and comes back.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func startTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() {
		io.Copy(up, c)
		up.Close()
		c.Close()
	}()
	io.Copy(c, up)
	c.Close()
	up.Close()
}

// setDown cuts every connection and closes new ones at once, or lets them
// through again.
func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
