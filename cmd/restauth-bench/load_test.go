package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		status    int
		body      string
		close     bool
		wantError bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello", 200, "hello", false, false},
		{"header case and spaces", "HTTP/1.1 201 Created\r\ncontent-length:   3  \r\n\r\nabc", 201, "abc", false, false},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno", 503, "no", true, false},
		{"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true, false},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\n", 200, "Wikipedia", false, false},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", false, false},
		{"unframed body to EOF", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", true, false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", 200, "x", false, false},
		{"garbage status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, "", false, true},
		{"not http", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", false, true},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, "", false, true},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", 0, "", false, true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, "", false, true},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", 0, "", false, true},
		{"truncated headers", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n", 0, "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res response
			err := readResponse(bufio.NewReader(strings.NewReader(tc.raw)), &res)
			if (err != nil) != tc.wantError {
				t.Fatalf("readResponse error = %v, want error %v", err, tc.wantError)
			}
			if tc.wantError {
				return
			}
			if res.status != tc.status || string(res.body) != tc.body || res.close != tc.close {
				t.Errorf("got status %d, body %q, close %v; want %d, %q, %v", res.status, res.body, res.close, tc.status, tc.body, tc.close)
			}
		})
	}
}

func TestReadResponseKeepAlive(t *testing.T) {
	// Two responses back to back on one connection, the second reusing the
	// first's body buffer.
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfirst!HTTP/1.1 401 Unauthorized\r\nContent-Length: 3\r\n\r\nno!"
	br := bufio.NewReader(strings.NewReader(raw))
	var res response
	for _, want := range []struct {
		status int
		body   string
	}{{200, "first!"}, {401, "no!"}} {
		if err := readResponse(br, &res); err != nil {
			t.Fatal(err)
		}
		if res.status != want.status || string(res.body) != want.body {
			t.Errorf("got %d %q, want %d %q", res.status, res.body, want.status, want.body)
		}
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 503 x\r\nConnection: close\r\n\r\nbody"))
	f.Add([]byte("HTTP/1.1 204 No Content\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var res response
		if err := readResponse(bufio.NewReader(strings.NewReader(string(raw))), &res); err != nil {
			return
		}
		if res.status < 100 || res.status > 999 || len(res.body) > maxBody {
			t.Errorf("accepted status %d with %d body bytes", res.status, len(res.body))
		}
	})
}

func TestJSONString(t *testing.T) {
	tests := []struct {
		body, key, want string
		ok              bool
	}{
		{`{"access_token":"a.b.c","refresh_token":"rt_xyz","expires_in":600}`, "refresh_token", "rt_xyz", true},
		{`{"access_token":"a.b.c"}`, "refresh_token", "", false},
		{`{"refresh_token":""}`, "refresh_token", "", false},
		{`{"refresh_token":"unterminated`, "refresh_token", "", false},
	}
	for _, tc := range tests {
		got, ok := jsonString([]byte(tc.body), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jsonString(%s, %q) = %q, %v; want %q, %v", tc.body, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBaselineBody(t *testing.T) {
	for _, size := range []int{12, 33, 100} {
		b := baselineBody(size)
		var v struct{ Data string }
		if len(b) != size || json.Unmarshal(b, &v) != nil || b[len(b)-1] != '\n' {
			t.Errorf("baselineBody(%d) = %q (%d bytes), want %d bytes of JSON ending in a newline", size, b, len(b), size)
		}
	}
}

// TestDrive runs the load generator against a test server that answers
// 200, sheds some requests with 503 "overloaded", and fails others.
func TestDrive(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"data":"ok"}`))
		case "/mixed":
			switch n.Add(1) % 4 {
			case 0:
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
				w.Write([]byte(`{"error":"overloaded","message":"busy"}`))
			case 1:
				w.WriteHeader(500)
				w.Write([]byte(`{"error":"internal_error"}`))
			default:
				w.Write([]byte(`{}`))
			}
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	mk := func(name, path string, conns int, shed bool) *group {
		jobs := make([]job, conns)
		for i := range jobs {
			jobs[i] = &statusJob{req: getRequest(addr, path, "Bearer x"), want: 200, allowShed: shed}
		}
		return &group{name: name, addr: addr, jobs: jobs, timeout: 5 * time.Second}
	}
	ok, mixed := mk("ok", "/ok", 4, false), mk("mixed", "/mixed", 2, true)
	drive(context.Background(), 50*time.Millisecond, 300*time.Millisecond, ok, mixed)

	if ok.ok == 0 || ok.errs != 0 || ok.hist.n != ok.ok || ok.rps() <= 0 {
		t.Errorf("ok group: ok %d, errors %d, histogram %d, rps %.0f; want answers, no errors", ok.ok, ok.errs, ok.hist.n, ok.rps())
	}
	if ok.window <= 0 || ok.window > 300*time.Millisecond {
		t.Errorf("window = %v, want (0, 300ms]", ok.window)
	}
	if mixed.ok == 0 || mixed.shed == 0 || mixed.errs == 0 || mixed.statuses[500] == 0 || mixed.statuses[503] != 0 {
		t.Errorf("mixed group: ok %d, shed %d, errors %d, statuses %v; want all three kinds, only 500 unexpected",
			mixed.ok, mixed.shed, mixed.errs, mixed.statuses)
	}
	if !strings.Contains(mixed.firstErr, "unexpected status 500") {
		t.Errorf("first error = %q, want the unexpected 500", mixed.firstErr)
	}
}

func TestDriveConnectionErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // Nothing listens any more.
	g := &group{addr: addr, jobs: []job{&statusJob{req: getRequest(addr, "/", "x"), want: 200}}, timeout: time.Second}
	drive(context.Background(), 0, 100*time.Millisecond, g)
	if g.errs == 0 || g.ok != 0 || g.firstErr == "" {
		t.Errorf("errors %d, ok %d, first %q; want connection errors counted", g.errs, g.ok, g.firstErr)
	}
}

func TestRefreshJobChains(t *testing.T) {
	j := &refreshJob{host: "h", token: "rt_1"}
	if req := string(j.request()); !strings.Contains(req, `{"refresh_token":"rt_1"}`) || !strings.Contains(req, "Content-Length: 24\r\n") {
		t.Fatalf("request = %q, want the first token with its length", req)
	}
	if got := j.judge(&response{status: 400, body: []byte(`{"error":"invalid_grant"}`)}); got != badOutcome || j.token != "rt_1" {
		t.Errorf("judge(400) = %v, token %q; want bad, token kept for a retry", got, j.token)
	}
	if got := j.judge(&response{status: 200, body: []byte(`{"access_token":"a","refresh_token":"rt_2"}`)}); got != okOutcome || j.token != "rt_2" {
		t.Errorf("judge(200) = %v, token %q; want ok, rt_2", got, j.token)
	}
}

func TestRegisterJobUnique(t *testing.T) {
	j := &registerJob{host: "h", prefix: "r1-", password: "pw"}
	seen := map[string]bool{}
	for range 3 {
		req := string(j.request())
		i := strings.Index(req, `"username":"`)
		name := req[i : i+strings.Index(req[i+12:], `"`)+12]
		if seen[name] {
			t.Fatalf("username %s repeated", name)
		}
		seen[name] = true
	}
}

func TestSpreadAndNames(t *testing.T) {
	if got := fmt.Sprint(spread(4, 1000)); got != "[1 251 501 751]" {
		t.Errorf("spread(4, 1000) = %s, want [1 251 501 751]", got)
	}
	if got := fmt.Sprint(spread(3, 3)); got != "[1 2 3]" {
		t.Errorf("spread(3, 3) = %s, want [1 2 3]", got)
	}
	for n, want := range map[int]string{1000: "1k", 1_000_000: "1M", 100: "100", 1500: "1500", 250_000: "250k"} {
		if got := countName(n); got != want {
			t.Errorf("countName(%d) = %q, want %q", n, got, want)
		}
	}
	if a, b := username(1), username(1_000_000); len(a) != len(b) {
		t.Errorf("username lengths differ: %q and %q; answers must have one size", a, b)
	}
}
