package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/restauth/restauth/httpapi"
)

// logBuffer batches log output into few writes. At tens of thousands of
// requests per second, one write system call per request line costs more
// CPU than serving the request does. Request lines reach the output within
// one flush interval; every other line (startup, warnings, errors) is
// flushed at once by batchedHandler, so nothing important waits.
type logBuffer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newLogBuffer(w io.Writer) *logBuffer {
	return &logBuffer{w: bufio.NewWriterSize(w, 64<<10)}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Write(p)
}

// Flush writes out what is buffered.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.Flush()
}

// run flushes every interval until ctx ends, then once more.
func (b *logBuffer) run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() { b.Flush() })
	b.Flush()
}

// batchedHandler flushes the buffer after every record except the
// per-request lines.
type batchedHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h batchedHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Message != httpapi.RequestLogMessage || r.Level >= slog.LevelWarn {
		if ferr := h.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h batchedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return derivedHandler{batchedHandler{h.Handler.WithAttrs(attrs), h.buf}}
}

func (h batchedHandler) WithGroup(name string) slog.Handler {
	return derivedHandler{batchedHandler{h.Handler.WithGroup(name), h.buf}}
}
