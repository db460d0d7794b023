package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth"
)

// TestRequestLogFormat checks that the request line appended by hand is
// byte for byte what slog's TextHandler and JSONHandler write for the same
// record, including paths that must be quoted or escaped so that they
// cannot forge a field or a line.
func TestRequestLogFormat(t *testing.T) {
	at := time.Date(2026, 11, 30, 20, 22, 36, 123456789, time.UTC)
	paths := []string{
		"/api/resource", "/", "", "/a b", "/a=b", `/a"b`, "/a\nlevel=ERROR", "/a\\b", "/tab\there",
		"/ünïcode", "/\u2028", "/bad\xffutf8", "/\x7f", "/\x00", "/<script>&", "/emoji/😀", "/nbsp\u00a0",
	}
	durations := []time.Duration{0, 1, 999, 1500, 145200, 999999, 1_000_000, 12_345_678, time.Second, 90 * time.Minute, 1234567 * time.Hour, -3 * time.Millisecond}
	for i, path := range paths {
		for j, d := range durations {
			l := RequestLog{Time: at, Method: "GET", Path: path, Status: 200 + i, Duration: d, UserID: int64(j)}
			for _, format := range []string{"text", "json"} {
				var want bytes.Buffer
				var h slog.Handler = slog.NewTextHandler(&want, nil)
				got := l.AppendText([]byte("prefix|"))
				if format == "json" {
					h = slog.NewJSONHandler(&want, nil)
					got = l.AppendJSON([]byte("prefix|"))
				}
				if err := h.Handle(context.Background(), l.Record()); err != nil {
					t.Fatal(err)
				}
				if g := strings.TrimPrefix(string(got), "prefix|"); g != want.String() {
					t.Errorf("%s line for path %q, duration %v:\n got %q\nwant %q", format, path, d, g, want.String())
				}
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRequestLogFields drives requests through the server with a log
// handler that writes request lines itself (HandleRequest, as cmd/restauth's
// does) and with a plain slog handler, and checks that both log every
// field of every request, and never the credentials.
func TestRequestLogFields(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("HandleRequest=%v", fast), func(t *testing.T) {
			var out syncBuffer
			var h slog.Handler = slog.NewTextHandler(&out, nil)
			flush := func() {}
			if fast {
				bh := newBenchLogHandler(&out)
				h = bh
				flush = func() { bh.out.mu.Lock(); bh.out.w.Flush(); bh.out.mu.Unlock() }
			}
			e := newEnvWith(t, envExtras{logger: slog.New(h)})
			reg := e.register("alice", "correct horse battery")
			id, _ := reg.json["id"].(float64)
			access, _ := e.login("alice", "correct horse battery")
			wantStatus(t, e.do("GET", "/api/resource", "", "Authorization", "Bearer "+access), 200, "")
			wantStatus(t, e.do("GET", "/api/nothing here", "", "Authorization", "Bearer "+access), 404, restauth.ENotFound)
			flush()
			logs := out.String()
			for _, want := range []string{
				" level=INFO msg=request method=POST path=/api/users status=201 duration=",
				" level=INFO msg=request method=GET path=/api/resource status=200 duration=",
				` level=INFO msg=request method=GET path="/api/nothing here" status=404 duration=`,
			} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			if !regexp.MustCompile(fmt.Sprintf(`path=/api/resource status=200 duration=[0-9.]+[µnm]?s user_id=%d\n`, int64(id))).MatchString(logs) {
				t.Errorf("the resource line lacks its duration or user_id=%d:\n%s", int64(id), logs)
			}
			for _, secret := range []string{access, "correct horse battery"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds a credential:\n%s", logs)
				}
			}
		})
	}
}

// TestWriteData checks that GET /api/resource's body written by hand is
// byte for byte what encoding/json writes, for names that need no escaping
// and names that do, with a Content-Length that matches.
func TestWriteData(t *testing.T) {
	for _, name := range []string{"alice", "bench-000001", "Zoë", `a"b`, `a\b`, "<script>&", "tab\there", "\u2028", "日本語"} {
		w := httptest.NewRecorder()
		writeData(w, "Hello, ", name, "!")
		want, _ := json.Marshal(map[string]string{"data": "Hello, " + name + "!"})
		want = append(want, '\n')
		if got := w.Body.String(); got != string(want) || w.Code != 200 {
			t.Errorf("writeData(%q) = %d %q, want 200 %q", name, w.Code, got, want)
		}
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(want)) {
			t.Errorf("writeData(%q): Content-Length %q, want %d", name, cl, len(want))
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("writeData(%q): Content-Type %q, want application/json", name, ct)
		}
	}
}
