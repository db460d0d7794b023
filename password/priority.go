package password

import "runtime"

// lowPriority runs hash computations on dedicated OS threads whose
// scheduling priority is lowered (a higher nice value). Hashing is the one
// CPU-heavy thing restauth does; with the threads niced, the kernel gives
// the CPU to request handling first whenever both want it, so a login flood
// cannot slow token-authenticated requests, while hashing still gets every
// cycle nobody else wants. The program must leave spare GOMAXPROCS slots
// for the threads (cmd/restauth adds one per hashing slot), or they would
// hold the scheduler's processors while the kernel holds them back.
type lowPriority struct {
	jobs chan func()
}

// newLowPriority starts n worker threads at the given nice value. The
// workers live as long as the program: a Hasher is made once.
func newLowPriority(n, nice int) *lowPriority {
	lp := &lowPriority{jobs: make(chan func())}
	for range n {
		go lp.worker(nice)
	}
	return lp
}

func (lp *lowPriority) worker(nice int) {
	// The goroutine never unlocks, so its thread keeps the nice value and
	// no other goroutine ever runs on it. Threads the runtime creates
	// while this one is locked are started from its template thread, so
	// they do not inherit the nice value.
	runtime.LockOSThread()
	setThreadNice(nice)
	for f := range lp.jobs {
		f()
	}
}

// run calls f on a worker thread and waits for it.
func (lp *lowPriority) run(f func()) {
	done := make(chan struct{})
	lp.jobs <- func() {
		defer close(done)
		f()
	}
	<-done
}
