package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawExchange writes req on a fresh connection to base and reads one
// response; it bypasses net/http's client, which would refuse to send
// what these tests send.
func rawExchange(t *testing.T, base string, req ...string) (*http.Response, []byte) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A safety net only: the server answers in milliseconds.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	for _, part := range req {
		if _, err := io.WriteString(conn, part); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// userCount reads the users table of the SQLite file at db without
// disturbing the server that has it open.
func userCount(t *testing.T, db string) int {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostileTransport sends what a hostile or broken client sends to the
// real server: huge declared and streamed bodies, huge headers, and headers
// trickled in byte by byte.
func TestHostileTransport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	base, _ := startServer(t, map[string]string{"RESTAUTH_DB": db}, "--read-header-timeout", "300ms")
	head := "POST /api/users HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"

	t.Run("declared body over 64 KiB", func(t *testing.T) {
		// 10 MB declared, 4 KiB sent: the answer comes without the rest.
		res, body := rawExchange(t, base, head+"Content-Length: 10000000\r\n\r\n",
			`{"username":"bob","password":"`+strings.Repeat("x", 4<<10))
		if res.StatusCode != 413 || !strings.Contains(string(body), `"body_too_large"`) {
			t.Errorf("got %d %s, want 413 body_too_large", res.StatusCode, body)
		}
		if !res.Close {
			t.Errorf("response headers %v, want Connection: close", res.Header)
		}
	})

	t.Run("streamed body over 64 KiB", func(t *testing.T) {
		// Chunked, 80 KiB, never terminated: the server stops reading at
		// the limit and answers.
		chunk := strings.Repeat("x", 16<<10)
		parts := []string{head + "Transfer-Encoding: chunked\r\n\r\n", "d\r\n{\"username\":\"\r\n"}
		for range 5 {
			parts = append(parts, "4000\r\n"+chunk+"\r\n")
		}
		start := time.Now()
		res, body := rawExchange(t, base, parts...)
		if res.StatusCode != 413 || !strings.Contains(string(body), `"body_too_large"`) {
			t.Errorf("got %d %s, want 413 body_too_large", res.StatusCode, body)
		}
		// Without Connection: close, net/http would first wait for up to
		// 256 KiB more of a body the client never sends.
		if !res.Close {
			t.Errorf("response headers %v, want Connection: close", res.Header)
		}
		t.Logf("answered in %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("headers over the limit", func(t *testing.T) {
		res, body := rawExchange(t, base, "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: "+strings.Repeat("a", 32<<10)+"\r\n\r\n")
		if res.StatusCode != 431 {
			t.Errorf("got %d %s, want 431", res.StatusCode, body)
		}
		// Headers well under the limit are fine.
		res, body = rawExchange(t, base, "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Pad: "+strings.Repeat("a", 8<<10)+"\r\n\r\n")
		if res.StatusCode != 200 {
			t.Errorf("8 KiB of headers: got %d %s, want 200", res.StatusCode, body)
		}
	})

	t.Run("slowloris", func(t *testing.T) {
		u, _ := url.Parse(base)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closed := make(chan struct{})
		go func() {
			_, _ = io.ReadAll(conn)
			close(closed)
		}()
		start := time.Now()
		header := "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: " + strings.Repeat("a", 200)
		sent := 0
	trickle:
		for ; sent < len(header); sent++ {
			if _, err := conn.Write([]byte{header[sent]}); err != nil {
				break // The server has already closed the connection.
			}
			select {
			case <-closed:
				break trickle
			case <-time.After(50 * time.Millisecond):
			}
		}
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not close the connection")
		}
		if sent == len(header) {
			t.Errorf("the client trickled all %d bytes over %v without being cut off", sent, time.Since(start))
		}
		t.Logf("cut off after %d bytes and %v (read-header timeout 300ms)", sent, time.Since(start).Round(time.Millisecond))
	})

	t.Run("read-header timeout must be positive", func(t *testing.T) {
		err := run(t.Context(), []string{"serve", "--read-header-timeout", "0s", "--db", db}, func(string) string { return "" }, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--read-header-timeout") {
			t.Errorf("run with --read-header-timeout 0s: err = %v, want a refusal", err)
		}
	})

	if n := userCount(t, db); n != 0 {
		t.Errorf("users = %d, want 0: a refused request stored a row", n)
	}
}

// TestLogsNeverContainSecrets runs every flow that handles a secret with
// the log at debug level, then searches the log for each secret used.
func TestLogsNeverContainSecrets(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	const clientSecret = "gateway-secret-0123456789"
	base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db},
		"--log-level", "debug", "--introspect-clients", "gw:"+clientSecret, "--refresh-grace", "0s")
	const (
		pw1     = "first fine passphrase"
		pw2     = "second fine passphrase"
		wrongPw = "not the passphrase at all"
	)
	var secrets []string
	want := func(c call, status int, what string) call {
		t.Helper()
		if c.status != status {
			t.Fatalf("%s: %d %s, want %d", what, c.status, c.raw, status)
		}
		return c
	}
	str := func(c call, k string) string {
		t.Helper()
		s, _ := c.body[k].(string)
		if s == "" {
			t.Fatalf("response %s lacks %q", c.raw, k)
		}
		secrets = append(secrets, s)
		return s
	}
	secrets = append(secrets, pw1, pw2, wrongPw, clientSecret)

	want(do(t, "POST", base+"/api/users", `{"username":"alice","password":"`+pw1+`"}`, ""), 201, "register")
	want(do(t, "POST", base+"/api/users", `{"username":"mallory","password":"`+wrongPw+`","is_admin":"yes"}`, ""), 400, "mass assignment")
	want(do(t, "POST", base+"/api/users", `{"username":"bob","password":"x`+pw2+"\\u0001"+`"}`, ""), 400, "control character")
	login := want(do(t, "POST", base+"/api/tokens", `{"username":"alice","password":"`+pw1+`"}`, ""), 200, "login json")
	access, refresh := str(login, "access_token"), str(login, "refresh_token")
	access2 := str(want(do(t, "POST", base+"/api/tokens", "", basicAuth("alice", pw1)), 200, "login basic"), "access_token")
	restTok := str(want(do(t, "GET", base+"/api/token", "", basicAuth("alice", pw1)), 200, "REST-auth token"), "token")
	want(do(t, "GET", base+"/api/resource", "", basicAuth("alice", wrongPw)), 401, "wrong password")
	want(do(t, "POST", base+"/api/tokens", `{"username":"nobody","password":"`+wrongPw+`"}`, ""), 401, "unknown user")
	want(do(t, "GET", base+"/api/resource", "", "Bearer "+access), 200, "bearer")
	want(do(t, "GET", base+"/api/resource", "", basicAuth(restTok, "")), 200, "basic token")
	want(do(t, "GET", base+"/api/token", "", "Bearer "+access), 200, "renew")
	// Change the first character of the signature: its last characters
	// encode the top byte of Ed25519's S, which is often zero already.
	i := strings.LastIndex(access, ".") + 1
	flip := map[bool]string{true: "B", false: "A"}[access[i] == 'A']
	tampered := access[:i] + flip + access[i+1:]
	secrets = append(secrets, tampered)
	want(do(t, "GET", base+"/api/resource", "", "Bearer "+tampered), 401, "tampered token")
	refreshed := want(do(t, "POST", base+"/api/tokens/refresh", `{"refresh_token":"`+refresh+`"}`, ""), 200, "refresh")
	str(refreshed, "access_token")
	str(refreshed, "refresh_token")
	// Reuse after the (zero) grace window revokes the session and logs a
	// warning: the warning must not carry the token either.
	want(do(t, "POST", base+"/api/tokens/refresh", `{"refresh_token":"`+refresh+`"}`, ""), 400, "refresh reuse")

	introspect := func(body, ctype, auth string) call {
		req, _ := http.NewRequest("POST", base+"/api/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", auth)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		c := call{status: res.StatusCode, raw: string(raw)}
		_ = json.Unmarshal(raw, &c.body)
		return c
	}
	want(introspect("token="+access2, "application/x-www-form-urlencoded", basicAuth("gw", clientSecret)), 200, "introspect form")
	want(introspect(`{"token":"`+access2+`"}`, "application/json", basicAuth("gw", clientSecret)), 200, "introspect json")
	want(introspect("token="+access2, "application/x-www-form-urlencoded", basicAuth("gw", wrongPw)), 401, "introspect wrong secret")

	want(do(t, "PUT", base+"/api/users/me/password", `{"current_password":"`+pw1+`","new_password":"`+pw2+`"}`, "Bearer "+access2), 204, "change password")
	want(do(t, "GET", base+"/api/resource", "", basicAuth("alice", pw2)), 200, "new password")
	want(do(t, "POST", base+"/api/logout", "", "Bearer "+access2), 204, "logout")
	want(do(t, "GET", base+"/api/resource", "", "Bearer "+access2), 401, "after logout")

	// The stored hash is a secret too.
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	err = conn.QueryRow("SELECT password_hash FROM users WHERE username = 'alice'").Scan(&hash)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, hash, hash[strings.LastIndex(hash, "$")+1:])

	log := logs.String()
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the log contains a secret (%.10s…)", s)
		}
		// A JWT's signature alone is as good as a leak of the whole token.
		if strings.Count(s, ".") == 2 && len(s) > 100 {
			if sig := s[strings.LastIndex(s, ".")+1:]; strings.Contains(log, sig) {
				t.Errorf("the log contains a token signature (%.10s…)", sig)
			}
		}
	}
	for _, line := range []string{"path=/api/tokens status=200", "path=/api/introspect status=200", "path=/api/resource status=401", "refresh token reuse"} {
		if !strings.Contains(log, line) {
			t.Errorf("the log lacks %q, so the search above proves little:\n%s", line, log)
		}
	}
}

