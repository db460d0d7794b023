// Package gate runs one reload at a time for callers that find their data
// stale, and rate limits them: the key ring reloading signing keys from its
// store and the JWKS client refetching a remote key set share it.
package gate

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrThrottled reports that a call was skipped because the last one started
// less than the gate's interval ago.
var ErrThrottled = errors.New("reload throttled")

// Gate coalesces concurrent calls into one and starts at most one call per
// interval, so a flood of misses costs at most one reload per interval. The
// call runs detached from the context of the caller that started it, so that
// one impatient caller cannot fail it for the others waiting on it; it is
// bounded by the gate's timeout instead. The zero value is not usable; use
// New.
type Gate struct {
	every   time.Duration
	timeout time.Duration

	mu   sync.Mutex
	last time.Time
	call *call
	wg   sync.WaitGroup
}

type call struct {
	done chan struct{}
	err  error
}

// New returns a gate that starts a call at most once per every, each bounded
// by timeout.
func New(every, timeout time.Duration) *Gate {
	return &Gate{every: every, timeout: timeout}
}

// Do starts fn unless a call is in flight (which it joins) or, unless force
// is set, the last one started less than the interval before now
// (ErrThrottled). When wait is false it returns at once without the result.
func (g *Gate) Do(ctx context.Context, now time.Time, force, wait bool, fn func(context.Context) error) error {
	g.mu.Lock()
	c := g.call
	if c == nil {
		if !force && !g.last.IsZero() && now.Sub(g.last) < g.every {
			g.mu.Unlock()
			return ErrThrottled
		}
		g.last = now
		c = &call{done: make(chan struct{})}
		g.call = c
		g.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
			defer cancel()
			c.err = fn(ctx)
			g.mu.Lock()
			g.call = nil
			g.mu.Unlock()
			close(c.done)
		})
	}
	g.mu.Unlock()
	if !wait {
		return nil
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait returns once no call is in flight, so that its owner can release
// what the calls use (a database, say) without one still running.
func (g *Gate) Wait() {
	g.wg.Wait()
}
