package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/restauth/restauth/httpapi"
)

// TestBatchedHandlerRequestLines checks the request line written through
// HandleRequest: the configured format, batched until a flush, and not
// offered by a handler with attributes added, whose lines must keep them.
func TestBatchedHandlerRequestLines(t *testing.T) {
	l := httpapi.RequestLog{Time: time.Date(2026, 11, 30, 20, 0, 0, 5e6, time.UTC), Method: "GET", Path: "/api/resource",
		Status: 200, Duration: 1500 * time.Nanosecond, UserID: 7}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var out lockedBuffer
			buf := newLogBuffer(&out)
			inner, err := newHandler(buf, "info", format)
			if err != nil {
				t.Fatal(err)
			}
			var h slog.Handler = batchedHandler{inner, buf}
			rh, ok := h.(httpapi.RequestLogHandler)
			if !ok {
				t.Fatal("batchedHandler does not implement httpapi.RequestLogHandler")
			}
			if err := rh.HandleRequest(context.Background(), l); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != "" {
				t.Fatalf("request line written at once: %q; want it buffered", got)
			}
			buf.Flush()
			want := string(l.AppendText(nil))
			if format == "json" {
				want = string(l.AppendJSON(nil))
			}
			if got := out.String(); got != want {
				t.Errorf("line = %q, want %q", got, want)
			}
			if _, ok := h.WithAttrs([]slog.Attr{slog.String("instance", "a")}).(httpapi.RequestLogHandler); ok {
				t.Error("a handler with attributes offers HandleRequest, which would drop them")
			}
			if _, ok := h.WithGroup("g").(httpapi.RequestLogHandler); ok {
				t.Error("a handler with a group offers HandleRequest, which would drop it")
			}
		})
	}
}
