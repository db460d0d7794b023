package main

import (
	"context"
	"log/slog"

	"github.com/restauth/restauth/httpapi"
)

// HandleRequest writes a request line straight into the batch buffer, in
// the format of the configured text or JSON handler, without building a
// slog.Record: the request log is written for every request, and this is
// most of its cost (see httpapi.RequestLogHandler). The caller has checked
// the level.
func (h batchedHandler) HandleRequest(ctx context.Context, l httpapi.RequestLog) error {
	var appendLine func(*httpapi.RequestLog, []byte) []byte
	switch h.Handler.(type) {
	case *slog.TextHandler:
		appendLine = (*httpapi.RequestLog).AppendText
	case *slog.JSONHandler:
		appendLine = (*httpapi.RequestLog).AppendJSON
	default:
		return h.Handle(ctx, l.Record())
	}
	h.buf.mu.Lock()
	defer h.buf.mu.Unlock()
	_, err := h.buf.w.Write(appendLine(&l, h.buf.w.AvailableBuffer()))
	return err
}

// derivedHandler is a batchedHandler with attributes or a group added. It
// hides HandleRequest, which would leave them out of the line.
type derivedHandler struct{ slog.Handler }
