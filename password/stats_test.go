package password

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestGateStats checks that the snapshot follows the slots taken and the
// callers waiting.
func TestGateStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(2, 3, time.Second)
		ctx := context.Background()
		if got, want := g.Stats(), (GateStats{Slots: 2, MaxQueue: 3}); got != want {
			t.Fatalf("idle: %+v, want %+v", got, want)
		}
		for range 2 {
			if err := g.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error)
		go func() { done <- g.Acquire(ctx) }()
		synctest.Wait()
		if got, want := g.Stats(), (GateStats{Busy: 2, Slots: 2, Waiting: 1, MaxQueue: 3}); got != want {
			t.Errorf("full, one waiting: %+v, want %+v", got, want)
		}
		g.Release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, want := g.Stats(), (GateStats{Busy: 2, Slots: 2, MaxQueue: 3}); got != want {
			t.Errorf("the waiter admitted: %+v, want %+v", got, want)
		}
		g.Release()
		g.Release()
		if got, want := g.Stats(), (GateStats{Slots: 2, MaxQueue: 3}); got != want {
			t.Errorf("all released: %+v, want %+v", got, want)
		}
	})
}