// TestDatabaseErrorsAreGeneric breaks the schema under the running server:
// the SQL error reaches the operator's log and never the client.
func TestDatabaseErrorsAreGeneric(t *testing.T) {
	db := filepath.Join(t.TempDir(), "restauth.db")
	base, logs := startServer(t, map[string]string{"RESTAUTH_DB": db})
	if r := do(t, "POST", base+"/api/users", `{"username":"alice","password":"first fine passphrase"}`, ""); r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.raw)
	}
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec("ALTER TABLE users RENAME TO users_gone"); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	tests := []struct{ name, method, path, body, auth string }{
		{"register", "POST", "/api/users", `{"username":"bob","password":"second fine passphrase"}`, ""},
		{"login", "POST", "/api/tokens", `{"username":"alice","password":"first fine passphrase"}`, ""},
		{"basic", "GET", "/api/resource", "", basicAuth("alice", "first fine passphrase")},
		{"get user", "GET", "/api/users/1", "", ""},
	}
	leaks := []string{"sql", "table", "users_gone", "no such", "SELECT", "database", "modernc", ".go", filepath.Dir(db), "goroutine"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, tt.body, tt.auth)
			if r.status != 500 || r.body["error"] != "internal_error" || r.body["message"] != "an internal error occurred" || len(r.body) != 2 {
				t.Errorf("got %d %s, want 500 with the generic internal_error body", r.status, r.raw)
			}
			for _, l := range leaks {
				if strings.Contains(strings.ToLower(r.raw), strings.ToLower(l)) {
					t.Errorf("body %s contains %q", r.raw, l)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "no such table") {
		t.Errorf("the log lacks the cause for the operator:\n%s", logs.String())
	}
}
