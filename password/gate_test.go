package password

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestGateQueueFullAndDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(2, 1, 2*time.Second)
		ctx := t.Context()
		for i := range 2 {
			if err := g.Acquire(ctx); err != nil {
				t.Fatalf("Acquire %d: %v", i, err)
			}
		}
		start := time.Now()
		queued := make(chan error, 1)
		go func() { queued <- g.Acquire(ctx) }()
		synctest.Wait() // The goroutine is waiting in the queue.

		// Both slots are held and the queue is full: refused at once.
		err := g.Acquire(ctx)
		var busy *BusyError
		if !errors.As(err, &busy) {
			t.Fatalf("Acquire with full queue error = %v, want *BusyError", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Acquire with full queue took %v, want no wait", d)
		}
		if got := busy.RetryAfter(); got != time.Second {
			t.Errorf("RetryAfter() = %v, want %v", got, time.Second)
		}
		if got, want := err.Error(), "password hashing is at capacity"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}

		// The queued caller gives up at the deadline.
		err = <-queued
		if !errors.As(err, &busy) {
			t.Errorf("queued Acquire error = %v, want *BusyError", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("queued Acquire gave up after %v, want %v", d, 2*time.Second)
		}

		// Its place in the queue is free again.
		go func() { queued <- g.Acquire(ctx) }()
		synctest.Wait()
		g.Release()
		if err := <-queued; err != nil {
			t.Errorf("Acquire after a Release error = %v, want nil", err)
		}
	})
}

func TestGateFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(1, 3, time.Minute)
		if err := g.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		order := make(chan int, 3)
		for i := range 3 {
			go func() {
				if err := g.Acquire(t.Context()); err != nil {
					t.Errorf("waiter %d: %v", i, err)
					return
				}
				order <- i
			}()
			synctest.Wait() // Queue the waiters in a known order.
		}
		for want := range 3 {
			g.Release()
			if got := <-order; got != want {
				t.Errorf("slot went to waiter %d, want %d", got, want)
			}
		}
		g.Release()
	})
}

func TestGateContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(1, 1, time.Minute)
		if err := g.Acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		queued := make(chan error, 1)
		go func() { queued <- g.Acquire(ctx) }()
		time.Sleep(time.Second)
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire error = %v, want %v", err, context.Canceled)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Acquire returned after %v, want %v", d, time.Second)
		}

		// A caller whose context has ended is refused even with a free slot.
		g.Release()
		if err := g.Acquire(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Acquire(ended ctx) error = %v, want %v", err, context.Canceled)
		}
		if err := g.Acquire(t.Context()); err != nil {
			t.Errorf("Acquire after refusals error = %v, want nil (no slot leaked)", err)
		}
	})
}

func TestGateReleaseWithoutAcquire(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Release without Acquire did not panic")
		}
	}()
	NewGate(1, 1, time.Second).Release()
}

func TestGateSaturated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(1, 1, time.Minute)
		ctx := context.Background()
		if g.Saturated() {
			t.Fatal("an empty gate reports saturated")
		}
		if err := g.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		if g.Saturated() {
			t.Fatal("a full gate with an empty queue reports saturated")
		}
		go g.Acquire(ctx) // Waits in the one queue place.
		synctest.Wait()
		if !g.Saturated() {
			t.Fatal("slots and queue full: Saturated = false, want true")
		}
		if err := g.Acquire(ctx); err == nil {
			t.Fatal("Acquire on a saturated gate succeeded")
		}
		g.Release()
		synctest.Wait()
		g.Release()
	})
}
