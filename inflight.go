package restauth

import (
	"context"
	"sync"
	"time"
)

// Bounds on waiting for an in-flight slot of one limit key. A client that
// sends many requests at once for one account waits for the checks ahead of
// it instead of being refused; these bounds keep a flood aimed at one
// account from parking an unbounded number of goroutines.
const (
	// maxSlotWaiters is how many password checks may wait for one key at
	// once; beyond it a check is answered EOverloaded at once.
	maxSlotWaiters = 256
	// maxSlotWait is the longest a check waits for a slot before it is
	// answered EOverloaded (the request's context may end it sooner).
	maxSlotWait = 10 * time.Second
)

// inflight counts, per limit key (an account or a client address), the
// password checks of this process that are being evaluated. The stored
// counters hold only failures that are known; inflight makes sure that the
// checks whose outcome is not yet known can never exceed what the stored
// count still allows, so that a burst of guesses is bounded exactly as if
// each had been counted in advance, while correct passwords in flight are
// never mistaken for failures.
type inflight struct {
	mu   sync.Mutex
	keys map[string]*slotState
}

// slotState is the in-flight state of one key. It is deleted when no check
// holds or waits for it.
type slotState struct {
	refs    int           // Checks holding or waiting for a slot.
	running int           // Checks holding a slot.
	waiting int           // Checks blocked in wait.
	fails   uint64        // Bumped each time a check ends in a recorded failure.
	wake    chan struct{} // Closed, and replaced, whenever a check ends.
}

func newInflight() *inflight { return &inflight{keys: make(map[string]*slotState)} }

// enter registers interest in key and returns its state and the failure
// generation seen before the stored counter is read.
func (f *inflight) enter(key string) (*slotState, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.keys[key]
	if st == nil {
		st = &slotState{wake: make(chan struct{})}
		f.keys[key] = st
	}
	st.refs++
	return st, st.fails
}

// leave drops an interest taken by enter that holds no slot.
func (f *inflight) leave(key string, st *slotState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unref(key, st)
}

func (f *inflight) unref(key string, st *slotState) {
	st.refs--
	if st.refs == 0 {
		delete(f.keys, key)
	}
}

// tryAcquire takes a slot when fewer than allowed checks of key are
// running and no failure was recorded since gen was read (a stored count
// read before that failure is stale). Otherwise it returns the channel to
// wait on, or stale true when the count must be read again at once.
func (f *inflight) tryAcquire(st *slotState, gen uint64, allowed int) (ok, stale bool, wake chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case st.fails != gen:
		return false, true, nil
	case st.running < allowed:
		st.running++
		return true, false, nil
	}
	return false, false, st.wake
}

// release frees a slot of key, records whether the check failed, and wakes
// every waiter to read the stored count again.
func (f *inflight) release(key string, st *slotState, failed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.running--
	if failed {
		st.fails++
	}
	close(st.wake)
	st.wake = make(chan struct{})
	f.unref(key, st)
}

// limit is one brute-force limit applied to a password check: a stored
// counter of known failures under key, and a rule saying how many checks may
// be in flight given that count.
type limit struct {
	key    string
	window time.Duration
	// clearOnSuccess resets the stored failures when the check succeeds.
	clearOnSuccess bool
	// allow returns how many checks may be in flight for the counter c at
	// now, or 0 and how long to wait when the next one must be refused.
	allow func(c Counter, now time.Time) (int, time.Duration)
}

// slot is a held in-flight slot.
type slot struct {
	lim   limit
	st    *slotState
	count Counter // The stored failures when the slot was taken.
}

// acquire waits until the check may be evaluated under lim: the stored
// failures allow it and fewer checks are in flight than they leave room
// for. A check that the stored failures refuse is answered 429 at once (it
// is not counted); one that only waits for others to finish waits, at most
// maxSlotWait and never past ctx.
func (s *Service) acquire(ctx context.Context, lim limit) (*slot, error) {
	f := s.inflight
	st, gen := f.enter(lim.key)
	var deadline <-chan time.Time
	for {
		now := s.deps.Now()
		c, err := s.deps.Counters.Get(ctx, lim.key, now, lim.window)
		if err != nil {
			f.leave(lim.key, st)
			return nil, err
		}
		allowed, wait := lim.allow(c, now)
		if allowed <= 0 {
			f.leave(lim.key, st)
			return nil, tooMany(wait)
		}
		ok, stale, wake := f.tryAcquire(st, gen, allowed)
		switch {
		case ok:
			return &slot{lim: lim, st: st, count: c}, nil
		case stale:
			gen = f.generation(st)
			continue
		}
		if !f.startWait(st) {
			f.leave(lim.key, st)
			return nil, errOverloaded
		}
		if deadline == nil {
			t := time.NewTimer(maxSlotWait)
			defer t.Stop()
			deadline = t.C
		}
		var werr error
		select {
		case <-wake:
		case <-ctx.Done():
			werr = ctx.Err()
		case <-deadline:
			werr = errOverloaded
		}
		gen = f.endWait(st)
		if werr != nil {
			f.leave(lim.key, st)
			return nil, werr
		}
	}
}

// generation returns the failure generation of st.
func (f *inflight) generation(st *slotState) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return st.fails
}

// startWait counts a waiter, refusing when the key has too many.
func (f *inflight) startWait(st *slotState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st.waiting >= maxSlotWaiters {
		return false
	}
	st.waiting++
	return true
}

// endWait uncounts a waiter and returns the failure generation, read before
// the stored count is read again.
func (f *inflight) endWait(st *slotState) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.waiting--
	return st.fails
}

// keyedMutex serialises work per key, for the lifetime of the work only:
// an entry exists while some caller holds or waits for its key.
type keyedMutex struct {
	mu   sync.Mutex
	keys map[string]*keyedEntry
}

type keyedEntry struct {
	sem  chan struct{} // Holds one token while the key is locked.
	refs int
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{keys: make(map[string]*keyedEntry)} }

// lock waits until key is free, or ctx ends, and returns the function that
// frees it.
func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	e := k.keys[key]
	if e == nil {
		e = &keyedEntry{sem: make(chan struct{}, 1)}
		k.keys[key] = e
	}
	e.refs++
	k.mu.Unlock()
	done := func() {
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.keys, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.sem <- struct{}{}:
		return func() { <-e.sem; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}
