package httpapi

import (
	"net/http"
	"sync"
	"time"
)

// RequestObserver is told about every answered request; package metrics
// implements it with Prometheus. pattern is the route pattern that matched
// (http.Request.Pattern, never the raw path, so that clients cannot create
// series), code the error code of an error response and "" otherwise.
// ObserveRequest runs on every request and must be cheap.
type RequestObserver interface {
	ObserveRequest(pattern string, status int, code string, d time.Duration)
}

// observedWriter remembers the status and the error code of a response.
type observedWriter struct {
	StatusRecorder
	code string
}

// The writers are pooled, so that observing costs no allocation.
var observedWriters = sync.Pool{New: func() any { return new(observedWriter) }}

// observe reports every request to o. It wraps the router directly: the
// router sets Pattern on the very request it is given, which observe reads
// once the handler has returned.
func observe(o RequestObserver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ow := observedWriters.Get().(*observedWriter)
			*ow = observedWriter{StatusRecorder: StatusRecorder{ResponseWriter: w}}
			returned := false
			defer func() {
				status, code := ow.Status, ow.code
				switch {
				case !returned:
					// A panic: recoverPanics answers 500 further out.
					status, code = http.StatusInternalServerError, "internal_error"
				case status == 0:
					status = http.StatusOK
				}
				o.ObserveRequest(r.Pattern, status, code, time.Since(start))
				*ow = observedWriter{}
				observedWriters.Put(ow)
			}()
			next.ServeHTTP(ow, r)
			returned = true
		})
	}
}

// noteErrorCode tells the observing writer, when there is one, which error
// code the response carries.
func noteErrorCode(w http.ResponseWriter, code string) {
	if ow, ok := w.(*observedWriter); ok {
		ow.code = code
	}
}
