package httpapi

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/restauth/restauth"
)

// requestState is the per-request scratch space that middleware and
// handlers share. It is filled in as the request goes inward.
type requestState struct {
	trusted []netip.Prefix

	principal *restauth.Principal // Set by requireAuth.
	userID    int64               // For the request log.
	auth      authHeader          // Parsed on first use (auth.go).

	// The client address and a trusted proxy's report, resolved on first
	// use: token-authenticated requests never need them.
	resolved bool
	clientIP string
	fw       forwarded
	fwOK     bool
}

// stateCtx is the request's context with its requestState and the status
// recorder of the request log in the same allocation. A context.WithValue,
// a separate state and a separate recorder would be three allocations on
// the path every token-authenticated request takes; this is one.
type stateCtx struct {
	context.Context
	st  requestState
	rec StatusRecorder
}

type stateKey struct{}

// Value answers the state's key and hands every other key to the parent,
// which keeps cancellation and deadlines of the parent working.
func (c *stateCtx) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return &c.st
	}
	return c.Context.Value(key)
}

// withState attaches a fresh requestState to the request, and returns the
// request, the state, and a status recorder wrapping w.
func withState(w http.ResponseWriter, r *http.Request, trusted []netip.Prefix) (*http.Request, *requestState, *StatusRecorder) {
	c := &stateCtx{Context: r.Context()}
	c.st.trusted = trusted
	c.rec.ResponseWriter = w
	return r.WithContext(c), &c.st, &c.rec
}

func stateFrom(ctx context.Context) *requestState {
	// The context is the state's own unless a handler derived another
	// from it.
	if c, ok := ctx.(*stateCtx); ok {
		return &c.st
	}
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// principalFrom returns the authenticated caller stored by requireAuth.
func principalFrom(ctx context.Context) *restauth.Principal {
	if st := stateFrom(ctx); st != nil {
		return st.principal
	}
	return nil
}

// setLogUser records the authenticated user id for the request log line.
func setLogUser(ctx context.Context, id int64) {
	if st := stateFrom(ctx); st != nil {
		st.userID = id
	}
}
