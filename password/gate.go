package password

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// Gate defaults.
const (
	// DefaultMaxQueue is large on purpose. A waiting caller costs only a
	// parked goroutine, while a refused one comes straight back: with a
	// small queue, a login flood turns into thousands of 503 round trips a
	// second, each handled at normal priority, and those, not the niced
	// hashing, are what slow token requests. Waiting callers answer at most
	// one per QueueTimeout each.
	DefaultMaxQueue     = 1024
	DefaultQueueTimeout = 2 * time.Second
	// DefaultRetryAfter is what BusyError.RetryAfter suggests.
	DefaultRetryAfter = time.Second
)

// BusyError is returned when hashing capacity is exhausted: every slot is
// taken and the wait queue is full, or the wait deadline passed.
type BusyError struct{}

func (*BusyError) Error() string { return "password hashing is at capacity" }

// RetryAfter suggests how long the client should wait before retrying.
func (*BusyError) RetryAfter() time.Duration { return DefaultRetryAfter }

// Gate limits how many password hash computations run at once, since each
// may hold tens of MiB and a CPU. Callers beyond the limit wait in a bounded
// queue, in arrival order, for a bounded time. It is safe for concurrent use.
type Gate struct {
	slots    chan struct{} // Holds one token per running computation.
	waiting  atomic.Int64
	maxQueue int64
	timeout  time.Duration
}

// NewGate returns a Gate admitting n computations at once, with at most
// queue callers waiting, each for at most timeout. Values of zero or less
// select runtime.NumCPU(), DefaultMaxQueue and DefaultQueueTimeout.
func NewGate(n, queue int, timeout time.Duration) *Gate {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if queue <= 0 {
		queue = DefaultMaxQueue
	}
	if timeout <= 0 {
		timeout = DefaultQueueTimeout
	}
	return &Gate{slots: make(chan struct{}, n), maxQueue: int64(queue), timeout: timeout}
}

// Acquire takes a slot, waiting if none is free. It returns a *BusyError
// when the queue is full or the wait times out, and ctx's error when ctx
// ends first. Every successful Acquire must be followed by one Release.
func (g *Gate) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	if g.waiting.Add(1) > g.maxQueue {
		g.waiting.Add(-1)
		return &BusyError{}
	}
	defer g.waiting.Add(-1)
	// Blocked senders on a channel are served first come, first served, so
	// a released slot goes to the longest waiter.
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-t.C:
		return &BusyError{}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Release returns a slot taken by Acquire.
func (g *Gate) Release() {
	select {
	case <-g.slots:
	default:
		panic("password: Gate.Release without Acquire")
	}
}

// Saturated reports whether an Acquire now would be refused at once: every
// slot is taken and the wait queue is full. Callers use it to shed work
// before spending anything else on a request that could not be hashed.
func (g *Gate) Saturated() bool {
	return len(g.slots) == cap(g.slots) && g.waiting.Load() >= g.maxQueue
}
