package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/restauth/restauth/httpapi"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestBatchedHandler(t *testing.T) {
	var out lockedBuffer
	buf := newLogBuffer(&out)
	logger := slog.New(batchedHandler{slog.NewTextHandler(buf, nil), buf}).With("instance", "a")
	logger.Info(httpapi.RequestLogMessage, "path", "/api/resource")
	if got := out.String(); got != "" {
		t.Fatalf("request line written at once: %q; want it buffered", got)
	}
	logger.Warn("something odd")
	got := out.String()
	if !strings.Contains(got, "path=/api/resource") || !strings.Contains(got, "something odd") {
		t.Fatalf("after a warning the output is %q, want both lines in order", got)
	}
	if strings.Index(got, "path=") > strings.Index(got, "something odd") {
		t.Errorf("lines out of order: %q", got)
	}
	logger.Info(httpapi.RequestLogMessage, "path", "/x")
	buf.Flush()
	if !strings.Contains(out.String(), "path=/x") {
		t.Errorf("Flush did not write the buffered line: %q", out.String())
	}
}
