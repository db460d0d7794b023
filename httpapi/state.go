package httpapi

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/restauth/restauth"
)

// requestState is the per-request scratch space that middleware and
// handlers share. It is put in the context once, by the outermost
// middleware, and filled in as the request goes inward: one allocation
// instead of a context and a request copy per middleware, on the path every
// token-authenticated request takes.
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

type stateKey struct{}

// withState attaches a fresh requestState to the request.
func withState(r *http.Request, trusted []netip.Prefix) (*http.Request, *requestState) {
	st := &requestState{trusted: trusted}
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st)), st
}

func stateFrom(ctx context.Context) *requestState {
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
