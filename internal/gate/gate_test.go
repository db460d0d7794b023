package gate

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		g := New(time.Second, time.Minute)
		var calls atomic.Int32
		release := make(chan struct{})
		slow := func(context.Context) error {
			calls.Add(1)
			<-release
			return errors.New("boom")
		}

		// Concurrent callers share one call and its result.
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Go(func() { errs[i] = g.Do(ctx, time.Now(), false, true, slow) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("5 concurrent callers made %d calls, want 1", n)
		}
		for i, err := range errs {
			if err == nil || err.Error() != "boom" {
				t.Errorf("caller %d got %v, want the shared boom", i, err)
			}
		}

		// Within the interval a call is throttled, unless forced.
		if err := g.Do(ctx, time.Now(), false, true, slow); !errors.Is(err, ErrThrottled) {
			t.Errorf("call within the interval: %v, want ErrThrottled", err)
		}
		if err := g.Do(ctx, time.Now(), true, true, slow); err == nil || calls.Load() != 2 {
			t.Errorf("forced call: %v after %d calls, want boom after 2", err, calls.Load())
		}
		time.Sleep(time.Second)
		if err := g.Do(ctx, time.Now(), false, true, slow); errors.Is(err, ErrThrottled) {
			t.Error("call after the interval was throttled")
		}

		// A caller that does not wait returns at once; Wait waits for the call.
		block := make(chan struct{})
		var finished atomic.Bool
		time.Sleep(time.Second)
		if err := g.Do(ctx, time.Now(), false, false, func(context.Context) error {
			<-block
			finished.Store(true)
			return nil
		}); err != nil {
			t.Errorf("call without waiting: %v, want nil", err)
		}
		go func() { time.Sleep(time.Millisecond); close(block) }()
		g.Wait()
		if !finished.Load() {
			t.Error("Wait returned before the call in flight finished")
		}

		// The call is bounded by the timeout, not by the caller's context.
		cctx, cancel := context.WithCancel(ctx)
		time.Sleep(time.Second)
		var deadline time.Duration
		g.Do(cctx, time.Now(), false, false, func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			deadline = time.Until(d)
			cancel()
			synctest.Wait()
			if ctx.Err() != nil {
				t.Error("the call was cancelled with the caller's context")
			}
			return nil
		})
		g.Wait()
		if deadline != time.Minute {
			t.Errorf("call deadline in %v, want the 1m timeout", deadline)
		}
	})
}
